// Package relatedorigins tests Related Origin Requests end to end: the
// handler binary behind an HTTPS front door that serves three domains on
// loopback, and Chromium, which reads the RP ID's /.well-known/webauthn
// before it lets another domain use the RP ID.
package relatedorigins

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/browsertest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

const (
	rpID     = "contoso.com"
	home     = "login.contoso.com"
	sister   = "login.fabrikam.com"
	stranger = "login.woodgrove.com"
)

// frontDoor serves every host on one TLS listener, as Azure Front Door
// serves the custom domains: /.well-known/webauthn goes to the function
// route, /api/ to the handler, anything else is a blank page.
func frontDoor(t *testing.T, handler string) (addr string, spki string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "front door test"},
		DNSNames:     []string{rpID, home, sister, stranger},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)

	target, _ := url.Parse(handler)
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/webauthn", func(w http.ResponseWriter, r *http.Request) {
		// The front door's rule: only the RP ID's host has the document.
		if r.Host != rpID {
			http.NotFound(w, r)
			return
		}
		r.URL.Path = api.RelatedOriginsFunctionPath
		proxy.ServeHTTP(w, r)
	})
	mux.Handle("/api/", proxy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!doctype html><title>%s</title><p>%s</p>", r.Host, r.Host)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0), TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), base64.StdEncoding.EncodeToString(sum[:])
}

// ceremony runs in the page: begin, the browser's create() or get(), and
// finish, through the page's own origin; it returns the finish status and
// body, or the browser's error name.
const ceremony = `(async (kind, user) => {
  const post = async (fn, body) => {
    const res = await fetch('/api/' + fn, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    return {status: res.status, body: await res.json()};
  };
  const begin = await post(kind + '-begin', kind === 'register' ? {objectId: user, userName: user} : {objectId: user});
  if (begin.status !== 200) return {status: begin.status, body: JSON.stringify(begin.body), error: ''};
  const options = JSON.parse(begin.body.options);
  let cred;
  try {
    cred = kind === 'register'
      ? await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)})
      : await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)});
  } catch (e) {
    return {status: 0, body: '', error: e.name + ': ' + e.message};
  }
  const finish = await post(kind + '-finish', {objectId: user, credential: JSON.stringify(cred.toJSON())});
  return {status: finish.status, body: JSON.stringify(finish.body), error: ''};
})`

type result struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

func run(t *testing.T, tab context.Context, origin, kind, user string) result {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("opening %s: %v", origin, err)
	}
	r, err := chromedp.Run(tab, chromedp.Evaluate[result](fmt.Sprintf("%s(%q, %q)", ceremony, kind, user), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s on %s: %v", kind, origin, err)
	}
	return r
}

func TestPasskeyAcrossRelatedOrigins(t *testing.T) {
	if browsertest.ExecPath() == "" {
		testenv.Missing(t, "Chromium is not installed")
	}
	h := testenv.StartHandler(t, "",
		"PASSKEY_RP_ID="+rpID,
		"PASSKEY_RP_ORIGINS=https://"+home,
		"PASSKEY_RELATED_ORIGINS=https://"+sister,
	)
	addr, spki := frontDoor(t, h.URL)
	var rules []string
	for _, host := range []string{rpID, home, sister, stranger} {
		rules = append(rules, fmt.Sprintf("MAP %s:443 %s", host, addr))
	}
	browsertest.Flags["host-resolver-rules"] = strings.Join(rules, ", ")
	browsertest.Flags["ignore-certificate-errors-spki-list"] = spki
	tab := browsertest.NewTab(t)
	browsertest.AddAuthenticator(t, tab, browsertest.Platform())

	if r := run(t, tab, "https://"+home, "register", "alice"); r.Status != http.StatusOK {
		t.Fatalf("register on %s = %+v", home, r)
	}
	if r := run(t, tab, "https://"+sister, "login", "alice"); r.Status != http.StatusOK {
		t.Fatalf("login on the related origin %s = %+v; want 200", sister, r)
	}
	if r := run(t, tab, "https://"+home, "login", "alice"); r.Status != http.StatusOK {
		t.Fatalf("login back on %s = %+v; want 200", home, r)
	}
	r := run(t, tab, "https://"+stranger, "login", "alice")
	if r.Status == http.StatusOK || !strings.HasPrefix(r.Error, "SecurityError") {
		t.Fatalf("login on %s, which is not listed = %+v; want the browser's SecurityError", stranger, r)
	}
}

// TestTemplatesAllowRelatedOrigins: the sister brand's pages fetch the
// page templates from the Function App, so its origin is in their CORS
// list; an unlisted one is not.
func TestTemplatesAllowRelatedOrigins(t *testing.T) {
	h := testenv.StartHandler(t, "",
		"PASSKEY_RP_ID="+rpID,
		"PASSKEY_RP_ORIGINS=https://"+home,
		"PASSKEY_RELATED_ORIGINS=https://"+sister,
	)
	for origin, allowed := range map[string]bool{"https://" + home: true, "https://" + sister: true, "https://" + stranger: false} {
		req, _ := http.NewRequest(http.MethodGet, h.URL+api.PagesPrefix+"passkey-signin.html", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != http.StatusOK || (got == origin) != allowed {
			t.Errorf("GET %s with Origin %s = %d, Access-Control-Allow-Origin %q; allowed: %v", api.PagesPrefix, origin, resp.StatusCode, got, allowed)
		}
	}
}
