package pages_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// unknownObserver records signalUnknownCredential calls in window.__signals
// and passes them on; with lacks it removes the function (a browser
// without the Signal API). Autofill is off: the button is the way.
const unknownObserver = `(lacks => {
  const seen = [];
  Object.defineProperty(window, '__signals', { value: seen });
  const PKC = window.PublicKeyCredential;
  PKC.isConditionalMediationAvailable = () => Promise.resolve(false);
  const real = PKC.signalUnknownCredential;
  if (lacks) { delete PKC.signalUnknownCredential; return; }
  PKC.signalUnknownCredential = function (argument) {
    seen.push(JSON.parse(JSON.stringify(argument)));
    return real.call(PKC, argument);
  };
})(%t);`

type signalState struct {
	State   string           `json:"state"`
	Signals []map[string]any `json:"signals"`
}

// TestSignInSignalsUnknownCredential: when login-finish refuses the
// passkey the sign-in page posted as unknown (removed on the server, still
// on the authenticator) and B2C shows the handler's message, the page calls
// PublicKeyCredential.signalUnknownCredential with the rpId and the
// credential id, in every language; another refusal signals nothing; a
// browser without the Signal API goes on as before.
func TestSignInSignalsUnknownCredential(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	auth := browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	// orphan registers a passkey for a new user with the register page;
	// with removed, it is then removed on the server (say from another
	// device) and stays on the authenticator. It returns its id.
	orphan := func(t *testing.T, removed bool) (string, string) {
		t.Helper()
		objectID := uuid.NewString()
		reg := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "erin@contoso.com"})
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{
			{"passkeyOptions", reg["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "en"}}})
		s := b.submitted(tab)
		id := b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"]})["credentialId"].(string)
		if removed {
			b.mustCall("delete-device", map[string]any{"objectId": objectID, "credentialId": id})
		}
		if n := len(auth.Credentials(t)); n != 1 {
			t.Fatalf("the authenticator holds %d credentials, want 1", n)
		}
		return objectID, id
	}

	// signIn opens the first sign-in page, uses the passkey with the
	// button and returns what login-finish answered.
	signIn := func(t *testing.T, locale string, lacks bool) (int, map[string]any) {
		t.Helper()
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional", "locale": locale})
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: fmt.Sprintf(unknownObserver, lacks), claims: []claim{
			{"signInName", ""}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", locale}}})
		click(t, tab, "#passkey-usernameless")
		s := b.submitted(tab)
		if s.Claims["passkeyAction"] != "passkey" {
			t.Fatalf("submitted %v, want a passkey", s.Claims)
		}
		return b.call("login-finish", map[string]any{"credential": s.Claims["passkeyCredential"], "locale": locale})
	}
	// refused shows the refusal as B2C does and returns, once the page
	// handled it (the focus is back on the button), the signal state and
	// the calls made.
	refused := func(t *testing.T, status int, body map[string]any, code string) (string, []map[string]any) {
		t.Helper()
		if status == http.StatusOK || body["code"] != code || body["status"] != float64(409) {
			t.Fatalf("login-finish answered %d %v, want %s with status 409", status, body, code)
		}
		showError(t, tab, body["userMessage"].(string))
		focused, err := chromedp.Run(tab, chromedp.Poll[bool](`document.activeElement && document.activeElement.id === 'passkey-usernameless'`,
			chromedp.WithPollingInterval(20*time.Millisecond)))
		if err != nil || !focused {
			t.Fatalf("the page did not handle the refusal: %v", err)
		}
		got, err := chromedp.Run(tab, chromedp.Evaluate[signalState](`({state: document.getElementById('passkey-ui').getAttribute('data-signal') || '', signals: window.__signals})`))
		if err != nil {
			t.Fatal(err)
		}
		return got.State, got.Signals
	}
	// goesOn: after the refusal the button asks for a fresh challenge.
	goesOn := func(t *testing.T) {
		t.Helper()
		click(t, tab, "#passkey-usernameless")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "renew" {
			t.Fatalf("after the refusal the button submitted %v, want renew", s.Claims)
		}
	}

	// Another refusal, of a passkey the server knows: a wrong signature.
	orphan(t, false)
	for _, locale := range []string{"en", "de-CH"} {
		t.Run("wrong signature: no signal, "+locale, func(t *testing.T) {
			auth.Override(t, browsertest.Overrides{BogusSignature: true})
			status, body := signIn(t, locale, false)
			auth.Override(t, browsertest.Overrides{})
			state, seen := refused(t, status, body, "credential_rejected")
			if state != "" || len(seen) != 0 {
				t.Errorf("state %q, calls %v after another refusal", state, seen)
			}
			goesOn(t)
		})
	}
	if _, err := chromedp.Call(tab, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: auth.ID}); err != nil {
		t.Fatal(err)
	}

	for _, locale := range []string{"en", "de-CH"} {
		t.Run("unknown passkey, "+locale, func(t *testing.T) {
			_, credentialID := orphan(t, true)
			status, body := signIn(t, locale, false)
			if locale == "de-CH" && body["userMessage"] != "Dieser Passkey ist für Ihr Konto nicht registriert." {
				t.Errorf("userMessage %q, want German", body["userMessage"])
			}
			state, seen := refused(t, status, body, "credential_unknown")
			want := fmt.Sprint([]map[string]any{{"rpId": "localhost", "credentialId": credentialID}})
			if state != "made" || fmt.Sprint(seen) != want {
				t.Errorf("state %q, calls %v, want %s", state, seen, want)
			}
			// Chromium acts on the signal: the authenticator forgets it.
			gone := false
			for i := 0; i < 50 && !gone; i++ {
				gone = len(auth.Credentials(t)) == 0
				time.Sleep(20 * time.Millisecond)
			}
			if !gone {
				t.Error("the authenticator still holds the unknown passkey")
			}
			goesOn(t)
		})
	}

	t.Run("named page: passkey removed since login-begin", func(t *testing.T) {
		objectID, credentialID := orphan(t, false)
		begin := b.mustCall("login-begin", map[string]any{"objectId": objectID, "locale": "de"})
		b.mustCall("delete-device", map[string]any{"objectId": objectID, "credentialId": credentialID})
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: fmt.Sprintf(unknownObserver, false), claims: []claim{
			{"passkeyReadOnlyEmail", "erin@contoso.com"}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "de"}}})
		s := b.submitted(tab)
		status, body := b.call("login-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"], "locale": "de"})
		if status == http.StatusOK || body["code"] != "credential_unknown" {
			t.Fatalf("login-finish answered %d %v, want credential_unknown", status, body)
		}
		showError(t, tab, body["userMessage"].(string))
		got, err := chromedp.Run(tab, chromedp.Poll[signalState](
			`document.activeElement && document.activeElement.id === 'passkey-back' && {state: document.getElementById('passkey-ui').getAttribute('data-signal') || '', signals: window.__signals}`,
			chromedp.WithPollingInterval(20*time.Millisecond)))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint([]map[string]any{{"rpId": "localhost", "credentialId": credentialID}})
		if got.State != "made" || fmt.Sprint(got.Signals) != want {
			t.Errorf("state %q, calls %v, want %s", got.State, got.Signals, want)
		}
	})

	t.Run("unknown passkey, browser without the Signal API", func(t *testing.T) {
		orphan(t, true)
		status, body := signIn(t, "en", true)
		state, seen := refused(t, status, body, "credential_unknown")
		if state != "unsupported" || len(seen) != 0 {
			t.Errorf("state %q, calls %v in a browser without the Signal API", state, seen)
		}
		if n := len(auth.Credentials(t)); n != 1 {
			t.Errorf("the authenticator holds %d credentials, want the passkey still there", n)
		}
		goesOn(t)
	})
}
