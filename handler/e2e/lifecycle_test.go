package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// lifecycleObserver records the page's calls of the browser's Signal API
// and of navigator.credentials.create in window.__lifecycle, and passes
// each on to Chromium. It changes the browser in two ways only, each named
// by the test: "lacks" removes the three signal functions (a browser
// without the Signal API), and "noConditionalCreate" makes
// getClientCapabilities() report conditionalCreate false (a browser
// without automatic upgrade). One thing is answered differently: Chromium
// holds a conditional create until its password manager saw a recent
// password sign-in, which its virtual authenticator cannot provide, so
// after recording the call the observer lets the virtual authenticator
// answer it as a create without mediation.
const lifecycleObserver = `((lacks, noConditionalCreate) => {
  const seen = [];
  Object.defineProperty(window, '__lifecycle', { value: seen });
  const PKC = window.PublicKeyCredential;
  for (const name of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
    const real = PKC[name];
    if (lacks) { delete PKC[name]; continue; }
    PKC[name] = function (argument) {
      seen.push({ call: name, argument: JSON.parse(JSON.stringify(argument)) });
      return real.call(PKC, argument);
    };
  }
  if (noConditionalCreate) {
    const caps = PKC.getClientCapabilities.bind(PKC);
    PKC.getClientCapabilities = async () => Object.assign(await caps(), { conditionalCreate: false });
  }
  const create = navigator.credentials.create.bind(navigator.credentials);
  navigator.credentials.create = (options) => {
    const pk = options.publicKey;
    seen.push({ call: 'create', argument: { mediation: options.mediation || '', hints: pk.hints || [],
      credProps: !!(pk.extensions && pk.extensions.credProps),
      userVerification: (pk.authenticatorSelection || {}).userVerification || '' } });
    if (options.mediation !== 'conditional') return create(options);
    const modal = Object.assign({}, options);
    delete modal.mediation;
    return create(modal);
  };
})(%t, %t);`

type observed struct {
	Call     string         `json:"call"`
	Argument map[string]any `json:"argument"`
}

// openLifecycleDemo opens the demo page with the fetch recorder and the
// lifecycle observer.
func openLifecycleDemo(t *testing.T, lacks, noConditionalCreate bool) *demo {
	t.Helper()
	tab := browsertest.NewTab(t)
	h := startHandler(t)
	for _, src := range []string{recorder, fmt.Sprintf(lifecycleObserver, lacks, noConditionalCreate)} {
		if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatalf("installing a page script: %v", err)
		}
	}
	d := &demo{t: t, tab: tab, h: h}
	d.load("?autofill=off")
	return d
}

func (d *demo) observed(call string) []observed {
	d.t.Helper()
	var out []observed
	for _, o := range eval[[]observed](d, `window.__lifecycle`) {
		if o.Call == call {
			out = append(out, o)
		}
	}
	return out
}

// listedSignals are the entries of the demo's #signals list.
type listedSignal struct {
	Name     string `json:"name"`
	Made     bool   `json:"made"`
	Argument string `json:"argument"`
}

func (d *demo) listedSignals() []listedSignal {
	d.t.Helper()
	return eval[[]listedSignal](d, `[...document.querySelectorAll('#signals li')].map(li => ({ name: li.dataset.signal, made: li.dataset.made === 'true', argument: li.dataset.argument }))`)
}

// waitSignals waits until #signals lists n entries.
func (d *demo) waitSignals(n int) []listedSignal {
	d.t.Helper()
	_, err := chromedp.Run(d.tab, chromedp.Poll[bool](fmt.Sprintf(`document.querySelectorAll('#signals li').length >= %d`, n),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		d.t.Fatalf("waiting for %d signals: %v; listed %+v", n, err, d.listedSignals())
	}
	return d.listedSignals()
}

// TestSignalsOnTheDemoPage: after a registration, a sign-in and a delete
// the page signals the accepted credentials, after a rename the user's
// details, after credential_unknown the unknown credential; a browser
// without the Signal API gets none of the calls and the page works as
// before.
func TestSignalsOnTheDemoPage(t *testing.T) {
	for _, lacks := range []bool{false, true} {
		t.Run(map[bool]string{false: "browser has the Signal API", true: "browser lacks the Signal API"}[lacks], func(t *testing.T) {
			d := openLifecycleDemo(t, lacks, false)
			auth := d.authenticator(browsertest.Platform())
			objectID := d.value("objectId")
			handle := encodeID([]byte(objectID))

			id := result(t, d.register())["credentialId"].(string)
			d.signInUsernameless()
			d.set("userName", "alice.new@example.com")
			if _, err := chromedp.Run(d.tab, chromedp.Evaluate[chromedp.Void](`window.prompt = () => 'Work laptop'`)); err != nil {
				t.Fatal(err)
			}
			d.mustOK("#devices .rename", "rename")
			// Removed from the service behind the page's back (another
			// device, an administrator): the authenticator still holds it,
			// so signing in with it is credential_unknown.
			if status, body := postJSON(t, d.h, "delete-device", map[string]string{"objectId": objectID, "credentialId": id}); status != 200 {
				t.Fatalf("delete-device: %d %v", status, body)
			}
			if o := d.click("#loginUsernameless", "login-usernameless"); o.Code != "credential_unknown" {
				t.Fatalf("sign-in with a passkey the service removed: %+v, want credential_unknown", o)
			}
			second := result(t, d.register())["credentialId"].(string)
			d.mustOK("#devices .delete", "delete")

			want := []struct {
				name     string
				argument map[string]any
			}{
				{"signalAllAcceptedCredentials", map[string]any{"rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": []any{id}}},
				{"signalAllAcceptedCredentials", map[string]any{"rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": []any{id}}},
				{"signalCurrentUserDetails", map[string]any{"rpId": "localhost", "userId": handle, "name": "alice.new@example.com", "displayName": "alice.new@example.com"}},
				{"signalUnknownCredential", map[string]any{"rpId": "localhost", "credentialId": id}},
				{"signalAllAcceptedCredentials", map[string]any{"rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": []any{second}}},
				{"signalAllAcceptedCredentials", map[string]any{"rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": []any{}}},
			}
			listed := d.waitSignals(len(want))
			if len(listed) != len(want) {
				t.Fatalf("signals listed %+v, want %d", listed, len(want))
			}
			for i, w := range want {
				var arg map[string]any
				json.Unmarshal([]byte(listed[i].Argument), &arg)
				if listed[i].Name != w.name || fmt.Sprint(arg) != fmt.Sprint(w.argument) {
					t.Errorf("signal %d: %s %v, want %s %v", i, listed[i].Name, arg, w.name, w.argument)
				}
				if listed[i].Made == lacks {
					t.Errorf("signal %d (%s): made %v in a browser that %s it", i, w.name, listed[i].Made, map[bool]string{false: "has", true: "lacks"}[lacks])
				}
			}
			// What reached the browser: exactly these calls, or none.
			var calls []observed
			for _, name := range []string{"signalAllAcceptedCredentials", "signalCurrentUserDetails", "signalUnknownCredential"} {
				calls = append(calls, d.observed(name)...)
			}
			// The signals have their effect: Chromium removes from the
			// authenticator what the service no longer accepts.
			held := len(auth.Credentials(t))
			if lacks {
				if len(calls) != 0 {
					t.Errorf("calls %+v in a browser without the Signal API", calls)
				}
				if held == 0 {
					t.Error("the authenticator lost its passkeys although no signal was sent")
				}
				return
			}
			if held != 0 {
				t.Errorf("the authenticator still holds %d passkeys the service no longer accepts", held)
			}
			if len(calls) != len(want) {
				t.Fatalf("the browser saw %d signal calls (%+v), want %d", len(calls), calls, len(want))
			}
			for _, w := range want {
				found := false
				for _, c := range d.observed(w.name) {
					found = found || fmt.Sprint(c.Argument) == fmt.Sprint(w.argument)
				}
				if !found {
					t.Errorf("the browser never got %s(%v)", w.name, w.argument)
				}
			}
		})
	}
}

// TestAutomaticUpgradeOnTheDemoPage: after the simulated password sign-in
// the page asks for a passkey with mediation conditional and registers it
// without a dialog; a browser without conditional create gets the offer.
func TestAutomaticUpgradeOnTheDemoPage(t *testing.T) {
	waitUpgrade := func(d *demo) string {
		d.t.Helper()
		state, err := chromedp.Run(d.tab, chromedp.Poll[string](
			`(s => s && s !== 'busy' ? s : false)(document.getElementById('upgradeStatus').dataset.upgrade)`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
		if err != nil {
			d.t.Fatalf("waiting for the upgrade: %v", err)
		}
		return state
	}
	t.Run("conditional create", func(t *testing.T) {
		d := openLifecycleDemo(t, false, false)
		auth := d.authenticator(browsertest.Platform())
		if err := chromedp.Do(d.tab, chromedp.Click(chromedp.CSS(`#passwordSignIn`), chromedp.NodeVisible)); err != nil {
			t.Fatal(err)
		}
		if state := waitUpgrade(d); state != "upgraded" {
			t.Fatalf("upgrade %s: %s", state, eval[string](d, `document.getElementById('upgradeStatus').textContent`))
		}
		creates := d.observed("create")
		if len(creates) != 1 || creates[0].Argument["mediation"] != "conditional" || creates[0].Argument["credProps"] != true ||
			creates[0].Argument["userVerification"] != "preferred" {
			t.Fatalf("create calls %+v, want one with mediation conditional, credProps and userVerification preferred", creates)
		}
		begin := d.lastCall("register-begin")
		if !json.Valid([]byte(begin.Request)) || !strings.Contains(begin.Request, `"mediation":"conditional"`) {
			t.Errorf("register-begin sent %s", begin.Request)
		}
		finish := d.lastCall("register-finish")
		if finish.Status != 200 {
			t.Fatalf("register-finish %d: %s", finish.Status, finish.Response)
		}
		if n := len(auth.Credentials(t)); n != 1 {
			t.Errorf("the authenticator holds %d credentials, want 1", n)
		}
		if offer := eval[bool](d, `document.getElementById('offer').hidden`); !offer {
			t.Error("the offer is shown although the passkey was added")
		}
	})
	t.Run("fallback to the offer", func(t *testing.T) {
		d := openLifecycleDemo(t, false, true)
		d.authenticator(browsertest.Platform())
		if err := chromedp.Do(d.tab, chromedp.Click(chromedp.CSS(`#passwordSignIn`), chromedp.NodeVisible)); err != nil {
			t.Fatal(err)
		}
		if state := waitUpgrade(d); state != "offer" {
			t.Fatalf("upgrade %s, want offer", state)
		}
		if n := len(d.observed("create")); n != 0 {
			t.Errorf("%d create calls before the user chose", n)
		}
		o := d.click("#offerCreate", "register")
		if o.State != "ok" {
			t.Fatalf("offer, create: %+v", o)
		}
		if creates := d.observed("create"); len(creates) != 1 || creates[0].Argument["mediation"] != "" {
			t.Errorf("create calls %+v, want one modal create", creates)
		}
	})
}

// TestHintsOnTheDemoPage: the hints chosen go into the begin calls and
// reach the browser's create call.
func TestHintsOnTheDemoPage(t *testing.T) {
	d := openLifecycleDemo(t, false, false)
	d.authenticator(browsertest.Platform())
	if _, err := chromedp.Run(d.tab, chromedp.SetValue(chromedp.CSS(`#hints`), "client-device")); err != nil {
		t.Fatal(err)
	}
	d.register()
	creates := d.observed("create")
	if len(creates) != 1 || fmt.Sprint(creates[0].Argument["hints"]) != "[client-device]" {
		t.Errorf("create calls %+v, want hints [client-device]", creates)
	}
	rows := decodeDevices(t, result(t, d.mustOK("#listDevices", "list")))
	if len(rows) != 1 {
		t.Fatalf("devices %+v", rows)
	}
	list := d.lastCall("list-devices")
	if !strings.Contains(list.Response, `\"discoverable\":true`) {
		t.Errorf("list-devices %s: the passkey is not listed as discoverable (credProps rk)", list.Response)
	}
}
