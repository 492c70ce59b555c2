package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeys-b2c/passkeys/internal/floor"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// The benchmarks run each function in process: the api.Server handler
// through httptest, the real ceremonies and the embedded store in a
// temporary directory. Credentials are made by softauthn with the timer
// stopped, so each figure is the handler's own cost. BenchmarkFloor is
// the least any login-finish can cost: parsing the assertion and checking
// its signature.

const benchOrigin = "http://localhost:7071"

// benchEnv is one handler on a fresh store.
type benchEnv struct {
	handler http.Handler
	store   *embedded.Store
}

// benchUser is the object id of the user the benchmarks sign in.
var benchUser = oid("bench-user")

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	handler, store := newServer(b, benchOrigin)
	return &benchEnv{handler: handler, store: store}
}

// call posts body to the function and returns the response claims; it
// fails the benchmark on any status but 200.
func (e *benchEnv) call(b *testing.B, function string, body map[string]string) map[string]any {
	b.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/"+function, strings.NewReader(string(data)))
	req.Header.Set("Content-Type", "application/json")
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d: %s", function, rec.Code, rec.Body)
	}
	var claims map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &claims); err != nil {
		b.Fatal(err)
	}
	return claims
}

func newBenchAuthenticator(b *testing.B) *softauthn.Authenticator {
	b.Helper()
	a, err := softauthn.New(benchOrigin)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// register enrols a new passkey for the user and returns its credentialId.
func (e *benchEnv) register(b *testing.B, a *softauthn.Authenticator, objectID string) string {
	b.Helper()
	begin := e.call(b, "register-begin", map[string]string{"objectId": objectID, "userName": objectID + "@example.com"})
	cred, err := a.Register(begin["options"].(string))
	if err != nil {
		b.Fatal(err)
	}
	finish := e.call(b, "register-finish", map[string]string{"objectId": objectID, "credential": cred})
	return finish["credentialId"].(string)
}

func BenchmarkRegisterBegin(b *testing.B) {
	e := newBenchEnv(b)
	e.register(b, newBenchAuthenticator(b), benchUser)
	body := map[string]string{"objectId": benchUser, "userName": "bench@example.com"}
	b.ReportAllocs()
	for b.Loop() {
		e.call(b, "register-begin", body)
	}
}

func BenchmarkRegisterFinish(b *testing.B) {
	e := newBenchEnv(b)
	a := newBenchAuthenticator(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		objectID := oid(fmt.Sprintf("bench-user-%d", i))
		begin := e.call(b, "register-begin", map[string]string{"objectId": objectID, "userName": "bench@example.com"})
		cred, err := a.Register(begin["options"].(string))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.call(b, "register-finish", map[string]string{"objectId": objectID, "credential": cred})
	}
}

func BenchmarkLoginBegin(b *testing.B) {
	e := newBenchEnv(b)
	e.register(b, newBenchAuthenticator(b), benchUser)
	body := map[string]string{"objectId": benchUser}
	b.ReportAllocs()
	for b.Loop() {
		e.call(b, "login-begin", body)
	}
}

func BenchmarkLoginFinish(b *testing.B) {
	e := newBenchEnv(b)
	a := newBenchAuthenticator(b)
	e.register(b, a, benchUser)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		begin := e.call(b, "login-begin", map[string]string{"objectId": benchUser})
		cred, err := a.Login(begin["options"].(string))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.call(b, "login-finish", map[string]string{"objectId": benchUser, "credential": cred})
	}
}

func BenchmarkListDevices(b *testing.B) {
	e := newBenchEnv(b)
	for range 3 {
		e.register(b, newBenchAuthenticator(b), benchUser)
	}
	body := map[string]string{"objectId": benchUser}
	b.ReportAllocs()
	for b.Loop() {
		e.call(b, "list-devices", body)
	}
}

func BenchmarkRenameDevice(b *testing.B) {
	e := newBenchEnv(b)
	id := e.register(b, newBenchAuthenticator(b), benchUser)
	// Alternating names make every call a write.
	bodies := []map[string]string{
		{"objectId": benchUser, "credentialId": id, "deviceName": "Phone"},
		{"objectId": benchUser, "credentialId": id, "deviceName": "Laptop"},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.call(b, "rename-device", bodies[i%2])
		i++
	}
}

func BenchmarkDeleteDevice(b *testing.B) {
	e := newBenchEnv(b)
	e.register(b, newBenchAuthenticator(b), benchUser)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// A copy of the registered passkey under a new id is the one
		// deleted, so the user keeps one passkey throughout.
		u, err := e.store.GetUser(ctx, benchUser)
		if err != nil {
			b.Fatal(err)
		}
		c := u.Credentials[0]
		c.WebAuthn.ID = make([]byte, 32)
		rand.Read(c.WebAuthn.ID)
		u.Credentials = append(u.Credentials, c)
		if err := e.store.ReplaceUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		body := map[string]string{"objectId": benchUser, "credentialId": protocol.URLEncodedBase64(c.WebAuthn.ID).String()}
		b.StartTimer()
		e.call(b, "delete-device", body)
	}
}

// BenchmarkFloor parses an assertion with go-webauthn and verifies its
// signature against the stored public key: the work no login-finish can
// avoid, and the unit the other figures are compared with.
func BenchmarkFloor(b *testing.B) {
	login, err := floor.New(benchOrigin)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := login.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
