package pages_test

import (
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/passkeys-b2c/passkeys/internal/pages"
	pagefiles "github.com/passkeys-b2c/passkeys/policies/pages"
)

const public = "https://func-passkeys.azurewebsites.net"

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	h, err := pages.New(pages.Options{Files: pagefiles.Files, PublicURL: public,
		Origins: []string{"https://login.contoso.com", "https://contoso.b2clogin.com"}})
	if err != nil {
		t.Fatal(err)
	}
	script := regexp.MustCompile(`<script src="([^"]+)" integrity="([^"]+)" crossorigin="anonymous" data-preload="true"></script>`)
	for _, name := range []string{"passkey-signin.html", "passkey-register.html", "passkey-manage.html"} {
		t.Run(name, func(t *testing.T) {
			// The request's host headers are an attacker's to choose: the
			// page must not change with them.
			res, body := get(t, h, "GET", pages.Prefix+name, map[string]string{
				"Origin": "https://contoso.b2clogin.com", "Host": "evil.example",
				"X-Forwarded-Host": `x"><script>alert(1)</script>`, "X-Forwarded-Proto": "javascript"})
			if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://contoso.b2clogin.com" {
				t.Fatalf("%d, CORS %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
			}
			if strings.Contains(body, "evil.example") || strings.Contains(body, "alert(1)") || strings.Contains(body, "{{") {
				t.Errorf("the template carries request input or template actions:\n%s", body)
			}
			if v := res.Header.Get("Vary"); strings.Contains(v, "Host") {
				t.Errorf("Vary %q: the page no longer depends on the host", v)
			}
			found := script.FindAllStringSubmatch(body, -1)
			if len(found) < 2 || strings.Count(body, "<script") != len(found) {
				t.Fatalf("%d scripts with integrity and data-preload:\n%s", len(found), body)
			}
			for _, m := range found {
				file, ok := strings.CutPrefix(m[1], public+pages.Prefix)
				if !ok {
					t.Errorf("script %s is not under %s", m[1], public+pages.Prefix)
					continue
				}
				_, served := get(t, h, "GET", pages.Prefix+file, nil)
				sum := sha512.Sum384([]byte(served))
				if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); html.UnescapeString(m[2]) != want {
					t.Errorf("%s: integrity %s, the served file hashes to %s", file, m[2], want)
				}
			}
		})
	}
	t.Run("the demo page is not among the templates' files", func(t *testing.T) {
		for _, name := range []string{"index.html", "demo.js"} {
			if res, _ := get(t, h, "GET", pages.Prefix+name, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", name, res.StatusCode)
			}
		}
	})
	t.Run("preflight", func(t *testing.T) {
		res, _ := get(t, h, "OPTIONS", pages.Prefix+"passkey.js", map[string]string{"Origin": "https://login.contoso.com", "Access-Control-Request-Method": "GET"})
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://login.contoso.com" {
			t.Errorf("%d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("other origins get no CORS", func(t *testing.T) {
		res, _ := get(t, h, "GET", pages.Prefix+"passkey.js", map[string]string{"Origin": "https://evil.example"})
		if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("no POST, no folders", func(t *testing.T) {
		if res, _ := get(t, h, "POST", pages.Prefix+"passkey.js", nil); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d", res.StatusCode)
		}
		if res, _ := get(t, h, "GET", pages.Prefix+"a/passkey.js", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("folder: %d", res.StatusCode)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	frame := &fstest.MapFile{Data: []byte(`{{define "layout"}}<html>{{template "scripts"}}</html>{{end}}`)}
	good := fstest.MapFS{"layout.tmpl": frame, "passkey-x.html": {Data: []byte(`{{define "scripts"}}{{script "a.js"}}{{end}}{{template "layout"}}`)}, "a.js": {Data: []byte("1")}}
	for name, opts := range map[string]pages.Options{
		"relative public URL":  {Files: good, PublicURL: "func.azurewebsites.net"},
		"public URL with path": {Files: good, PublicURL: "https://func.azurewebsites.net/api"},
		"missing asset":        {Files: fstest.MapFS{"layout.tmpl": frame, "passkey-x.html": {Data: []byte(`<script src="{{asset "nope.js"}}"></script>`)}}, PublicURL: public},
		"missing script":       {Files: fstest.MapFS{"layout.tmpl": frame, "passkey-x.html": {Data: []byte(`{{define "scripts"}}{{script "nope.js"}}{{end}}{{template "layout"}}`)}}, PublicURL: public},
		"no layout":            {Files: fstest.MapFS{"passkey-x.html": {Data: []byte(`<p>`)}}, PublicURL: public},
		"no templates":         {Files: fstest.MapFS{}, PublicURL: public},
	} {
		if _, err := pages.New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := fs.Stat(good, "a.js"); err != nil {
		t.Fatal(err)
	}
	if _, err := pages.New(pages.Options{Files: good, PublicURL: public}); err != nil {
		t.Errorf("a good set: %v", err)
	}
}
