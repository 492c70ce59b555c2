package e2e

import (
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// TestLyingAuthenticator makes the authenticator lie in its response and
// checks that the handler refuses it with credential_rejected, which the
// page shows.
func TestLyingAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		name string
		// register is whether the lie is told at registration rather than
		// at sign-in.
		register bool
		lies     browsertest.Overrides
	}{
		{name: "bogus signature", lies: browsertest.Overrides{BogusSignature: true}},
		{name: "no user verification at sign-in", lies: browsertest.Overrides{BadUV: true}},
		{name: "no user verification at registration", register: true, lies: browsertest.Overrides{BadUV: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDemo(t)
			auth := d.authenticator(browsertest.Platform())
			action, selector, fn := "login-named", "#loginNamed", "login-finish"
			if tc.register {
				action, selector, fn = "register", "#register", "register-finish"
			} else {
				d.register()
			}

			auth.Override(t, tc.lies)
			o := d.click(selector, action)
			if o.State != "error" || o.Code != "credential_rejected" {
				t.Fatalf("page shows %s %q (code %q), want credential_rejected", o.State, o.Text, o.Code)
			}
			if res := result(t, o); res["userMessage"] == "" || !strings.HasPrefix(o.Text, res["userMessage"].(string)) {
				t.Errorf("page shows %q, want the userMessage of %v", o.Text, res)
			}
			if c := d.lastCall(fn); c.Status != 409 {
				t.Errorf("%s answered %d, want 409", fn, c.Status)
			}

			// An honest answer afterwards succeeds.
			auth.Override(t, browsertest.Overrides{})
			d.mustOK(selector, action)
		})
	}
}

// TestUserNotVerified uses an authenticator whose user verification fails.
// Chromium does not hand such a response to the page: the ceremony ends in
// the browser with NotAllowedError, the page shows it as cancelled and
// sends nothing to finish.
func TestUserNotVerified(t *testing.T) {
	d := openDemo(t)
	auth := d.authenticator(browsertest.Platform())
	registered := d.value("objectId")
	d.register()
	auth.SetUserVerified(t, false)
	for _, tc := range []struct {
		name, selector, action, finish string
		finishesBefore                 int
	}{
		{name: "registration", selector: "#register", action: "register", finish: "register-finish", finishesBefore: 1},
		{name: "sign-in", selector: "#loginNamed", action: "login-named", finish: "login-finish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d.in(t)
			if tc.action == "register" {
				// A new user, so excludeCredentials does not end it first.
				d.set("objectId", "c0a1e5d2-3b4f-4a6e-8d7c-9b0a1f2e3d4c")
			} else {
				d.set("objectId", registered)
			}
			o := d.click(tc.selector, tc.action)
			if o.State != "error" || o.Code != "cancelled" {
				t.Fatalf("page shows %s %q (code %q), want the cancelled message", o.State, o.Text, o.Code)
			}
			if n := len(d.calls(tc.finish)); n != tc.finishesBefore {
				t.Errorf("the page made %d %s calls, want %d (none for this ceremony)", n, tc.finish, tc.finishesBefore)
			}
		})
	}
	// With verification working again the same user signs in.
	auth.SetUserVerified(t, true)
	d.set("objectId", registered)
	d.signInNamed()
}
