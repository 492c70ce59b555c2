package config

import (
	"slices"
	"testing"
	"time"
)

const metadata = "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1A_signin/v2.0/.well-known/openid-configuration"

func TestTokenSettings(t *testing.T) {
	c, err := load(t,
		"PASSKEY_TOKEN_METADATA_URLS", metadata+" , http://127.0.0.1:9999/x",
		"PASSKEY_TOKEN_AUDIENCE", "api-app-id", "PASSKEY_TOKEN_SCOPE", "Passkeys.Manage",
		"PASSKEY_APP_ORIGINS", "https://app.contoso.com, http://localhost:3000",
		"PASSKEY_CALLER_METADATA_URL", "https://login.microsoftonline.com/tid/v2.0/.well-known/openid-configuration",
		"PASSKEY_CALLER_AUDIENCE", "api://passkeys", "PASSKEY_CALLER_APP_IDS", "b2c-app , other")
	if err != nil {
		t.Fatal(err)
	}
	if !c.AppAPI() || !c.CallerTokens() || len(c.TokenMetadataURLs) != 2 || c.TokenMaxAuthAge != 5*time.Minute ||
		!slices.Equal(c.AppOrigins, []string{"https://app.contoso.com", "http://localhost:3000"}) ||
		!slices.Equal(c.CallerAppIDs, []string{"b2c-app", "other"}) {
		t.Errorf("config = %+v", c)
	}
	c, err = load(t)
	if err != nil || c.AppAPI() || c.CallerTokens() {
		t.Errorf("defaults: %+v, %v; want both token checks off", c, err)
	}
}

func TestBadTokenSettings(t *testing.T) {
	app := []string{"PASSKEY_TOKEN_METADATA_URLS", metadata, "PASSKEY_TOKEN_AUDIENCE", "a", "PASSKEY_TOKEN_SCOPE", "s"}
	caller := []string{"PASSKEY_CALLER_METADATA_URL", metadata, "PASSKEY_CALLER_AUDIENCE", "a", "PASSKEY_CALLER_APP_IDS", "b"}
	tests := []struct {
		name     string
		env      []string
		variable string
	}{
		{"metadata over http", []string{"PASSKEY_TOKEN_METADATA_URLS", "http://contoso.b2clogin.com/x", "PASSKEY_TOKEN_AUDIENCE", "a", "PASSKEY_TOKEN_SCOPE", "s"}, "PASSKEY_TOKEN_METADATA_URLS"},
		{"no audience", []string{"PASSKEY_TOKEN_METADATA_URLS", metadata, "PASSKEY_TOKEN_SCOPE", "s"}, "PASSKEY_TOKEN_AUDIENCE"},
		{"no scope", []string{"PASSKEY_TOKEN_METADATA_URLS", metadata, "PASSKEY_TOKEN_AUDIENCE", "a"}, "PASSKEY_TOKEN_SCOPE"},
		{"audience without metadata", []string{"PASSKEY_TOKEN_AUDIENCE", "a"}, "PASSKEY_TOKEN_METADATA_URLS"},
		{"origins without metadata", []string{"PASSKEY_APP_ORIGINS", "https://app.contoso.com"}, "PASSKEY_TOKEN_METADATA_URLS"},
		{"origin with a path", append(slices.Clone(app), "PASSKEY_APP_ORIGINS", "https://app.contoso.com/spa"), "PASSKEY_APP_ORIGINS"},
		{"origin over http", append(slices.Clone(app), "PASSKEY_APP_ORIGINS", "http://app.contoso.com"), "PASSKEY_APP_ORIGINS"},
		{"origin a wildcard", append(slices.Clone(app), "PASSKEY_APP_ORIGINS", "*"), "PASSKEY_APP_ORIGINS"},
		{"auth age too short", append(slices.Clone(app), "PASSKEY_TOKEN_MAX_AUTH_AGE", "1s"), "PASSKEY_TOKEN_MAX_AUTH_AGE"},
		{"caller metadata over http", []string{"PASSKEY_CALLER_METADATA_URL", "http://login.microsoftonline.com/x", "PASSKEY_CALLER_AUDIENCE", "a", "PASSKEY_CALLER_APP_IDS", "b"}, "PASSKEY_CALLER_METADATA_URL"},
		{"caller without audience", caller[:2:2], "PASSKEY_CALLER_AUDIENCE"},
		{"caller without app ids", caller[:4:4], "PASSKEY_CALLER_APP_IDS"},
		{"caller app ids alone", []string{"PASSKEY_CALLER_APP_IDS", "b"}, "PASSKEY_CALLER_METADATA_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, tt.variable, tt.env...)
		})
	}
}
