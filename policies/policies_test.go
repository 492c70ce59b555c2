package policies_test

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pagesrv "github.com/passkeys-b2c/passkeys/internal/pages"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
	"github.com/passkeys-b2c/passkeys/policies"
	"github.com/passkeys-b2c/passkeys/policies/pages"
)

const schemaRel = "b2c/TrustFrameworkPolicy_0.3.0.0.xmllint.xsd"

// chain is the starter pack's base and localization followed by the
// rendered policies of one environment, in upload order.
type chain struct {
	env   *policies.Environment
	names []string
	files map[string][]byte
}

func starterPackDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.SharedDir(), "b2c-starterpack", "LocalAccounts")
	if _, err := os.Stat(filepath.Join(dir, "TrustFrameworkBase.xml")); err != nil {
		testenv.Missing(t, "starter pack not found in %s (set PASSKEY_SHARED_DIR)", dir)
	}
	return dir
}

// testSecret is the value of every secret setting in the tests: the
// function key the contract test's handler accepts.
const testSecret = "contract-test-key"

func settings(t *testing.T) *policies.Settings {
	t.Helper()
	data, err := fs.ReadFile(policies.Files, "appsettings.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := policies.ParseSettings(data)
	if err != nil {
		t.Fatal(err)
	}
	// Secret settings come from -set at render time; the tests give them
	// a value of their own.
	for i := range s.Environments {
		for _, name := range policies.SecretSettings {
			if v, ok := s.Environments[i].PolicySettings[name]; ok && v == "" {
				s.Environments[i].Set(name, testSecret)
			}
		}
	}
	return s
}

func renderChains(t *testing.T) []chain {
	t.Helper()
	starter := starterPackDir(t)
	var chains []chain
	for i := range settings(t).Environments {
		env := &settings(t).Environments[i]
		c := chain{env: env, files: map[string][]byte{}}
		for _, name := range []string{"TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml"} {
			data, err := os.ReadFile(filepath.Join(starter, name))
			if err != nil {
				t.Fatal(err)
			}
			c.names = append(c.names, name)
			c.files[name] = env.RenderStarterPack(data)
		}
		rendered, err := policies.RenderAll(policies.Files, env)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range policies.Order {
			c.names = append(c.names, name)
			c.files[name] = rendered[name]
		}
		chains = append(chains, c)
	}
	return chains
}

// TestRenderedPoliciesValidate runs xmllint with the B2C schema over every
// rendered policy of every environment, the starter pack's included.
func TestRenderedPoliciesValidate(t *testing.T) {
	xmllint := testenv.LookPath(t, "xmllint")
	schema := testenv.SchemaFile(t, schemaRel, "")
	for _, c := range renderChains(t) {
		t.Run(c.env.Name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--noout", "--schema", schema}
			for _, name := range c.names {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, c.files[name], 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, p)
			}
			out, err := exec.Command(xmllint, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint: %v\n%s", err, out)
			}
			if got := strings.Count(string(out), " validates"); got != len(c.names) {
				t.Fatalf("%d of %d policies validate:\n%s", got, len(c.names), out)
			}
		})
	}
}

func TestRenderNamesMissingSetting(t *testing.T) {
	env := &policies.Environment{Name: "x", Tenant: "t.onmicrosoft.com", PolicySettings: map[string]string{"A": "1"}}
	_, err := env.Render("p.xml", []byte(`<a b="{Settings:A}">{Settings:B}{Settings:Tenant}</a>`))
	if err == nil || !strings.Contains(err.Error(), "B") || strings.Contains(err.Error(), "Tenant") {
		t.Fatalf("err = %v, want one naming B only", err)
	}
	out, err := env.Render("p.xml", []byte(`<a b="{Settings:A}">{Settings:Tenant}</a>`))
	if err != nil || string(out) != `<a b="1">t.onmicrosoft.com</a>` {
		t.Fatalf("Render = %q, %v", out, err)
	}
}

// TestRenderedPoliciesHaveNoPlaceholders: every environment fills every
// setting the policies use.
func TestRenderedPoliciesHaveNoPlaceholders(t *testing.T) {
	for _, env := range settings(t).Environments {
		rendered, err := policies.RenderAll(policies.Files, &env)
		if err != nil {
			t.Errorf("%s: %v", env.Name, err)
			continue
		}
		for name, data := range rendered {
			if strings.Contains(string(data), "{Settings:") {
				t.Errorf("%s/%s still holds a Settings placeholder", env.Name, name)
			}
		}
	}
}

// TestPolicyReferences resolves, over the whole chain (base, localization,
// extension, relying party), every reference B2C resolves at upload: claim
// types, technical profiles, content definitions, localized resources,
// claims transformations and user journeys. xmllint cannot see these.
func TestPolicyReferences(t *testing.T) {
	c := renderChains(t)[0]
	defined := map[string]map[string]bool{}
	def := func(kind, id string) {
		if defined[kind] == nil {
			defined[kind] = map[string]bool{}
		}
		defined[kind][strings.ToLower(id)] = true
	}
	type ref struct{ kind, id, where string }
	var refs []ref
	for _, name := range c.names {
		root := parseXML(t, name, c.files[name])
		root.walk(nil, func(n, parent *node) {
			switch n.Name {
			case "ClaimType", "TechnicalProfile", "ContentDefinition", "LocalizedResources", "ClaimsTransformation", "UserJourney":
				if id := n.Attrs["Id"]; id != "" && !(n.Name == "TechnicalProfile" && parent != nil && parent.Name == "RelyingParty") {
					def(n.Name, id)
				}
			}
			add := func(kind, id string) {
				if id != "" {
					refs = append(refs, ref{kind, id, name + ": " + n.Name})
				}
			}
			add("ClaimType", n.Attrs["ClaimTypeReferenceId"])
			add("TechnicalProfile", n.Attrs["TechnicalProfileReferenceId"])
			add("TechnicalProfile", n.Attrs["CpimIssuerTechnicalProfileReferenceId"])
			add("ContentDefinition", n.Attrs["ContentDefinitionReferenceId"])
			add("LocalizedResources", n.Attrs["LocalizedResourcesReferenceId"])
			add("UserJourney", n.Attrs["UserJourneyReferenceId"])
			switch n.Name {
			case "ValidationTechnicalProfile", "IncludeTechnicalProfile", "UseTechnicalProfileForSessionManagement":
				add("TechnicalProfile", n.Attrs["ReferenceId"])
			case "InputClaimsTransformation", "OutputClaimsTransformation":
				add("ClaimsTransformation", n.Attrs["ReferenceId"])
			case "DefaultUserJourney":
				add("UserJourney", n.Attrs["ReferenceId"])
			case "Item":
				if n.Attrs["Key"] == "ContentDefinitionReferenceId" {
					add("ContentDefinition", n.text())
				}
			case "Precondition":
				if vals := n.all("Value"); len(vals) > 0 {
					add("ClaimType", vals[0].text())
				}
			}
		})
	}
	for _, r := range refs {
		// B2C matches ids without regard to case (the starter pack itself
		// writes both surname and surName).
		if !defined[r.kind][strings.ToLower(r.id)] {
			t.Errorf("%s references %s %q, which no policy of the chain defines", r.where, r.kind, r.id)
		}
	}
	if len(refs) < 100 {
		t.Errorf("only %d references found; the walk is broken", len(refs))
	}
}

// TestPagesContract checks what the page scripts need from B2C: script
// execution in every relying party, selfasserted page contract DataUris,
// and LoadUris of templates the handler really serves.
// renderTemplates is what the handler serves at publicURL/api/pages/.
func renderTemplates(t *testing.T, publicURL string) map[string]string {
	t.Helper()
	h, err := pagesrv.New(pagesrv.Options{Files: pages.Files, PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range h.Names() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", pagesrv.Prefix+name, nil))
		out[name] = rec.Body.String()
	}
	return out
}

func TestPagesContract(t *testing.T) {
	env := &settings(t).Environments[0]
	rendered, err := policies.RenderAll(policies.Files, env)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := env.Value("PasskeyPagesBaseUrl")
	api, _ := env.Value("PasskeyApiBaseUrl")
	templates := renderTemplates(t, strings.TrimSuffix(api, "/api"))
	for _, name := range policies.Order {
		root := parseXML(t, name, rendered[name])
		if rp := root.child("RelyingParty"); rp != nil {
			se := rp.all("ScriptExecution")
			if len(se) != 1 || se[0].text() != "Allow" {
				t.Errorf("%s: RelyingParty has no <ScriptExecution>Allow</ScriptExecution>", name)
			}
		}
		for _, cd := range root.all("ContentDefinition") {
			id := cd.Attrs["Id"]
			if !strings.HasPrefix(id, "api.passkey.") {
				continue
			}
			if d := cd.child("DataUri"); d == nil || !strings.HasPrefix(d.text(), "urn:com:microsoft:aad:b2c:elements:contract:selfasserted:") {
				t.Errorf("%s: %s has no selfasserted page contract DataUri", name, id)
			}
			load := cd.child("LoadUri").text()
			file, ok := strings.CutPrefix(load, base+"/")
			if !ok {
				t.Errorf("%s: %s LoadUri %s is not under %s", name, id, load, base)
				continue
			}
			page, ok := templates[file]
			if !ok {
				t.Errorf("%s: %s loads %s, which the handler does not serve", name, id, file)
				continue
			}
			for _, want := range []string{`<div id="api">`, `/api/pages/passkey.js" integrity="sha384-`, `data-preload="true"`} {
				if !strings.Contains(string(page), want) {
					t.Errorf("%s lacks %s", file, want)
				}
			}
			// The page script: passkey-b2c.js, or passkey-lifecycle.js for
			// the silent upgrade page.
			if !strings.Contains(string(page), `/api/pages/passkey-b2c.js" integrity="sha384-`) && !strings.Contains(string(page), `/api/pages/passkey-lifecycle.js" integrity="sha384-`) {
				t.Errorf("%s loads neither passkey-b2c.js nor passkey-lifecycle.js", file)
			}
			if strings.Contains(strings.ToLower(string(page)), "jquery") {
				t.Errorf("%s loads jQuery of its own", file)
			}
		}
	}
}
