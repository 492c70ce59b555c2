package pages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// These tests play what follows a change and an error: B2C runs the
// change's validation profile when the page submits, then shows the next
// page when it succeeded, or keeps the page and shows its error when it
// failed (showError).

// managePage is the device page B2C renders in a language.
func managePage(devices, locale, pre string) harnessPage {
	return harnessPage{file: "passkey-manage.html", pre: pre, claims: []claim{
		{"passkeyDevices", devices}, {"passkeyAction", ""}, {"passkeyCredentialId", ""}, {"passkeyDeviceName", ""}, {"passkeyLocale", locale}}}
}

// confirmation waits for the device page and returns what its status says
// about the last change ("" when nothing), and the status's role.
func confirmation(t *testing.T, tab context.Context) (text, role string) {
	t.Helper()
	waitText(t, tab, "#passkey-actions")
	// The text comes a moment after the status region (for screen readers).
	chromedp.Do(tab, chromedp.Sleep(300*time.Millisecond))
	var got struct {
		Text string `json:"text"`
		Role string `json:"role"`
	}
	raw, err := chromedp.Run(tab, chromedp.Evaluate[string](`(function () {
  const e = document.getElementById('passkey-confirmation');
  return JSON.stringify(e ? {text: e.textContent, role: e.getAttribute('role')} : {text: '', role: ''});
})()`))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(raw), &got)
	return got.Text, got.Role
}

// focused waits until the element the selector names has the focus.
func focused(t *testing.T, tab context.Context, selector, why string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 3*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.activeElement === document.querySelector(%q) || false`, selector),
		chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		active, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.className || document.activeElement.tagName`))
		t.Errorf("%s: the focus is on %q, want %s", why, active, selector)
	}
}

func TestB2CChangeConfirmed(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	objectID := uuid.NewString()

	var devices string
	t.Run("added, in German", func(t *testing.T) {
		begin := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "alice@contoso.com", "locale": "de"})
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{
			{"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "de"}}})
		s := b.submitted(tab)
		b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"]})
		devices = b.mustCall("list-devices", map[string]any{"objectId": objectID})["devices"].(string)
		// The validation profile succeeded: B2C shows the device page.
		b.open(tab, managePage(devices, "de", ""))
		if text, role := confirmation(t, tab); text != "Passkey hinzugefügt." || role != "status" {
			t.Errorf("the next page says %q (role %q), want %q as a status", text, role, "Passkey hinzugefügt.")
		}
		// Said once: the page after it does not repeat it.
		b.open(tab, managePage(devices, "de", ""))
		if text, _ := confirmation(t, tab); text != "" {
			t.Errorf("the page after the next one says %q", text)
		}
	})

	t.Run("renamed, then removed, in English", func(t *testing.T) {
		b.open(tab, managePage(devices, "en", ""))
		renameFirst(t, tab, "Work laptop")
		b.submitted(tab)
		b.open(tab, managePage(devices, "en", ""))
		if text, role := confirmation(t, tab); text != `Passkey renamed to "Work laptop".` || role != "status" {
			t.Errorf("after a rename the next page says %q (role %q)", text, role)
		}
		click(t, tab, "#passkey-remove-0")
		click(t, tab, "#passkey-remove-confirm")
		b.submitted(tab)
		b.open(tab, managePage(`[]`, "en", ""))
		if text, _ := confirmation(t, tab); text != "Passkey removed." {
			t.Errorf("after a removal the next page says %q", text)
		}
	})

	t.Run("refused: no confirmation, then or later", func(t *testing.T) {
		b.open(tab, managePage(devices, "en", ""))
		renameFirst(t, tab, "Laptop")
		b.submitted(tab)
		showError(t, tab, "This passkey is not registered for your account.")
		if text, _ := confirmation(t, tab); text != "" {
			t.Errorf("the refused page says %q", text)
		}
		// A later page, the one that would say it, and another.
		b.open(tab, managePage(devices, "en", ""))
		if text, _ := confirmation(t, tab); text != "" {
			t.Errorf("a later device page says %q after a refused rename", text)
		}
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{{"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		waitText(t, tab, "#passkey-actions")
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#passkey-confirmation').length`)); n != 0 {
			t.Errorf("the offer page shows a confirmation")
		}
	})

	t.Run("an old note is not said", func(t *testing.T) {
		old := `sessionStorage.setItem('passkey-change', JSON.stringify({kind: 'added', name: '', at: Date.now() - 180000}));`
		b.open(tab, managePage(devices, "en", old))
		if text, _ := confirmation(t, tab); text != "" {
			t.Errorf("a change of three minutes ago is said: %q", text)
		}
	})
}

func TestB2CFocusAfterError(t *testing.T) {
	b := newB2C(t)
	tab := browsertest.NewTab(t)
	auth := browsertest.AddAuthenticator(t, tab, browsertest.Platform())
	objectID := uuid.NewString()
	const refused = "The service refused it."

	t.Run("offer page", func(t *testing.T) {
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{{"passkeyAction", ""}, {"passkeyLocale", "en"}}})
		click(t, tab, "#passkey-create")
		b.submitted(tab)
		chromedp.Run(tab, chromedp.Evaluate[bool](`document.activeElement.blur(), true`))
		showError(t, tab, refused)
		focused(t, tab, "#passkey-create", "offer refused")
	})

	var credentialID string
	t.Run("register page", func(t *testing.T) {
		begin := b.mustCall("register-begin", map[string]any{"objectId": objectID, "userName": "alice@contoso.com"})
		b.open(tab, harnessPage{file: "passkey-register.html", claims: []claim{
			{"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "en"}}})
		s := b.submitted(tab)
		showError(t, tab, refused)
		focused(t, tab, "#passkey-skip", "passkey refused")
		// The passkey was good after all: the named page below needs it.
		credentialID = b.mustCall("register-finish", map[string]any{"objectId": objectID, "credential": s.Claims["passkeyCredential"]})["credentialId"].(string)
	})

	t.Run("named sign-in page", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"objectId": objectID})
		b.open(tab, harnessPage{file: "passkey-signin.html", claims: []claim{
			{"passkeyReadOnlyEmail", "alice@contoso.com"}, {"passkeyOptions", begin["options"].(string)}, {"passkeyCredential", ""}, {"passkeyLocale", "en"}}})
		b.submitted(tab)
		showError(t, tab, refused)
		focused(t, tab, "#passkey-back", "named sign-in refused")
	})

	t.Run("named sign-in page, the browser refuses", func(t *testing.T) {
		begin := b.mustCall("login-begin", map[string]any{"objectId": objectID})
		options := fmt.Sprint(begin["options"])
		b.open(tab, harnessPage{file: "passkey-signin.html", claims: []claim{
			{"passkeyReadOnlyEmail", "alice@contoso.com"}, {"passkeyOptions", strings.ReplaceAll(options, credentialID, "AAAAAAAAAAAAAAAAAAAAAA")},
			{"passkeyCredential", ""}, {"passkeyLocale", "en"}}})
		waitText(t, tab, "#passkey-status.passkey-error")
		focused(t, tab, "#passkey-retry", "no passkey used")
	})

	devices := b.mustCall("list-devices", map[string]any{"objectId": objectID})["devices"].(string)
	if n := len(auth.Credentials(t)); n != 1 {
		t.Fatalf("the authenticator holds %d credentials", n)
	}

	t.Run("manage page: refused rename", func(t *testing.T) {
		b.open(tab, managePage(devices, "en", ""))
		renameFirst(t, tab, "Laptop")
		b.submitted(tab)
		showError(t, tab, refused)
		focused(t, tab, ".passkey-rename-input", "rename refused")
	})

	t.Run("manage page: refused remove", func(t *testing.T) {
		b.open(tab, managePage(devices, "en", ""))
		click(t, tab, "#passkey-remove-0")
		click(t, tab, "#passkey-remove-confirm")
		b.submitted(tab)
		showError(t, tab, refused)
		focused(t, tab, "#passkey-remove-0", "remove refused")
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('.passkey-confirm').length`)); n != 0 {
			t.Error("the removal's question stays after B2C refused it")
		}
	})

	t.Run("manage page: refused add", func(t *testing.T) {
		b.open(tab, managePage(devices, "en", ""))
		click(t, tab, "#passkey-add")
		b.submitted(tab)
		chromedp.Run(tab, chromedp.Evaluate[bool](`document.activeElement.blur(), true`))
		showError(t, tab, refused)
		focused(t, tab, "#passkey-add", "add refused")
	})
}
