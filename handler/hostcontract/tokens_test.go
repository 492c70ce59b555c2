package hostcontract

import (
	"net/http"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

// TestTokensInTheBinary: the built handler, configured by the environment
// as in Azure, serves the app API with B2C access tokens and requires
// caller tokens on B2C's functions, fetching both issuers' keys itself.
func TestTokensInTheBinary(t *testing.T) {
	t.Parallel()
	b2c := tokentest.New(t, tokentest.Options{Issuer: "https://contoso.b2clogin.com/8f0e1f0c-3c52-4c39-a6d3-0000000000c1/v2.0/", OmitAlg: true})
	const tenant = "8f0e1f0c-3c52-4c39-a6d3-0000000000c2"
	entra := tokentest.New(t, tokentest.Options{
		Issuer:       "https://login.microsoftonline.com/" + tenant + "/v2.0",
		MetadataPath: "/" + tenant + "/v2.0/.well-known/openid-configuration",
	})
	a := startApp(t,
		"PASSKEY_TOKEN_METADATA_URLS="+b2c.MetadataURL, "PASSKEY_TOKEN_AUDIENCE=app-api", "PASSKEY_TOKEN_SCOPE=Passkeys.Manage",
		"PASSKEY_APP_ORIGINS=https://app.contoso.com",
		"PASSKEY_CALLER_METADATA_URL="+entra.MetadataURL, "PASSKEY_CALLER_AUDIENCE=api://passkeys", "PASSKEY_CALLER_APP_IDS=b2c-app",
	)
	user := b2c.Sign(t, b2c.Claims("0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", "app-api", "Passkeys.Manage"))
	caller := entra.Sign(t, tokentest.With(entra.Claims("sp", "api://passkeys", ""), "azp", "b2c-app", "scp", nil))

	r := a.call(t, http.MethodGet, "/api/me/passkeys", nil, "Authorization", "Bearer "+user)
	if r.status != http.StatusOK || r.body["deviceCount"] != float64(0) {
		t.Errorf("GET /api/me/passkeys = %d %s", r.status, r.raw)
	}
	r = a.call(t, http.MethodGet, "/api/me/passkeys", nil, "Authorization", "Bearer "+caller)
	checkError(t, a, r, "me-passkeys", http.StatusUnauthorized, passkey.CodeUnauthorized)
	if c := r.header.Get("WWW-Authenticate"); !strings.Contains(c, `error_description="issuer`) {
		t.Errorf("WWW-Authenticate = %q", c)
	}

	r = a.post(t, "login-begin", map[string]any{})
	checkError(t, a, r, "login-begin", http.StatusUnauthorized, passkey.CodeUnauthorized)
	if c := r.header.Get("WWW-Authenticate"); !strings.Contains(c, `error_description="missing`) {
		t.Errorf("WWW-Authenticate = %q", c)
	}
	r = a.post(t, "login-begin", map[string]any{}, "Authorization", "Bearer "+user)
	checkError(t, a, r, "login-begin", http.StatusUnauthorized, passkey.CodeUnauthorized)
	checkOK(t, a, a.post(t, "login-begin", map[string]any{}, "Authorization", "Bearer "+caller), "login-begin")

	if r := a.call(t, http.MethodGet, "/", nil); r.status != http.StatusOK {
		t.Errorf("GET / = %d with caller tokens on", r.status)
	}
	if r := a.call(t, http.MethodGet, "/api/pages/passkey.js", nil); r.status != http.StatusOK {
		t.Errorf("GET /api/pages/passkey.js = %d with caller tokens on", r.status)
	}
	if code := a.terminate(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	checkNoSecrets(t, a, []string{user, caller})
}
