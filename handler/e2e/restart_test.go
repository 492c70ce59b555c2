package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// TestRestart checks that passkeys, their names and sign counters outlive
// the handler process: the same store, a new process, the same page.
func TestRestart(t *testing.T) {
	d := openDemo(t)
	h := d.h
	auth := d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")
	d.set("deviceName", "Before restart")
	credentialID := result(t, d.register())["credentialId"].(string)
	d.signInNamed()
	before := assertionCounter(t, d.lastCall("login-finish"))

	h.Restart(t)
	d.load("?autofill=off")
	if got := d.value("objectId"); got != objectID {
		t.Fatalf("the page forgot the objectId: %q, want %q", got, objectID)
	}

	for _, tc := range []struct {
		name   string
		signIn func(*demo) outcome
	}{
		{name: "named", signIn: (*demo).signInNamed},
		{name: "usernameless", signIn: (*demo).signInUsernameless},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d.in(t)
			res := result(t, tc.signIn(d))
			if res["objectId"] != objectID || res["credentialId"] != credentialID || res["deviceName"] != "Before restart" {
				t.Fatalf("after the restart login-finish answered %v, want %s with %s named Before restart", res, objectID, credentialID)
			}
			counter := assertionCounter(t, d.lastCall("login-finish"))
			if counter <= before || counter != authenticatorCounter(t, auth, credentialID) {
				t.Errorf("sign counter %d: want above %d and equal to the authenticator's", counter, before)
			}
			before = counter
		})
	}

	list := result(t, d.mustOK("#listDevices", "list"))
	if list["deviceCount"] != float64(1) {
		t.Errorf("after the restart list-devices answered %v, want one passkey", list)
	}

	// The stored counter survived too: an authenticator whose counter went
	// back (a clone) is refused.
	id, err := base64.RawURLEncoding.DecodeString(credentialID)
	if err != nil {
		t.Fatal(err)
	}
	back := float64(1)
	if _, err := chromedp.Call(d.tab, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{
		AuthenticatorID: auth.ID, CredentialID: id, SignCount: &back,
	}); err != nil {
		t.Fatalf("WebAuthn.setCredentialProperties: %v", err)
	}
	o := d.click("#loginNamed", "login-named")
	if o.State != "error" || o.Code != "credential_rejected" {
		t.Fatalf("sign-in with a counter set back: page shows %s %q (code %q), want credential_rejected", o.State, o.Text, o.Code)
	}
	if msg, _ := result(t, o)["developerMessage"].(string); !strings.Contains(msg, "sign counter") {
		t.Errorf("developerMessage %q does not name the sign counter", msg)
	}
}
