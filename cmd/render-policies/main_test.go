package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

func TestRenderWritesUploadOrder(t *testing.T) {
	starter := filepath.Join(testenv.SharedDir(), "b2c-starterpack", "LocalAccounts")
	if _, err := os.Stat(starter); err != nil {
		testenv.Missing(t, "starter pack not found in %s", starter)
	}
	out := t.TempDir()
	// The tenant's own application ids in place of the shipped placeholders.
	data, err := os.ReadFile("../../policies/appsettings.json")
	if err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(t.TempDir(), "appsettings.json")
	data = []byte(strings.ReplaceAll(string(data), "00000000-0000-0000-0000-00000000000", "3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7a1c0"))
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-env", "Production", "-settings", settings, "-out", out, "-starterpack", starter}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(out, "Production"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		data, _ := os.ReadFile(filepath.Join(out, "Production", e.Name()))
		if strings.Contains(string(data), "{Settings:") || strings.Contains(string(data), "yourtenant") {
			t.Errorf("%s still holds a placeholder", e.Name())
		}
	}
	want := []string{"1-TrustFrameworkBase.xml", "2-TrustFrameworkLocalization.xml", "3-TrustFrameworkExtensions.xml",
		"4-Passkey_SignUpOrSignIn.xml", "5-Passkey_SignIn.xml", "6-Passkey_Manage.xml"}
	if !slices.Equal(names, want) {
		t.Errorf("wrote %q, want %q", names, want)
	}
}

func TestRenderRefusesUnknownEnvironment(t *testing.T) {
	err := run([]string{"-env", "Staging", "-out", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "Staging") {
		t.Fatalf("err = %v, want one naming the environment", err)
	}
}

func TestRenderRefusesPlaceholderAppIDs(t *testing.T) {
	err := run([]string{"-env", "Production", "-out", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "IdentityExperienceFrameworkAppId") || !strings.Contains(err.Error(), "ProxyIdentityExperienceFrameworkAppId") {
		t.Fatalf("err = %v, want one naming both application id settings", err)
	}
}

// tenantApps are a tenant's own application ids in place of the shipped
// placeholders, which render-policies refuses.
var tenantApps = []string{
	"-set", "IdentityExperienceFrameworkAppId=3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7a1c01",
	"-set", "ProxyIdentityExperienceFrameworkAppId=3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7a1c02",
	"-set", "B2CExtensionsAppClientId=3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7a1c03",
	"-set", "B2CExtensionsAppObjectId=3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7a1c04",
}

// TestRenderCallerTokenEnvironment: an environment with caller tokens
// needs its function key from -set, never from appsettings.json.
func TestRenderCallerTokenEnvironment(t *testing.T) {
	out := t.TempDir()
	err := run(append([]string{"-env", "Test", "-out", out}, tenantApps...))
	if err == nil || !strings.Contains(err.Error(), "PasskeyFunctionKey") {
		t.Fatalf("err = %v, want one naming PasskeyFunctionKey", err)
	}
	if err := run(append([]string{"-env", "Test", "-out", out, "-set", "PasskeyFunctionKey=key-from-the-vault"}, tenantApps...)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "Test", "1-TrustFrameworkExtensions.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"?code=key-from-the-vault</Item>", `<Item Key="AuthenticationType">Bearer</Item>`, `Id="REST-Passkey-AcquireToken"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the rendered policy lacks %s", want)
		}
	}
	if err := run([]string{"-env", "Test", "-out", out, "-set", "novalue"}); err == nil {
		t.Error("-set without = accepted")
	}
}
