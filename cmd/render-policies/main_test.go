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
	if err := run([]string{"-env", "Production", "-out", out, "-starterpack", starter}); err != nil {
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

// TestRenderCallerTokenEnvironment: an environment with caller tokens
// needs its function key from -set, never from appsettings.json.
func TestRenderCallerTokenEnvironment(t *testing.T) {
	out := t.TempDir()
	err := run([]string{"-env", "Test", "-out", out})
	if err == nil || !strings.Contains(err.Error(), "PasskeyFunctionKey") {
		t.Fatalf("err = %v, want one naming PasskeyFunctionKey", err)
	}
	if err := run([]string{"-env", "Test", "-out", out, "-set", "PasskeyFunctionKey=key-from-the-vault"}); err != nil {
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
