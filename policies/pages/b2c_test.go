package pages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// These tests run the real page templates and scripts in Chromium with a
// virtual authenticator. A harness plays B2C: it fetches the template
// from the handler the way B2C's page does (GET /api/pages/<file> with the
// page's Origin, CORS checked), renders the technical profile's claims as
// inputs into <div id="api"> a moment after the page loaded (as B2C's own
// script does), and submits the claim inputs when #continue is clicked.
// The test then sends the submitted credential to the handler as the
// policy's validation profile would.

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

const apiKey = "pages-test-api-key-0001"

// b2c is the harness: one page per id, and what each page submitted.
type b2c struct {
	t       *testing.T
	srv     *httptest.Server
	origin  string
	handler *testenv.Handler

	mu     sync.Mutex
	pages  map[string]harnessPage
	submit chan submission
}

type harnessPage struct {
	file   string  // the template
	claims []claim // display claims, in order
	pre    string  // script run before the page's own (browser quirks)
}

type claim struct{ id, value string }

type submission struct {
	Cancel bool              `json:"cancel"`
	Claims map[string]string `json:"claims"`
}

func newB2C(t *testing.T) *b2c {
	t.Helper()
	b := &b2c{t: t, pages: map[string]harnessPage{}, submit: make(chan submission, 4)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.origin = fmt.Sprintf("http://localhost:%d", l.Addr().(*net.TCPAddr).Port)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.srv.Listener.Close()
	b.srv.Listener = l
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	b.handler = testenv.StartHandler(t, "", "PASSKEY_API_KEYS="+apiKey, "PASSKEY_RP_ORIGINS="+b.origin)
	return b
}

func (b *b2c) serve(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	b.mu.Lock()
	p, ok := b.pages[id]
	b.mu.Unlock()
	switch {
	case r.URL.Path == "/submit" && r.Method == http.MethodPost:
		var s submission
		json.NewDecoder(r.Body).Decode(&s)
		b.submit <- s
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/page" && ok:
		page, err := b.render(p)
		if err != nil {
			b.t.Error(err)
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	default:
		http.NotFound(w, r)
	}
}

// render builds the page B2C would: the template, and the claims put into
// #api by a script, after the template's scripts have started.
func (b *b2c) render(p harnessPage) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, b.handler.URL+"/api/pages/"+p.file, nil)
	req.Header.Set("Origin", b.origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	tmpl, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /api/pages/%s: %d", p.file, resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != b.origin {
		return "", fmt.Errorf("GET /api/pages/%s from %s: Access-Control-Allow-Origin %q", p.file, b.origin, got)
	}
	var form strings.Builder
	// B2C's self-asserted layout: its heading and intro, the page-level
	// error, one li per claim, its buttons.
	form.WriteString(`<div class="heading"><h1 role="heading">User Details</h1></div><div class="intro"><p>Please provide the following details.</p></div>`)
	form.WriteString(`<form id="attributeVerification" onsubmit="return false"><div class="error pageLevel" aria-hidden="true" style="display:none"></div><ul>`)
	for _, c := range p.claims {
		fmt.Fprintf(&form, `<li class="TextBox"><div class="attrEntry"><label for="%[1]s">%[1]s</label><input id="%[1]s" class="textInput" type="text" value="%[2]s"></div></li>`,
			c.id, html.EscapeString(c.value))
	}
	form.WriteString(`</ul><div class="buttons"><button id="continue" type="submit">Continue</button><button id="cancel" type="button">Cancel</button></div></form>`)
	formJSON, _ := json.Marshal(form.String())
	b2cScript := `<script>
setTimeout(function () {
  document.getElementById('api').innerHTML = ` + string(formJSON) + `;
  function post(body) {
    fetch('/submit', {method: 'POST', body: JSON.stringify(body)});
    document.getElementById('api').setAttribute('data-submitted', 'true');
  }
  document.getElementById('continue').addEventListener('click', function () {
    var claims = {};
    document.querySelectorAll('#api input').forEach(function (i) { claims[i.id] = i.value; });
    post({claims: claims});
  });
  document.getElementById('cancel').addEventListener('click', function () { post({cancel: true}); });
}, 50);
</script>`
	page := string(tmpl)
	// B2C merges the template into its own page and inserts the template's
	// scripts rather than letting the parser run them: defer keeps no
	// order. The harness inserts them last to first, each a moment after
	// the one before, so a script that needs another at load time fails.
	var sources, tags []string
	for _, m := range scriptTag.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[0], `data-preload="true"`) || !strings.Contains(m[0], `integrity="sha384-`) {
			return "", fmt.Errorf("%s: script %s lacks data-preload=\"true\" or an integrity hash", p.file, m[1])
		}
		sources = append(sources, m[1])
		tags = append(tags, m[0])
	}
	page = scriptTag.ReplaceAllString(page, "")
	if !slices.Contains(sources, b.handler.URL+"/api/pages/passkey.js") {
		return "", fmt.Errorf("%s does not load passkey.js from the handler:\n%s", p.file, tmpl)
	}
	slices.Reverse(tags)
	tagsJSON, _ := json.Marshal(tags)
	insert := `<script>
(function () {
  var tags = ` + string(tagsJSON) + `;
  tags.forEach(function (tag, i) {
    setTimeout(function () {
      var t = document.createElement('template');
      t.innerHTML = tag;
      var s = document.createElement('script');
      Array.prototype.forEach.call(t.content.firstChild.attributes, function (a) { s.setAttribute(a.name, a.value); });
      document.head.appendChild(s);
    }, 30 * i);
  });
})();
</script>`
	if p.pre != "" {
		page = strings.Replace(page, "<head>", "<head><script>"+p.pre+"</script>", 1)
	}
	page = strings.Replace(page, "</head>", insert+"</head>", 1)
	page = strings.Replace(page, "</body>", b2cScript+"</body>", 1)
	return page, nil
}

// scriptTag is a template's script element with its source.
var scriptTag = regexp.MustCompile(`<script src="([^"]+)"[^>]*></script>`) // the whole tag, with its integrity

// open shows a page in the tab.
func (b *b2c) open(tab context.Context, p harnessPage) {
	b.t.Helper()
	id := uuid.NewString()
	b.mu.Lock()
	b.pages[id] = p
	b.mu.Unlock()
	if err := chromedp.Do(tab, chromedp.Navigate(b.origin+"/page?id="+id)); err != nil {
		b.t.Fatalf("opening %s: %v", p.file, err)
	}
}

// submitted waits for the page to submit (the tab's deadline bounds it).
func (b *b2c) submitted(tab context.Context) submission {
	b.t.Helper()
	select {
	case s := <-b.submit:
		return s
	case <-tab.Done():
		b.t.Fatalf("the page did not submit: %v", tab.Err())
		return submission{}
	}
}

// call POSTs to a function as the policy's RESTful profile does.
func (b *b2c) call(fn string, body map[string]any) (int, map[string]any) {
	b.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, b.handler.URL+"/api/"+fn, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-functions-key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (b *b2c) mustCall(fn string, body map[string]any) map[string]any {
	b.t.Helper()
	status, out := b.call(fn, body)
	if status != http.StatusOK {
		b.t.Fatalf("%s: %d %v", fn, status, out)
	}
	return out
}

// showError shows an error on the page the way B2C does when a validation
// profile failed: the page, its DOM and values stay.
func showError(t *testing.T, tab context.Context, message string) {
	t.Helper()
	js := fmt.Sprintf(`(function () {
  var e = document.querySelector('#api .error.pageLevel');
  e.textContent = %q;
  e.style.display = 'block';
  e.setAttribute('aria-hidden', 'false');
  return true;
})()`, message)
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatal(err)
	}
}

// waitText waits until the element's text is not empty and returns it.
func waitText(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	text, err := chromedp.Run(tab, chromedp.Poll[string](
		fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || false`, selector),
		chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		t.Fatalf("waiting for text in %s: %v", selector, err)
	}
	return text
}

func click(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		t.Fatalf("clicking %s: %v", selector, err)
	}
}

func hiddenClaims(t *testing.T, tab context.Context, ids ...string) {
	t.Helper()
	for _, id := range ids {
		hidden, err := chromedp.Run(tab, chromedp.Evaluate[bool](
			fmt.Sprintf(`document.getElementById(%q).closest('li').style.display === 'none'`, id)))
		if err != nil || !hidden {
			t.Errorf("claim %s is shown (%v)", id, err)
		}
	}
}

func TestB2CPages(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	auth := browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	objectID := uuid.NewString()
	var credentialID string

	t.Run("offer: create a passkey posts the action add", func(t *testing.T) {
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{{"passkeyAction", ""}, {"passkeyLocale", "en-US"}}})
		click(t, tab, "#passkey-create")
		s := b.submitted(tab)
		if s.Claims["passkeyAction"] != "add" {
			t.Fatalf("submitted %v", s)
		}
	})

	t.Run("registration", func(t *testing.T) {
		begin := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "alice@contoso.com", "locale": "en-US"})
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{
			{"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "en-US"}}})
		s := b.submitted(tab)
		hiddenClaims(t, tab, "passkeyOptions", "passkeyCredential", "passkeyLocale")
		// Should B2C show an error from register-finish, the way on remains.
		if got := waitText(t, tab, "#passkey-skip"); got != "Not now" {
			t.Errorf("after submitting: skip button %q", got)
		}
		finish := b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"]})
		credentialID = finish["credentialId"].(string)
		if n := len(auth.Credentials(t)); n != 1 {
			t.Fatalf("the authenticator holds %d credentials", n)
		}
	})

	t.Run("layout: phone and desktop, English and German", func(t *testing.T) {
		noAutofill := `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		list := b.mustCall("list-devices", map[string]any{"objectId": objectID})
		// A second passkey with a long name, as a user may give it.
		var devices []map[string]any
		json.Unmarshal([]byte(list["devices"].(string)), &devices)
		devices = append(devices, map[string]any{"id": "AAAAAAAAAAAAAAAAAAAAAA", "name": "Arbeitslaptop im Büro, zweiter Stock (Windows Hello)",
			"authenticator": "Google Password Manager", "createdAt": "2026-11-02T09:14:00Z", "lastUsedAt": "2026-11-30T17:40:00Z", "backupState": true})
		raw, _ := json.Marshal(devices)
		list["devices"] = string(raw)
		titles := map[string]map[string]string{
			"en": {"passkey-register.html": "Sign in faster with a passkey", "passkey-signin.html": "Sign in with a passkey", "passkey-manage.html": "Your passkeys"},
			"de": {"passkey-register.html": "Schneller anmelden mit einem Passkey", "passkey-signin.html": "Mit einem Passkey anmelden", "passkey-manage.html": "Ihre Passkeys"},
		}
		pagesFor := func(locale string) []harnessPage {
			return []harnessPage{
				{file: "passkey-register.html", claims: []claim{{"passkeyAction", ""}, {"passkeyLocale", locale}}},
				{file: "passkey-signin.html", pre: noAutofill, claims: []claim{{"signInName", ""}, {"passkeyOptions", begin["options"].(string)},
					{"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", locale}}},
				{file: "passkey-manage.html", claims: []claim{{"passkeyDevices", list["devices"].(string)}, {"passkeyAction", ""},
					{"passkeyCredentialId", ""}, {"passkeyDeviceName", ""}, {"passkeyLocale", locale}}},
			}
		}
		defer chromedp.Do(tab, chromedp.EmulateViewport(1280, 800))
		for _, width := range []int64{390, 1280} {
			for _, lang := range []string{"en", "de"} {
				for _, p := range pagesFor(lang) {
					t.Run(fmt.Sprintf("%s %dpx %s", p.file, width, lang), func(t *testing.T) {
						if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 844)); err != nil {
							t.Fatal(err)
						}
						b.open(tab, p)
						waitText(t, tab, "#passkey-actions")
						var got struct {
							Lang, Title string
							Overflow    []string
							Primaries   int
							B2CHeading  bool
						}
						js := `(function () {
  const w = window.innerWidth, out = {Lang: document.documentElement.lang, Title: document.title, Overflow: [], Primaries: 0, B2CHeading: false};
  if (document.documentElement.scrollWidth > w) out.Overflow.push('document ' + document.documentElement.scrollWidth);
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > w + 0.5) out.Overflow.push((e.id || e.className || e.tagName) + ' ' + Math.round(r.right));
    const visible = r.width > 0 && getComputedStyle(e).visibility !== 'hidden';
    if (visible && e.tagName === 'BUTTON' && getComputedStyle(e).backgroundColor === 'rgb(0, 103, 184)') out.Primaries++;
  }
  const h = document.querySelector('#api .heading');
  out.B2CHeading = !!h && h.getBoundingClientRect().height > 0;
  return JSON.stringify(out);
})()`
						raw, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
						if err != nil {
							t.Fatal(err)
						}
						json.Unmarshal([]byte(raw), &got)
						if got.Lang != lang || got.Title != titles[lang][p.file] {
							t.Errorf("lang %q, title %q; want %q, %q", got.Lang, got.Title, lang, titles[lang][p.file])
						}
						if len(got.Overflow) > 0 {
							t.Errorf("wider than the %d px viewport: %v", width, got.Overflow)
						}
						if got.Primaries != 1 {
							t.Errorf("%d primary actions, want 1", got.Primaries)
						}
						if got.B2CHeading {
							t.Error("B2C's User Details heading is shown")
						}
					})
				}
			}
		}
	})

	signIn := func(t *testing.T, begin map[string]any, s submission, named bool) {
		t.Helper()
		if !named && s.Claims["passkeyAction"] != "passkey" {
			t.Errorf("a credential was posted with passkeyAction %q, want passkey", s.Claims["passkeyAction"])
		}
		body := map[string]any{"credential": s.Claims["passkeyCredential"]}
		if named {
			body["objectId"] = objectID
		}
		finish := b.mustCall("login-finish", body)
		if finish["objectId"] != objectID || finish["credentialId"] != credentialID {
			t.Fatalf("signed in %v, want %s with %s", finish, objectID, credentialID)
		}
	}

	t.Run("named sign-in", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"objectId": objectID})
		b.open(tab, harnessPage{file: "passkey-signin.html", claims: []claim{
			{"passkeyReadOnlyEmail", "alice@contoso.com"}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "en"}}})
		if got := waitText(t, tab, ".passkey-intro"); got != "Use a passkey of alice@contoso.com." {
			t.Errorf("the named page says %q, not which account", got)
		}
		signIn(t, begin, b.submitted(tab), true)
		shown, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('continue')).display !== 'none'`))
		if shown {
			t.Error("the named passkey page shows B2C's Continue")
		}
	})

	t.Run("usernameless button", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		// A browser without autofill for passkeys: the button is the way.
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`,
			claims: []claim{{"signInName", ""}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		if got := waitText(t, tab, "#passkey-usernameless"); got != "Sign in with a passkey" {
			t.Errorf("button %q", got)
		}
		click(t, tab, "#passkey-usernameless")
		signIn(t, begin, b.submitted(tab), false)
	})

	t.Run("autofill", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		// Chromium's virtual environment answers a conditional request at
		// once with the discoverable credential it holds (no chooser).
		b.open(tab, harnessPage{file: "passkey-signin.html", claims: []claim{
			{"signInName", ""}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		s := b.submitted(tab)
		ac, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('signInName').getAttribute('autocomplete')`))
		if err != nil || ac != "username webauthn" {
			t.Errorf("signInName autocomplete %q (%v)", ac, err)
		}
		signIn(t, begin, s, false)
	})

	noAutofill := `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`

	t.Run("refused passkey: the button asks for a fresh challenge", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: noAutofill, claims: []claim{
			{"signInName", ""}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		click(t, tab, "#passkey-usernameless")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "passkey" {
			t.Fatalf("first submit %v", s.Claims)
		}
		// The service refused it (say its signature did not verify): B2C
		// shows why on the same page; the challenge is spent. (An unknown
		// passkey would also be signalled to the browser, which would
		// then forget it: signal_test.go.)
		showError(t, tab, "Your passkey could not be verified. Please try again.")
		focused, _ := chromedp.Run(tab, chromedp.Poll[string](`document.activeElement && document.activeElement.id === 'passkey-usernameless' && 'yes'`,
			chromedp.WithPollingInterval(20*time.Millisecond)))
		if focused != "yes" {
			t.Errorf("focus is not on the button after the error")
		}
		click(t, tab, "#passkey-usernameless")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "renew" {
			t.Fatalf("after a refusal the button submitted %v, want passkeyAction renew", s.Claims)
		}
	})

	t.Run("idle page: the button asks for a fresh challenge", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		var o map[string]any
		json.Unmarshal([]byte(begin["options"].(string)), &o)
		o["publicKey"].(map[string]any)["timeout"] = 5500 // expired 0.5 s after load
		short, _ := json.Marshal(o)
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: noAutofill, claims: []claim{
			{"signInName", ""}, {"passkeyOptions", string(short)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		waitText(t, tab, "#passkey-usernameless")
		chromedp.Do(tab, chromedp.Sleep(time.Second))
		click(t, tab, "#passkey-usernameless")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "renew" {
			t.Fatalf("an expired page's button submitted %v, want passkeyAction renew", s.Claims)
		}
	})

	t.Run("named way after a refusal, and an empty submit in German", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"mediation": "conditional"})
		b.open(tab, harnessPage{file: "passkey-signin.html", pre: noAutofill, claims: []claim{
			{"signInName", ""}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyAction", ""}, {"passkeyLocale", "de-CH"}}})
		waitText(t, tab, "#passkey-usernameless")
		click(t, tab, "#continue")
		if got := waitText(t, tab, "#passkey-status.passkey-error"); got != "Bitte geben Sie Ihre E-Mail-Adresse ein." {
			t.Errorf("empty submit: %q", got)
		}
		focused, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement.id`))
		if focused != "signInName" {
			t.Errorf("focus on %q after an empty submit, want signInName", focused)
		}
		kind, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('signInName').type`))
		if kind != "email" {
			t.Errorf("the e-mail field is of type %q", kind)
		}
		if err := chromedp.Do(tab, chromedp.SendKeys("#signInName", "alice@contoso.com")); err != nil {
			t.Fatal(err)
		}
		click(t, tab, "#continue")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "name" || s.Claims["signInName"] != "alice@contoso.com" {
			t.Fatalf("named submit %v", s.Claims)
		}
	})

	t.Run("refused in German, then back", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"objectId": objectID})
		// allowCredentials names a passkey the authenticator does not hold:
		// the browser refuses (NotAllowedError), as when the user cancels.
		options := strings.ReplaceAll(begin["options"].(string), credentialID, "AAAAAAAAAAAAAAAAAAAAAA")
		b.open(tab, harnessPage{file: "passkey-signin.html", claims: []claim{
			{"passkeyOptions", options}, {"passkeyCredential", ""}, {"passkeyLocale", "de-CH"}}})
		want := "Es wurde kein Passkey verwendet. Hat dieses Gerät keinen, nutzen Sie einen auf einem anderen Gerät oder melden Sie sich anders an."
		if got := waitText(t, tab, "#passkey-status.passkey-error"); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
		if got := waitText(t, tab, "#passkey-retry"); got != "Erneut versuchen" {
			t.Errorf("retry button %q", got)
		}
		click(t, tab, "#passkey-back")
		if s := b.submitted(tab); !s.Cancel {
			t.Fatalf("back submitted %v, want the B2C cancel", s)
		}
	})

	t.Run("no WebAuthn, in French", func(t *testing.T) {
		b.open(tab, harnessPage{file: "passkey-register.html", pre: `delete window.PublicKeyCredential;`,
			claims: []claim{{"passkeyOptions", `{"publicKey":{}}`}, {"passkeyCredential", ""}, {"passkeyLocale", "fr-CH"}}})
		want := "Ce navigateur ne prend pas en charge les clés d'accès. Veuillez vous connecter autrement."
		if got := waitText(t, tab, "#passkey-status.passkey-error"); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
		click(t, tab, "#passkey-skip")
		if s := b.submitted(tab); s.Cancel || s.Claims["passkeyCredential"] != "" {
			t.Fatalf("skip submitted %v, want an empty credential", s)
		}
	})

	t.Run("manage: rename", func(t *testing.T) {
		list := b.mustCall("list-devices", map[string]any{"objectId": objectID})
		b.open(tab, harnessPage{file: "passkey-manage.html", claims: []claim{
			{"passkeyDevices", list["devices"].(string)}, {"passkeyAction", ""}, {"passkeyCredentialId", ""}, {"passkeyDeviceName", ""},
			{"passkeyLastRound", "true"}, {"passkeyLocale", "it"}}})
		if got := waitText(t, tab, ".passkey-intro"); got != "Questa è l'ultima modifica di questa visita. Per farne altre, riapri le tue passkey." {
			t.Errorf("the last page of the visit says %q", got)
		}
		hiddenClaims(t, tab, "passkeyLastRound")
		if got := waitText(t, tab, "#passkey-rename-0"); got != "Rinomina" {
			t.Errorf("rename button %q", got)
		}
		renameFirst(t, tab, "Portatile")
		s := b.submitted(tab)
		if s.Claims["passkeyAction"] != "rename" || s.Claims["passkeyCredentialId"] != credentialID || s.Claims["passkeyDeviceName"] != "Portatile" {
			t.Fatalf("submitted %v", s.Claims)
		}
		b.mustCall("rename-device", map[string]any{"objectId": objectID, "credentialId": credentialID, "deviceName": "Portatile"})
	})

	t.Run("authenticator refuses: passkey already on it, in Italian", func(t *testing.T) {
		begin := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "alice@contoso.com"})
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{
			{"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "it-IT"}}})
		want := "Su questo dispositivo esiste già una passkey per questo account."
		if got := waitText(t, tab, "#passkey-status.passkey-error"); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
		if got := waitText(t, tab, "#passkey-skip"); got != "Non ora" {
			t.Errorf("skip button %q", got)
		}
	})

	t.Run("manage: remove and add", func(t *testing.T) {
		list := b.mustCall("list-devices", map[string]any{"objectId": objectID})
		manage := harnessPage{file: "passkey-manage.html", pre: `window.confirm = function () { throw new Error('confirm() used'); };`, claims: []claim{
			{"passkeyDevices", list["devices"].(string)}, {"passkeyAction", ""}, {"passkeyCredentialId", ""}, {"passkeyDeviceName", ""}, {"passkeyLocale", "en"}}}
		b.open(tab, manage)
		click(t, tab, "#passkey-remove-0")
		// Asked on the card, not in a browser dialog; Keep goes back.
		click(t, tab, "#passkey-keep")
		click(t, tab, "#passkey-remove-0")
		click(t, tab, "#passkey-remove-confirm")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "delete" || s.Claims["passkeyCredentialId"] != credentialID {
			t.Fatalf("remove submitted %v", s.Claims)
		}
		b.open(tab, manage)
		click(t, tab, "#passkey-add")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "add" {
			t.Fatalf("add submitted %v", s.Claims)
		}
		b.open(tab, manage)
		click(t, tab, "#passkey-done")
		if s := b.submitted(tab); s.Claims["passkeyAction"] != "done" {
			t.Fatalf("done submitted %v", s.Claims)
		}
	})
}

// renameFirst renames the first passkey on the device page to name and
// saves, as a user would.
func renameFirst(t *testing.T, tab context.Context, name string) {
	t.Helper()
	click(t, tab, "#passkey-rename-0")
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(".passkey-rename-input"), name)); err != nil {
		t.Fatal(err)
	}
	click(t, tab, "#passkey-save")
}
