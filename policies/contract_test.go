package policies_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
	"github.com/passkeys-b2c/passkeys/policies"
)

// The contract test reads the policies the way B2C does and plays each
// journey against the real handler: every RESTful technical profile sends
// exactly its InputClaims (PartnerClaimType names, default values, claim
// resolvers) and maps exactly its OutputClaims; self-asserted pages take
// the claims the page script would write; preconditions decide which steps
// and validation profiles run. The directory (AAD technical profiles) and
// local-account sign-in are simulated; the passkey ceremonies are real,
// made by the software authenticator.

const testLocale = "de-CH" // what {Culture:RFC5646} resolves to in this test

// testCorrelationID is what {Context:CorrelationId} resolves to; the
// handler's log must carry it.
const testCorrelationID = "0f8fad5b-d9cb-469f-a165-70867728950e"

// model is the merged policy chain.
type model struct {
	apiBase    string
	env        *policies.Environment
	tps        map[string][]*node // technical profile id -> its definitions in chain order
	claimTypes map[string]*node
	journeys   map[string]*node
}

// modelOf merges one rendered chain.
func modelOf(t *testing.T, c chain) *model {
	t.Helper()
	base, _ := c.env.Value("PasskeyApiBaseUrl")
	m := &model{apiBase: base, env: c.env, tps: map[string][]*node{}, claimTypes: map[string]*node{}, journeys: map[string]*node{}}
	for _, name := range c.names {
		root := parseXML(t, name, c.files[name])
		root.walk(nil, func(n, parent *node) {
			switch {
			case n.Name == "TechnicalProfile" && parent != nil && parent.Name == "TechnicalProfiles":
				m.tps[n.Attrs["Id"]] = append(m.tps[n.Attrs["Id"]], n)
			case n.Name == "ClaimType":
				m.claimTypes[n.Attrs["Id"]] = n
			case n.Name == "UserJourney":
				m.journeys[n.Attrs["Id"]] = n
			}
		})
	}
	return m
}

// parts returns the definitions of a technical profile, those of the
// profiles it includes first.
func (m *model) parts(id string) []*node {
	var out []*node
	for _, d := range m.tps[id] {
		if inc := d.child("IncludeTechnicalProfile"); inc != nil {
			out = append(out, m.parts(inc.Attrs["ReferenceId"])...)
		}
	}
	return append(out, m.tps[id]...)
}

func (m *model) handler(id string) string {
	h := ""
	for _, d := range m.parts(id) {
		if p := d.child("Protocol"); p != nil {
			h = p.Attrs["Name"] + " " + p.Attrs["Handler"]
		}
	}
	return h
}

func (m *model) meta(id string) map[string]string {
	out := map[string]string{}
	for _, d := range m.parts(id) {
		for k, v := range d.metadata() {
			out[k] = v
		}
	}
	return out
}

// claims returns the InputClaims, DisplayClaims or OutputClaims of a
// profile, included ones first.
func (m *model) claims(id, section string) []*node {
	var out []*node
	for _, d := range m.parts(id) {
		if s := d.child(section); s != nil {
			out = append(out, s.Children...)
		}
	}
	return out
}

func (m *model) validations(id string) []*node {
	var out []*node
	for _, d := range m.parts(id) {
		if s := d.child("ValidationTechnicalProfiles"); s != nil {
			out = append(out, s.Children...)
		}
	}
	return out
}

func partner(c *node) string {
	if p := c.Attrs["PartnerClaimType"]; p != "" {
		return p
	}
	return c.Attrs["ClaimTypeReferenceId"]
}

// restProfiles maps each RESTful technical profile to its function.
func (m *model) restProfiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id := range m.tps {
		if !strings.Contains(m.handler(id), "RestfulProvider") {
			continue
		}
		url := m.meta(id)["ServiceUrl"]
		if url == "" {
			continue // a profile only included by others (REST-Passkey-Common)
		}
		if url == m.tokenEndpoint() {
			continue // the caller token's profile calls Entra ID (acquireProfile)
		}
		url, query, _ := strings.Cut(url, "?")
		if m.callerTokens() && query != "code="+testSecret {
			t.Errorf("%s: ServiceUrl query %q, want the function key as code", id, query)
		}
		fn, ok := strings.CutPrefix(url, m.apiBase+"/")
		if !ok {
			t.Errorf("%s: ServiceUrl %s is not under %s", id, url, m.apiBase)
			continue
		}
		out[id] = fn
	}
	return out
}

// callerTokens reports whether the environment calls the API with an
// Entra ID token (PasskeyCallerAuth Token).
func (m *model) callerTokens() bool {
	v, _ := m.env.Value("PasskeyCallerAuth")
	return v == "Token"
}

func (m *model) tokenEndpoint() string {
	v, _ := m.env.Value("PasskeyCallerTokenEndpoint")
	return v
}

// acquireProfile is the profile that obtains the caller token: the one
// RESTful profile that calls the token endpoint; "" in Key mode.
func (m *model) acquireProfile() string {
	for id := range m.tps {
		if m.callerTokens() && strings.Contains(m.handler(id), "RestfulProvider") && m.meta(id)["ServiceUrl"] == m.tokenEndpoint() {
			return id
		}
	}
	return ""
}

// bearerClaim is the claim a Bearer profile sends as its token, which is
// not part of the body.
func (m *model) bearerClaim(id string) string {
	md := m.meta(id)
	if md["AuthenticationType"] == "Bearer" {
		return md["UseClaimAsBearerToken"]
	}
	return ""
}

// apiContract is the function table of API.md: request and response claim
// names per function.
type apiContract map[string]struct{ request, response []string }

var (
	apiRow     = regexp.MustCompile("^\\| `([a-z-]+)` \\| (.*) \\| (.*) \\|$")
	parens     = regexp.MustCompile(`\([^)]*\)`)
	withPrefix = regexp.MustCompile("with `[^`]+`:")
	ticked     = regexp.MustCompile("`([A-Za-z]+)`")
)

func readAPIContract(t *testing.T) apiContract {
	t.Helper()
	path := filepath.Join(testenv.SharedDir(), "API.md")
	data, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, "API.md not found in %s (set PASSKEY_SHARED_DIR)", path)
	}
	names := func(cell string) []string {
		cell = withPrefix.ReplaceAllString(parens.ReplaceAllString(cell, ""), "")
		var out []string
		for _, m := range ticked.FindAllStringSubmatch(cell, -1) {
			out = append(out, m[1])
		}
		return out
	}
	out := apiContract{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := apiRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out[m[1]] = struct{ request, response []string }{names(m[2]), names(m[3])}
		}
	}
	// API.md lets functions and claims be added where the README documents
	// them in its form: the README's function table adds to each row.
	if readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md")); err == nil {
		for _, line := range strings.Split(string(readme), "\n") {
			if m := apiRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				row := out[m[1]]
				row.request = append(row.request, names(m[2])...)
				row.response = append(row.response, names(m[3])...)
				out[m[1]] = row
			}
		}
	}
	if len(out) < 7 {
		t.Fatalf("API.md: found %d functions in the table", len(out))
	}
	return out
}

// postFunctions lists the functions/ folders of the POST functions B2C
// calls.
func postFunctions(t *testing.T) []string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "functions", "*", "function.json"))
	var out []string
	for _, p := range matches {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(p))
		// The app API and the support functions are not B2C's to call.
		if strings.Contains(string(data), `"post"`) && name != api.AppFunction && !slices.Contains(api.SupportFunctions(), name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestRestProfilesMatchTheAPI is the static half: every profile calls a
// function of API.md, sends only request claims it reads and maps only
// response claims it returns, and every function has a profile.
func TestRestProfilesMatchTheAPI(t *testing.T) {
	for _, c := range renderChains(t) {
		t.Run(c.env.Name, func(t *testing.T) { testRestProfiles(t, modelOf(t, c)) })
	}
}

func testRestProfiles(t *testing.T, m *model) {
	api := readAPIContract(t)
	profiles := m.restProfiles(t)
	covered := map[string]bool{}
	for id, fn := range profiles {
		covered[fn] = true
		spec, ok := api[fn]
		if !ok {
			t.Errorf("%s calls %s, which API.md does not define", id, fn)
			continue
		}
		for _, c := range m.claims(id, "InputClaims") {
			if c.Attrs["ClaimTypeReferenceId"] == m.bearerClaim(id) {
				continue // sent as the Authorization header
			}
			if !slices.Contains(spec.request, partner(c)) && !slices.Contains(everyFunctionReads, partner(c)) {
				t.Errorf("%s sends %q to %s; the API reads %q", id, partner(c), fn, spec.request)
			}
		}
		for _, c := range m.claims(id, "OutputClaims") {
			if !slices.Contains(spec.response, partner(c)) {
				t.Errorf("%s reads %q from %s; the API returns %q", id, partner(c), fn, spec.response)
			}
		}
		md := m.meta(id)
		auth, wantKeys := "ApiKeyHeader", []string{"x-functions-key"}
		if m.callerTokens() {
			// The token in Authorization, the key in the URL (code).
			auth, wantKeys = "Bearer", nil
			if md["UseClaimAsBearerToken"] != "passkeyBearerToken" {
				t.Errorf("%s: UseClaimAsBearerToken = %q, want passkeyBearerToken", id, md["UseClaimAsBearerToken"])
			}
		}
		if md["AuthenticationType"] != auth || md["SendClaimsIn"] != "Body" || md["IncludeClaimResolvingInClaimsHandling"] != "true" {
			t.Errorf("%s: metadata %v, want %s, Body and claim resolving", id, md, auth)
		}
		var keys []string
		for _, d := range m.parts(id) {
			for _, k := range d.all("Key") {
				keys = append(keys, k.Attrs["Id"])
			}
		}
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("%s: keys %q, want %q", id, keys, wantKeys)
		}
		locale := false
		for _, c := range m.claims(id, "InputClaims") {
			locale = locale || (partner(c) == "locale" && c.Attrs["DefaultValue"] == "{Culture:RFC5646}")
		}
		if !locale {
			t.Errorf("%s does not send locale from {Culture:RFC5646}", id)
		}
		correlation := false
		for _, c := range m.claims(id, "InputClaims") {
			correlation = correlation || (partner(c) == "correlationId" && c.Attrs["DefaultValue"] == "{Context:CorrelationId}")
		}
		if !correlation {
			t.Errorf("%s does not send correlationId from {Context:CorrelationId}", id)
		}
	}
	for _, fn := range postFunctions(t) {
		if !covered[fn] {
			t.Errorf("function %s has no RESTful technical profile", fn)
		}
	}
	if len(profiles) < len(postFunctions(t)) {
		t.Errorf("%d profiles for %d functions", len(profiles), len(postFunctions(t)))
	}
	t.Logf("%d RESTful technical profiles cover %d functions", len(profiles), len(covered))
}

// --- the journey player -------------------------------------------------

type user struct {
	objectID, email, displayName, givenName, surname string
}

// page is what the browser does on a self-asserted page: it returns the
// display claims the page script writes.
type page func(t *testing.T, tp string, bag map[string]any) map[string]string

type player struct {
	t   *testing.T
	m   *model
	h   *testenv.Handler
	key string
	// policyKeys are the B2C policy keys by container name, for the
	// caller token's profile; tokenURL stands for Entra ID's token endpoint.
	policyKeys map[string]string
	tokenURL   string
	users      []user
	calls      map[string]int // profile id -> successful calls
	profiles   map[string]string
}

// restError is a 409 the profile returned: B2C shows userMessage on the
// page when the profile is a validation technical profile.
type restError struct {
	status      int
	code        string
	userMessage string
}

func (e *restError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.userMessage) }

// everyFunctionReads are the claims the handler reads on every call besides
// those API.md lists: correlationId goes only to the request log line.
var everyFunctionReads = []string{"correlationId"}

func (p *player) resolve(v string) string {
	switch v {
	case "{Culture:RFC5646}":
		return testLocale
	case "{Context:CorrelationId}":
		return testCorrelationID
	case "{OIDC:LoginHint}":
		return ""
	}
	return v
}

// input builds what a profile sends: its InputClaims under their partner
// names, default values where B2C uses them, absent claims left out.
func (p *player) input(tp string, bag map[string]any) (map[string]any, error) {
	body := map[string]any{}
	for _, c := range p.m.claims(tp, "InputClaims") {
		id := c.Attrs["ClaimTypeReferenceId"]
		v, ok := bag[id]
		if def := c.Attrs["DefaultValue"]; def != "" && (!ok || c.Attrs["AlwaysUseDefaultValue"] == "true") {
			v, ok = p.resolve(def), true
		}
		if !ok || v == "" {
			if c.Attrs["Required"] == "true" {
				return nil, fmt.Errorf("%s: required claim %s is missing", tp, id)
			}
			continue
		}
		body[partner(c)] = v
	}
	return body, nil
}

func (p *player) rest(tp string, bag map[string]any) error {
	t := p.t
	t.Helper()
	if tp == p.m.acquireProfile() {
		return p.acquire(tp, bag)
	}
	fn := p.profiles[tp]
	body, err := p.input(tp, bag)
	if err != nil {
		return err
	}
	bearer := p.m.bearerClaim(tp)
	delete(body, bearer)
	data, _ := json.Marshal(body)
	target := p.h.URL + "/api/" + fn
	if _, query, ok := strings.Cut(p.m.meta(tp)["ServiceUrl"], "?"); ok {
		target += "?" + query
	}
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	switch p.m.meta(tp)["AuthenticationType"] {
	case "ApiKeyHeader":
		req.Header.Set("x-functions-key", p.key)
	case "Bearer":
		token, _ := bag[bearer].(string)
		if token == "" {
			return fmt.Errorf("%s: the bearer claim %s has no value", tp, bearer)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	default:
		t.Fatalf("%s: AuthenticationType %q", tp, p.m.meta(tp)["AuthenticationType"])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s (%s): response is not a JSON object: %s", tp, fn, raw)
	}
	for k, v := range out {
		if v == nil {
			t.Errorf("%s (%s): %s is null; B2C rejects null claims", tp, fn, k)
		}
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("%s (%s) sent %s and got %d: %s", tp, fn, data, resp.StatusCode, raw)
		}
		msg, _ := out["userMessage"].(string)
		code, _ := out["code"].(string)
		return &restError{resp.StatusCode, code, msg}
	}
	p.calls[tp]++
	for _, c := range p.m.claims(tp, "OutputClaims") {
		id, name := c.Attrs["ClaimTypeReferenceId"], partner(c)
		v, ok := out[name]
		if !ok {
			t.Errorf("%s maps %q from %s, which the response %s lacks", tp, name, fn, raw)
			continue
		}
		p.checkType(tp, id, v)
		bag[id] = v
	}
	return nil
}

// acquire plays the caller token's profile as B2C does: its input claims
// form-encoded, HTTP Basic with the policy keys named by its
// CryptographicKeys, the JSON answer mapped by its output claims.
func (p *player) acquire(tp string, bag map[string]any) error {
	t := p.t
	t.Helper()
	md := p.m.meta(tp)
	if md["AuthenticationType"] != "Basic" || md["SendClaimsIn"] != "Form" {
		t.Fatalf("%s: metadata %v, want Basic and Form", tp, md)
	}
	body, err := p.input(tp, bag)
	if err != nil {
		return err
	}
	form := url.Values{}
	for k, v := range body {
		form.Set(k, fmt.Sprint(v))
	}
	req, _ := http.NewRequest(http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	keys := map[string]string{}
	for _, d := range p.m.parts(tp) {
		for _, k := range d.all("Key") {
			keys[k.Attrs["Id"]] = p.policyKeys[k.Attrs["StorageReferenceId"]]
		}
	}
	req.SetBasicAuth(keys["BasicAuthenticationUsername"], keys["BasicAuthenticationPassword"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: the token endpoint answered %d %v", tp, resp.StatusCode, out)
	}
	p.calls[tp]++
	for _, c := range p.m.claims(tp, "OutputClaims") {
		v, ok := out[partner(c)]
		if !ok {
			return fmt.Errorf("%s: the token response lacks %s", tp, partner(c))
		}
		bag[c.Attrs["ClaimTypeReferenceId"]] = v
	}
	return nil
}

// checkType: the JSON value fits the claim's DataType.
func (p *player) checkType(tp, claim string, v any) {
	dt := ""
	if ct := p.m.claimTypes[claim]; ct != nil && ct.child("DataType") != nil {
		dt = ct.child("DataType").text()
	}
	ok := false
	switch dt {
	case "string":
		_, ok = v.(string)
	case "int", "long":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "boolean":
		_, ok = v.(bool)
	case "stringCollection":
		list, isList := v.([]any)
		ok = isList
		for _, e := range list {
			_, isStr := e.(string)
			ok = ok && isStr
		}
	}
	if !ok {
		p.t.Errorf("%s: claim %s (%s) got %T %v", tp, claim, dt, v, v)
	}
}

// directory plays the AAD technical profiles on the simulated users.
func (p *player) directory(tp string, bag map[string]any) error {
	in, err := p.input(tp, bag)
	if err != nil {
		return err
	}
	var found *user
	for i, u := range p.users {
		if in["objectId"] == u.objectID || in["signInNames.emailAddress"] == u.email {
			found = &p.users[i]
		}
	}
	if found == nil {
		return &restError{status: 400, code: "UserMessageIfClaimsPrincipalDoesNotExist"}
	}
	values := map[string]any{"objectId": found.objectID, "signInNames.emailAddress": found.email,
		"displayName": found.displayName, "givenName": found.givenName, "surname": found.surname}
	for _, c := range p.m.claims(tp, "OutputClaims") {
		if v, ok := values[c.Attrs["ClaimTypeReferenceId"]]; ok {
			bag[c.Attrs["ClaimTypeReferenceId"]] = v
		}
	}
	return nil
}

func preconditionsSkip(pre *node, bag map[string]any) bool {
	if pre == nil {
		return false
	}
	for _, c := range pre.Children {
		vals := c.all("Value")
		var hit bool
		switch c.Attrs["Type"] {
		case "ClaimsExist":
			_, hit = bag[vals[0].text()]
		case "ClaimEquals":
			v, ok := bag[vals[0].text()]
			hit = ok && fmt.Sprint(v) == vals[1].text()
		}
		if hit == (c.Attrs["ExecuteActionsIf"] == "true") {
			return true
		}
	}
	return false
}

// selfAsserted runs a page: the browser writes display claims, then the
// validation profiles run in order under their preconditions. An error is
// what B2C shows on the page.
func (p *player) selfAsserted(tp string, bag map[string]any, browser page) error {
	t := p.t
	display := map[string]bool{}
	for _, c := range p.m.claims(tp, "DisplayClaims") {
		display[c.Attrs["ClaimTypeReferenceId"]] = true
	}
	for _, c := range p.m.claims(tp, "InputClaims") {
		if !display[c.Attrs["ClaimTypeReferenceId"]] {
			t.Errorf("%s: input claim %s is not displayed; the page cannot read it", tp, c.Attrs["ClaimTypeReferenceId"])
		}
	}
	// What the page shows comes from the input claims.
	shown := map[string]any{}
	if in, err := p.input(tp, bag); err == nil {
		shown = in
	}
	written := browser(t, tp, shown)
	for k, v := range written {
		if !display[k] {
			t.Fatalf("%s: the page writes %s, which is not a display claim", tp, k)
		}
		if v == "" {
			delete(bag, k)
		} else {
			bag[k] = v
		}
	}
	for _, v := range p.m.validations(tp) {
		if preconditionsSkip(v.child("Preconditions"), bag) {
			continue
		}
		if err := p.exchange(v.Attrs["ReferenceId"], bag, nil); err != nil {
			return err
		}
	}
	return nil
}

// exchange runs one technical profile.
func (p *player) exchange(tp string, bag map[string]any, browser page) error {
	h := p.m.handler(tp)
	switch {
	case strings.Contains(h, "RestfulProvider"):
		return p.rest(tp, bag)
	case strings.Contains(h, "AzureActiveDirectoryProvider"):
		return p.directory(tp, bag)
	case tp == "SelfAsserted-LocalAccountSignin-Email" || tp == "LocalAccountSignUpWithLogonEmail":
		u := p.users[0] // the local account signs in with its password
		bag["objectId"], bag["signInName"] = u.objectID, u.email
		return nil
	case strings.Contains(h, "SelfAssertedAttributeProvider"):
		return p.selfAsserted(tp, bag, browser)
	case strings.Contains(h, "ClaimsTransformationProtocolProvider"):
		// Output claims from their default values (no transformations).
		for _, c := range p.m.claims(tp, "OutputClaims") {
			if def := c.Attrs["DefaultValue"]; def != "" {
				bag[c.Attrs["ClaimTypeReferenceId"]] = p.resolve(def)
			}
		}
		return nil
	}
	p.t.Fatalf("%s: no simulation for protocol %q", tp, h)
	return nil
}

// play runs a journey to its SendClaims step and returns the claims bag,
// or the error a page showed (the browser callback gets to react: it is
// called again for the same step when it returns different claims).
func (p *player) play(journey string, browser page) (map[string]any, error) {
	t := p.t
	j := p.m.journeys[journey]
	if j == nil {
		t.Fatalf("no journey %s", journey)
	}
	bag := map[string]any{}
	for _, step := range j.all("OrchestrationStep") {
		if preconditionsSkip(step.child("Preconditions"), bag) {
			continue
		}
		if step.Attrs["Type"] == "SendClaims" {
			return bag, nil
		}
		exchanges := step.all("ClaimsExchange")
		if len(exchanges) == 0 {
			t.Fatalf("%s step %s has no claims exchange", journey, step.Attrs["Order"])
		}
		if err := p.exchange(exchanges[0].Attrs["TechnicalProfileReferenceId"], bag, browser); err != nil {
			return bag, err
		}
	}
	t.Fatalf("%s has no SendClaims step", journey)
	return nil, nil
}

// TestJourneysAgainstTheHandler plays every journey in an environment of
// each caller mode: the function key alone, and caller tokens (an Entra
// ID token obtained by the journey, the key as code) against a handler
// that requires them.
func TestJourneysAgainstTheHandler(t *testing.T) {
	played := map[string]bool{}
	for _, c := range renderChains(t) {
		m := modelOf(t, c)
		mode, _ := c.env.Value("PasskeyCallerAuth")
		if played[mode] {
			continue
		}
		played[mode] = true
		t.Run(mode, func(t *testing.T) { testJourneys(t, m) })
	}
}

func testJourneys(t *testing.T, m *model) {
	key := testSecret
	env := []string{"PASSKEY_API_KEYS=" + key}
	var entra *tokentest.Issuer
	policyKeys := map[string]string{}
	if m.callerTokens() {
		// Entra ID: the tenant's token endpoint and keys, B2C's app
		// registration with its secret in the policy keys.
		entra = tokentest.New(t, tokentest.Options{
			Issuer:       "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000a1/v2.0",
			MetadataPath: "/00000000-0000-0000-0000-0000000000a1/v2.0/.well-known/openid-configuration",
		})
		scope, _ := m.env.Value("PasskeyCallerScope")
		clientIDs, _ := m.env.Value("PasskeyCallerClientIdContainer")
		secrets, _ := m.env.Value("PasskeyCallerSecretContainer")
		entra.AddClient("b2c-app-id", "b2c-app-secret")
		policyKeys[clientIDs], policyKeys[secrets] = "b2c-app-id", "b2c-app-secret"
		env = append(env, "PASSKEY_CALLER_METADATA_URL="+entra.MetadataURL,
			"PASSKEY_CALLER_AUDIENCE="+strings.TrimSuffix(scope, "/.default"), "PASSKEY_CALLER_APP_IDS=b2c-app-id")
	}
	h := testenv.StartHandler(t, "", env...)
	auth, err := softauthn.New(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	alice := user{objectID: uuid.NewString(), email: "alice@contoso.com", displayName: "Alice Example", givenName: "Alice", surname: "Example"}
	p := &player{t: t, m: m, h: h, key: key, users: []user{alice}, calls: map[string]int{}, profiles: m.restProfiles(t), policyKeys: policyKeys}
	if entra != nil {
		p.tokenURL = entra.TokenEndpoint()
		t.Cleanup(func() {
			// One token per journey played, obtained at its start.
			if entra.TokensIssued() == 0 || int(entra.TokensIssued()) != p.calls[m.acquireProfile()] {
				t.Errorf("%d tokens issued for %d acquisitions", entra.TokensIssued(), p.calls[m.acquireProfile()])
			}
			if strings.Contains(h.Log(), "caller_token_refused") {
				t.Errorf("the handler refused a caller token of a journey:\n%s", h.Log())
			}
		})
	}

	mustLogin := func(t *testing.T, options any, opts ...softauthn.CeremonyOption) string {
		t.Helper()
		cred, err := auth.Login(options.(string), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	checkToken := func(t *testing.T, bag map[string]any) {
		t.Helper()
		for _, c := range p.m.claims("PolicyProfile", "OutputClaims") {
			id := c.Attrs["ClaimTypeReferenceId"]
			if _, ok := bag[id]; !ok && c.Attrs["DefaultValue"] == "" {
				t.Errorf("token claim %s (%s) has no value", partner(c), id)
			}
		}
		if bag["objectId"] != alice.objectID {
			t.Errorf("token for %v, want %s", bag["objectId"], alice.objectID)
		}
	}

	t.Run("sign up or sign in, skip the passkey", func(t *testing.T) {
		bag, err := p.play("PasskeySignUpOrSignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := bag["passkeyCredentialId"]; ok {
			t.Error("a passkey was registered although the user skipped")
		}
	})

	t.Run("sign up or sign in, add a passkey", func(t *testing.T) {
		bag, err := p.play("PasskeySignUpOrSignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			switch tp {
			case "SelfAsserted-Passkey-Offer":
				return map[string]string{"passkeyAction": "add"}
			case "SelfAsserted-Passkey-Create":
				cred, err := auth.Register(shown["passkeyOptions"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return map[string]string{"passkeyCredential": cred}
			}
			t.Fatalf("unexpected page %s", tp)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if bag["passkeyDeviceCount"] != float64(1) || bag["passkeyCredentialId"] == nil {
			t.Errorf("after registration: %v", bag)
		}
		checkToken(t, bag)
	})

	signIn := map[string]page{
		"autofill": func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if !strings.Contains(shown["passkeyOptions"].(string), `"conditional"`) {
				t.Errorf("sign-in page options lack mediation conditional: %s", shown["passkeyOptions"])
			}
			return map[string]string{"passkeyCredential": mustLogin(t, shown["passkeyOptions"])}
		},
		"usernameless button": func(t *testing.T, tp string, shown map[string]any) map[string]string {
			var o map[string]any
			json.Unmarshal([]byte(shown["passkeyOptions"].(string)), &o)
			delete(o, "mediation") // the button runs a modal get()
			data, _ := json.Marshal(o)
			return map[string]string{"passkeyCredential": mustLogin(t, string(data))}
		},
		"named": func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp == "SelfAsserted-Passkey-SignIn" {
				return map[string]string{"signInName": alice.email}
			}
			if !strings.Contains(shown["passkeyOptions"].(string), "allowCredentials") {
				t.Errorf("named options lack allowCredentials: %s", shown["passkeyOptions"])
			}
			return map[string]string{"passkeyCredential": mustLogin(t, shown["passkeyOptions"])}
		},
	}
	for _, name := range []string{"autofill", "usernameless button", "named"} {
		t.Run("sign in with a passkey, "+name, func(t *testing.T) {
			bag, err := p.play("PasskeySignIn", signIn[name])
			if err != nil {
				t.Fatal(err)
			}
			if bag["passkeyUserVerified"] != true {
				t.Errorf("userVerified = %v", bag["passkeyUserVerified"])
			}
			checkToken(t, bag)
		})
	}

	t.Run("sign in with a passkey, refused credential shows the service's message", func(t *testing.T) {
		_, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyCredential": mustLogin(t, shown["passkeyOptions"], softauthn.WithBadSignature())}
		})
		var re *restError
		if !errorAs(err, &re) || re.status != http.StatusConflict || re.userMessage == "" {
			t.Fatalf("err = %v, want a 409 with a userMessage", err)
		}
		if strings.Contains(strings.ToLower(re.userMessage), "the ") {
			t.Errorf("userMessage %q is not in the language of %s", re.userMessage, testLocale)
		}
	})

	t.Run("sign in with a passkey, unknown name", func(t *testing.T) {
		_, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"signInName": "nobody@contoso.com"}
		})
		if err == nil {
			t.Fatal("an unknown sign-in name went on")
		}
	})

	t.Run("manage: rename, add, remove", func(t *testing.T) {
		round := 0
		var renamedID string
		bag, err := p.play("PasskeyManage", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			var devices []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			if tp == "SelfAsserted-Passkey-Manage" {
				round++
				if err := json.Unmarshal([]byte(shown["passkeyDevices"].(string)), &devices); err != nil {
					t.Fatalf("passkeyDevices: %v", err)
				}
			}
			switch {
			case tp == "SelfAsserted-Passkey-Manage" && round == 1:
				renamedID = devices[0].ID
				return map[string]string{"passkeyAction": "rename", "passkeyCredentialId": devices[0].ID, "passkeyDeviceName": "Laptop"}
			case tp == "SelfAsserted-Passkey-Manage" && round == 2:
				if devices[0].Name != "Laptop" {
					t.Errorf("after rename: %+v", devices)
				}
				return map[string]string{"passkeyAction": "add"}
			case tp == "SelfAsserted-Passkey-Create":
				// A second authenticator: the first one is excluded.
				other, _ := softauthn.New(h.URL)
				cred, err := other.Register(shown["passkeyOptions"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return map[string]string{"passkeyCredential": cred}
			case tp == "SelfAsserted-Passkey-Manage" && round == 3:
				if len(devices) != 2 {
					t.Errorf("after add: %+v", devices)
				}
				return map[string]string{"passkeyAction": "delete", "passkeyCredentialId": renamedID}
			}
			t.Fatalf("unexpected page %s in round %d", tp, round)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if bag["passkeyDeviceCount"] != float64(1) {
			t.Errorf("after delete: deviceCount %v, want 1", bag["passkeyDeviceCount"])
		}
		checkToken(t, bag)
	})

	t.Run("manage: renaming a device of another user is refused on the page", func(t *testing.T) {
		_, err := p.play("PasskeyManage", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "rename", "passkeyCredentialId": "AAAA", "passkeyDeviceName": "x"}
		})
		var re *restError
		if !errorAs(err, &re) || re.code != "credential_unknown" {
			t.Fatalf("err = %v, want credential_unknown", err)
		}
	})

	t.Run("every RESTful profile was played", func(t *testing.T) {
		var ids []string
		for id := range p.profiles {
			ids = append(ids, id)
			if p.calls[id] == 0 && !playedElsewhere[id] {
				t.Errorf("%s was never called successfully by a journey", id)
			}
		}
		sort.Strings(ids)
		t.Logf("calls per profile: %v", p.calls)
	})

	t.Run("the handler logs B2C's correlation id", func(t *testing.T) {
		if !strings.Contains(h.Log(), `"correlationId":"`+testCorrelationID+`"`) {
			t.Errorf("no request line carries correlationId %s", testCorrelationID)
		}
	})
}

func errorAs(err error, target **restError) bool {
	re, ok := err.(*restError)
	if ok {
		*target = re
	}
	return ok
}
