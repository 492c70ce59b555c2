package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/apitest"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/token"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

const (
	appOrigin   = "http://localhost:7071"
	appAudience = "api-app-id"
	appScope    = "Passkeys.Manage"
)

// appEnv is a handler with the app API on, trusting a local issuer.
type appEnv struct {
	handler http.Handler
	issuer  *tokentest.Issuer
	logs    *apitest.Log
}

// newAppEnv starts a local issuer and a handler whose options are
// completed by adjust.
func newAppEnv(t *testing.T, adjust func(*api.Options)) *appEnv {
	t.Helper()
	is := tokentest.New(t, tokentest.Options{Issuer: "https://contoso.b2clogin.com/8f0e1f0c-3c52-4c39-a6d3-00000000000a/v2.0/", OmitAlg: true})
	v, err := token.New(token.Config{MetadataURLs: []string{is.MetadataURL}, Audience: appAudience, Scope: appScope, RefetchInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &apitest.Log{}
	opts := api.Options{AppTokens: v, AppOrigins: []string{"https://app.contoso.com"}}
	if adjust != nil {
		adjust(&opts)
	}
	handler := apitest.NewHandler(t, apitest.Config(appOrigin), apitest.EmbeddedStore(t), passkey.Options{DeviceLimit: 10, Logger: logs.Logger()}, opts)
	return &appEnv{handler: handler, issuer: is, logs: logs}
}

// tokenFor is a valid access token of the user, signed in now.
func (e *appEnv) tokenFor(t *testing.T, oid string, changes ...any) string {
	t.Helper()
	return e.issuer.Sign(t, tokentest.With(e.issuer.Claims(oid, appAudience, appScope), changes...))
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (e *appEnv) do(t *testing.T, method, path, bearer string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	out := reply{status: w.Code, header: w.Header(), raw: w.Body.Bytes()}
	json.Unmarshal(out.raw, &out.body)
	return out
}

func ok(t *testing.T, r reply, what string) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.status, r.raw)
	}
	return r.body
}

// register adds a passkey for the user through the app API.
func (e *appEnv) register(t *testing.T, oid, name string) string {
	t.Helper()
	auth, err := softauthn.New(appOrigin)
	if err != nil {
		t.Fatal(err)
	}
	bearer := e.tokenFor(t, oid)
	begin := ok(t, e.do(t, "POST", "/api/me/passkeys/register-begin", bearer, map[string]any{}), "register-begin")
	options, err := json.Marshal(begin["options"])
	if err != nil {
		t.Fatal(err)
	}
	credential, err := auth.Register(string(options))
	if err != nil {
		t.Fatal(err)
	}
	finish := ok(t, e.do(t, "POST", "/api/me/passkeys/register-finish", bearer,
		map[string]any{"credential": json.RawMessage(credential), "name": name}), "register-finish")
	if finish["deviceName"] != name {
		t.Errorf("register-finish = %v", finish)
	}
	return finish["credentialId"].(string)
}

func devices(t *testing.T, e *appEnv, oid string) []any {
	t.Helper()
	list := ok(t, e.do(t, "GET", "/api/me/passkeys", e.tokenFor(t, oid), nil), "list")
	d, _ := list["devices"].([]any)
	if list["deviceCount"] != float64(len(d)) {
		t.Errorf("deviceCount %v, %d devices", list["deviceCount"], len(d))
	}
	return d
}

// TestAppAPI: a user adds, lists, renames and deletes their passkeys with
// their token, and never sees or changes another user's.
func TestAppAPI(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, nil)
	alice, bob := uuid.NewString(), uuid.NewString()
	id := e.register(t, alice, "Alice's phone")
	e.register(t, bob, "Bob's laptop")

	got := devices(t, e, alice)
	if len(got) != 1 || got[0].(map[string]any)["id"] != id || got[0].(map[string]any)["name"] != "Alice's phone" {
		t.Fatalf("alice's devices = %v", got)
	}
	renamed := ok(t, e.do(t, "PATCH", "/api/me/passkeys/"+id, e.tokenFor(t, alice), map[string]any{"name": "  Work phone "}), "rename")
	if renamed["name"] != "Work phone" || renamed["id"] != id {
		t.Errorf("rename = %v", renamed)
	}

	t.Run("another user's passkey is unknown to bob", func(t *testing.T) {
		for _, d := range devices(t, e, bob) {
			if d.(map[string]any)["id"] == id {
				t.Fatal("bob lists alice's passkey")
			}
		}
		r := e.do(t, "PATCH", "/api/me/passkeys/"+id, e.tokenFor(t, bob), map[string]any{"name": "mine now"})
		checkCode(t, r, http.StatusConflict, passkey.CodeCredentialUnknown)
		r = e.do(t, "DELETE", "/api/me/passkeys/"+id, e.tokenFor(t, bob), nil)
		checkCode(t, r, http.StatusConflict, passkey.CodeCredentialUnknown)
		// bob's own token with alice's id in the body changes nothing:
		// the user is the token's, never a claim of the request.
		r = e.do(t, "GET", "/api/me/passkeys?objectId="+alice, e.tokenFor(t, bob), nil)
		if strings.Contains(string(r.raw), id) {
			t.Error("a query parameter chose another user")
		}
		got := devices(t, e, alice)
		if len(got) != 1 || got[0].(map[string]any)["name"] != "Work phone" {
			t.Errorf("alice's devices after bob's attempts = %v", got)
		}
	})

	t.Run("register-finish of another user's ceremony", func(t *testing.T) {
		begin := ok(t, e.do(t, "POST", "/api/me/passkeys/register-begin", e.tokenFor(t, alice), nil), "begin")
		options, _ := json.Marshal(begin["options"])
		other, err := softauthn.New(appOrigin)
		if err != nil {
			t.Fatal(err)
		}
		credential, err := other.Register(string(options))
		if err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "POST", "/api/me/passkeys/register-finish", e.tokenFor(t, bob), map[string]any{"credential": json.RawMessage(credential)})
		checkCode(t, r, http.StatusConflict, passkey.CodeUserMismatch)
	})

	deleted := ok(t, e.do(t, "DELETE", "/api/me/passkeys/"+id, e.tokenFor(t, alice), nil), "delete")
	if deleted["deviceCount"] != float64(0) {
		t.Errorf("delete = %v", deleted)
	}
	if got := devices(t, e, alice); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
	if n := len(e.logs.Events(t, "app_delete_passkey")); n != 1 {
		t.Errorf("%d app_delete_passkey events, want 1", n)
	}

	t.Run("bad requests", func(t *testing.T) {
		bearer := e.tokenFor(t, alice)
		checkCode(t, e.do(t, "PATCH", "/api/me/passkeys/AAAA", bearer, map[string]any{}), http.StatusBadRequest, passkey.CodeInvalidRequest)
		checkCode(t, e.do(t, "PATCH", "/api/me/passkeys/AAAA", bearer, map[string]any{"name": 5}), http.StatusBadRequest, passkey.CodeInvalidRequest)
		checkCode(t, e.do(t, "POST", "/api/me/passkeys/register-finish", bearer, map[string]any{}), http.StatusBadRequest, passkey.CodeInvalidRequest)
		checkCode(t, e.do(t, "PUT", "/api/me/passkeys", bearer, nil), http.StatusMethodNotAllowed, passkey.CodeMethodNotAllowed)
		checkCode(t, e.do(t, "GET", "/api/me/passkeys/a/b", bearer, nil), http.StatusNotFound, passkey.CodeNotFound)
	})
}

func checkCode(t *testing.T, r reply, status int, code passkey.Code) {
	t.Helper()
	if r.status != status || r.body["code"] != string(code) {
		t.Errorf("%d %s, want %d %s", r.status, r.raw, status, code)
	}
	if r.body["version"] != "1.0.0" || r.body["requestId"] == "" || r.body["userMessage"] == "" {
		t.Errorf("not the contract's error body: %s", r.raw)
	}
}

// TestAppAPIRefusesTokens: every token defect is a 401 whose
// WWW-Authenticate names the failed check, with the contract's body,
// never the token and never a 500; keys rotated midway are picked up.
func TestAppAPIRefusesTokens(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, nil)
	is := e.issuer
	good := is.Claims("0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", appAudience, appScope)
	now := time.Now()
	tests := []struct {
		name, check, token string
	}{
		{"missing token", token.CheckMissing, ""},
		{"wrong audience", token.CheckAudience, is.Sign(t, tokentest.With(good, "aud", "another-api"))},
		{"wrong issuer", token.CheckIssuer, is.Sign(t, tokentest.With(good, "iss", "https://fabrikam.b2clogin.com/x/v2.0/"))},
		{"expired", token.CheckExpired, is.Sign(t, tokentest.With(good, "exp", now.Add(-time.Hour).Unix()))},
		{"not yet valid", token.CheckNotBefore, is.Sign(t, tokentest.With(good, "nbf", now.Add(time.Hour).Unix()))},
		{"unknown key", token.CheckSignature, tokentest.SignWithUnknownKey(t, good)},
		{"alg none", token.CheckAlgorithm, is.Unsigned(t, good)},
		{"HS256 signed with the public key", token.CheckAlgorithm, is.SignHS256WithPublicKey(t, good)},
		{"missing scope", token.CheckScope, is.Sign(t, tokentest.With(good, "scp", "openid offline_access"))},
		{"changed payload", token.CheckSignature, tokentest.Tamper(t, is.Sign(t, good), tokentest.With(good, "oid", "user-2"))},
		{"garbage", token.CheckMalformed, "a.b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, call := range []struct{ method, path string }{
				{"GET", "/api/me/passkeys"}, {"PATCH", "/api/me/passkeys/AAAA"}, {"DELETE", "/api/me/passkeys/AAAA"},
				{"POST", "/api/me/passkeys/register-begin"}, {"POST", "/api/me/passkeys/register-finish"},
			} {
				r := e.do(t, call.method, call.path, tt.token, map[string]any{"name": "x"})
				checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
				challenge := r.header.Get("WWW-Authenticate")
				if !strings.HasPrefix(challenge, `Bearer error="invalid_token", error_description="`+tt.check) {
					t.Errorf("%s %s: WWW-Authenticate = %q, want invalid_token naming %q", call.method, call.path, challenge, tt.check)
				}
				if dev, _ := r.body["developerMessage"].(string); !strings.Contains(dev, tt.check) {
					t.Errorf("developerMessage %q does not name %q", dev, tt.check)
				}
				if tt.token != "" && (bytes.Contains(r.raw, []byte(tt.token)) || strings.Contains(challenge, tt.token)) {
					t.Error("the reply holds the token")
				}
			}
		})
	}
	if strings.Contains(e.logs.String(), is.Sign(t, good)[:40]) {
		t.Error("the log holds a token")
	}

	t.Run("keys rotated midway", func(t *testing.T) {
		ok(t, e.do(t, "GET", "/api/me/passkeys", is.Sign(t, good), nil), "before the rotation")
		is.Rotate(t, true)
		time.Sleep(2 * time.Millisecond) // the refetch interval of this validator
		ok(t, e.do(t, "GET", "/api/me/passkeys", is.Sign(t, good), nil), "with the new key")
	})
}

// TestAppAPIRecentSignIn: adding a passkey needs a sign-in within
// MaxAuthAge (RFC 9470's challenge tells the app to ask for one); reading
// and managing do not.
func TestAppAPIRecentSignIn(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, func(o *api.Options) { o.MaxAuthAge = 2 * time.Minute })
	old := time.Now().Add(-3 * time.Minute).Unix()
	for name, bearer := range map[string]string{
		"old sign-in":  e.tokenFor(t, "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", "auth_time", old),
		"no auth_time": e.tokenFor(t, "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", "auth_time", nil),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/me/passkeys/register-begin", bearer, nil)
			checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
			if c := r.header.Get("WWW-Authenticate"); !strings.Contains(c, `error="insufficient_user_authentication"`) || !strings.Contains(c, `max_age="120"`) {
				t.Errorf("WWW-Authenticate = %q", c)
			}
			ok(t, e.do(t, "GET", "/api/me/passkeys", bearer, nil), "list with an old sign-in")
		})
	}
	ok(t, e.do(t, "POST", "/api/me/passkeys/register-begin", e.tokenFor(t, "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b71", "auth_time", time.Now().Add(-time.Minute).Unix()), nil), "a recent sign-in")
}

// TestAppAPICORS: an app origin gets CORS answers, another origin none;
// a preflight needs no token.
func TestAppAPICORS(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, nil)
	for _, origin := range []string{"https://app.contoso.com", "https://evil.example"} {
		r := e.do(t, "OPTIONS", "/api/me/passkeys/AAAA", "", nil,
			"Origin", origin, "Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "authorization,content-type")
		listed := origin == "https://app.contoso.com"
		if r.status != http.StatusNoContent {
			t.Errorf("%s preflight = %d", origin, r.status)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); (got == origin) != listed || (!listed && got != "") {
			t.Errorf("%s: Access-Control-Allow-Origin = %q", origin, got)
		}
		if listed && (r.header.Get("Access-Control-Allow-Methods") != "PATCH, DELETE" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization")) {
			t.Errorf("preflight headers = %v", r.header)
		}
		g := e.do(t, "GET", "/api/me/passkeys", e.tokenFor(t, "u"), nil, "Origin", origin)
		if got := g.header.Get("Access-Control-Allow-Origin"); (got != "") != listed {
			t.Errorf("%s GET: Access-Control-Allow-Origin = %q", origin, got)
		}
	}
}

// TestAppAPIOff: without token settings the app API does not exist.
func TestAppAPIOff(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, func(o *api.Options) { o.AppTokens = nil })
	checkCode(t, e.do(t, "GET", "/api/me/passkeys", e.tokenFor(t, "u"), nil), http.StatusNotFound, passkey.CodeNotFound)
}
