package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// The fuzz targets post arbitrary input through the whole api.Server (the
// real ceremonies on the embedded store) and hold every answer to the
// contract: any input may be refused, but never with a 5xx or a panic,
// every body is a flat JSON object without null claims, every error has
// the contract's shape, and a refused finish leaves the user record as it
// was. `go test` runs the seeds; scripts/fuzz fuzzes each target for a
// bounded time.

const fuzzOrigin = "http://localhost:7071"

// fuzzFunctions are the functions FuzzFunctions picks from by index; the
// last one is not routed (404).
var fuzzFunctions = []string{
	"register-begin", "register-finish", "login-begin", "login-finish",
	"list-devices", "rename-device", "delete-device", "no-such-function",
}

// fuzzEnv is one handler on a fresh embedded store.
type fuzzEnv struct {
	handler http.Handler
	store   *embedded.Store
	auth    *softauthn.Authenticator
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	handler, store := newServer(tb, fuzzOrigin)
	// A zero counter step lets a seed assertion be replayed without
	// tripping the clone check, so the fuzzer keeps reaching verification.
	auth, err := softauthn.New(fuzzOrigin, softauthn.WithCounterStep(0))
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzEnv{handler: handler, store: store, auth: auth}
}

// post sends body to the function and checks the answer against the
// contract; it returns the status and the decoded claims.
func (e *fuzzEnv) post(tb testing.TB, function string, body []byte, header http.Header) (int, map[string]any) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/"+function, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		tb.Fatalf("%s answered %d: %s", function, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("%s answered with Content-Type %q", function, ct)
	}
	var claims map[string]any
	dec := json.NewDecoder(rec.Body)
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims == nil {
		tb.Fatalf("%s answered a body that is not a JSON object (%v)", function, err)
	}
	for k, v := range claims {
		if v == nil {
			tb.Fatalf("%s answered the claim %s as null", function, k)
		}
	}
	if rec.Code != http.StatusOK {
		for _, k := range []string{"version", "status", "code", "userMessage", "developerMessage", "requestId"} {
			if _, ok := claims[k]; !ok {
				tb.Fatalf("%s error body (%d) has no %s: %v", function, rec.Code, k, claims)
			}
		}
		if fmt.Sprint(claims["status"]) != fmt.Sprint(api.BodyStatus(rec.Code)) {
			tb.Fatalf("%s error body status %v for HTTP status %d, want %d", function, claims["status"], rec.Code, api.BodyStatus(rec.Code))
		}
	}
	return rec.Code, claims
}

// call posts claims and fails unless the answer is 200.
func (e *fuzzEnv) call(tb testing.TB, function string, claims map[string]string) map[string]any {
	tb.Helper()
	body, _ := json.Marshal(claims)
	status, out := e.post(tb, function, body, nil)
	if status != http.StatusOK {
		tb.Fatalf("%s: %d %v", function, status, out)
	}
	return out
}

// register enrols a passkey on e.auth for the user.
func (e *fuzzEnv) register(tb testing.TB, objectID string) {
	tb.Helper()
	begin := e.call(tb, "register-begin", map[string]string{"objectId": objectID, "userName": objectID})
	cred, err := e.auth.Register(begin["options"].(string))
	if err != nil {
		tb.Fatal(err)
	}
	e.call(tb, "register-finish", map[string]string{"objectId": objectID, "credential": cred})
}

// snapshot is the part of a user record a refused finish must not change.
func (e *fuzzEnv) snapshot(tb testing.TB, objectID string) string {
	tb.Helper()
	u, err := e.store.GetUser(context.Background(), objectID)
	if errors.Is(err, passkey.ErrNotFound) {
		return "none"
	}
	if err != nil {
		tb.Fatalf("user record of %s is unreadable: %v", objectID, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v%s", u.Version)
	for _, c := range u.Credentials {
		fmt.Fprintf(&b, " %x:%d:%s", c.WebAuthn.ID, c.WebAuthn.Authenticator.SignCount, c.LastUsedAt.Format(time.RFC3339Nano))
	}
	return b.String()
}

// FuzzFunctions posts arbitrary bodies and Accept-Language values to every
// function: request decoding, required claims and their checks.
func FuzzFunctions(f *testing.F) {
	seeds := []string{
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"a@example.com","displayName":"A","locale":"de-CH"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","credential":"{}","deviceName":"Phone"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","mediation":"conditional"}`,
		`{"mediation":"silent"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","credentialId":"AAAA","deviceName":"Laptop"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","credentialId":"not base64!"}`,
		`{"objectId":7}`, `{"objectId":null}`, `{"credential":{"id":"x"}}`,
		`{"locale":1}`, `{"locale":"xx-\u0000"}`, `{"objectId":"ü"}`,
		`{}`, ``, `null`, `[]`, `"x"`, `{"a":`, `{"objectId":"o"} {}`,
		`{"objectId":"` + strings.Repeat("a", 65) + `"}`,
		`{"objectId":"u","userName":"` + strings.Repeat("n", 300) + `"}`,
		`{"objectId":"u","credentialId":"AAAA","deviceName":"\u0007bell"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s), "fr-CH, de;q=0.8")
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, fn uint8, body []byte, acceptLanguage string) {
		function := fuzzFunctions[int(fn)%len(fuzzFunctions)]
		header := http.Header{}
		if acceptLanguage != "" {
			header.Set("Accept-Language", acceptLanguage)
		}
		e.post(t, function, body, header)
	})
}

// rebind points the credential's clientDataJSON at challenge, so that an
// input made for an earlier session reaches the session and verification
// checks of a live one. Input that does not have that shape is left as it
// is: the handler must refuse it by itself.
func rebind(credential, challenge string) string {
	var cred map[string]any
	if json.Unmarshal([]byte(credential), &cred) != nil {
		return credential
	}
	resp, ok := cred["response"].(map[string]any)
	if !ok {
		return credential
	}
	encoded, ok := resp["clientDataJSON"].(string)
	if !ok {
		return credential
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		return credential
	}
	var clientData map[string]any
	if json.Unmarshal(raw, &clientData) != nil || clientData == nil {
		return credential
	}
	clientData["challenge"] = challenge
	raw, _ = json.Marshal(clientData)
	resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(raw)
	out, _ := json.Marshal(cred)
	return string(out)
}

// challengeOf reads the challenge out of options JSON.
func challengeOf(tb testing.TB, options string) string {
	tb.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil || o.PublicKey.Challenge == "" {
		tb.Fatalf("options without a challenge: %s", options)
	}
	return o.PublicKey.Challenge
}

// credentialSeeds are malformed credentials every credential target tries.
func credentialSeeds(valid string) []string {
	var cred map[string]any
	json.Unmarshal([]byte(valid), &cred)
	mutated := func(change func(map[string]any)) string {
		var c map[string]any
		json.Unmarshal([]byte(valid), &c)
		change(c)
		out, _ := json.Marshal(c)
		return string(out)
	}
	return []string{
		valid,
		valid[:len(valid)/2],
		``, `{}`, `null`, `[]`, `"x"`, `{"id":"","rawId":"","type":"public-key","response":{}}`,
		mutated(func(c map[string]any) { delete(c, "response") }),
		mutated(func(c map[string]any) { c["rawId"] = "!!" }),
		mutated(func(c map[string]any) { c["type"] = "password" }),
		mutated(func(c map[string]any) { c["response"].(map[string]any)["clientDataJSON"] = "e30" }),
		mutated(func(c map[string]any) { c["response"].(map[string]any)["attestationObject"] = "oA" }),
		mutated(func(c map[string]any) { c["response"].(map[string]any)["authenticatorData"] = "AA" }),
		mutated(func(c map[string]any) { c["response"].(map[string]any)["signature"] = "MAA" }),
		mutated(func(c map[string]any) { c["response"].(map[string]any)["userHandle"] = "" }),
		mutated(func(c map[string]any) { c["clientExtensionResults"] = map[string]any{"credProps": 1} }),
	}
}

// FuzzRegisterFinish posts arbitrary attestation credentials to
// register-finish, each against a fresh registration session.
func FuzzRegisterFinish(f *testing.F) {
	e := newFuzzEnv(f)
	seedAuth, err := softauthn.New(fuzzOrigin)
	if err != nil {
		f.Fatal(err)
	}
	packed, err := softauthn.New(fuzzOrigin, softauthn.WithAttestation(softauthn.AttestationPacked))
	if err != nil {
		f.Fatal(err)
	}
	for i, a := range []*softauthn.Authenticator{seedAuth, packed} {
		begin := e.call(f, "register-begin", map[string]string{"objectId": oid(fmt.Sprintf("seed-%d", i)), "userName": "seed"})
		cred, err := a.Register(begin["options"].(string))
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range credentialSeeds(cred) {
			f.Add(s, "")
		}
		bad, _ := a.Register(begin["options"].(string), softauthn.WithBadSignature(), softauthn.WithoutUV())
		f.Add(bad, "Laptop")
	}
	n := 0
	f.Fuzz(func(t *testing.T, credential, deviceName string) {
		n++
		objectID := oid(fmt.Sprintf("fuzz-reg-%d", n%4)) // a few users, so some already have passkeys
		begin := e.call(t, "register-begin", map[string]string{"objectId": objectID, "userName": objectID})
		before := e.snapshot(t, objectID)
		body, _ := json.Marshal(map[string]string{
			"objectId": objectID, "credential": rebind(credential, challengeOf(t, begin["options"].(string))), "deviceName": deviceName,
		})
		status, _ := e.post(t, "register-finish", body, nil)
		if after := e.snapshot(t, objectID); status != http.StatusOK && after != before {
			t.Fatalf("a refused register-finish (%d) changed the user record:\nbefore %s\nafter  %s", status, before, after)
		}
	})
}

// FuzzLoginFinish posts arbitrary assertion credentials to login-finish,
// each against a fresh login session, named or usernameless.
func FuzzLoginFinish(f *testing.F) {
	e := newFuzzEnv(f)
	objectID := oid("fuzz-login")
	e.register(f, objectID)
	for _, named := range []bool{true, false} {
		claims := map[string]string{}
		if named {
			claims["objectId"] = objectID
		}
		begin := e.call(f, "login-begin", claims)
		cred, err := e.auth.Login(begin["options"].(string))
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range credentialSeeds(cred) {
			f.Add(s, named)
		}
		bad, _ := e.auth.Login(begin["options"].(string), softauthn.WithBadSignature(), softauthn.WithoutUserHandle())
		f.Add(bad, named)
	}
	f.Fuzz(func(t *testing.T, credential string, named bool) {
		claims := map[string]string{}
		if named {
			claims["objectId"] = objectID
		}
		begin := e.call(t, "login-begin", claims)
		before := e.snapshot(t, objectID)
		claims["credential"] = rebind(credential, challengeOf(t, begin["options"].(string)))
		body, _ := json.Marshal(claims)
		status, _ := e.post(t, "login-finish", body, nil)
		if after := e.snapshot(t, objectID); status != http.StatusOK && after != before {
			t.Fatalf("a refused login-finish (%d) changed the user record:\nbefore %s\nafter  %s", status, before, after)
		}
	})
}
