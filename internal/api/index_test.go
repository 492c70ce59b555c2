package api_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// TestCredentialOfAnotherUser plays the attack WebAuthn L3 §7.1 cites: an
// account registers another person's credential id and public key with
// "none" attestation, so that the other person's key, answering a sign-in
// by name for that account without a user handle, would sign them into
// it. The registration is credential_exists, and a usernameless sign-in
// without a user handle finds the real owner through the index.
func TestCredentialOfAnotherUser(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	victimKey := e.authenticator()
	victim := e.register(victimKey, oid("victim"))
	id, err := base64.RawURLEncoding.DecodeString(victim["credentialId"].(string))
	if err != nil {
		t.Fatal(err)
	}

	e.register(e.authenticator(), oid("attacker")) // an account of their own
	stolen := e.registerBody(victimKey, oid("attacker"), "journey-a", softauthn.WithCredentialOf(id))
	e.refused("registering the victim's credential for the attacker", http.StatusConflict, "credential_exists", "register-finish", stolen)
	if devices := e.devices(oid("attacker")); len(devices) != 1 {
		t.Fatalf("the attacker's account lists %d passkeys; want only their own", len(devices))
	}

	login := e.ok("login-finish", e.loginBody(victimKey, "", "journey-v", softauthn.WithoutUserHandle()))
	if login["objectId"] != oid("victim") || login["credentialId"] != victim["credentialId"] {
		t.Fatalf("usernameless sign-in without a user handle: %v; want the victim", login)
	}
}
