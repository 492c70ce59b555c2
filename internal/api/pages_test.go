package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/passkeys-b2c/passkeys/internal/api"
)

func TestPages(t *testing.T) {
	static := fstest.MapFS{
		"passkey-signin.html": {Data: []byte(`<html><head><script src="passkey.js" defer></script><script src="https://cdn.example/x.js"></script></head><body><div id="api"></div></body></html>`)},
		"passkey.js":          {Data: []byte(`window.Passkeys = {};`)},
	}
	srv := api.New(nil, api.Options{Static: static, PageOrigins: []string{"https://login.contoso.com"}})
	tests := []struct {
		name, method, path, origin string
		header                     map[string]string
		status                     int
		allowOrigin                string
		bodyHas, bodyLacks         string
	}{
		{name: "template from the B2C origin", method: "GET", path: "/api/pages/passkey-signin.html", origin: "https://login.contoso.com",
			header: map[string]string{"X-Forwarded-Host": "func.azurewebsites.net"}, status: 200, allowOrigin: "https://login.contoso.com",
			bodyHas: `src="https://func.azurewebsites.net/api/pages/passkey.js" defer`},
		{name: "absolute URLs stay", method: "GET", path: "/api/pages/passkey-signin.html", status: 200,
			bodyHas: `src="https://cdn.example/x.js"`},
		{name: "loopback host is http", method: "GET", path: "/api/pages/passkey-signin.html", status: 200,
			bodyHas: `src="http://localhost:7071/api/pages/passkey.js"`},
		{name: "other origin gets no CORS", method: "GET", path: "/api/pages/passkey.js", origin: "https://evil.example", status: 200, bodyHas: "Passkeys"},
		{name: "preflight", method: "OPTIONS", path: "/api/pages/passkey-signin.html", origin: "https://login.contoso.com",
			header: map[string]string{"Access-Control-Request-Method": "GET"}, status: 204, allowOrigin: "https://login.contoso.com"},
		{name: "unknown file", method: "GET", path: "/api/pages/nope.html", status: 404},
		{name: "no folders", method: "GET", path: "/api/pages/a/passkey.js", status: 404},
		{name: "no POST", method: "POST", path: "/api/pages/passkey.js", status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = "localhost:7071"
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			if tc.bodyHas != "" && !strings.Contains(string(body), tc.bodyHas) {
				t.Errorf("body lacks %q:\n%s", tc.bodyHas, body)
			}
			if tc.status == http.StatusOK && !strings.Contains(res.Header.Get("Vary"), "Origin") {
				t.Errorf("no Vary: Origin")
			}
			// A template is rewritten from the caller's host headers, so no
			// shared cache may hand it to another caller.
			if tc.status == http.StatusOK && strings.HasSuffix(tc.path, ".html") {
				if cc := res.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
					t.Errorf("Cache-Control %q for a rewritten template, want private", cc)
				}
				if vary := strings.Join(res.Header.Values("Vary"), ","); !strings.Contains(vary, "X-Forwarded-Host") {
					t.Errorf("Vary %q lacks X-Forwarded-Host", vary)
				}
			}
		})
	}
}

func TestFunctionsListPages(t *testing.T) {
	names := api.New(nil, api.Options{}).Functions()
	found := false
	for _, n := range names {
		found = found || n == "pages"
	}
	if !found {
		t.Errorf("Functions() = %q, want pages among them", names)
	}
}
