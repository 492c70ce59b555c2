package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// TestLanguage sets the browser's language and checks that the page shows
// the handler's userMessage and passkey.js's own messages in it: the demo
// sends the language as the locale claim.
func TestLanguage(t *testing.T) {
	d := openDemo(t)
	d.authenticator(browsertest.Platform())
	registered := d.value("objectId")
	d.register()
	userAgent := eval[string](d, `navigator.userAgent`)

	for _, tc := range []struct {
		name, acceptLanguage string
		// noDevices starts the handler's no_devices message; exists starts
		// passkey.js's message for an authenticator that already holds a
		// passkey of the user.
		noDevices, exists string
	}{
		{name: "German", acceptLanguage: "de-CH,de", noDevices: "Sie haben noch keinen Passkey", exists: "Auf diesem Gerät gibt es bereits"},
		{name: "French", acceptLanguage: "fr-CH,fr", noDevices: "Vous n'avez pas encore", exists: "Une clé d'accès pour ce compte existe déjà"},
		{name: "Italian", acceptLanguage: "it-CH,it", noDevices: "Non hai ancora una passkey", exists: "Su questo dispositivo esiste già"},
		{name: "English", acceptLanguage: "en-GB,en", noDevices: "You have no passkey yet", exists: "A passkey for this account is already"},
		{name: "Spanish falls back to English", acceptLanguage: "es-ES,es", noDevices: "You have no passkey yet", exists: "A passkey for this account is already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d.in(t)
			if _, err := chromedp.Call(d.tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
				UserAgent: userAgent, AcceptLanguage: tc.acceptLanguage,
			}); err != nil {
				t.Fatalf("Emulation.setUserAgentOverride: %v", err)
			}
			d.load("?autofill=off")

			d.set("objectId", "00000000-0000-4000-8000-00000000b0d1")
			o := d.click("#loginNamed", "login-named")
			if begin := d.lastCall("login-begin"); !strings.Contains(begin.Request, `"locale":"`+strings.Split(tc.acceptLanguage, ",")[0]+`"`) {
				t.Errorf("login-begin request %s does not carry the locale %s", begin.Request, tc.acceptLanguage)
			}
			if o.Code != "no_devices" || !strings.HasPrefix(o.Text, tc.noDevices) {
				t.Errorf("no passkeys: page shows %q (code %q), want %q…", o.Text, o.Code, tc.noDevices)
			}

			d.set("objectId", registered)
			o = d.click("#register", "register")
			if o.Code != "exists" || !strings.HasPrefix(o.Text, tc.exists) {
				t.Errorf("registering twice: page shows %q (code %q), want %q…", o.Text, o.Code, tc.exists)
			}
		})
	}
}
