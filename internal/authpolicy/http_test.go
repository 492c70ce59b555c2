package authpolicy_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/apitest"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/authpolicy"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/mds"
	"github.com/passkeys-b2c/passkeys/internal/mds/mdstest"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

const origin = "http://localhost"

var (
	trustedKey  = uuid.MustParse("a1a1a1a1-0000-4000-8000-000000000001")
	revokedKey  = uuid.MustParse("a1a1a1a1-0000-4000-8000-000000000002")
	unlistedKey = uuid.MustParse("a1a1a1a1-0000-4000-8000-000000000003")
	syncedKey   = uuid.MustParse("a1a1a1a1-0000-4000-8000-000000000004")
)

// world is one metadata service with its root and BLOBs, and the
// attestation CAs of the authenticators.
type world struct {
	root, vendor, stranger *mdstest.CA
	// blob lists trusted (certified), revoked (revoked) and synced;
	// blobRevoked has trusted revoked as well.
	blob, blobRevoked []byte
}

func newWorld(t testing.TB) *world {
	w := &world{
		root:     mdstest.NewCA(t, "Test MDS root"),
		vendor:   mdstest.NewCA(t, "Test Vendor attestation root"),
		stranger: mdstest.NewCA(t, "Unlisted vendor root"),
	}
	entry := func(id uuid.UUID, desc, status string) mdstest.Entry {
		return mdstest.Entry{AAGUID: id, Description: desc, Roots: []*x509.Certificate{w.vendor.Cert}, Status: status}
	}
	w.blob = w.root.BLOB(t, 1,
		entry(trustedKey, "Test Vendor Key", ""),
		entry(revokedKey, "Test Revoked Key", mdstest.Revoked),
		entry(syncedKey, "Test Synced Provider", ""))
	w.blobRevoked = w.root.BLOB(t, 2,
		entry(trustedKey, "Test Vendor Key", mdstest.Compromised),
		entry(revokedKey, "Test Revoked Key", mdstest.Revoked))
	return w
}

// handler is the HTTP handler with the policy the settings (name, value
// pairs) describe, on store, with metadata from the BLOB in a file.
type handler struct {
	http.Handler
	source *mds.Source
	file   string
}

func (w *world) handler(t testing.TB, store *embedded.Store, settings ...string) *handler {
	t.Helper()
	cfg := config.Config{Port: 7071, ListenAddr: "127.0.0.1", DeviceLimit: 10, RequestTimeout: 8 * time.Second, DataDir: "unused", RPID: "localhost", RPName: "Passkeys", RPOrigins: []string{origin}, SessionTTL: 5 * time.Minute,
		Attestation: "none", SyncedPasskeys: "allow", MDSURL: mds.DefaultURL}
	for i := 0; i+1 < len(settings); i += 2 {
		switch v := settings[i+1]; settings[i] {
		case "PASSKEY_ATTESTATION":
			cfg.Attestation = v
		case "PASSKEY_AAGUIDS_ALLOWED":
			cfg.AAGUIDsAllowed = strings.Split(v, ",")
		case "PASSKEY_AAGUIDS_BLOCKED":
			cfg.AAGUIDsBlocked = strings.Split(v, ",")
		case "PASSKEY_SYNCED_PASSKEYS":
			cfg.SyncedPasskeys = v
		default:
			t.Fatalf("unknown setting %s", settings[i])
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &handler{file: filepath.Join(t.TempDir(), "blob.jwt")}
	var md authpolicy.Metadata
	if cfg.UsesMetadata() {
		os.WriteFile(h.file, w.blob, 0o600)
		h.source = mds.New(mds.Options{File: h.file, Root: w.root.Base64(), Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err := h.source.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		md = h.source
	}
	policy, err := authpolicy.FromConfig(&cfg, md)
	if err != nil {
		t.Fatal(err)
	}
	h.Handler = apitest.NewHandler(t, cfg, store, passkey.Options{Policy: policy}, api.Options{})
	return h
}

// publish makes blob the metadata in use, as a daily refresh would.
func (h *handler) publish(t testing.TB, blob []byte) {
	t.Helper()
	os.WriteFile(h.file, blob, 0o600)
	if err := h.source.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB) *embedded.Store {
	store, err := embedded.Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func call(t testing.TB, h http.Handler, function string, body map[string]any) (int, map[string]any) {
	t.Helper()
	return apitest.Serve(t, h, function, body, nil)
}

// authenticator kinds of the tests.
func (w *world) attested(t testing.TB, aaguid uuid.UUID, ca *mdstest.CA, opts ...softauthn.Option) *softauthn.Authenticator {
	t.Helper()
	key, chain := ca.Attestation(t, aaguid)
	return newAuth(t, append([]softauthn.Option{softauthn.WithAAGUID(aaguid), softauthn.WithBackup(false, false),
		softauthn.WithAttestationCertificate(key, chain), softauthn.WithAttachment("cross-platform"), softauthn.WithTransports("usb")}, opts...)...)
}

func newAuth(t testing.TB, opts ...softauthn.Option) *softauthn.Authenticator {
	t.Helper()
	a, err := softauthn.New(origin, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// register runs register-begin and register-finish for user.
func register(t testing.TB, h http.Handler, a *softauthn.Authenticator, user, locale string) (int, map[string]any) {
	t.Helper()
	status, begin := call(t, h, "register-begin", map[string]any{"objectId": oid(user), "userName": user + "@contoso.com"})
	if status != http.StatusOK {
		t.Fatalf("register-begin = %d %v", status, begin)
	}
	cred, err := a.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return call(t, h, "register-finish", map[string]any{"objectId": oid(user), "credential": cred, "locale": locale})
}

func login(t *testing.T, h http.Handler, a *softauthn.Authenticator, user string) (int, map[string]any) {
	t.Helper()
	status, begin := call(t, h, "login-begin", map[string]any{"objectId": oid(user)})
	if status != http.StatusOK {
		t.Fatalf("login-begin = %d %v", status, begin)
	}
	cred, err := a.Login(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return call(t, h, "login-finish", map[string]any{"objectId": oid(user), "credential": cred})
}

func devices(t *testing.T, h http.Handler, user string) []passkey.Device {
	t.Helper()
	status, out := call(t, h, "list-devices", map[string]any{"objectId": oid(user)})
	if status != http.StatusOK {
		t.Fatalf("list-devices = %d %v", status, out)
	}
	var list []passkey.Device
	if err := json.Unmarshal([]byte(out["devices"].(string)), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestPolicyThroughHTTP registers each kind of authenticator under each
// policy value and checks who is let in, what the device says, and the
// refusal's shape.
func TestPolicyThroughHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	kinds := map[string]func(t *testing.T) *softauthn.Authenticator{
		// A listed security key whose attestation chains to its vendor root.
		"trusted": func(t *testing.T) *softauthn.Authenticator { return w.attested(t, trustedKey, w.vendor) },
		// A listed model whose status report says REVOKED.
		"revoked": func(t *testing.T) *softauthn.Authenticator { return w.attested(t, revokedKey, w.vendor) },
		// An authenticator the BLOB does not list, with its own vendor CA.
		"unlisted": func(t *testing.T) *softauthn.Authenticator { return w.attested(t, unlistedKey, w.stranger) },
		// Claims the trusted AAGUID, but its certificate is not the vendor's.
		"impostor": func(t *testing.T) *softauthn.Authenticator { return w.attested(t, trustedKey, w.stranger) },
		// A consumer synced passkey: zero AAGUID, no attestation.
		"zero": func(t *testing.T) *softauthn.Authenticator { return newAuth(t) },
		// A device-bound platform passkey with zero AAGUID and no attestation.
		"zero device-bound": func(t *testing.T) *softauthn.Authenticator {
			return newAuth(t, softauthn.WithBackup(false, false))
		},
		// A listed provider whose passkeys sync.
		"synced listed": func(t *testing.T) *softauthn.Authenticator {
			return w.attested(t, syncedKey, w.vendor, softauthn.WithBackup(true, true))
		},
	}
	type want struct {
		ok       bool
		verified bool
		hint     string // the start of the English user message when refused
	}
	refused := func(hint string) want { return want{hint: hint} }
	const (
		useApproved = "This kind of passkey is not accepted here"
		useAnother  = "This passkey provider or security key is not accepted here"
		useDevice   = "Passkeys that sync between devices cannot be used here"
		useCertKey  = "This passkey could not prove which device it is on"
	)
	tests := []struct {
		name     string
		settings []string
		want     map[string]want
	}{
		{
			name: "attestation none: everything but nothing verified",
			want: map[string]want{"trusted": {ok: true}, "revoked": {ok: true}, "unlisted": {ok: true}, "impostor": {ok: true},
				"zero": {ok: true}, "zero device-bound": {ok: true}, "synced listed": {ok: true}},
		},
		{
			name:     "attestation direct",
			settings: []string{"PASSKEY_ATTESTATION", "direct"},
			want: map[string]want{"trusted": {ok: true, verified: true}, "revoked": refused(useAnother), "unlisted": {ok: true},
				"impostor": refused(useAnother), "zero": {ok: true}, "zero device-bound": {ok: true}, "synced listed": {ok: true, verified: true}},
		},
		{
			name:     "attestation required",
			settings: []string{"PASSKEY_ATTESTATION", "required"},
			want: map[string]want{"trusted": {ok: true, verified: true}, "revoked": refused(useAnother), "unlisted": refused(useCertKey),
				"impostor": refused(useAnother), "zero": refused(useCertKey), "zero device-bound": refused(useCertKey), "synced listed": {ok: true, verified: true}},
		},
		{
			name:     "synced deny",
			settings: []string{"PASSKEY_SYNCED_PASSKEYS", "deny"},
			want: map[string]want{"trusted": {ok: true}, "revoked": {ok: true}, "unlisted": {ok: true}, "impostor": {ok: true},
				"zero": refused(useDevice), "zero device-bound": {ok: true}, "synced listed": refused(useDevice)},
		},
		{
			name:     "allow list",
			settings: []string{"PASSKEY_AAGUIDS_ALLOWED", trustedKey.String(), "PASSKEY_ATTESTATION", "direct"},
			want: map[string]want{"trusted": {ok: true, verified: true}, "revoked": refused(useAnother), "unlisted": refused(useApproved),
				"impostor": refused(useAnother), "zero": refused(useApproved), "zero device-bound": refused(useApproved), "synced listed": refused(useApproved)},
		},
		{
			name:     "block list",
			settings: []string{"PASSKEY_AAGUIDS_BLOCKED", syncedKey.String() + "," + uuid.Nil.String()},
			want: map[string]want{"trusted": {ok: true}, "revoked": {ok: true}, "unlisted": {ok: true}, "impostor": {ok: true},
				"zero": refused(useAnother), "zero device-bound": refused(useAnother), "synced listed": refused(useAnother)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t)
			h := w.handler(t, store, tt.settings...)
			for kind, want := range tt.want {
				user := strings.ReplaceAll(kind, " ", "-")
				a := kinds[kind](t)
				status, out := register(t, h, a, user, "")
				if !want.ok {
					if status != http.StatusConflict || out["code"] != "authenticator_not_allowed" || out["status"] != float64(409) {
						t.Errorf("%s: register-finish = %d %v; want 409 authenticator_not_allowed", kind, status, out)
						continue
					}
					if msg, _ := out["userMessage"].(string); !strings.HasPrefix(msg, want.hint) {
						t.Errorf("%s: userMessage %q; want one starting %q", kind, msg, want.hint)
					}
					if list := devices(t, h, user); len(list) != 0 {
						t.Errorf("%s: a refused registration stored %d devices", kind, len(list))
					}
					continue
				}
				if status != http.StatusOK {
					t.Errorf("%s: register-finish = %d %v; want 200", kind, status, out)
					continue
				}
				list := devices(t, h, user)
				if len(list) != 1 || list[0].AttestationVerified != want.verified {
					t.Errorf("%s: devices %+v; want one with attestationVerified %v", kind, list, want.verified)
					continue
				}
				if want.verified && list[0].Description == "" {
					t.Errorf("%s: a verified device has no description", kind)
				}
				if status, out := login(t, h, a, user); status != http.StatusOK {
					t.Errorf("%s: login-finish = %d %v", kind, status, out)
				}
			}
		})
	}
}

// TestRefusalIsLocalized: the user message follows the locale.
func TestRefusalIsLocalized(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h := w.handler(t, openStore(t), "PASSKEY_SYNCED_PASSKEYS", "deny")
	status, out := register(t, h, newAuth(t), "de-user", "de-CH")
	if status != http.StatusConflict || !strings.HasPrefix(out["userMessage"].(string), "Passkeys, die zwischen Geräten synchronisiert werden") {
		t.Fatalf("register-finish = %d %v; want the German refusal", status, out)
	}
	if dev := out["developerMessage"].(string); !strings.Contains(dev, "PASSKEY_SYNCED_PASSKEYS") {
		t.Errorf("developerMessage %q does not name the setting", dev)
	}
}

// TestRevokedAfterRegistration: a key registered while certified is
// refused at sign-in once the metadata reports it compromised.
func TestRevokedAfterRegistration(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h := w.handler(t, openStore(t), "PASSKEY_ATTESTATION", "direct")
	a := w.attested(t, trustedKey, w.vendor)
	if status, out := register(t, h, a, "alice", ""); status != http.StatusOK {
		t.Fatalf("register-finish = %d %v", status, out)
	}
	if status, out := login(t, h, a, "alice"); status != http.StatusOK {
		t.Fatalf("login-finish before the status change = %d %v", status, out)
	}
	h.publish(t, w.blobRevoked)
	status, out := login(t, h, a, "alice")
	if status != http.StatusConflict || out["code"] != "authenticator_not_allowed" {
		t.Fatalf("login-finish after the key was reported compromised = %d %v; want 409 authenticator_not_allowed", status, out)
	}
	if dev := out["developerMessage"].(string); !strings.Contains(dev, "ATTESTATION_KEY_COMPROMISE") {
		t.Errorf("developerMessage %q does not name the status", dev)
	}
}

// TestJourneyPolicies: two deployments on one store, as two journeys
// with their own policy use it. A synced passkey made in the everyday
// journey signs in there, and is refused in the private clients' journey
// (hardware keys only), whose own key signs in on both.
func TestJourneyPolicies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	store := openStore(t)
	everyday := w.handler(t, store)
	private := w.handler(t, store, "PASSKEY_ATTESTATION", "required", "PASSKEY_SYNCED_PASSKEYS", "deny",
		"PASSKEY_AAGUIDS_ALLOWED", trustedKey.String())
	phone := newAuth(t)
	if status, out := register(t, everyday, phone, "bob", ""); status != http.StatusOK {
		t.Fatalf("everyday register = %d %v", status, out)
	}
	status, out := login(t, private, phone, "bob")
	if status != http.StatusConflict || out["code"] != "authenticator_not_allowed" {
		t.Fatalf("private login with the synced passkey = %d %v; want 409", status, out)
	}
	key := w.attested(t, trustedKey, w.vendor)
	if status, out := register(t, private, key, "bob", ""); status != http.StatusOK {
		t.Fatalf("private register of the security key = %d %v", status, out)
	}
	for name, h := range map[string]http.Handler{"private": private, "everyday": everyday} {
		if status, out := login(t, h, key, "bob"); status != http.StatusOK {
			t.Errorf("%s login with the security key = %d %v", name, status, out)
		}
	}
	if status, _ := login(t, everyday, phone, "bob"); status != http.StatusOK {
		t.Errorf("everyday login with the synced passkey = %d", status)
	}
}

// oid is the B2C object id (a GUID) these tests give the user called name.
func oid(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String()
}
