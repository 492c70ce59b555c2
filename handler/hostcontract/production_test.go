package hostcontract

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TestProductionServesNoDemo: with PASSKEY_DEMO_PAGE=false the handler
// serves neither the demo page nor its script, the templates still load
// their scripts from PASSKEY_PUBLIC_URL, and a forged host header changes
// nothing in them.
func TestProductionServesNoDemo(t *testing.T) {
	t.Parallel()
	h := testenv.StartHandler(t, "", "PASSKEY_API_KEYS=production-test-key-0001", "PASSKEY_DEMO_PAGE=false",
		"PASSKEY_PUBLIC_URL=https://func-passkeys.azurewebsites.net")
	get := func(path string, header map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/index.html", "/demo.js", "/passkey.js", "/api/pages/index.html", "/api/pages/demo.js"} {
		if status, _ := get(path, nil); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 with the demo page off", path, status)
		}
	}
	if status, body := get("/", nil); status != http.StatusOK || strings.Contains(body, "<script") {
		t.Errorf("GET / = %d %q, want the readiness answer only", status, body)
	}
	status, body := get("/api/pages/passkey-signin.html", map[string]string{"X-Forwarded-Host": `evil.example"><script>alert(1)</script>`})
	if status != http.StatusOK || !strings.Contains(body, `src="https://func-passkeys.azurewebsites.net/api/pages/passkey.js"`) || strings.Contains(body, "evil.example") {
		t.Errorf("template %d:\n%s", status, body)
	}
}
