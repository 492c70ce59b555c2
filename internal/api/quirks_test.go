package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// TestBackupEligibleFlip: a synced passkey that reports another
// backup-eligible flag than at registration (iCloud Keychain, KeePassXC
// after sync) still signs in; the new flags are stored, the device says
// so, and a security event records it.
func TestBackupEligibleFlip(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator(softauthn.WithBackup(false, false))
	e.register(a, oid("user"))
	e.ok("login-finish", e.loginBody(a, oid("user"), "journey", softauthn.WithBackupFlags(true, true)))
	d := e.devices(oid("user"))[0]
	if d["backupEligible"] != true || d["backupState"] != true || d["backupEligibleChanged"] != true {
		t.Errorf("device after the flip: %v; want the new flags and backupEligibleChanged", d)
	}
	if n := len(e.events(passkey.EventBackupFlagChanged)); n != 1 {
		t.Errorf("%d backup flag events; want 1", n)
	}
}

// TestMismatchedCOSEKey: a key whose alg does not fit its key type or
// curve (an ES256 P-256 key labelled EdDSA or RS256) is refused at
// registration, not stored to fail every sign-in after.
func TestMismatchedCOSEKey(t *testing.T) {
	t.Parallel()
	for _, alg := range []webauthncose.COSEAlgorithmIdentifier{webauthncose.AlgEdDSA, webauthncose.AlgRS256, webauthncose.AlgES384} {
		t.Run(alg.String(), func(t *testing.T) {
			e := newCeremonyEnv(t, 10)
			finish := e.registerBody(e.authenticator(), oid("user"), "journey", softauthn.WithCOSEAlgorithm(int64(alg)))
			e.refused("a mismatched COSE key", http.StatusConflict, "credential_rejected", "register-finish", finish)
			if devices := e.devices(oid("user")); len(devices) != 0 {
				t.Fatalf("stored %v", devices)
			}
		})
	}
}

// TestInvisibleCharacters: bidi overrides, zero-width characters, the BOM
// and control characters are refused in a device name and removed from
// the names taken from the directory.
func TestInvisibleCharacters(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	reg := e.register(e.authenticator(), oid("user"))
	for _, name := range []string{"Phone\u202egnp.exe", "Pho\u200bne", "\ufeffPhone", "Phone\u2066", "Phone\x07"} {
		e.refused("rename to "+strconvQuote(name), http.StatusBadRequest, "invalid_request", "rename-device",
			map[string]string{"objectId": oid("user"), "credentialId": reg["credentialId"].(string), "deviceName": name})
		finish := e.registerBody(e.authenticator(), oid("user"), "journey")
		finish["deviceName"] = name
		e.refused("register named "+strconvQuote(name), http.StatusBadRequest, "invalid_request", "register-finish", finish)
	}
	begin := e.ok("register-begin", map[string]string{"objectId": oid("user2"), "userName": "\u202eanna@example.com\u200b", "displayName": "An\u200dna\ufeff"})
	var options struct {
		PublicKey struct {
			User struct {
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	json.Unmarshal([]byte(begin["options"].(string)), &options)
	if u := options.PublicKey.User; u.Name != "anna@example.com" || u.DisplayName != "Anna" {
		t.Errorf("the authenticator is shown %q / %q; want the names without invisible characters", u.Name, u.DisplayName)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestCloneWarningIsVisible: a sign counter that does not increase is
// refused, and the device object and the events show the warning.
func TestCloneWarningIsVisible(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	e.register(a, oid("user"))
	e.ok("login-finish", e.loginBody(a, oid("user"), "j1", softauthn.WithCounter(9)))
	e.refused("a rewound counter", http.StatusConflict, "credential_rejected", "login-finish", e.loginBody(a, oid("user"), "j2", softauthn.WithCounter(4)))
	if d := e.devices(oid("user"))[0]; d["cloneWarning"] != true {
		t.Errorf("device %v; want cloneWarning true", d)
	}
	if n := len(e.events(passkey.EventCloneWarning)); n != 1 {
		t.Errorf("%d clone warning events; want 1", n)
	}
	// Synced passkeys report 0 for ever: no warning.
	z := newCeremonyEnv(t, 10)
	s := z.authenticator(softauthn.WithCounterStep(0))
	z.register(s, oid("user"))
	z.ok("login-finish", z.loginBody(s, oid("user"), "j1"))
	if d := z.devices(oid("user"))[0]; d["cloneWarning"] != false {
		t.Errorf("device of a counter-less passkey %v; want no clone warning", d)
	}
}

// TestAuthenticatorNameIsAClaim: with no attestation verified, a device
// named after its AAGUID says that the name is what the client claimed.
func TestAuthenticatorNameIsAClaim(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	yubikey := [16]byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}
	e.register(e.authenticator(softauthn.WithAAGUID(yubikey), softauthn.WithAttestation(softauthn.AttestationPacked)), oid("user"))
	d := e.devices(oid("user"))[0]
	if d["authenticator"] != "YubiKey 5 Series" || d["attestationVerified"] != false {
		t.Errorf("device %v; want the claimed name with attestationVerified false", d)
	}
}

// TestConcurrentFinishesForOneUser: fifteen registrations of one user
// finished at once all succeed (contention is retried with backoff), none
// is a 500.
func TestConcurrentFinishesForOneUser(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 100)
	const n = 15
	bodies := make([]map[string]string, n)
	for i := range bodies {
		bodies[i] = e.registerBody(e.authenticator(), oid("busy"), "journey")
	}
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for _, body := range bodies {
		wg.Go(func() {
			status, _ := e.post("register-finish", body)
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Errorf("a concurrent finish answered %d", status)
		}
	}
	if got := len(e.devices(oid("busy"))); got != n {
		t.Errorf("%d passkeys stored; want %d", got, n)
	}
}

// TestInputsCheckedBeforeTheStore: a body that is not declared JSON (a
// cross-site form or text/plain POST) is refused; a challenge that the
// service cannot have issued never becomes a store key.
func TestInputsCheckedBeforeTheStore(t *testing.T) {
	t.Parallel()
	h, _ := newServer(t, ceremonyOrigin)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		status, body := postRaw(t, h, "login-begin", `{}`, ct)
		if status != http.StatusBadRequest || body["code"] != "invalid_request" {
			t.Errorf("Content-Type %q: %d %v; want 400 invalid_request", ct, status, body)
		}
	}
	if status, body := postRaw(t, h, "login-begin", `{}`, "application/json; charset=utf-8"); status != http.StatusOK {
		t.Errorf("application/json with a charset: %d %v", status, body)
	}

	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	e.register(a, oid("user"))
	finish := e.loginBody(a, oid("user"), "j")
	for _, challenge := range []string{"..", strings.Repeat("A", 4000), "not base64url!"} {
		forged := rebindChallenge(t, finish["credential"], challenge)
		e.refused("challenge "+challenge[:2], http.StatusConflict, "credential_rejected", "login-finish",
			map[string]string{"objectId": oid("user"), "credential": forged, "correlationId": "j"})
	}
}

// rebindChallenge replaces the challenge in the credential's clientDataJSON.
func rebindChallenge(t *testing.T, credential, challenge string) string {
	t.Helper()
	var cred map[string]any
	if err := json.Unmarshal([]byte(credential), &cred); err != nil {
		t.Fatal(err)
	}
	resp := cred["response"].(map[string]any)
	raw, _ := base64.RawURLEncoding.DecodeString(resp["clientDataJSON"].(string))
	var cd map[string]any
	json.Unmarshal(raw, &cd)
	cd["challenge"] = challenge
	raw, _ = json.Marshal(cd)
	resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(raw)
	out, _ := json.Marshal(cred)
	return string(out)
}
