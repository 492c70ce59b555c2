package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// TestSecurityEvents: registration, sign-in, refusal (with its code),
// rename and delete each log one security event with the objectId, the
// credential id, the AAGUID, B2C's correlation id and the client IP the
// policy passes, and never a credential body.
func TestSecurityEvents(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	finish := e.registerBody(a, oid("user"), "journey-r")
	finish["clientIp"] = "203.0.113.7"
	reg := e.ok("register-finish", finish)
	id := reg["credentialId"].(string)

	login := e.loginBody(a, oid("user"), "journey-l")
	login["clientIp"] = "2001:db8::1"
	e.ok("login-finish", login)
	bad := e.loginBody(a, oid("user"), "journey-b", softauthn.WithBadSignature())
	e.refused("a bad signature", http.StatusConflict, "credential_rejected", "login-finish", bad)
	e.ok("rename-device", map[string]string{"objectId": oid("user"), "credentialId": id, "deviceName": "Laptop", "correlationId": "journey-m"})
	e.ok("delete-device", map[string]string{"objectId": oid("user"), "credentialId": id, "correlationId": "journey-m"})

	for _, want := range []struct {
		event, correlationID, clientIP string
		credential                     bool
	}{
		{passkey.EventRegistered, "journey-r", "203.0.113.7", true},
		{passkey.EventSignedIn, "journey-l", "2001:db8::1", true},
		{passkey.EventRefused, "journey-b", "", false},
		{passkey.EventRenamed, "journey-m", "", true},
		{passkey.EventDeleted, "journey-m", "", true},
	} {
		got := e.events(want.event)
		if len(got) != 1 {
			t.Errorf("%d %s events; want 1", len(got), want.event)
			continue
		}
		ev := got[0]
		if ev["objectId"] != oid("user") || ev["correlationId"] != want.correlationID || (want.clientIP != "" && ev["clientIp"] != want.clientIP) {
			t.Errorf("%s event %v; want objectId user, correlationId %s, clientIp %q", want.event, ev, want.correlationID, want.clientIP)
		}
		if want.credential && (ev["credentialId"] != id || ev["aaguid"] == nil) {
			t.Errorf("%s event %v; want credentialId %s and the AAGUID", want.event, ev, id)
		}
	}
	if refused := e.events(passkey.EventRefused); len(refused) == 1 && refused[0]["code"] != "credential_rejected" {
		t.Errorf("refusal event %v; want its code", refused[0])
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		for _, secret := range []string{finish["credential"][:60], login["credential"][:60], "clientDataJSON", "publicKey"} {
			if line != "" && strings.Contains(line, secret) {
				t.Fatalf("a log line holds credential material (%q): %s", secret[:10], line)
			}
		}
	}
}
