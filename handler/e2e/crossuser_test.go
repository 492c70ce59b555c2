package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// assertJS begins a login with the body, optionally narrows the options to
// one credential (so the authenticator answers with that passkey whatever
// the handler asked for), and resolves to the assertion credential JSON.
const assertJS = `async (begin, only) => {
  const res = await Passkeys.call('', 'login-begin', begin);
  const options = JSON.parse(res.options);
  if (only) options.publicKey.allowCredentials = [{ type: 'public-key', id: only }];
  return Passkeys.signIn(JSON.stringify(options));
}`

// assertion runs assertJS in the page.
func assertion(t *testing.T, d *demo, begin map[string]string, only string) string {
	t.Helper()
	b, _ := json.Marshal(begin)
	o, _ := json.Marshal(only)
	return eval[string](d, fmt.Sprintf("(%s)(%s, %s)", assertJS, b, o))
}

// TestCrossUser has two users with a passkey each on one authenticator and
// checks that neither can use or manage the other's.
func TestCrossUser(t *testing.T) {
	d := openDemo(t)
	h := d.h
	auth := d.authenticator(browsertest.Platform())
	alice := d.value("objectId")
	aliceCred := result(t, d.register())["credentialId"].(string)
	if err := chromedp.Do(d.tab, chromedp.Click(chromedp.ID("newUser"))); err != nil {
		t.Fatal(err)
	}
	bob := d.value("objectId")
	if bob == alice {
		t.Fatal("New objectId kept the objectId")
	}
	bobCred := result(t, d.register())["credentialId"].(string)
	if n := len(auth.Credentials(t)); n != 2 {
		t.Fatalf("the authenticator holds %d passkeys, want one per user", n)
	}

	t.Run("login", func(t *testing.T) {
		d := d.in(t)
		for _, tc := range []struct {
			name     string
			begin    map[string]string
			only     string
			finishAs string
			code     string
		}{
			{name: "alice's named login finished as bob", begin: map[string]string{"objectId": alice}, finishAs: bob, code: "user_mismatch"},
			{name: "alice's passkey on bob's named login", begin: map[string]string{"objectId": bob}, only: aliceCred, finishAs: bob, code: "credential_unknown"},
			{name: "alice's passkey on a usernameless login finished as bob", begin: map[string]string{}, only: aliceCred, finishAs: bob, code: "user_mismatch"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				credential := assertion(t, d.in(t), tc.begin, tc.only)
				status, body := postJSON(t, h, "login-finish", map[string]string{"objectId": tc.finishAs, "credential": credential})
				wantError(t, "login-finish", status, body, 409, tc.code)
			})
		}
	})

	t.Run("manage", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   string
			body map[string]string
		}{
			{name: "rename", fn: "rename-device", body: map[string]string{"objectId": bob, "credentialId": aliceCred, "deviceName": "Mine now"}},
			{name: "delete", fn: "delete-device", body: map[string]string{"objectId": bob, "credentialId": aliceCred}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := postJSON(t, h, tc.fn, tc.body)
				wantError(t, tc.fn+" of another user's passkey", status, body, 409, "credential_unknown")
			})
		}
		// Through the page: alice's devices are listed, then the objectId
		// becomes bob's, and the buttons of alice's row send bob's objectId
		// with alice's credential id.
		d := d.in(t)
		d.set("objectId", alice)
		d.mustOK("#listDevices", "list")
		d.set("objectId", bob)
		stubPrompt(t, d, "Mine now")
		for _, button := range []string{"rename", "delete"} {
			o := d.click(fmt.Sprintf(`#devices tr[data-id=%q] button.%s`, aliceCred, button), button)
			if o.State != "error" || o.Code != "credential_unknown" {
				t.Errorf("%s of alice's passkey as bob on the page: %s %q (code %q), want credential_unknown", button, o.State, o.Text, o.Code)
			}
		}
		for _, u := range []struct{ objectID, credential string }{{alice, aliceCred}, {bob, bobCred}} {
			status, list := postJSON(t, h, "list-devices", map[string]string{"objectId": u.objectID})
			devices := decodeDevices(t, list)
			if status != 200 || len(devices) != 1 || devices[0].ID != u.credential || devices[0].Name == "Mine now" {
				t.Errorf("%s's devices are %d %+v, want only %s, unchanged", u.objectID, status, devices, u.credential)
			}
		}
	})

	// Both users can still sign in with their own passkey.
	d.set("objectId", alice)
	if res := result(t, d.signInNamed()); res["credentialId"] != aliceCred {
		t.Errorf("alice signed in with %v, want %s", res["credentialId"], aliceCred)
	}
}
