// Package browsertest gives end-to-end tests one headless Chromium per test
// binary and, per test, a fresh tab with the DevTools WebAuthn domain on, so
// that tests can add virtual authenticators and drive real pages.
//
// Use it from a TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		tab := browsertest.NewTab(t)
//		auth := browsertest.AddAuthenticator(t, tab, browsertest.Platform())
//		...
//	}
//
// What Chromium's virtual authenticators do (Chromium 156):
//
//   - A tab holds at most one authenticator with the internal transport;
//     add others with another one (SecurityKey is on USB).
//   - With several authenticators present, Chromium sends a create() or
//     get() to each of them (a create() makes a credential on every one
//     that is not excluded) and the page gets whichever answers first.
//     Remove the authenticators a test no longer needs.
//   - There is no account chooser: a conditional (autofill) get() is
//     answered at once with a discoverable credential the authenticator
//     holds for the RP ID, or refused with NotAllowedError when it holds
//     none.
//   - Sign counters may grow by more than one per ceremony: compare them
//     with Authenticator.Credentials, not with a count of your own.
//
// When Chromium is not installed the tests skip, or fail with CI=true (see
// testenv.Missing). PASSKEY_CHROMIUM names the browser binary to use.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TabTimeout bounds the life of one tab: a test that waits longer on the
// browser fails instead of hanging the test binary.
const TabTimeout = 60 * time.Second

var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's chromedp context
	cancel  context.CancelFunc
	dataDir string
	err     error
	missing string
}

// Flags are extra Chromium command-line flags (name without the dashes,
// value) for the shared browser of the test binary. Set them in TestMain
// before Main: a test of related origins maps domains to loopback with
// "host-resolver-rules" and trusts its own certificate with
// "ignore-certificate-errors-spki-list".
var Flags = map[string]any{}

// Main runs the tests of the binary and then stops the shared browser, if a
// test started it. It returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		os.RemoveAll(shared.dataDir)
	}
	return code
}

// ExecPath returns the Chromium binary: PASSKEY_CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome and headless-shell on PATH. It
// returns "" when there is none.
func ExecPath() string {
	if p := os.Getenv("PASSKEY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// start launches the shared browser once per test binary.
func start() {
	path := ExecPath()
	if path == "" {
		shared.missing = "Chromium is not installed (looked for chromium, chromium-browser, google-chrome, headless-shell; or set PASSKEY_CHROMIUM)"
		return
	}
	dir, err := os.MkdirTemp("", "passkeys-chromium-")
	if err != nil {
		shared.err = err
		return
	}
	shared.dataDir = dir
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-default-browser-check", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	for name, value := range Flags {
		opts = append(opts, chromedp.Flag(name, value))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	shared.ctx = ctx
	shared.cancel = func() { cancelBrowser(); cancelAlloc() }
	// The first run starts the browser; it must not carry a deadline, or
	// the deadline would stop the browser.
	if err := chromedp.Do(ctx); err != nil {
		shared.err = fmt.Errorf("starting %s: %w", path, err)
	}
}

// NewTab opens a tab of the shared browser (starting it on first use) in
// its own browser context, so cookies and local storage start empty, and
// enables the WebAuthn domain in it. The returned chromedp context is
// cancelled, closing the tab, when the test ends or after TabTimeout.
func NewTab(t testing.TB) context.Context {
	t.Helper()
	shared.once.Do(start)
	if shared.missing != "" {
		testenv.Missing(t, "%s", shared.missing)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	tab, cancelTab := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, TabTimeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	return ctx
}

// Platform returns the options of a platform authenticator as a phone or
// laptop has: CTAP2.1, internal transport, discoverable credentials, user
// verification that succeeds, and presence confirmed without a prompt.
func Platform() *webauthn.VirtualAuthenticatorOptions {
	return &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}
}

// SecurityKey returns the options of a roaming security key: like Platform,
// but on USB. A tab may hold one internal authenticator only; a second one
// must use another transport.
func SecurityKey() *webauthn.VirtualAuthenticatorOptions {
	o := Platform()
	o.Transport = webauthn.AuthenticatorTransportUsb
	return o
}

// Authenticator is a virtual authenticator in a tab.
type Authenticator struct {
	ID  webauthn.AuthenticatorID
	ctx context.Context

	mu      sync.Mutex
	removed bool
}

// AddAuthenticator adds a virtual authenticator with the options to the
// tab; it is removed when the test ends unless Remove was called before.
// AutomaticPresenceSimulation must be true in opts, or every ceremony waits
// for a touch that never comes.
func AddAuthenticator(t testing.TB, tab context.Context, opts *webauthn.VirtualAuthenticatorOptions) *Authenticator {
	t.Helper()
	res, err := chromedp.Call(tab, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: opts})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	a := &Authenticator{ID: res.AuthenticatorID, ctx: tab}
	t.Cleanup(func() {
		if err := a.remove(); err != nil && tab.Err() == nil {
			t.Logf("removing authenticator %s: %v", a.ID, err)
		}
	})
	return a
}

// Remove removes the authenticator from its tab.
func (a *Authenticator) Remove(t testing.TB) {
	t.Helper()
	if err := a.remove(); err != nil {
		t.Fatalf("WebAuthn.removeVirtualAuthenticator: %v", err)
	}
}

func (a *Authenticator) remove() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.removed {
		return nil
	}
	a.removed = true
	_, err := chromedp.Call(a.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.ID})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Credentials returns the credentials the authenticator holds, with their
// sign counters.
func (a *Authenticator) Credentials(t testing.TB) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(a.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.ID})
	if err != nil {
		t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// Overrides are lies an authenticator can tell in its responses, for
// negative tests; the zero value tells none.
type Overrides struct {
	// BogusSignature replaces the signature with zeros.
	BogusSignature bool
	// BadUV clears the user-verified flag.
	BadUV bool
	// BadUP clears the user-present flag.
	BadUP bool
}

// Override makes the authenticator tell the lies in its next responses,
// until Override is called again (with the zero Overrides to stop).
func (a *Authenticator) Override(t testing.TB, o Overrides) {
	t.Helper()
	_, err := chromedp.Call(a.ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{
		AuthenticatorID:  a.ID,
		IsBogusSignature: &o.BogusSignature,
		IsBadUV:          &o.BadUV,
		IsBadUP:          &o.BadUP,
	})
	if err != nil {
		t.Fatalf("WebAuthn.setResponseOverrideBits: %v", err)
	}
}

// SetUserVerified sets whether the authenticator's user verification (its
// PIN or biometric check) succeeds from now on.
func (a *Authenticator) SetUserVerified(t testing.TB, verified bool) {
	t.Helper()
	_, err := chromedp.Call(a.ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.ID, IsUserVerified: verified})
	if err != nil {
		t.Fatalf("WebAuthn.setUserVerified: %v", err)
	}
}
