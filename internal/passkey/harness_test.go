package passkey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/apitest"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// oid is the B2C object id (a GUID) these tests give the user called name.
func oid(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String()
}

// B2C object ids of the users in these tests.
const (
	userA    = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0a"
	userB    = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0b"
	userC    = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0c"
	userNew  = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0d"
	userNone = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0e"
	userZ    = "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b0f"
)

const (
	testOrigin = "http://localhost:7071"
	sessionTTL = 5 * time.Minute
)

// harness is a Service on the embedded store with a clock the test moves
// and a log the test reads.
type harness struct {
	svc   *passkey.Service
	store *embedded.Store
	logs  *apitest.Log

	clock *apitest.Clock
}

func newHarness(t *testing.T, deviceLimit int) *harness {
	t.Helper()
	return newHarnessOn(t, deviceLimit, func(s *embedded.Store) passkey.Store { return s })
}

// recordMarks is the embedded store as a store that keeps named logins'
// marks in user records (passkey.MarksInRecords), as Cosmos DB does.
type recordMarks struct{ *embedded.Store }

func (recordMarks) MarksInRecords() bool { return true }

// newHarnessOn is newHarness with the service on wrap(the store).
func newHarnessOn(t *testing.T, deviceLimit int, wrap func(*embedded.Store) passkey.Store) *harness {
	t.Helper()
	store := apitest.EmbeddedStore(t)
	h := &harness{store: store, logs: &apitest.Log{}, clock: apitest.NewClock(time.Now().UTC().Truncate(time.Second))}
	h.svc = apitest.NewService(t, h.config(), wrap(store), passkey.Options{DeviceLimit: deviceLimit, Logger: h.logs.Logger(), Now: h.clock.Now})
	return h
}

// config is the relying party of the harness: testOrigin, sessionTTL and
// direct attestation.
func (h *harness) config() config.Config {
	cfg := apitest.Config(testOrigin)
	cfg.SessionTTL, cfg.Attestation = sessionTTL, "direct"
	return cfg
}

func newAuthenticator(t *testing.T, opts ...softauthn.Option) *softauthn.Authenticator {
	t.Helper()
	a, err := softauthn.New(testOrigin, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// registerBegin begins a registration and returns its options.
func (h *harness) registerBegin(t *testing.T, objectID string) string {
	t.Helper()
	res, err := h.svc.RegisterBegin(context.Background(), passkey.RegisterBeginRequest{ObjectID: objectID, UserName: objectID + "@example.com"})
	if err != nil {
		t.Fatalf("register-begin for %s: %v", objectID, err)
	}
	return string(res.Options)
}

// attest has the authenticator answer registration options.
func attest(t *testing.T, a *softauthn.Authenticator, options string, opts ...softauthn.CeremonyOption) string {
	t.Helper()
	cred, err := a.Register(options, opts...)
	if err != nil {
		t.Fatalf("authenticator refused the registration: %v", err)
	}
	return cred
}

// getAssertion has the authenticator answer request options.
func getAssertion(t *testing.T, a *softauthn.Authenticator, options string, opts ...softauthn.CeremonyOption) string {
	t.Helper()
	cred, err := a.Login(options, opts...)
	if err != nil {
		t.Fatalf("authenticator refused the login: %v", err)
	}
	return cred
}

// register runs a whole registration and fails the test if it fails.
func (h *harness) register(t *testing.T, a *softauthn.Authenticator, objectID string) *passkey.RegisterResult {
	t.Helper()
	cred := attest(t, a, h.registerBegin(t, objectID))
	res, err := h.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: objectID, Credential: cred})
	if err != nil {
		t.Fatalf("register-finish for %s: %v", objectID, err)
	}
	return res
}

// loginBegin begins a login (usernameless when objectID is empty).
func (h *harness) loginBegin(t *testing.T, objectID, mediation string) *passkey.BeginResult {
	t.Helper()
	res, err := h.svc.LoginBegin(context.Background(), passkey.LoginBeginRequest{ObjectID: objectID, Mediation: mediation})
	if err != nil {
		t.Fatalf("login-begin for %q: %v", objectID, err)
	}
	return res
}

// login runs a whole login and returns the finish outcome.
func (h *harness) login(t *testing.T, a *softauthn.Authenticator, objectID string, opts ...softauthn.CeremonyOption) (*passkey.LoginResult, error) {
	t.Helper()
	begin := h.loginBegin(t, objectID, "")
	cred := getAssertion(t, a, string(begin.Options), opts...)
	return h.svc.LoginFinish(context.Background(), passkey.LoginFinishRequest{ObjectID: objectID, Credential: cred})
}

func (h *harness) user(t *testing.T, objectID string) *passkey.User {
	t.Helper()
	u, err := h.store.GetUser(context.Background(), objectID)
	if err != nil {
		t.Fatalf("reading user %s: %v", objectID, err)
	}
	return u
}

// wantCode fails unless err carries the code.
func wantCode(t *testing.T, err error, want passkey.Code) {
	t.Helper()
	if got := passkey.ErrorCode(err); got != want {
		t.Fatalf("error %v (code %q), want code %q", err, got, want)
	}
	var perr *passkey.Error
	if !errors.As(err, &perr) {
		t.Fatalf("error %v is not a *passkey.Error", err)
	}
}

func creationOptions(t *testing.T, options string) protocol.PublicKeyCredentialCreationOptions {
	t.Helper()
	var c protocol.CredentialCreation
	if err := json.Unmarshal([]byte(options), &c); err != nil {
		t.Fatalf("creation options %s: %v", options, err)
	}
	return c.Response
}

func requestOptions(t *testing.T, options string) protocol.CredentialAssertion {
	t.Helper()
	var c protocol.CredentialAssertion
	if err := json.Unmarshal([]byte(options), &c); err != nil {
		t.Fatalf("request options %s: %v", options, err)
	}
	return c
}

func b64(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

func descriptorIDs(ds []protocol.CredentialDescriptor) map[string]bool {
	ids := map[string]bool{}
	for _, d := range ds {
		ids[b64(d.CredentialID)] = true
	}
	return ids
}

func (h *harness) advance(d time.Duration) { h.clock.Advance(d) }
