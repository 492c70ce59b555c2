package policies_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// localizedErrors returns, per language, the ErrorMessage strings of one
// content definition's localization.
func localizedErrors(t *testing.T, resources string) map[string]map[string]string {
	t.Helper()
	c := renderChains(t)[0]
	root := parseXML(t, "TrustFrameworkExtensions.xml", c.files["TrustFrameworkExtensions.xml"])
	out := map[string]map[string]string{}
	for _, r := range root.all("LocalizedResources") {
		id := r.Attrs["Id"]
		lang, ok := strings.CutPrefix(id, resources+".")
		if !ok {
			continue
		}
		out[lang] = map[string]string{}
		for _, s := range r.all("LocalizedString") {
			if s.Attrs["ElementType"] == "ErrorMessage" {
				out[lang][s.Attrs["StringId"]] = s.text()
			}
		}
	}
	return out
}

// TestUnknownAddressReadsLikeNoPasskeys: the named sign-in says the same for
// an address without an account as the service says for an account without
// passkeys, in every language, so the page does not reveal who has an
// account.
func TestUnknownAddressReadsLikeNoPasskeys(t *testing.T) {
	errs := localizedErrors(t, "api.passkey.signin")
	for _, tag := range passkey.Languages() {
		lang := tag.String()
		got := errs[lang]["UserMessageIfClaimsPrincipalDoesNotExist"]
		if want := passkey.UserMessage(passkey.CodeNoDevices, tag); got != want {
			t.Errorf("%s: unknown address %q, account without passkeys %q", lang, got, want)
		}
	}
}

// jsLanguages finds the language keys of a script's strings tables.
var jsLanguages = regexp.MustCompile(`(?m)^\s{4}(en|de|fr|it|[a-z]{2}):\s*\{`)

// TestLanguagesAgree: the handler's messages, the page scripts and the
// policies' localization speak the same languages.
func TestLanguagesAgree(t *testing.T) {
	var goLangs []string
	for _, tag := range passkey.Languages() {
		goLangs = append(goLangs, tag.String())
	}
	slices.Sort(goLangs)
	c := renderChains(t)[0]
	root := parseXML(t, "TrustFrameworkExtensions.xml", c.files["TrustFrameworkExtensions.xml"])
	var policyLangs []string
	for _, l := range root.all("SupportedLanguage") {
		policyLangs = append(policyLangs, l.text())
	}
	slices.Sort(policyLangs)
	if !slices.Equal(goLangs, policyLangs) {
		t.Errorf("handler messages in %v, policies localized in %v", goLangs, policyLangs)
	}
	for _, cd := range root.all("LocalizedResourcesReference") {
		if !slices.Contains(goLangs, cd.Attrs["Language"]) {
			t.Errorf("the policies localize %s in %s, which the handler does not speak", cd.Attrs["LocalizedResourcesReferenceId"], cd.Attrs["Language"])
		}
	}
	// One strings table per language, in passkey.js, shared by the scripts.
	for _, script := range []string{"passkey.js", "passkey-b2c.js", "demo.js"} {
		data, err := os.ReadFile(filepath.Join("pages", script))
		if err != nil {
			t.Fatal(err)
		}
		var langs []string
		for _, m := range jsLanguages.FindAllStringSubmatch(string(data), -1) {
			if !slices.Contains(langs, m[1]) {
				langs = append(langs, m[1])
			}
		}
		slices.Sort(langs)
		want := goLangs
		if script != "passkey.js" {
			want = nil // no table of its own
		}
		if !slices.Equal(langs, want) {
			t.Errorf("%s has strings tables for %v, want %v", script, langs, want)
		}
	}
	// The sign-in page knows the handler's credential_unknown message by
	// its text (B2C shows the text, not the code): the scripts' copy is
	// the handler's, in every language.
	data, err := os.ReadFile(filepath.Join("pages", "passkey.js"))
	if err != nil {
		t.Fatal(err)
	}
	copies := jsStrings(t, string(data), "credentialUnknown")
	for _, tag := range passkey.Languages() {
		lang := tag.String()
		if got, want := copies[lang], passkey.UserMessage(passkey.CodeCredentialUnknown, tag); got != want {
			t.Errorf("passkey.js says credential_unknown in %s as %q, the handler as %q", lang, got, want)
		}
	}
}

// jsStrings returns, per language table of a strings script, the value of
// key, a single-quoted literal whose only escape is \'.
func jsStrings(t *testing.T, script, key string) map[string]string {
	t.Helper()
	entry := regexp.MustCompile(`^\s+` + regexp.QuoteMeta(key) + `: '((?:[^'\\]|\\')*)',?$`)
	out := map[string]string{}
	lang := ""
	for line := range strings.Lines(script) {
		line = strings.TrimRight(line, "\n")
		if m := jsLanguages.FindStringSubmatch(line); m != nil {
			lang = m[1]
			continue
		}
		if lang == "" || !strings.Contains(line, key+":") {
			continue
		}
		m := entry.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s's %s is not a plain single-quoted string: %s", lang, key, line)
		}
		if _, dup := out[lang]; dup {
			t.Fatalf("%s has %s twice", lang, key)
		}
		out[lang] = strings.ReplaceAll(m[1], `\'`, `'`)
	}
	return out
}
