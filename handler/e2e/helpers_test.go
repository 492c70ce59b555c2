package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/apitest"

	"github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/browsertest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// storeEnv returns the settings that select the store of a handler the
// test starts. PASSKEY_E2E_STORE=cosmos gives each test a database of its
// own on testenv.StartCosmos (the project's Cosmos test server, or the
// account PASSKEY_COSMOS_ENDPOINT names); PASSKEY_E2E_STORE_ENV adds
// settings of its own (white-space separated NAME=VALUE pairs); neither
// means the embedded store in the handler's temporary directory. A test
// file of this package that needs another store may replace the function.
var storeEnv = func(t *testing.T) []string {
	t.Helper()
	var env []string
	switch store := os.Getenv("PASSKEY_E2E_STORE"); store {
	case "", "embedded":
	case "cosmos":
		c := testenv.StartCosmos(t)
		env = c.HandlerEnv(c.Database(t))
	default:
		t.Fatalf("PASSKEY_E2E_STORE=%q: want embedded or cosmos", store)
	}
	return append(env, strings.Fields(os.Getenv("PASSKEY_E2E_STORE_ENV"))...)
}

// waitTimeout bounds each wait for the page; it only turns a hang into a
// failure, it is not an assertion on speed.
const waitTimeout = 20 * time.Second

// startHandler starts the handler binary on a free port with the store of
// storeEnv and the settings in env.
// When the test ends, a log line at level ERROR (an internal error, a
// status of 500 or above) fails it.
func startHandler(t *testing.T, env ...string) *testenv.Handler {
	t.Helper()
	h := testenv.StartHandler(t, "", append(storeEnv(t), env...)...)
	t.Cleanup(func() {
		for _, line := range strings.Split(h.Log(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Errorf("the handler logged an error: %s", line)
			}
		}
	})
	return h
}

// recorder wraps window.fetch in every document of the tab and keeps each
// call of a function: its name, request body, status and response body.
const recorder = `(() => {
  const calls = [];
  Object.defineProperty(window, '__calls', { value: calls });
  const fetch = window.fetch.bind(window);
  window.fetch = async (url, init) => {
    const res = await fetch(url, init);
    const path = String(url);
    const i = path.indexOf('/api/');
    if (i >= 0) {
      const text = await res.clone().text();
      calls.push({ fn: path.slice(i + 5), request: String((init && init.body) || ''), status: res.status, response: text });
    }
    return res;
  };
})();`

// demo is the demo page of a handler in a tab of the shared browser.
type demo struct {
	t   *testing.T
	tab context.Context
	h   *testenv.Handler
}

// openDemo opens a new tab with the fetch recorder, starts a handler and
// loads its demo page with autofill off, so that only the buttons a test
// clicks run ceremonies. env adds handler settings. The tab comes first:
// without Chromium the test skips before building the handler.
func openDemo(t *testing.T, env ...string) *demo {
	t.Helper()
	tab := browsertest.NewTab(t)
	h := startHandler(t, env...)
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorder}); err != nil {
		t.Fatalf("installing the fetch recorder: %v", err)
	}
	d := &demo{t: t, tab: tab, h: h}
	d.load("?autofill=off")
	return d
}

// load navigates to the demo page with the query and waits until its
// script has run.
func (d *demo) load(query string) {
	d.t.Helper()
	err := chromedp.Do(d.tab,
		chromedp.Navigate(d.h.URL+"/"+query),
		chromedp.WaitReady(chromedp.CSS(`#signInName[data-autofill]`)),
	)
	if err != nil {
		d.t.Fatalf("loading the demo page: %v", err)
	}
}

// in returns the page for use in the subtest t.
func (d *demo) in(t *testing.T) *demo {
	c := *d
	c.t = t
	return &c
}

// authenticator adds a virtual authenticator to the tab.
func (d *demo) authenticator(opts *cdpwebauthn.VirtualAuthenticatorOptions) *browsertest.Authenticator {
	d.t.Helper()
	return browsertest.AddAuthenticator(d.t, d.tab, opts)
}

// outcome is what #status says after an action.
type outcome struct {
	Action string `json:"action"`
	State  string `json:"state"`
	Code   string `json:"code"`
	Text   string `json:"text"`
	Result string `json:"result"`
	Seq    int    `json:"seq"`
}

// statusJS reads #status and #result.
const statusJS = `(() => {
  const s = document.getElementById('status');
  return { action: s.dataset.action || '', state: s.dataset.state || '', code: s.dataset.code || '',
    text: s.textContent, result: document.getElementById('result').textContent, seq: +(s.dataset.seq || 0) };
})()`

func (d *demo) status() outcome {
	d.t.Helper()
	o, err := chromedp.Run(d.tab, chromedp.Evaluate[outcome](statusJS))
	if err != nil {
		d.t.Fatalf("reading #status: %v", err)
	}
	return o
}

// waitStatus waits until #status shows a finished outcome (not busy) of
// the action, newer than message number after.
func (d *demo) waitStatus(action string, after int) outcome {
	d.t.Helper()
	expr := fmt.Sprintf(`(() => { const o = %s; return o.seq > %d && o.state !== 'busy' && o.action === %q ? o : null; })()`, statusJS, after, action)
	o, err := chromedp.Run(d.tab, chromedp.Poll[outcome](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		d.t.Fatalf("waiting for the outcome of %s: %v; #status is %+v", action, err, d.status())
	}
	return o
}

// click clicks the button (a CSS selector) that runs the action and
// returns the outcome the page shows.
func (d *demo) click(selector, action string) outcome {
	d.t.Helper()
	before := d.status().Seq
	if err := chromedp.Do(d.tab, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		d.t.Fatalf("clicking %s: %v", selector, err)
	}
	return d.waitStatus(action, before)
}

// mustOK clicks and fails the test unless the action succeeded.
func (d *demo) mustOK(selector, action string) outcome {
	d.t.Helper()
	o := d.click(selector, action)
	if o.State != "ok" {
		d.t.Fatalf("%s: page shows %s %q (code %q); result %s", action, o.State, o.Text, o.Code, o.Result)
	}
	return o
}

func (d *demo) register() outcome    { d.t.Helper(); return d.mustOK("#register", "register") }
func (d *demo) signInNamed() outcome { d.t.Helper(); return d.mustOK("#loginNamed", "login-named") }
func (d *demo) signInUsernameless() outcome {
	d.t.Helper()
	return d.mustOK("#loginUsernameless", "login-usernameless")
}

// set types a value into an input of the page, replacing what was there.
func (d *demo) set(id, value string) {
	d.t.Helper()
	_, err := chromedp.Run(d.tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('change')); })()`, id, value)))
	if err != nil {
		d.t.Fatalf("setting #%s: %v", id, err)
	}
}

// value reads an input of the page.
func (d *demo) value(id string) string {
	d.t.Helper()
	v, err := chromedp.Run(d.tab, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		d.t.Fatalf("reading #%s: %v", id, err)
	}
	return v
}

// eval evaluates JavaScript in the page, awaiting a promise, and decodes
// the result into T.
func eval[T any](d *demo, expr string) T {
	d.t.Helper()
	v, err := chromedp.Run(d.tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// call is one recorded function call of the page.
type call struct {
	Fn       string `json:"fn"`
	Request  string `json:"request"`
	Status   int    `json:"status"`
	Response string `json:"response"`
}

// calls returns the recorded calls of the function since the page loaded.
func (d *demo) calls(fn string) []call {
	d.t.Helper()
	all := eval[[]call](d, `window.__calls`)
	var out []call
	for _, c := range all {
		if c.Fn == fn {
			out = append(out, c)
		}
	}
	return out
}

// lastCall returns the last recorded call of the function.
func (d *demo) lastCall(fn string) call {
	d.t.Helper()
	cs := d.calls(fn)
	if len(cs) == 0 {
		d.t.Fatalf("the page made no %s call", fn)
	}
	return cs[len(cs)-1]
}

// row is one device row of the page's table.
type row struct {
	ID    string   `json:"id"`
	Cells []string `json:"cells"`
}

// devices returns the rows of #devices and its data-count.
func (d *demo) devices() ([]row, string) {
	d.t.Helper()
	type table struct {
		Rows  []row  `json:"rows"`
		Count string `json:"count"`
	}
	tb := eval[table](d, `(() => {
  const body = document.getElementById('devices');
  return { count: body.dataset.count || '',
    rows: [...body.querySelectorAll('tr')].map(tr => ({ id: tr.dataset.id, cells: [...tr.cells].map(td => td.textContent) })) };
})()`)
	return tb.Rows, tb.Count
}

// post calls a function from Go with a raw JSON body and returns the
// status and the decoded response body.
func post(t *testing.T, h *testenv.Handler, fn, body string) (int, map[string]any) {
	t.Helper()
	return apitest.Post(t, h.URL, fn, body, nil)
}

// postJSON is post with a body marshalled from v.
func postJSON(t *testing.T, h *testenv.Handler, fn string, v any) (int, map[string]any) {
	t.Helper()
	return apitest.Post(t, h.URL, fn, v, nil)
}

// wantError fails the test unless the response is the contract's error
// with the status and code.
func wantError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["code"] != wantCode {
		t.Fatalf("%s: got %d %v, want %d %s", what, status, body, wantStatus, wantCode)
	}
	if body["version"] != "1.0.0" || body["status"] != float64(api.BodyStatus(wantStatus)) || body["userMessage"] == "" {
		t.Errorf("%s: error body %v does not have the contract's shape", what, body)
	}
}

// finishBody decodes a recorded finish request body.
type finishBody struct {
	ObjectID   string `json:"objectId,omitempty"`
	Credential string `json:"credential"`
	DeviceName string `json:"deviceName,omitempty"`
}

func decodeFinish(t *testing.T, c call) finishBody {
	t.Helper()
	var b finishBody
	if err := json.Unmarshal([]byte(c.Request), &b); err != nil {
		t.Fatalf("decoding the %s request %q: %v", c.Fn, c.Request, err)
	}
	return b
}

// assertionCounter returns the sign counter in the authenticator data of
// the assertion the page sent with a login-finish call.
func assertionCounter(t *testing.T, c call) uint32 {
	t.Helper()
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(decodeFinish(t, c).Credential))
	if err != nil {
		t.Fatalf("parsing the assertion the page sent: %v", err)
	}
	return parsed.Response.AuthenticatorData.Counter
}

// authenticatorCounter returns the sign counter the authenticator holds
// for the credential (base64url id).
func authenticatorCounter(t *testing.T, a *browsertest.Authenticator, credentialID string) uint32 {
	t.Helper()
	for _, c := range a.Credentials(t) {
		if encodeID(c.CredentialID) == credentialID {
			return uint32(c.SignCount)
		}
	}
	t.Fatalf("the authenticator has no credential %s", credentialID)
	return 0
}

// result decodes the JSON of #result.
func result(t *testing.T, o outcome) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(o.Result), &m); err != nil {
		t.Fatalf("decoding #result %q: %v", o.Result, err)
	}
	return m
}

func encodeID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// device is the contract's device object.
type device struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	AAGUID            string   `json:"aaguid"`
	Authenticator     string   `json:"authenticator"`
	Transports        []string `json:"transports"`
	BackupEligible    bool     `json:"backupEligible"`
	BackupState       bool     `json:"backupState"`
	AttestationFormat string   `json:"attestationFormat"`
	CreatedAt         string   `json:"createdAt"`
	LastUsedAt        string   `json:"lastUsedAt"`
}

// decodeDevices decodes the devices claim of a list-devices response.
func decodeDevices(t *testing.T, res map[string]any) []device {
	t.Helper()
	s, _ := res["devices"].(string)
	var out []device
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("decoding devices %q: %v", s, err)
	}
	return out
}
