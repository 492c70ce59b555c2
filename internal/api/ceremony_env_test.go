package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/apitest"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

const ceremonyOrigin = "http://localhost:7071"

// ceremonyEnv is the whole handler on a fresh embedded store, with a clock
// the test moves and the log it reads, for the tests that play an
// attacker or a quirky authenticator against it.
type ceremonyEnv struct {
	t       *testing.T
	handler http.Handler
	store   *embedded.Store
	sizes   *measuringStore
	logs    *apitest.Log

	clock *apitest.Clock
}

func newCeremonyEnv(t *testing.T, deviceLimit int) *ceremonyEnv {
	t.Helper()
	cfg := apitest.Config(ceremonyOrigin)
	store := apitest.EmbeddedStore(t)
	e := &ceremonyEnv{t: t, store: store, sizes: &measuringStore{Store: store}, logs: &apitest.Log{}, clock: apitest.NewClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))}
	e.handler = apitest.NewHandler(t, cfg, e.sizes, passkey.Options{DeviceLimit: deviceLimit, Logger: e.logs.Logger(), Now: e.clock.Now}, api.Options{})
	return e
}

// measuringStore records the largest session mark and user record
// written, as JSON (the form both stores keep).
type measuringStore struct {
	passkey.Store
	mu                  sync.Mutex
	maxSession, maxUser int
	writes              int // calls that write
}

func (m *measuringStore) measure(v any, largest *int) {
	data, _ := json.Marshal(v)
	m.mu.Lock()
	defer m.mu.Unlock()
	*largest = max(*largest, len(data))
	m.writes++
}

// writeCalls returns how many calls wrote to the store so far.
func (m *measuringStore) writeCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func (m *measuringStore) ClaimSession(ctx context.Context, challenge string, claim passkey.Claim, keepUntil time.Time) (passkey.Claim, bool, error) {
	m.measure(claim, &m.maxSession)
	return m.Store.ClaimSession(ctx, challenge, claim, keepUntil)
}

func (m *measuringStore) SetResult(ctx context.Context, challenge string, result *passkey.Result) error {
	m.measure(passkey.Claim{Digest: strings.Repeat("0", 64), Result: result}, &m.maxSession)
	return m.Store.SetResult(ctx, challenge, result)
}

func (m *measuringStore) RecordUse(ctx context.Context, u *passkey.User) error {
	m.measure(u, &m.maxUser)
	return m.Store.RecordUse(ctx, u)
}

func (m *measuringStore) CreateUser(ctx context.Context, u *passkey.User) error {
	m.measure(u, &m.maxUser)
	return m.Store.CreateUser(ctx, u)
}

func (m *measuringStore) ReplaceUser(ctx context.Context, u *passkey.User) error {
	m.measure(u, &m.maxUser)
	return m.Store.ReplaceUser(ctx, u)
}

// largest returns the largest session and user record written so far.
func (m *measuringStore) largest() (session, user int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxSession, m.maxUser
}

// oid is the B2C object id (a GUID) these tests give the user called name.
func oid(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String()
}

// post sends claims as JSON and returns the status and the body.
func (e *ceremonyEnv) post(function string, claims map[string]string) (int, map[string]any) {
	e.t.Helper()
	body, _ := json.Marshal(claims)
	req := httptest.NewRequest(http.MethodPost, "/api/"+function, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		e.t.Errorf("%s answered %d: %s", function, rec.Code, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("%s answered a body that is not JSON: %q", function, rec.Body)
	}
	return rec.Code, out
}

// ok posts and fails the test unless the answer is 200.
func (e *ceremonyEnv) ok(function string, claims map[string]string) map[string]any {
	e.t.Helper()
	status, out := e.post(function, claims)
	if status != http.StatusOK {
		e.t.Fatalf("%s %v: %d %v", function, claims, status, out)
	}
	return out
}

// refused posts and fails the test unless the answer has the status and code.
func (e *ceremonyEnv) refused(what string, status int, code string, function string, claims map[string]string) map[string]any {
	e.t.Helper()
	got, out := e.post(function, claims)
	if got != status || out["code"] != code {
		e.t.Fatalf("%s: %s answered %d %v; want %d %s", what, function, got, out, status, code)
	}
	return out
}

func (e *ceremonyEnv) authenticator(opts ...softauthn.Option) *softauthn.Authenticator {
	e.t.Helper()
	a, err := softauthn.New(ceremonyOrigin, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// registerBody begins a registration for the user in the journey and
// returns the finish claims the authenticator's answer makes.
func (e *ceremonyEnv) registerBody(a *softauthn.Authenticator, objectID, journey string, opts ...softauthn.CeremonyOption) map[string]string {
	e.t.Helper()
	begin := e.ok("register-begin", map[string]string{"objectId": objectID, "userName": objectID + "@example.com", "correlationId": journey})
	cred, err := a.Register(begin["options"].(string), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"objectId": objectID, "credential": cred, "correlationId": journey}
}

// register enrols a passkey and returns the finish answer.
func (e *ceremonyEnv) register(a *softauthn.Authenticator, objectID string, opts ...softauthn.CeremonyOption) map[string]any {
	e.t.Helper()
	return e.ok("register-finish", e.registerBody(a, objectID, "journey-register-"+objectID, opts...))
}

// loginBody begins a login (for the user, or usernameless when objectID
// is "") in the journey and returns the finish claims.
func (e *ceremonyEnv) loginBody(a *softauthn.Authenticator, objectID, journey string, opts ...softauthn.CeremonyOption) map[string]string {
	e.t.Helper()
	claims := map[string]string{"correlationId": journey}
	if objectID != "" {
		claims["objectId"] = objectID
	}
	begin := e.ok("login-begin", claims)
	cred, err := a.Login(begin["options"].(string), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	finish := map[string]string{"credential": cred, "correlationId": journey}
	if objectID != "" {
		finish["objectId"] = objectID
	}
	return finish
}

// devices returns the user's device objects.
func (e *ceremonyEnv) devices(objectID string) []map[string]any {
	e.t.Helper()
	list := e.ok("list-devices", map[string]string{"objectId": objectID})
	var devices []map[string]any
	if err := json.Unmarshal([]byte(list["devices"].(string)), &devices); err != nil {
		e.t.Fatal(err)
	}
	return devices
}

// events returns the security events logged so far, each as its fields.
func (e *ceremonyEnv) events(name string) []map[string]any {
	return e.logs.Events(e.t, name)
}

func (e *ceremonyEnv) advance(d time.Duration) { e.clock.Advance(d) }
