// Package policies holds the Azure AD B2C custom policies of the product
// (the extension on top of the starter pack's LocalAccounts policies and the
// relying-party policies) and renders them for one environment of
// appsettings.json, the convention of the B2C Visual Studio Code extension:
// every {Settings:Name} becomes that environment's value.
package policies

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Files are the policies and appsettings.json as written.
//
//go:embed *.xml appsettings.json
var Files embed.FS

// Order is the upload order: each policy after its base.
var Order = []string{
	"TrustFrameworkExtensions.xml",
	"Passkey_SignUpOrSignIn.xml",
	"Passkey_SignIn.xml",
	"Passkey_Manage.xml",
}

// StarterPackTenant is the tenant placeholder of the starter pack files.
const StarterPackTenant = "yourtenant.onmicrosoft.com"

// Settings is appsettings.json.
type Settings struct {
	Environments []Environment `json:"Environments"`
}

// Environment is one tenant's values.
type Environment struct {
	Name           string            `json:"Name"`
	Production     bool              `json:"Production"`
	Tenant         string            `json:"Tenant"`
	PolicySettings map[string]string `json:"PolicySettings"`
}

// ParseSettings reads appsettings.json.
func ParseSettings(data []byte) (*Settings, error) {
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("appsettings.json: %w", err)
	}
	if len(s.Environments) == 0 {
		return nil, fmt.Errorf("appsettings.json: no Environments")
	}
	return &s, nil
}

// Environment returns the environment called name.
func (s *Settings) Environment(name string) (*Environment, error) {
	var names []string
	for i := range s.Environments {
		if s.Environments[i].Name == name {
			return &s.Environments[i], nil
		}
		names = append(names, s.Environments[i].Name)
	}
	return nil, fmt.Errorf("no environment %q in appsettings.json (have %s)", name, strings.Join(names, ", "))
}

var placeholder = regexp.MustCompile(`\{Settings:([A-Za-z0-9_.-]+)\}`)

// Value returns the value of {Settings:key}: Tenant, else a PolicySettings
// entry.
func (e *Environment) Value(key string) (string, bool) {
	if key == "Tenant" {
		return e.Tenant, e.Tenant != ""
	}
	v, ok := e.PolicySettings[key]
	return v, ok && v != ""
}

// Render keeps the policy's regions meant for the environment (regions.go)
// and replaces every {Settings:Name} with the environment's value,
// XML-escaped. A placeholder without a value is an error naming it.
func (e *Environment) Render(name string, policy []byte) ([]byte, error) {
	policy, err := e.applyRegions(name, policy)
	if err != nil {
		return nil, err
	}
	var missing []string
	out := placeholder.ReplaceAllFunc(policy, func(m []byte) []byte {
		key := string(placeholder.FindSubmatch(m)[1])
		v, ok := e.Value(key)
		if !ok {
			missing = append(missing, key)
			return m
		}
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(v))
		return b.Bytes()
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		missing = slices.Compact(missing)
		return nil, fmt.Errorf("%s: environment %q has no value for %s", name, e.Name, strings.Join(missing, ", "))
	}
	return out, nil
}

// RenderStarterPack puts the environment's tenant into a starter pack
// policy (TrustFrameworkBase.xml, TrustFrameworkLocalization.xml).
func (e *Environment) RenderStarterPack(policy []byte) []byte {
	return bytes.ReplaceAll(policy, []byte(StarterPackTenant), []byte(e.Tenant))
}

// RenderAll renders every policy of Order from fsys for the environment.
func RenderAll(fsys fs.FS, env *Environment) (map[string][]byte, error) {
	out := make(map[string][]byte, len(Order))
	for _, name := range Order {
		data, err := fs.ReadFile(fsys, path.Clean(name))
		if err != nil {
			return nil, err
		}
		if out[name], err = env.Render(name, data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placeholderID is the shape of the application ids appsettings.json ships
// with (00000000-0000-0000-0000-00000000000N): B2C would accept the upload,
// then every sign-in would fail.
var placeholderID = regexp.MustCompile(`^0{8}-0{4}-0{4}-0{4}-0{11}[0-9a-fA-F]$`)

// CheckDeployable refuses an environment that still holds the shipped
// placeholder application ids, naming each setting.
func (e *Environment) CheckDeployable() error {
	var bad []string
	for k, v := range e.PolicySettings {
		if placeholderID.MatchString(strings.TrimSpace(v)) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("environment %q: %s still hold the placeholder application ids of appsettings.json; put in the tenant's app registrations", e.Name, strings.Join(bad, ", "))
	}
	return nil
}
