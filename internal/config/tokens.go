package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/token"
)

func (c *Config) trimTokenLists() {
	c.TokenMetadataURLs = trimList(c.TokenMetadataURLs)
	c.AppOrigins = trimList(c.AppOrigins)
	c.CallerAppIDs = trimList(c.CallerAppIDs)
	c.TokenAudience = strings.TrimSpace(c.TokenAudience)
	c.TokenScope = strings.TrimSpace(c.TokenScope)
	c.CallerMetadataURL = strings.TrimSpace(c.CallerMetadataURL)
	c.CallerAudience = strings.TrimSpace(c.CallerAudience)
}

// AppAPI reports whether the app API (/api/me/passkeys) is on: it is when
// PASSKEY_TOKEN_METADATA_URLS is set.
func (c *Config) AppAPI() bool { return len(c.TokenMetadataURLs) > 0 }

// CallerTokens reports whether B2C's calls must carry an Entra ID token:
// they must when PASSKEY_CALLER_METADATA_URL is set.
func (c *Config) CallerTokens() bool { return c.CallerMetadataURL != "" }

// validateTokens checks the token settings: each group is all set or all
// empty, so that a half-configured check never runs.
func (c *Config) validateTokens() error {
	for _, u := range c.TokenMetadataURLs {
		if err := token.CheckURL(u); err != nil {
			return fmt.Errorf("PASSKEY_TOKEN_METADATA_URLS: %v", err)
		}
	}
	if c.AppAPI() {
		if c.TokenAudience == "" {
			return errors.New("PASSKEY_TOKEN_AUDIENCE: required with PASSKEY_TOKEN_METADATA_URLS (the app API's application id)")
		}
		if c.TokenScope == "" {
			return errors.New("PASSKEY_TOKEN_SCOPE: required with PASSKEY_TOKEN_METADATA_URLS (the scope apps are granted, e.g. Passkeys.Manage)")
		}
	} else if c.TokenAudience != "" || c.TokenScope != "" || len(c.AppOrigins) > 0 {
		return errors.New("PASSKEY_TOKEN_METADATA_URLS: required when PASSKEY_TOKEN_AUDIENCE, PASSKEY_TOKEN_SCOPE or PASSKEY_APP_ORIGINS is set")
	}
	if c.AppAPI() && (c.TokenMaxAuthAge < 10*time.Second || c.TokenMaxAuthAge > 24*time.Hour) {
		return fmt.Errorf("PASSKEY_TOKEN_MAX_AUTH_AGE: %s must be between 10s and 24h", c.TokenMaxAuthAge)
	}
	for _, o := range c.AppOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" ||
			(u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			return fmt.Errorf("PASSKEY_APP_ORIGINS: %q is not an origin such as https://app.contoso.com (http only on loopback)", o)
		}
	}
	if c.CallerTokens() {
		if err := token.CheckURL(c.CallerMetadataURL); err != nil {
			return fmt.Errorf("PASSKEY_CALLER_METADATA_URL: %v", err)
		}
		if c.CallerAudience == "" {
			return errors.New("PASSKEY_CALLER_AUDIENCE: required with PASSKEY_CALLER_METADATA_URL (the API's application id or URI)")
		}
		if len(c.CallerAppIDs) == 0 {
			return errors.New("PASSKEY_CALLER_APP_IDS: required with PASSKEY_CALLER_METADATA_URL (B2C's app registration)")
		}
	} else if c.CallerAudience != "" || len(c.CallerAppIDs) > 0 {
		return errors.New("PASSKEY_CALLER_METADATA_URL: required when PASSKEY_CALLER_AUDIENCE or PASSKEY_CALLER_APP_IDS is set")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	c := Config{ListenAddr: host}
	return c.Loopback()
}

// AppTokenConfig is the validation of the app API's access tokens.
func (c *Config) AppTokenConfig() token.Config {
	return token.Config{MetadataURLs: c.TokenMetadataURLs, Audience: c.TokenAudience, Scope: c.TokenScope}
}

// CallerTokenConfig is the validation of B2C's caller tokens.
func (c *Config) CallerTokenConfig() token.Config {
	return token.Config{MetadataURLs: []string{c.CallerMetadataURL}, Audience: c.CallerAudience, AppIDs: c.CallerAppIDs}
}
