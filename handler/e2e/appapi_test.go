package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

// appPage serves a blank page with the docs' example script: an app on an
// origin of its own.
func appPage(t *testing.T) *httptest.Server {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "examples", "passkeys-app.js"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/passkeys-app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><html><head><script src="/passkeys-app.js"></script></head><body>app</body></html>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// jsResult is what the page's calls report.
type jsResult struct {
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	Status      int    `json:"status"`
	Code        string `json:"code"`
	Challenge   string `json:"challenge"`
	DeviceCount int    `json:"deviceCount"`
	Name        string `json:"name"`
	ID          string `json:"id"`
}

// run evaluates an async expression in the tab, wrapped so that a thrown
// error is reported instead of failing the evaluation.
func run(t *testing.T, tab context.Context, expr string) jsResult {
	t.Helper()
	wrapped := `(async () => { try { const v = await (` + expr + `); return Object.assign({ ok: true }, v); }
	  catch (e) { return { ok: false, error: String(e && e.message || e), status: e.status || 0, code: e.code || '', challenge: e.challenge || '' }; } })()`
	v, err := chromedp.Run(tab, chromedp.Evaluate[jsResult](wrapped, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// TestAppAPIInChromium: an app on a listed origin adds, lists, renames and
// deletes a passkey through the app API with the docs' example script, in
// Chromium with a virtual authenticator: every call needs a CORS preflight
// (Authorization, PATCH, DELETE) that the handler answers. The same calls
// from an origin not listed are refused by the browser.
func TestAppAPIInChromium(t *testing.T) {
	tab := browsertest.NewTab(t)
	app := appPage(t)
	appOrigin := strings.Replace(app.URL, "127.0.0.1", "localhost", 1)
	unlisted := appPage(t)
	issuer := tokentest.New(t, tokentest.Options{Issuer: "https://contoso.b2clogin.com/8f0e1f0c-3c52-4c39-a6d3-0000000000e1/v2.0/", OmitAlg: true})
	h := startHandler(t,
		"PASSKEY_RP_ORIGINS="+appOrigin,
		"PASSKEY_TOKEN_METADATA_URLS="+issuer.MetadataURL, "PASSKEY_TOKEN_AUDIENCE=app-api", "PASSKEY_TOKEN_SCOPE=Passkeys.Manage",
		"PASSKEY_APP_ORIGINS="+appOrigin,
	)
	user := uuid.NewString()
	bearer := issuer.Sign(t, issuer.Claims(user, "app-api", "Passkeys.Manage"))
	api := h.URL + "/api"

	if err := chromedp.Do(tab, chromedp.Navigate(appOrigin+"/"), chromedp.WaitReady("body")); err != nil {
		t.Fatal(err)
	}
	browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	added := run(t, tab, fmt.Sprintf(`addPasskey(%q, %q, "Laptop")`, api, bearer))
	if !added.OK {
		t.Fatalf("addPasskey from %s: %+v\n%s", appOrigin, added, h.Log())
	}
	list := run(t, tab, fmt.Sprintf(`listPasskeys(%q, %q)`, api, bearer))
	if !list.OK || list.DeviceCount != 1 {
		t.Fatalf("listPasskeys: %+v", list)
	}
	id := run(t, tab, fmt.Sprintf(`listPasskeys(%q, %q).then(r => ({ id: r.devices[0].id, name: r.devices[0].name }))`, api, bearer))
	if id.Name != "Laptop" {
		t.Errorf("device = %+v", id)
	}
	if r := run(t, tab, fmt.Sprintf(`renamePasskey(%q, %q, %q, "Work laptop")`, api, bearer, id.ID)); !r.OK || r.Name != "Work laptop" {
		t.Errorf("renamePasskey: %+v", r)
	}
	refused := run(t, tab, fmt.Sprintf(`listPasskeys(%q, "not-a-token")`, api))
	if refused.OK || refused.Status != 401 || refused.Code != "unauthorized" || !strings.Contains(refused.Challenge, `error="invalid_token"`) {
		t.Errorf("a bad token from the app: %+v (WWW-Authenticate must be readable)", refused)
	}

	t.Run("an origin not listed", func(t *testing.T) {
		other := browsertest.NewTab(t)
		if err := chromedp.Do(other, chromedp.Navigate(unlisted.URL+"/"), chromedp.WaitReady("body")); err != nil {
			t.Fatal(err)
		}
		for _, expr := range []string{
			fmt.Sprintf(`listPasskeys(%q, %q)`, api, bearer),
			fmt.Sprintf(`deletePasskey(%q, %q, %q)`, api, bearer, id.ID),
		} {
			r := run(t, other, expr)
			if r.OK || r.Status != 0 || !strings.Contains(r.Error, "Failed to fetch") {
				t.Errorf("%s from %s: %+v, want the browser to refuse", expr, unlisted.URL, r)
			}
		}
	})

	if r := run(t, tab, fmt.Sprintf(`deletePasskey(%q, %q, %q)`, api, bearer, id.ID)); !r.OK || r.DeviceCount != 0 {
		t.Errorf("deletePasskey: %+v", r)
	}
}
