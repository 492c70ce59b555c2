package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

func TestSecondAuthenticator(t *testing.T) {
	d := openDemo(t)
	platform := d.authenticator(browsertest.Platform())
	first := result(t, d.register())["credentialId"].(string)

	// excludeCredentials lists the first passkey, so the same
	// authenticator refuses to make a second one for the user.
	o := d.click("#register", "register")
	if o.State != "error" || o.Code != "exists" {
		t.Fatalf("registering twice on one authenticator: page shows %s %q (code %q), want the exists message", o.State, o.Text, o.Code)
	}
	begin := d.lastCall("register-begin")
	if !strings.Contains(begin.Response, first) || !strings.Contains(begin.Response, "excludeCredentials") {
		t.Errorf("register-begin options %s do not exclude %s", begin.Response, first)
	}
	if n := len(platform.Credentials(t)); n != 1 {
		t.Errorf("the authenticator holds %d credentials, want 1", n)
	}

	// A security key on USB registers a second passkey for the user. The
	// platform authenticator goes first: with both present, Chromium sends
	// a request to each, and the page gets whichever answers first.
	platform.Remove(t)
	key := d.authenticator(browsertest.SecurityKey())
	res := result(t, d.register())
	second, _ := res["credentialId"].(string)
	if res["deviceCount"] != float64(2) || second == first {
		t.Fatalf("second register-finish answered %v, want a new credential and deviceCount 2", res)
	}
	o = d.click("#register", "register")
	if o.Code != "exists" {
		t.Errorf("registering the security key twice: page shows %q (code %q), want the exists message", o.Text, o.Code)
	}

	list := result(t, d.mustOK("#listDevices", "list"))
	byID := map[string]device{}
	for _, dev := range decodeDevices(t, list) {
		byID[dev.ID] = dev
	}
	// Without attestation (PASSKEY_ATTESTATION none, the default) Chromium
	// sends a security key's AAGUID as zeros; a platform authenticator's
	// it keeps.
	zero := "00000000-0000-0000-0000-000000000000"
	for _, tc := range []struct {
		name, id, transport, aaguid, authenticator string
	}{
		{name: "platform", id: first, transport: "internal", aaguid: chromiumAAGUID, authenticator: "Chromium virtual authenticator"},
		{name: "security key", id: second, transport: "usb", aaguid: zero},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, ok := byID[tc.id]
			if !ok {
				t.Fatalf("list-devices has no %s; it has %v", tc.id, byID)
			}
			if len(dev.Transports) != 1 || dev.Transports[0] != tc.transport {
				t.Errorf("transports %v, want [%s]", dev.Transports, tc.transport)
			}
			if dev.AAGUID != tc.aaguid || dev.Authenticator != tc.authenticator {
				t.Errorf("aaguid %s (%q), want %s (%q)", dev.AAGUID, dev.Authenticator, tc.aaguid, tc.authenticator)
			}
		})
	}

	// A named sign-in offers both passkeys; the security key answers.
	signedIn := result(t, d.signInNamed())
	if signedIn["credentialId"] != second {
		t.Errorf("signed in with %v, want the security key's %s", signedIn["credentialId"], second)
	}
	if held := authenticatorCounter(t, key, second); assertionCounter(t, d.lastCall("login-finish")) != held {
		t.Errorf("sign counter of the assertion differs from the security key's %d", held)
	}
}

func TestManageDevices(t *testing.T) {
	d := openDemo(t)
	platform := d.authenticator(browsertest.Platform())
	first := result(t, d.register())["credentialId"].(string)
	// The second passkey of the user comes from a security key (the
	// platform authenticator excludes itself), with a name the user gave.
	platform.Remove(t)
	key := d.authenticator(browsertest.SecurityKey())
	d.set("deviceName", "Work laptop")
	second := result(t, d.register())["credentialId"].(string)

	rows, count := d.devices()
	if count != "2" || len(rows) != 2 {
		t.Fatalf("#devices shows %v (data-count %q), want 2 rows", rows, count)
	}
	if name := rowName(rows, second); name != "Work laptop" {
		t.Errorf("the second passkey is named %q, want the given name", name)
	}

	// Rename through the row's button; the page asks with prompt(). A
	// name with markup is text, not markup.
	for _, name := range []string{`<img src=x onerror="document.title='owned'">`, "Phone"} {
		stubPrompt(t, d, name)
		o := d.mustOK(fmt.Sprintf(`#devices tr[data-id=%q] button.rename`, first), "rename")
		if res := result(t, o); res["deviceName"] != name {
			t.Errorf("rename-device answered %v, want deviceName %q", res, name)
		}
		rows, _ = d.devices()
		if got := rowName(rows, first); got != name {
			t.Errorf("after rename the row shows %q, want %q", got, name)
		}
		if n := eval[int](d, `document.querySelectorAll('#devices img').length`); n != 0 {
			t.Errorf("the device name became %d elements", n)
		}
	}

	// A name the contract refuses is shown as an error and changes nothing.
	stubPrompt(t, d, strings.Repeat("x", 65))
	o := d.click(fmt.Sprintf(`#devices tr[data-id=%q] button.rename`, first), "rename")
	if o.State != "error" || o.Code != "invalid_request" {
		t.Errorf("renaming to 65 characters: page shows %s %q (code %q), want invalid_request", o.State, o.Text, o.Code)
	}

	// Delete through the row's button.
	o = d.mustOK(fmt.Sprintf(`#devices tr[data-id=%q] button.delete`, second), "delete")
	if res := result(t, o); res["deviceCount"] != float64(1) {
		t.Errorf("delete-device answered %v, want deviceCount 1", res)
	}
	rows, count = d.devices()
	if count != "1" || len(rows) != 1 || rows[0].ID != first || rows[0].Cells[0] != "Phone" {
		t.Errorf("after delete #devices shows %v (data-count %q), want only the renamed first passkey", rows, count)
	}

	// After the delete the page signalled the accepted credentials, so
	// the browser dropped the deleted passkey from the security key; it
	// signs in no more. (A passkey deleted behind the page's back is
	// refused with credential_unknown: TestSignalsOnTheDemoPage.)
	for _, c := range key.Credentials(t) {
		if encodeID(c.CredentialID) == second {
			t.Errorf("the security key still holds the deleted passkey")
		}
	}
	o = d.click("#loginUsernameless", "login-usernameless")
	if o.State != "error" {
		t.Errorf("signing in with a deleted passkey: page shows %s %q (code %q), want an error", o.State, o.Text, o.Code)
	}

	// The list the page shows is what list-devices returns.
	list := result(t, d.mustOK("#listDevices", "list"))
	if list["deviceCount"] != float64(1) || fmt.Sprint(list["deviceNames"]) != "[Phone]" {
		t.Errorf("list-devices answered %v, want one device named Phone", list)
	}
}

// TestDeviceLimit registers up to PASSKEY_DEVICE_LIMIT and one more.
func TestDeviceLimit(t *testing.T) {
	d := openDemo(t, "PASSKEY_DEVICE_LIMIT=1")
	platform := d.authenticator(browsertest.Platform())
	d.register()
	platform.Remove(t)
	key := d.authenticator(browsertest.SecurityKey())
	o := d.click("#register", "register")
	if o.State != "error" || o.Code != "device_limit" {
		t.Fatalf("registering beyond the limit: page shows %s %q (code %q), want device_limit", o.State, o.Text, o.Code)
	}
	if c := d.lastCall("register-begin"); c.Status != 409 {
		t.Errorf("register-begin answered %d, want 409", c.Status)
	}
	if n := len(key.Credentials(t)); n != 0 {
		t.Errorf("the security key made %d credentials, want none", n)
	}
}

// rowName returns the name cell of the row of the credential.
func rowName(rows []row, id string) string {
	for _, r := range rows {
		if r.ID == id && len(r.Cells) > 0 {
			return r.Cells[0]
		}
	}
	return ""
}

// stubPrompt makes the page's prompt() answer with the name.
func stubPrompt(t *testing.T, d *demo, answer string) {
	t.Helper()
	_, err := chromedp.Run(d.tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.prompt = () => %q`, answer)))
	if err != nil {
		t.Fatalf("stubbing prompt: %v", err)
	}
}
