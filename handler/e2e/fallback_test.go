package e2e

import (
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// withoutJSONMethods removes the WebAuthn Level 3 JSON helpers, as browsers
// without them (older Safari and Firefox) are, so passkey.js takes its own
// path of base64url coding.
const withoutJSONMethods = `(() => {
  delete PublicKeyCredential.parseCreationOptionsFromJSON;
  delete PublicKeyCredential.parseRequestOptionsFromJSON;
  delete PublicKeyCredential.prototype.toJSON;
})();`

// TestWithoutJSONMethods runs the ceremonies through passkey.js's own
// coding of options and credentials.
func TestWithoutJSONMethods(t *testing.T) {
	d := openDemo(t)
	if _, err := chromedp.Call(d.tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: withoutJSONMethods}); err != nil {
		t.Fatal(err)
	}
	d.load("?autofill=off")
	if eval[bool](d, `'toJSON' in PublicKeyCredential.prototype || 'parseRequestOptionsFromJSON' in PublicKeyCredential`) {
		t.Fatal("the JSON helpers are still there")
	}
	auth := d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")
	credentialID := result(t, d.register())["credentialId"].(string)

	// The second registration carries excludeCredentials, decoded by
	// passkey.js too.
	if o := d.click("#register", "register"); o.Code != "exists" {
		t.Errorf("registering twice: page shows %q (code %q), want the exists message", o.Text, o.Code)
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
			if res["objectId"] != objectID || res["credentialId"] != credentialID {
				t.Fatalf("login-finish answered %v, want %s with %s", res, objectID, credentialID)
			}
			if held := authenticatorCounter(t, auth, credentialID); assertionCounter(t, d.lastCall("login-finish")) != held {
				t.Errorf("the assertion's sign counter differs from the authenticator's %d", held)
			}
		})
	}
}
