package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/token"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

const (
	callerTenant   = "8f0e1f0c-3c52-4c39-a6d3-00000000000b"
	callerAudience = "api://passkeys-handler"
	b2cAppID       = "b2c-app-registration-id"
	functionKey    = "function-key-0123456789"
)

// TestCallerTokens: with caller tokens on, every B2C function needs an
// Entra ID token of B2C's app besides the key; each defect is a 401 in the
// contract's shape, never a 500, and a security event; the routes that
// are not B2C's calls stay reachable without one.
func TestCallerTokens(t *testing.T) {
	t.Parallel()
	entra := tokentest.New(t, tokentest.Options{
		Issuer:       "https://login.microsoftonline.com/" + callerTenant + "/v2.0",
		MetadataPath: "/" + callerTenant + "/v2.0/.well-known/openid-configuration",
	})
	callers, err := token.New(token.Config{MetadataURLs: []string{entra.MetadataURL}, Audience: callerAudience, AppIDs: []string{b2cAppID}, RefetchInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := newAppEnv(t, func(o *api.Options) {
		o.APIKeys = []string{functionKey}
		o.CallerTokens = callers
	})
	v2 := tokentest.With(entra.Claims(uuid.NewString(), callerAudience, ""), "azp", b2cAppID, "scp", nil, "auth_time", nil, "name", nil, "emails", nil)
	v1 := tokentest.With(v2, "iss", "https://sts.windows.net/"+callerTenant+"/", "azp", nil, "appid", b2cAppID, "ver", "1.0")
	key := []string{"x-functions-key", functionKey}
	body := map[string]any{}

	for name, claims := range map[string]map[string]any{"v2 token": v2, "v1 token": v1} {
		ok(t, e.do(t, "POST", "/api/login-begin", entra.Sign(t, claims), body, key...), name)
	}

	t.Run("the key is still required", func(t *testing.T) {
		r := e.do(t, "POST", "/api/login-begin", entra.Sign(t, v2), body)
		checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
		r = e.do(t, "POST", "/api/login-begin?code=wrong-key-0123456789", entra.Sign(t, v2), body)
		checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
	})

	// B2C's Bearer profiles send the key as the code query parameter, as
	// the Functions host takes it.
	ok(t, e.do(t, "POST", "/api/login-begin?code="+functionKey, entra.Sign(t, v2), body), "the key as code")

	now := time.Now()
	other := tokentest.New(t, tokentest.Options{Issuer: "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000ff/v2.0"})
	tests := []struct {
		name, check, token string
	}{
		{"missing", token.CheckMissing, ""},
		{"another audience", token.CheckAudience, entra.Sign(t, tokentest.With(v2, "aud", "https://graph.microsoft.com"))},
		{"another app", token.CheckApp, entra.Sign(t, tokentest.With(v2, "azp", "some-other-app"))},
		{"another app (v1)", token.CheckApp, entra.Sign(t, tokentest.With(v1, "appid", "some-other-app"))},
		{"expired", token.CheckExpired, entra.Sign(t, tokentest.With(v2, "exp", now.Add(-time.Hour).Unix()))},
		{"another issuer", token.CheckIssuer, other.Sign(t, tokentest.With(v2, "iss", other.Issuer))},
		{"alg none", token.CheckAlgorithm, entra.Unsigned(t, v2)},
		{"HS256", token.CheckAlgorithm, entra.SignHS256WithPublicKey(t, v2)},
		{"unknown key", token.CheckSignature, tokentest.SignWithUnknownKey(t, v2)},
		{"a B2C user's token", token.CheckIssuer, e.tokenFor(t, "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.logs.Events(t, "caller_token_refused"))
			for _, fn := range []string{"register-begin", "register-finish", "login-begin", "login-finish", "list-devices", "rename-device", "delete-device"} {
				r := e.do(t, "POST", "/api/"+fn, tt.token, body, key...)
				checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
				if c := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(c, `Bearer error="invalid_token", error_description="`+tt.check) {
					t.Errorf("%s: WWW-Authenticate = %q, want %q", fn, c, tt.check)
				}
			}
			events := e.logs.Events(t, "caller_token_refused")
			if len(events)-before != 7 {
				t.Errorf("%d security events, want 7", len(events)-before)
			}
			if last := events[len(events)-1]; !strings.Contains(last["reason"].(string), tt.check) {
				t.Errorf("event = %v", last)
			}
		})
	}

	t.Run("exempt routes", func(t *testing.T) {
		if r := e.do(t, "GET", "/", "", nil); r.status != http.StatusOK {
			t.Errorf("GET / = %d", r.status)
		}
		ok(t, e.do(t, "POST", "/api/"+api.SupportListFunction, "", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", "requestedBy": "agent"}, key...), "support")
		ok(t, e.do(t, "GET", "/api/me/passkeys", e.tokenFor(t, "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71"), nil), "app API")
	})

	t.Run("keys rotated midway", func(t *testing.T) {
		entra.Rotate(t, true)
		time.Sleep(2 * time.Millisecond)
		ok(t, e.do(t, "POST", "/api/login-begin", entra.Sign(t, v2), body, key...), "after the rotation")
	})

	if !slices.ContainsFunc(e.logs.Lines(t), func(l map[string]any) bool { return l["function"] == "login-begin" && l["status"] == float64(401) }) {
		t.Error("no request log line for a refused call")
	}
}
