package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// Bounds of what is stored (BENCHMARKS.md, "Record sizes").
const (
	maxUserRecord = 64 << 10 // a user at the highest device limit
	maxSession    = 2 << 10
)

// TestStoredRecordsAreBounded registers the highest number of passkeys a
// user may have (100), each as large as a client can make it: padded
// clientDataJSON up to the claim's cap, every transport many times over
// and unknown ones, the longest device name in 4-byte characters. The user
// record stays under 64 KB, every session under 2 KB (also a login begun
// for this user), the answers of list-devices and login-begin stay small,
// and a claim over the cap is refused before it is parsed.
func TestStoredRecordsAreBounded(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 100)
	transports := []string{"usb", "nfc", "usb", "ble", "hybrid", "internal", "smart-card", "internal", strings.Repeat("x", 500)}
	for range 10 {
		transports = append(transports, "usb", "nfc")
	}
	name := strings.Repeat("\U0001F511", 64)
	var last *softauthn.Authenticator
	for i := range 100 {
		last = e.authenticator(softauthn.WithTransports(transports...), softauthn.WithAttestation(softauthn.AttestationPacked))
		finish := e.registerBody(last, oid("big-user"), "journey", softauthn.WithClientDataPadding(10<<10))
		finish["deviceName"] = name
		if i == 0 {
			if n := len(finish["credential"]); n < 14<<10 {
				t.Fatalf("the padded credential is only %d bytes", n)
			}
		}
		e.ok("register-finish", finish)
	}
	e.ok("login-finish", e.loginBody(last, oid("big-user"), "journey-login"))
	begin := e.ok("login-begin", map[string]string{"objectId": oid("big-user")})

	session, user := e.sizes.largest()
	t.Logf("largest user record %d bytes (100 passkeys), largest session %d bytes", user, session)
	if user >= maxUserRecord {
		t.Errorf("a user record of 100 passkeys is %d bytes; want under %d", user, maxUserRecord)
	}
	if session >= maxSession {
		t.Errorf("a session is %d bytes; want under %d", session, maxSession)
	}
	list := e.ok("list-devices", map[string]string{"objectId": oid("big-user")})
	if n := len(list["devices"].(string)); n >= maxUserRecord {
		t.Errorf("list-devices' devices claim is %d bytes", n)
	}
	if n := len(begin["options"].(string)); n >= 16<<10 {
		t.Errorf("login-begin's options are %d bytes for 100 passkeys", n)
	}
	devices := e.devices(oid("big-user"))
	if got := devices[0]["transports"]; !slices.Equal(toStrings(got), []string{"ble", "smart-card", "hybrid", "internal", "nfc", "usb"}) {
		t.Errorf("transports stored as %v; want each WebAuthn transport once", got)
	}

	// Over the cap: refused before it is parsed, nothing stored.
	small := newCeremonyEnv(t, 10)
	finish := small.registerBody(small.authenticator(), oid("padded"), "journey", softauthn.WithClientDataPadding(20<<10))
	small.refused("a credential claim over the cap", http.StatusConflict, "credential_rejected", "register-finish", finish)
	if devices := small.devices(oid("padded")); len(devices) != 0 {
		t.Fatalf("the oversized registration stored %v", devices)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _ = s.(string)
	}
	return out
}
