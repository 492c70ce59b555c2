package pages_test

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// createObserver records navigator.credentials.create calls in
// window.__creates. Chromium holds a conditional create until its password
// manager saw a recent password sign-in, which the virtual authenticator
// cannot provide, so the observer lets the virtual authenticator answer it
// as a create without mediation. With noConditionalCreate it also makes
// getClientCapabilities() report conditionalCreate false; with
// noCapabilities it removes getClientCapabilities (an older browser).
const createObserver = `((noConditionalCreate, noCapabilities) => {
  const creates = [];
  Object.defineProperty(window, '__creates', { value: creates });
  const PKC = window.PublicKeyCredential;
  if (noCapabilities) delete PKC.getClientCapabilities;
  if (noConditionalCreate) {
    const caps = PKC.getClientCapabilities.bind(PKC);
    PKC.getClientCapabilities = async () => Object.assign(await caps(), { conditionalCreate: false });
  }
  const create = navigator.credentials.create.bind(navigator.credentials);
  navigator.credentials.create = (options) => {
    creates.push({ mediation: options.mediation || '' });
    if (options.mediation !== 'conditional') return create(options);
    const modal = Object.assign({}, options);
    delete modal.mediation;
    return create(modal);
  };
})(%t, %t);`

// TestUpgradePage: the silent step after a password sign-in posts the
// credential of a conditional create ("upgraded"), goes on without one
// when the browser creates none ("declined"), and asks for the offer page
// where the browser cannot create silently ("offer").
func TestUpgradePage(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	auth := browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	objectID := uuid.NewString()

	open := func(t *testing.T, options string, noConditionalCreate, noCapabilities bool) submission {
		t.Helper()
		b.open(tab, harnessPage{file: "passkey-upgrade.html", pre: fmt.Sprintf(createObserver, noConditionalCreate, noCapabilities), claims: []claim{
			{"passkeyOptions", options}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "de-CH"}}})
		s := b.submitted(tab)
		hiddenClaims(t, tab, "passkeyOptions", "passkeyCredential", "passkeyAction", "passkeyLocale")
		if got := waitText(t, tab, "#passkey-status"); got != "Sie werden angemeldet…" {
			t.Errorf("status %q, want the German text", got)
		}
		return s
	}
	creates := func(t *testing.T) []string {
		t.Helper()
		got, err := chromedp.Run(tab, chromedp.Evaluate[[]struct {
			Mediation string `json:"mediation"`
		}](`window.__creates`))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range got {
			out = append(out, c.Mediation)
		}
		return out
	}
	begin := func(t *testing.T) string {
		t.Helper()
		res := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "alice@contoso.com", "mediation": "conditional"})
		return res["options"].(string)
	}

	t.Run("upgraded", func(t *testing.T) {
		s := open(t, begin(t), false, false)
		if s.Cancel || s.Claims["passkeyAction"] != "upgraded" || s.Claims["passkeyCredential"] == "" {
			t.Fatalf("submitted %v, want action upgraded with a credential", s)
		}
		if got := creates(t); len(got) != 1 || got[0] != "conditional" {
			t.Errorf("create calls with mediation %q, want one conditional", got)
		}
		b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"]})
		if n := len(auth.Credentials(t)); n != 1 {
			t.Errorf("the authenticator holds %d credentials", n)
		}
	})

	t.Run("refused by the service: the sign-in goes on", func(t *testing.T) {
		other := uuid.NewString()
		res := b.mustCall("register-begin", map[string]any{"objectId": other, "userName": "carol@contoso.com", "mediation": "conditional"})
		if s := open(t, res["options"].(string), false, false); s.Claims["passkeyAction"] != "upgraded" {
			t.Fatalf("submitted %v", s)
		}
		// register-finish failed: B2C shows its message on the page.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](`(() => {
		  const e = document.querySelector('.error.pageLevel');
		  e.textContent = 'Der Passkey wurde abgelehnt.';
		  e.style.display = 'block';
		})()`)); err != nil {
			t.Fatal(err)
		}
		s := b.submitted(tab)
		if s.Claims["passkeyAction"] != "declined" || s.Claims["passkeyCredential"] != "" {
			t.Fatalf("after the refusal the page submitted %v, want declined without a credential", s)
		}
	})

	t.Run("declined", func(t *testing.T) {
		// The options exclude the passkey the authenticator already holds,
		// so the browser creates none (InvalidStateError).
		s := open(t, begin(t), false, false)
		if s.Claims["passkeyAction"] != "declined" || s.Claims["passkeyCredential"] != "" {
			t.Fatalf("submitted %v, want action declined without a credential", s)
		}
	})

	for _, c := range []struct {
		name                                string
		noConditionalCreate, noCapabilities bool
	}{
		{"offer: conditionalCreate false", true, false},
		{"offer: no getClientCapabilities", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, begin(t), c.noConditionalCreate, c.noCapabilities)
			if s.Claims["passkeyAction"] != "offer" || s.Claims["passkeyCredential"] != "" {
				t.Fatalf("submitted %v, want action offer", s)
			}
			if got := creates(t); len(got) != 0 {
				t.Errorf("create calls %q on a browser that cannot upgrade", got)
			}
		})
	}
}

// signalObserver records signalAllAcceptedCredentials calls in
// window.__signals and passes them on; with lacks it removes the function
// (a browser without the Signal API).
const signalObserver = `(lacks => {
  const seen = [];
  Object.defineProperty(window, '__signals', { value: seen });
  const PKC = window.PublicKeyCredential;
  const real = PKC.signalAllAcceptedCredentials;
  if (lacks) { delete PKC.signalAllAcceptedCredentials; return; }
  PKC.signalAllAcceptedCredentials = function (argument) {
    seen.push(JSON.parse(JSON.stringify(argument)));
    return real.call(PKC, argument);
  };
})(%t);`

// TestManagePageSignals: the manage page, which follows every
// list-devices, tells the browser the user's accepted passkeys where it
// has the Signal API, and nothing changes where it has not.
func TestManagePageSignals(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	auth, err := softauthn.New(b.origin)
	if err != nil {
		t.Fatal(err)
	}
	objectID := uuid.NewString()
	begin := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "dave@contoso.com"})
	cred, err := auth.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	id := b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": cred})["credentialId"].(string)
	list := b.mustCall("list-devices", map[string]any{"objectId": objectID})

	for _, lacks := range []bool{false, true} {
		t.Run(fmt.Sprintf("lacks %v", lacks), func(t *testing.T) {
			b.open(tab, harnessPage{file: "passkey-manage.html", pre: fmt.Sprintf(signalObserver, lacks), claims: []claim{
				{"passkeyRpId", list["rpId"].(string)}, {"passkeyUserHandle", list["userHandle"].(string)},
				{"passkeyDevices", list["devices"].(string)}, {"passkeyAction", ""}, {"passkeyCredentialId", ""},
				{"passkeyDeviceName", ""}, {"passkeyLocale", "en"}}})
			state, err := chromedp.Run(tab, chromedp.Poll[string](`document.getElementById('passkey-ui').getAttribute('data-signal') || false`))
			if err != nil {
				t.Fatal(err)
			}
			hiddenClaims(t, tab, "passkeyRpId", "passkeyUserHandle")
			seen, err := chromedp.Run(tab, chromedp.Evaluate[[]map[string]any](`window.__signals`))
			if err != nil {
				t.Fatal(err)
			}
			if lacks {
				if state != "unsupported" || len(seen) != 0 {
					t.Errorf("state %q, calls %v in a browser without the Signal API", state, seen)
				}
				return
			}
			want := fmt.Sprint(map[string]any{"rpId": "localhost", "userId": b64(objectID), "allAcceptedCredentialIds": []any{id}})
			if state != "made" || len(seen) != 1 || fmt.Sprint(seen[0]) != want {
				t.Errorf("state %q, calls %v, want one with %s", state, seen, want)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
