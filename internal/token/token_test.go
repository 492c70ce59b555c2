package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/token"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

const (
	audience = "api://passkeys"
	scope    = "Passkeys.Manage"
)

func newValidator(t *testing.T, cfg token.Config) *token.Validator {
	t.Helper()
	v, err := token.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// refused asserts that the token is refused by the named check, with a
// description that starts with it and does not hold the token.
func refused(t *testing.T, v *token.Validator, raw, check string) {
	t.Helper()
	claims, err := v.Validate(context.Background(), raw)
	var terr *token.Error
	if !errors.As(err, &terr) {
		t.Fatalf("Validate = %+v, %v; want a *token.Error (%s)", claims, err, check)
	}
	if terr.Check != check || !strings.HasPrefix(terr.Description, check) {
		t.Errorf("refused by %q (%q), want %q", terr.Check, terr.Description, check)
	}
	if raw != "" && strings.Contains(terr.Description, raw) {
		t.Error("the description holds the token")
	}
}

// TestB2CAccessTokens: a B2C-shaped issuer (metadata under the tenant name
// and policy, iss naming the tenant id, keys without alg) accepts a valid
// token and refuses every defect with the check that failed.
func TestB2CAccessTokens(t *testing.T) {
	t.Parallel()
	b2c := tokentest.New(t, tokentest.Options{Issuer: "https://contoso.b2clogin.com/8f0e1f0c-3c52-4c39-a6d3-000000000001/v2.0/", OmitAlg: true})
	other := tokentest.New(t, tokentest.Options{})
	v := newValidator(t, token.Config{MetadataURLs: []string{b2c.MetadataURL}, Audience: audience, Scope: scope})
	good := b2c.Claims("user-1", audience, scope+" openid")

	claims, err := v.Validate(context.Background(), b2c.Sign(t, good))
	if err != nil {
		t.Fatalf("a valid token is refused: %v", err)
	}
	if claims.Subject != "user-1" || claims.AuthTime.IsZero() {
		t.Errorf("claims = %+v", claims)
	}

	now := time.Now()
	tests := []struct {
		name, check, token string
	}{
		{"missing", token.CheckMissing, ""},
		{"not a JWT", token.CheckMalformed, "not-a-token"},
		{"wrong audience", token.CheckAudience, b2c.Sign(t, tokentest.With(good, "aud", "api://another"))},
		{"wrong issuer, same keys", token.CheckIssuer, b2c.Sign(t, tokentest.With(good, "iss", "https://evil.b2clogin.com/x/v2.0/"))},
		{"another issuer's token", token.CheckIssuer, other.Sign(t, tokentest.With(good, "iss", other.Issuer))},
		{"expired", token.CheckExpired, b2c.Sign(t, tokentest.With(good, "exp", now.Add(-5*time.Minute).Unix()))},
		{"no exp", token.CheckExpired, b2c.Sign(t, tokentest.With(good, "exp", nil))},
		{"not yet valid", token.CheckNotBefore, b2c.Sign(t, tokentest.With(good, "nbf", now.Add(10*time.Minute).Unix()))},
		{"unknown key", token.CheckSignature, tokentest.SignWithUnknownKey(t, good)},
		{"alg none", token.CheckAlgorithm, b2c.Unsigned(t, good)},
		{"HS256 signed with the public key", token.CheckAlgorithm, b2c.SignHS256WithPublicKey(t, good)},
		{"missing scope", token.CheckScope, b2c.Sign(t, tokentest.With(good, "scp", "openid"))},
		{"no scp", token.CheckScope, b2c.Sign(t, tokentest.With(good, "scp", nil))},
		{"changed payload", token.CheckSignature, tokentest.Tamper(t, b2c.Sign(t, good), tokentest.With(good, "oid", "user-2", "sub", "user-2"))},
		{"no subject", token.CheckSubject, b2c.Sign(t, tokentest.With(good, "oid", nil, "sub", nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refused(t, v, tt.token, tt.check) })
	}

	t.Run("a small clock skew is tolerated", func(t *testing.T) {
		raw := b2c.Sign(t, tokentest.With(good, "exp", now.Add(-20*time.Second).Unix(), "nbf", now.Add(20*time.Second).Unix()))
		if _, err := v.Validate(context.Background(), raw); err != nil {
			t.Errorf("20 s of skew refused: %v", err)
		}
	})
	t.Run("oid is the user, else sub", func(t *testing.T) {
		c, err := v.Validate(context.Background(), b2c.Sign(t, tokentest.With(good, "oid", nil, "sub", "user-3")))
		if err != nil || c.Subject != "user-3" {
			t.Errorf("Validate = %+v, %v; want subject user-3", c, err)
		}
	})
}

// TestKeyRotation: a key rotated in the middle is fetched at the first
// token that names it; a made-up kid costs at most one fetch per interval.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	is := tokentest.New(t, tokentest.Options{})
	clock := time.Now()
	v := newValidator(t, token.Config{
		MetadataURLs: []string{is.MetadataURL}, Audience: audience,
		RefetchInterval: time.Minute, Now: func() time.Time { return clock },
	})
	// Valid for a day: the test's clock moves by hours.
	claims := tokentest.With(is.Claims("user-1", audience, ""), "exp", time.Now().Add(24*time.Hour).Unix())
	ctx := context.Background()
	if _, err := v.Validate(ctx, is.Sign(t, claims)); err != nil {
		t.Fatal(err)
	}
	before := is.KeyFetches()
	oldToken := is.Sign(t, claims)

	// Tokens naming made-up keys: one fetch, then refusals from the cache.
	clock = clock.Add(2 * time.Minute)
	for range 20 {
		refused(t, v, is.SignWithKid(t, "made-up", claims), token.CheckSignature)
	}
	if got := is.KeyFetches() - before; got != 1 {
		t.Errorf("20 tokens with an unknown kid fetched the keys %d times, want 1", got)
	}

	// The issuer rotates; the first token with the new kid after the
	// interval is accepted.
	is.Rotate(t, false)
	clock = clock.Add(2 * time.Minute)
	if _, err := v.Validate(ctx, is.Sign(t, claims)); err != nil {
		t.Fatalf("a token signed with the rotated key is refused: %v", err)
	}
	if _, err := v.Validate(ctx, oldToken); err != nil {
		t.Errorf("a token of the previous key, still published, is refused: %v", err)
	}

	// A rotation that retires the old key: its tokens stop working once
	// the key set is fetched again.
	is.Rotate(t, true)
	clock = clock.Add(2 * time.Minute)
	if _, err := v.Validate(ctx, is.Sign(t, claims)); err != nil {
		t.Fatalf("after a second rotation: %v", err)
	}
	refused(t, v, oldToken, token.CheckSignature)

	// A key the issuer withdraws stops verifying once the cached set is an
	// hour old, even when no token names a new key.
	current := is.Sign(t, claims)
	is.Rotate(t, true)
	clock = clock.Add(30 * time.Minute)
	if _, err := v.Validate(ctx, current); err != nil {
		t.Fatalf("within the hour: %v", err)
	}
	clock = clock.Add(31 * time.Minute)
	refused(t, v, current, token.CheckSignature)
}

// TestEntraAppTokens: Entra ID's v2 metadata names the v2 issuer only; a
// v1 token of the same tenant (sts.windows.net, appid) is accepted too,
// and the calling app must be one of AppIDs whichever claim carries it.
func TestEntraAppTokens(t *testing.T) {
	t.Parallel()
	const tenant = "8f0e1f0c-3c52-4c39-a6d3-000000000002"
	entra := tokentest.New(t, tokentest.Options{
		Issuer:       "https://login.microsoftonline.com/" + tenant + "/v2.0",
		MetadataPath: "/" + tenant + "/v2.0/.well-known/openid-configuration",
	})
	const api, b2cApp = "api://passkeys-handler", "b2c-app-id"
	v := newValidator(t, token.Config{MetadataURLs: []string{entra.MetadataURL}, Audience: api, AppIDs: []string{b2cApp}})
	v2 := tokentest.With(entra.Claims("sp-oid", api, ""), "azp", b2cApp, "scp", nil, "auth_time", nil)
	v1 := tokentest.With(v2, "iss", "https://sts.windows.net/"+tenant+"/", "azp", nil, "appid", b2cApp, "ver", "1.0")
	for name, claims := range map[string]map[string]any{"v2": v2, "v1": v1} {
		c, err := v.Validate(context.Background(), entra.Sign(t, claims))
		if err != nil || c.AppID != b2cApp {
			t.Errorf("%s token: %+v, %v", name, c, err)
		}
	}
	tests := []struct {
		name, check, token string
	}{
		{"another app (v2)", token.CheckApp, entra.Sign(t, tokentest.With(v2, "azp", "other-app"))},
		{"another app (v1)", token.CheckApp, entra.Sign(t, tokentest.With(v1, "appid", "other-app"))},
		{"no app", token.CheckApp, entra.Sign(t, tokentest.With(v2, "azp", nil))},
		{"another tenant", token.CheckIssuer, entra.Sign(t, tokentest.With(v2, "iss", "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"))},
		{"another audience", token.CheckAudience, entra.Sign(t, tokentest.With(v2, "aud", "https://graph.microsoft.com"))},
		{"expired", token.CheckExpired, entra.Sign(t, tokentest.With(v1, "exp", time.Now().Add(-time.Hour).Unix()))},
		{"alg none", token.CheckAlgorithm, entra.Unsigned(t, v2)},
		{"HS256", token.CheckAlgorithm, entra.SignHS256WithPublicKey(t, v2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refused(t, v, tt.token, tt.check) })
	}
}

// TestIssuerUnreachable: keys that cannot be fetched refuse the token
// (never accept it) and say so.
func TestIssuerUnreachable(t *testing.T) {
	t.Parallel()
	is := tokentest.New(t, tokentest.Options{})
	v := newValidator(t, token.Config{MetadataURLs: []string{is.MetadataURL + "-missing"}, Audience: audience})
	refused(t, v, is.Sign(t, is.Claims("u", audience, "")), token.CheckKeys)
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://login.contoso.com/x", "ftp://127.0.0.1/x", "not a url", ""} {
		if _, err := token.New(token.Config{MetadataURLs: []string{u}, Audience: audience}); err == nil {
			t.Errorf("metadata URL %q accepted", u)
		}
	}
	for _, u := range []string{"https://contoso.b2clogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1A_signin", "http://127.0.0.1:8080/x", "http://localhost/x"} {
		if err := token.CheckURL(u); err != nil {
			t.Errorf("metadata URL %q refused: %v", u, err)
		}
	}
	if _, err := token.New(token.Config{MetadataURLs: []string{"https://x/y"}}); err == nil {
		t.Error("no audience accepted")
	}
}

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "Bearer", "Bearer  ", "Basic abc", "abc"} {
		if _, err := token.FromHeader(h); err == nil {
			t.Errorf("FromHeader(%q) accepted", h)
		}
	}
	if raw, err := token.FromHeader("bearer abc.def.ghi"); err != nil || raw != "abc.def.ghi" {
		t.Errorf("FromHeader = %q, %v", raw, err)
	}
}
