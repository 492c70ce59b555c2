package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// Chromium's virtual authenticator environment has no account chooser: a
// conditional request (mediation "conditional", the autofill of the field
// with autocomplete="username webauthn") is answered at once, without a
// focus on the field or any input, with a discoverable credential the
// authenticator holds for the RP ID (with several, it picks one itself).
// With none, it is refused at once with NotAllowedError, where a browser
// with its account chooser would keep waiting.

func TestAutofill(t *testing.T) {
	d := openDemo(t)
	auth := d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")
	credentialID := result(t, d.register())["credentialId"].(string)

	// Load the page again with autofill on: the conditional request runs
	// by itself and signs the user in.
	d.load("")
	o := d.waitStatus("autofill", 0)
	if o.State != "ok" {
		t.Fatalf("autofill: page shows %s %q (code %q)", o.State, o.Text, o.Code)
	}
	res := result(t, o)
	if res["objectId"] != objectID || res["credentialId"] != credentialID {
		t.Fatalf("autofill signed in %v, want objectId %s with %s", res, objectID, credentialID)
	}
	begin := d.lastCall("login-begin")
	if !strings.Contains(begin.Request, `"mediation":"conditional"`) || strings.Contains(begin.Request, "objectId") {
		t.Errorf("login-begin request %s, want a usernameless conditional request", begin.Request)
	}
	if !strings.Contains(begin.Response, `\"mediation\":\"conditional\"`) {
		t.Errorf("login-begin options %s do not ask for conditional mediation", begin.Response)
	}
	if got := attr(t, d, "#signInName", "autocomplete"); got != "username webauthn" {
		t.Errorf("sign-in field autocomplete=%q, want \"username webauthn\"", got)
	}
	finish := d.lastCall("login-finish")
	if held := authenticatorCounter(t, auth, credentialID); assertionCounter(t, finish) != held {
		t.Errorf("the assertion's sign counter %d differs from the authenticator's %d", assertionCounter(t, finish), held)
	}
}

func TestAutofillWithoutPasskey(t *testing.T) {
	d := openDemo(t)
	d.authenticator(browsertest.Platform())
	d.load("")
	// Unlike a browser with its account chooser, which would wait for the
	// user, the virtual environment refuses the conditional request at once
	// (NotAllowedError) when it holds no passkey for the RP ID. The page
	// shows it as cancelled, and no assertion is sent.
	o := d.waitStatus("autofill", 0)
	if o.State != "error" || o.Code != "cancelled" {
		t.Fatalf("autofill without a passkey: page shows %s %q (code %q), want the cancelled message", o.State, o.Text, o.Code)
	}
	waitAttr(t, d, "#signInName", "data-autofill", "done")
	if n := len(d.calls("login-finish")); n != 0 {
		t.Errorf("the page sent %d login-finish calls without a passkey", n)
	}
	if begins := d.calls("login-begin"); len(begins) != 1 || !strings.Contains(begins[0].Request, `"mediation":"conditional"`) || strings.Contains(begins[0].Request, "objectId") {
		t.Errorf("login-begin calls %v, want one usernameless conditional request", begins)
	}
}

// attr reads an attribute of the element.
func attr(t *testing.T, d *demo, selector, name string) string {
	t.Helper()
	res, err := chromedp.Run(d.tab, chromedp.AttributeValue(chromedp.CSS(selector), name))
	if err != nil {
		t.Fatalf("reading %s of %s: %v", name, selector, err)
	}
	return res.Value
}

// waitAttr waits until the element's attribute has the value.
func waitAttr(t *testing.T, d *demo, selector, name, value string) {
	t.Helper()
	_, err := chromedp.Run(d.tab, chromedp.PollFunction[bool](
		`(sel, name, value) => document.querySelector(sel)?.getAttribute(name) === value`,
		chromedp.WithPollingArgs(selector, name, value),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		t.Fatalf("waiting for %s[%s=%q]: %v (it is %q)", selector, name, value, err, attr(t, d, selector, name))
	}
}
