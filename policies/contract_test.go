package policies_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

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

// testClientIP is what {Context:IPAddress} resolves to; the security
// events must carry it.
const testClientIP = "203.0.113.7"

// model is the merged policy chain.
type model struct {
	apiBase     string
	env         *policies.Environment
	tps         map[string][]*node // technical profile id -> its definitions in chain order
	claimTypes  map[string]*node
	journeys    map[string]*node
	subJourneys map[string]*node
	transforms  map[string]*node // claims transformation id -> definition
}

// modelOf merges one rendered chain.
func modelOf(t *testing.T, c chain) *model {
	t.Helper()
	base, _ := c.env.Value("PasskeyApiBaseUrl")
	m := &model{apiBase: base, env: c.env, tps: map[string][]*node{}, claimTypes: map[string]*node{}, journeys: map[string]*node{}, subJourneys: map[string]*node{}, transforms: map[string]*node{}}
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
			case n.Name == "SubJourney":
				m.subJourneys[n.Attrs["Id"]] = n
			case n.Name == "ClaimsTransformation" && parent != nil && parent.Name == "ClaimsTransformations":
				m.transforms[n.Attrs["Id"]] = n
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

// includes reports whether profile id is base or includes it.
func (m *model) includes(id, base string) bool {
	if id == base {
		return true
	}
	for _, d := range m.tps[id] {
		if inc := d.child("IncludeTechnicalProfile"); inc != nil && m.includes(inc.Attrs["ReferenceId"], base) {
			return true
		}
	}
	return false
}

// sessionProfile is the session management profile a technical profile
// uses (the last definition in the chain wins).
func (m *model) sessionProfile(id string) string {
	sm := ""
	for _, d := range m.parts(id) {
		if u := d.child("UseTechnicalProfileForSessionManagement"); u != nil {
			sm = u.Attrs["ReferenceId"]
		}
	}
	return sm
}

// remembers reports whether a session management profile keeps the step in
// the SSO session (SM-Noop does not).
func (m *model) remembers(sm string) bool {
	return sm != "" && !strings.Contains(m.handler(sm), "NoopSSOSessionProvider")
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
		for _, k := range restErrorMetadata {
			if md[k] == "" {
				t.Errorf("%s: no %s; the user would read B2C's technical English", id, k)
			}
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
		clientIP := false
		for _, c := range m.claims(id, "InputClaims") {
			clientIP = clientIP || (partner(c) == "clientIp" && c.Attrs["DefaultValue"] == "{Context:IPAddress}")
		}
		if !clientIP {
			t.Errorf("%s does not send clientIp from {Context:IPAddress}", id)
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

// restErrorMetadata are the RESTful profile messages B2C shows when the
// service fails (5xx), times out, is cut off or cannot be resolved.
var restErrorMetadata = []string{"DefaultUserMessageIfRequestFailed", "UserMessageIfRequestTimeout",
	"UserMessageIfCircuitOpen", "UserMessageIfDnsResolutionFailed"}

// TestRestErrorsAreLocalized: every passkey page's localization carries the
// RESTful error messages in every supported language.
func TestRestErrorsAreLocalized(t *testing.T) {
	c := renderChains(t)[0]
	root := parseXML(t, "TrustFrameworkExtensions.xml", c.files["TrustFrameworkExtensions.xml"])
	var langs []string
	for _, l := range root.all("SupportedLanguage") {
		langs = append(langs, l.text())
	}
	found := map[string]bool{}
	for _, r := range root.all("LocalizedResources") {
		for _, s := range r.all("LocalizedString") {
			if s.Attrs["ElementType"] == "ErrorMessage" && s.text() != "" {
				found[r.Attrs["Id"]+"/"+s.Attrs["StringId"]] = true
			}
		}
	}
	for _, cd := range root.all("ContentDefinition") {
		refs := map[string]string{}
		for _, r := range cd.all("LocalizedResourcesReference") {
			refs[r.Attrs["Language"]] = r.Attrs["LocalizedResourcesReferenceId"]
		}
		for _, lang := range langs {
			res, ok := refs[lang]
			if !ok {
				t.Errorf("%s has no localization in %s", cd.Attrs["Id"], lang)
				continue
			}
			for _, k := range restErrorMetadata {
				if !found[res+"/"+k] {
					t.Errorf("%s (%s) has no %s", cd.Attrs["Id"], res, k)
				}
			}
		}
	}
}

// --- the journey player -------------------------------------------------

type user struct {
	objectID, email, displayName, givenName, surname string
	disabled                                         bool           // accountEnabled false: blocked by the tenant's admin
	attrs                                            map[string]any // extension attributes written by the policies
}

// page is what the browser does on a self-asserted page: it returns the
// display claims the page script writes, or nil when the user leaves. When
// B2C showed an error on the page (a validation profile failed), shown
// holds it under "error" (a *restError) and the page keeps its values.
type page func(t *testing.T, tp string, shown map[string]any) map[string]string

// session is B2C's SSO session: the steps remembered by their session
// management profiles and the claims those profiles persist.
type session struct {
	steps  map[string]bool
	claims map[string]any
}

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
	current    int            // the user who signs in with a password
	calls      map[string]int // profile id -> successful calls
	profiles   map[string]string
	pages      []string  // self-asserted pages shown in the last journey
	sso        *session  // the browser's B2C session; nil: a fresh browser
	lastSSO    *session  // the session the last completed journey left
	ran        []string  // technical profiles run in the current journey
	clock      time.Time // what GetCurrentDateTime says; zero: the real time
	forgot     bool      // the user chooses "Forgot your password?" on the password page
	choice     string    // the claims exchange the user picked on a combined page
}

func (p *player) now() time.Time {
	if p.clock.IsZero() {
		return time.Now()
	}
	return p.clock
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
// those of its row in API.md: the journey's correlationId and the user's
// address, for the sessions, the log and the security events.
var everyFunctionReads = []string{"correlationId", "clientIp"}

func (p *player) resolve(v string) string {
	switch v {
	case "{Culture:RFC5646}":
		return testLocale
	case "{Context:CorrelationId}":
		return testCorrelationID
	case "{Context:IPAddress}":
		return testClientIP
	case "{OIDC:LoginHint}", "{OIDC:Prompt}":
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
		msg, _ := out["userMessage"].(string)
		code, _ := out["code"].(string)
		switch {
		case resp.StatusCode >= 500:
			// B2C shows the profile's own message for a failed request.
			return &restError{resp.StatusCode, code, p.m.meta(tp)["DefaultUserMessageIfRequestFailed"]}
		case out["status"] != float64(http.StatusConflict):
			// B2C would show its own English text, not userMessage.
			t.Fatalf("%s (%s) sent %s and got %d with body status %v: %s", tp, fn, data, resp.StatusCode, out["status"], raw)
		case resp.StatusCode == http.StatusBadRequest:
			t.Fatalf("%s (%s) sent %s, which breaks the contract: %s", tp, fn, data, raw)
		}
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
		msg := p.m.meta(tp)["UserMessageIfClaimsPrincipalDoesNotExist"]
		return &restError{status: 400, code: "UserMessageIfClaimsPrincipalDoesNotExist", userMessage: msg}
	}
	if p.m.meta(tp)["Operation"] == "Write" {
		for _, d := range p.m.parts(tp) {
			if ps := d.child("PersistedClaims"); ps != nil {
				for _, c := range ps.Children {
					if v, ok := bag[c.Attrs["ClaimTypeReferenceId"]]; ok && partner(c) != "objectId" {
						if found.attrs == nil {
							found.attrs = map[string]any{}
						}
						found.attrs[partner(c)] = v
					}
				}
			}
		}
	}
	values := map[string]any{"objectId": found.objectID, "signInNames.emailAddress": found.email,
		"displayName": found.displayName, "givenName": found.givenName, "surname": found.surname,
		"accountEnabled": !found.disabled}
	maps.Copy(values, found.attrs)
	for _, c := range p.m.claims(tp, "OutputClaims") {
		id := c.Attrs["ClaimTypeReferenceId"]
		if v, ok := values[id]; ok {
			bag[id] = v
		} else if def := c.Attrs["DefaultValue"]; def != "" {
			bag[id] = p.resolve(def)
		}
	}
	return nil
}

// transform runs one claims transformation. Only the methods the policies
// use are known; any other fails the test, so the model never guesses.
func (p *player) transform(id string, bag map[string]any) error {
	ct := p.m.transforms[id]
	if ct == nil {
		p.t.Fatalf("no claims transformation %s", id)
	}
	in := map[string]string{}
	if s := ct.child("InputClaims"); s != nil {
		for _, c := range s.Children {
			in[c.Attrs["TransformationClaimType"]] = c.Attrs["ClaimTypeReferenceId"]
		}
	}
	params := map[string]string{}
	if s := ct.child("InputParameters"); s != nil {
		for _, c := range s.Children {
			params[c.Attrs["Id"]] = c.Attrs["Value"]
		}
	}
	var out []*node
	if s := ct.child("OutputClaims"); s != nil {
		out = s.Children
	}
	switch method := ct.Attrs["TransformationMethod"]; method {
	case "NullClaim":
		for _, c := range out {
			delete(bag, c.Attrs["ClaimTypeReferenceId"])
		}
	case "GetCurrentDateTime":
		for _, c := range out {
			bag[c.Attrs["ClaimTypeReferenceId"]] = p.now().UTC().Format(time.RFC3339)
		}
	case "DateTimeComparison":
		first, err1 := time.Parse(time.RFC3339, fmt.Sprint(bag[in["firstDateTime"]]))
		second, err2 := time.Parse(time.RFC3339, fmt.Sprint(bag[in["secondDateTime"]]))
		if err1 != nil || err2 != nil {
			p.t.Fatalf("%s: DateTimeComparison of %v and %v", id, bag[in["firstDateTime"]], bag[in["secondDateTime"]])
		}
		span, _ := strconv.Atoi(params["timeSpanInSeconds"])
		first = first.Add(time.Duration(span) * time.Second)
		var result bool
		switch params["operator"] {
		case "later than":
			result = first.After(second)
		case "earlier than":
			result = first.Before(second)
		case "same as":
			result = first.Equal(second)
		default:
			p.t.Fatalf("%s: operator %q", id, params["operator"])
		}
		for _, c := range out {
			bag[c.Attrs["ClaimTypeReferenceId"]] = result
		}
	case "AddParameterToStringCollection":
		list, _ := bag[in["collection"]].([]any)
		list = append(slices.Clone(list), params["item"])
		for _, c := range out {
			bag[c.Attrs["ClaimTypeReferenceId"]] = list
		}
	case "FormatStringClaim":
		v, ok := bag[in["inputClaim"]]
		if ok {
			for _, c := range out {
				bag[c.Attrs["ClaimTypeReferenceId"]] = strings.ReplaceAll(params["stringFormat"], "{0}", fmt.Sprint(v))
			}
		}
	case "CreateStringClaim":
		for _, c := range out {
			bag[c.Attrs["ClaimTypeReferenceId"]] = params["value"]
		}
	case "AssertBooleanClaimIsEqualToValue":
		v, ok := bag[in["inputClaim"]]
		if !ok || fmt.Sprint(v) != params["valueToCompareTo"] {
			// B2C raises the error the calling self-asserted profile names.
			return &restError{status: 400, code: "UserMessageIfClaimsTransformationBooleanValueIsNotEqual"}
		}
	default:
		p.t.Fatalf("claims transformation %s: method %s is not modelled", id, method)
	}
	return nil
}

func (p *player) transforms(tp, section string, bag map[string]any) error {
	for _, d := range p.m.parts(tp) {
		if s := d.child(section); s != nil {
			for _, c := range s.Children {
				if err := p.transform(c.Attrs["ReferenceId"], bag); err != nil {
					return err
				}
			}
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
			hit = ok && claimString(v) == vals[1].text()
		}
		if hit == (c.Attrs["ExecuteActionsIf"] == "true") {
			return true
		}
	}
	return false
}

// claimString is a claim's value as B2C compares it: .NET's True and False
// for booleans.
func claimString(v any) string {
	if b, ok := v.(bool); ok {
		if b {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

// maxPageRounds bounds how often a test's browser may answer B2C's error on
// one page.
const maxPageRounds = 6

// selfAsserted runs a page as B2C does: the browser writes display claims
// (an empty field does not clear a claim: B2C keeps the bag's value), then
// the validation profiles run in order under their preconditions. A failing
// one keeps the page, its values and the claims already gathered, and
// shows its error there; the browser may try again or leave (nil), and the
// error is returned.
func (p *player) selfAsserted(tp string, bag map[string]any, browser page) error {
	t := p.t
	p.pages = append(p.pages, tp)
	display := map[string]bool{}
	fields := p.m.claims(tp, "DisplayClaims")
	if len(fields) == 0 {
		fields = p.m.claims(tp, "OutputClaims") // a page without DisplayClaims shows its output claims
	}
	for _, c := range fields {
		if c.Attrs["DefaultValue"] == "" {
			display[c.Attrs["ClaimTypeReferenceId"]] = true
		}
	}
	for _, c := range p.m.claims(tp, "InputClaims") {
		if len(p.m.claims(tp, "DisplayClaims")) > 0 && !display[c.Attrs["ClaimTypeReferenceId"]] {
			t.Errorf("%s: input claim %s is not displayed; the page cannot read it", tp, c.Attrs["ClaimTypeReferenceId"])
		}
	}
	if err := p.transforms(tp, "InputClaimsTransformations", bag); err != nil {
		return err
	}
	// What the page shows comes from the input claims.
	shown := map[string]any{}
	if in, err := p.input(tp, bag); err == nil {
		shown = in
	}
	var pageErr error
	for round := 0; round < maxPageRounds; round++ {
		if pageErr != nil {
			shown["error"] = pageErr
		}
		written := browser(t, tp, shown)
		if written == nil {
			if pageErr == nil {
				pageErr = fmt.Errorf("%s: the user left the page", tp)
			}
			return pageErr
		}
		for k, v := range written {
			if !display[k] {
				// There is no such field on the page: B2C receives nothing.
				t.Logf("%s: the page has no field %s; %q is not sent", tp, k, v)
				continue
			}
			if v != "" {
				bag[k] = v
			}
		}
		// B2C's page does not submit without its required fields.
		for _, c := range p.m.claims(tp, "OutputClaims") {
			id := c.Attrs["ClaimTypeReferenceId"]
			if _, ok := bag[id]; !ok && c.Attrs["Required"] == "true" && c.Attrs["DefaultValue"] == "" && display[id] {
				t.Errorf("%s: the page submitted without its required field %s", tp, id)
			}
		}
		if pageErr = p.validate(tp, bag); pageErr == nil {
			for _, c := range p.m.claims(tp, "OutputClaims") {
				if def := c.Attrs["DefaultValue"]; def != "" {
					bag[c.Attrs["ClaimTypeReferenceId"]] = p.resolve(def)
				}
			}
			return p.transforms(tp, "OutputClaimsTransformations", bag)
		}
	}
	return pageErr
}

// validate runs a page's validation profiles; a claims transformation
// error takes the page's message for it.
func (p *player) validate(tp string, bag map[string]any) error {
	for _, v := range p.m.validations(tp) {
		if preconditionsSkip(v.child("Preconditions"), bag) {
			continue
		}
		err := p.exchange(v.Attrs["ReferenceId"], bag, nil)
		var re *restError
		if errorAs(err, &re) && strings.HasPrefix(re.code, "UserMessageIf") && re.userMessage == "" {
			re.userMessage = p.m.meta(tp)[re.code]
		}
		if err != nil && v.Attrs["ContinueOnError"] != "true" {
			return err
		}
	}
	return nil
}

// exchange runs one technical profile with its claims transformations.
func (p *player) exchange(tp string, bag map[string]any, browser page) error {
	h := p.m.handler(tp)
	p.ran = append(p.ran, tp)
	var err error
	switch {
	case strings.Contains(h, "ClaimsTransformationProtocolProvider"):
		for _, c := range p.m.claims(tp, "OutputClaims") {
			if def := c.Attrs["DefaultValue"]; def != "" {
				bag[c.Attrs["ClaimTypeReferenceId"]] = p.resolve(def)
			}
		}
		return p.transforms(tp, "OutputClaimsTransformations", bag)
	case strings.Contains(h, "RestfulProvider"):
		if err = p.transforms(tp, "InputClaimsTransformations", bag); err == nil {
			err = p.rest(tp, bag)
		}
	case strings.Contains(h, "AzureActiveDirectoryProvider"):
		if err = p.transforms(tp, "InputClaimsTransformations", bag); err == nil {
			err = p.directory(tp, bag)
		}
	case p.m.includes(tp, "SelfAsserted-LocalAccountSignin-Email") || tp == "LocalAccountSignUpWithLogonEmail":
		u := p.users[p.current] // the local account signs in with its password
		if p.forgot {
			// Only a combined sign-in page leads the link into the journey.
			return &restError{status: 400, code: "AADB2C90118", userMessage: "The user has forgotten their password."}
		}
		if u.disabled {
			return &restError{status: 400, code: "AADB2C90225", userMessage: "Your account is locked."}
		}
		p.pages = append(p.pages, tp)
		bag["objectId"], bag["signInName"], bag["authenticationSource"] = u.objectID, u.email, "localAccountAuthentication"
		return p.transforms(tp, "OutputClaimsTransformations", bag)
	case strings.Contains(h, "SelfAssertedAttributeProvider"):
		return p.selfAsserted(tp, bag, browser)
	default:
		p.t.Fatalf("%s: no simulation for protocol %q", tp, h)
	}
	if err != nil {
		return err
	}
	return p.transforms(tp, "OutputClaimsTransformations", bag)
}

// restoreFromSession is B2C's single sign-on for one step: when the step's
// profile is remembered by a session management profile, the step is
// skipped and that profile's persisted claims and outputs are restored.
func (p *player) restoreFromSession(tp string, bag map[string]any) bool {
	if p.sso == nil || !p.sso.steps[tp] {
		return false
	}
	for k, v := range p.sso.claims {
		bag[k] = v
	}
	for _, c := range p.m.claims(p.m.sessionProfile(tp), "OutputClaims") {
		if def := c.Attrs["DefaultValue"]; def != "" {
			bag[c.Attrs["ClaimTypeReferenceId"]] = def
		}
	}
	return true
}

// remember records the journey's remembered steps in lastSSO, on top of
// the session the journey started with.
func (p *player) remember(bag map[string]any) {
	p.lastSSO = &session{steps: map[string]bool{}, claims: map[string]any{}}
	if p.sso != nil {
		maps.Copy(p.lastSSO.steps, p.sso.steps)
		maps.Copy(p.lastSSO.claims, p.sso.claims)
	}
	for _, tp := range p.ran {
		sm := p.m.sessionProfile(tp)
		if !p.m.remembers(sm) {
			continue
		}
		p.lastSSO.steps[tp] = true
		for _, d := range p.m.parts(sm) {
			if s := d.child("PersistedClaims"); s != nil {
				for _, c := range s.Children {
					if v, ok := bag[c.Attrs["ClaimTypeReferenceId"]]; ok {
						p.lastSSO.claims[c.Attrs["ClaimTypeReferenceId"]] = v
					}
				}
			}
		}
	}
}

// play runs a journey to its SendClaims step and returns the claims bag,
// or the error a page showed. Steps are skipped by their preconditions and
// by the SSO session of earlier journeys; a completed journey adds to it.
func (p *player) play(journey string, browser page) (map[string]any, error) {
	t := p.t
	j := p.m.journeys[journey]
	if j == nil {
		t.Fatalf("no journey %s", journey)
	}
	bag := map[string]any{}
	p.pages, p.ran, p.choice = nil, nil, ""
	done, err := p.steps(journey, j, bag, browser)
	if err != nil {
		return bag, err
	}
	if !done {
		t.Fatalf("%s has no SendClaims step", journey)
	}
	p.remember(bag)
	return bag, nil
}

// steps runs the orchestration steps of a journey or sub journey; done
// reports that SendClaims was reached.
func (p *player) steps(journey string, j *node, bag map[string]any, browser page) (done bool, err error) {
	t := p.t
	for _, step := range j.child("OrchestrationSteps").Children {
		if preconditionsSkip(step.child("Preconditions"), bag) {
			continue
		}
		switch step.Attrs["Type"] {
		case "SendClaims":
			return true, nil
		case "InvokeSubJourney":
			for _, c := range step.all("Candidate") {
				sub := p.m.subJourneys[c.Attrs["SubJourneyReferenceId"]]
				if sub == nil {
					t.Fatalf("%s: no sub journey %s", journey, c.Attrs["SubJourneyReferenceId"])
				}
				if done, err := p.steps(journey, sub, bag, browser); done || err != nil {
					return done, err
				}
			}
			continue
		case "CombinedSignInAndSignUp":
			if p.forgot {
				// The link goes to the exchange the page names, or, without
				// one, back to the application.
				for _, sel := range step.all("ClaimsProviderSelection") {
					if sel.Attrs["TargetClaimsExchangeId"] == "ForgotPasswordExchange" {
						p.choice = "ForgotPasswordExchange"
					}
				}
				if p.choice == "" {
					return false, &restError{status: 400, code: "AADB2C90118", userMessage: "The user has forgotten their password."}
				}
				continue
			}
		}
		exchanges := step.all("ClaimsExchange")
		if len(exchanges) == 0 {
			t.Fatalf("%s step %s has no claims exchange", journey, step.Attrs["Order"])
		}
		chosen := exchanges[0]
		for _, e := range exchanges {
			if e.Attrs["Id"] == p.choice {
				chosen, p.choice = e, ""
			}
		}
		tp := chosen.Attrs["TechnicalProfileReferenceId"]
		if p.restoreFromSession(tp, bag) {
			continue
		}
		if err := p.exchange(tp, bag, browser); err != nil {
			return false, err
		}
	}
	return false, nil
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
		bag, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := bag["passkeyCredentialId"]; ok {
			t.Error("a passkey was registered although the user skipped")
		}
	})

	t.Run("sign up or sign in, add a passkey", func(t *testing.T) {
		p.clock = time.Now().Add(31 * 24 * time.Hour) // alice said Not now above: the offer waits 30 days
		defer func() { p.clock = time.Time{} }()
		bag, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
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
			if tp != "SelfAsserted-Passkey-EmailVerify" {
				t.Fatalf("unexpected page %s", tp)
			}
			return nil
		}))
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
			return map[string]string{"passkeyAction": "passkey", "passkeyCredential": mustLogin(t, shown["passkeyOptions"])}
		},
		"usernameless button": func(t *testing.T, tp string, shown map[string]any) map[string]string {
			var o map[string]any
			json.Unmarshal([]byte(shown["passkeyOptions"].(string)), &o)
			delete(o, "mediation") // the button runs a modal get()
			data, _ := json.Marshal(o)
			return map[string]string{"passkeyAction": "passkey", "passkeyCredential": mustLogin(t, string(data))}
		},
		"named": func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp == "SelfAsserted-Passkey-SignIn" {
				return map[string]string{"passkeyAction": "name", "signInName": alice.email}
			}
			if !strings.Contains(shown["passkeyOptions"].(string), "allowCredentials") {
				t.Errorf("named options lack allowCredentials: %s", shown["passkeyOptions"])
			}
			return map[string]string{"passkeyCredential": mustLogin(t, shown["passkeyOptions"])}
		},
	}
	for _, name := range []string{"autofill", "usernameless button", "named"} {
		t.Run("sign in with a passkey, "+name, func(t *testing.T) {
			bag, err := p.play("PasskeySignIn", once(signIn[name]))
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
		_, err := p.play("PasskeySignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "passkey", "passkeyCredential": mustLogin(t, shown["passkeyOptions"], softauthn.WithBadSignature())}
		}))
		var re *restError
		if !errorAs(err, &re) || re.status != http.StatusConflict || re.userMessage == "" {
			t.Fatalf("err = %v, want a 409 with a userMessage", err)
		}
		if strings.Contains(strings.ToLower(re.userMessage), "the ") {
			t.Errorf("userMessage %q is not in the language of %s", re.userMessage, testLocale)
		}
	})

	t.Run("sign in with a passkey, unknown name", func(t *testing.T) {
		_, err := p.play("PasskeySignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "name", "signInName": "nobody@contoso.com"}
		}))
		if err == nil {
			t.Fatal("an unknown sign-in name went on")
		}
	})

	t.Run("manage: rename, add, remove", func(t *testing.T) {
		round := 0
		var renamedID string
		bag, err := p.play("PasskeyManage", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			var devices []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			if p.m.includes(tp, "SelfAsserted-Passkey-Manage") {
				round++
				if err := json.Unmarshal([]byte(shown["passkeyDevices"].(string)), &devices); err != nil {
					t.Fatalf("passkeyDevices: %v", err)
				}
				// The last page of the visit says so.
				if last := shown["passkeyLastRound"] == "true"; last != (round == 3) {
					t.Errorf("round %d: passkeyLastRound %v", round, shown["passkeyLastRound"])
				}
				tp = "SelfAsserted-Passkey-Manage"
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
			if tp != "SelfAsserted-Passkey-EmailVerify" {
				t.Fatalf("unexpected page %s in round %d", tp, round)
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if bag["passkeyDeviceCount"] != float64(1) {
			t.Errorf("after delete: deviceCount %v, want 1", bag["passkeyDeviceCount"])
		}
		checkToken(t, bag)
	})

	t.Run("manage: renaming a device of another user is refused on the page", func(t *testing.T) {
		_, err := p.play("PasskeyManage", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "rename", "passkeyCredentialId": "AAAA", "passkeyDeviceName": "x"}
		}))
		var re *restError
		if !errorAs(err, &re) || re.code != "credential_unknown" {
			t.Fatalf("err = %v, want credential_unknown", err)
		}
	})

	// A second authenticator and two more users: bob is blocked by the
	// tenant's admin but still holds a passkey; carol manages hers.
	bob := user{objectID: uuid.NewString(), email: "bob@contoso.com", displayName: "Bob", disabled: true}
	carol := user{objectID: uuid.NewString(), email: "carol@contoso.com", displayName: "Carol"}
	dave := user{objectID: uuid.NewString(), email: "dave@contoso.com", displayName: "Dave"} // never enrols
	erin := user{objectID: uuid.NewString(), email: "erin@contoso.com", displayName: "Erin"}
	p.users = append(p.users, bob, carol, dave, erin)
	bobAuth, _ := softauthn.New(h.URL)
	enrol := func(t *testing.T, a *softauthn.Authenticator, u user) {
		t.Helper()
		bag := map[string]any{"objectId": u.objectID, "signInNames.emailAddress": u.email}
		p.fixture("REST-Passkey-RegisterBegin", bag)
		cred, err := a.Register(bag["passkeyOptions"].(string))
		if err != nil {
			t.Fatal(err)
		}
		bag["passkeyCredential"] = cred
		p.fixture("REST-Passkey-RegisterFinish", bag)
	}
	enrol(t, bobAuth, bob)
	aliceAuth, _ := softauthn.New(h.URL) // alice's passkeys so far were removed or are on another device
	enrol(t, aliceAuth, alice)
	namedLogin := func(t *testing.T, options any) string {
		t.Helper()
		cred, err := aliceAuth.Login(options.(string))
		if err != nil {
			t.Error(err)
		}
		return cred
	}
	buttonLogin := func(t *testing.T, a *softauthn.Authenticator, options string, opts ...softauthn.CeremonyOption) string {
		t.Helper()
		var o map[string]any
		json.Unmarshal([]byte(options), &o)
		delete(o, "mediation")
		data, _ := json.Marshal(o)
		cred, err := a.Login(string(data), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}

	t.Run("blocked account: the passkey button is refused on the page", func(t *testing.T) {
		bag, err := p.play("PasskeySignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, bobAuth, shown["passkeyOptions"].(string))}
		}))
		var re *restError
		if !errorAs(err, &re) || re.userMessage == "" {
			t.Fatalf("blocked bob signed in with a passkey (err %v, objectId %v)", err, bag["objectId"])
		}
	})

	t.Run("blocked account: the named sign-in hands out no allowCredentials", func(t *testing.T) {
		before := p.calls["REST-Passkey-LoginBegin-Named"]
		_, err := p.play("PasskeySignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp != "SelfAsserted-Passkey-SignIn" {
				t.Errorf("page %s shown to a blocked account", tp)
				return nil
			}
			return map[string]string{"passkeyAction": "name", "signInName": bob.email}
		}))
		if err == nil || p.calls["REST-Passkey-LoginBegin-Named"] != before {
			t.Fatalf("blocked bob got sign-in options (err %v)", err)
		}
	})

	t.Run("blocked account's passkey, then another name: that account's passkey is asked for", func(t *testing.T) {
		named := false
		bag, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			switch {
			case tp == "SelfAsserted-Passkey-SignIn" && shown["error"] == nil:
				return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, bobAuth, shown["passkeyOptions"].(string))}
			case tp == "SelfAsserted-Passkey-SignIn":
				return map[string]string{"passkeyAction": "name", "signInName": alice.email}
			case tp == "SelfAsserted-Passkey-SignIn-Named" && shown["error"] == nil:
				named = true
				return map[string]string{"passkeyCredential": namedLogin(t, shown["passkeyOptions"])}
			}
			return nil
		})
		if err != nil || !named || bag["objectId"] != alice.objectID {
			t.Fatalf("err %v, named page shown %v, token for %v", err, named, bag["objectId"])
		}
	})

	t.Run("refused passkey, then the named way", func(t *testing.T) {
		bag, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			switch {
			case tp == "SelfAsserted-Passkey-SignIn" && shown["error"] == nil:
				return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, auth, shown["passkeyOptions"].(string), softauthn.WithBadSignature())}
			case tp == "SelfAsserted-Passkey-SignIn":
				return map[string]string{"passkeyAction": "name", "signInName": alice.email}
			case tp == "SelfAsserted-Passkey-SignIn-Named" && shown["error"] == nil:
				return map[string]string{"passkeyCredential": namedLogin(t, shown["passkeyOptions"])}
			}
			return nil
		})
		if err != nil || bag["objectId"] != alice.objectID {
			t.Fatalf("after a refused passkey the named way failed: %v", err)
		}
	})

	t.Run("refused passkey, then a fresh challenge on the same page", func(t *testing.T) {
		pages := 0
		bag, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			switch {
			case tp == "SelfAsserted-Passkey-SignIn" && shown["error"] == nil && pages == 0:
				pages++
				return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, aliceAuth, shown["passkeyOptions"].(string), softauthn.WithBadSignature())}
			case tp == "SelfAsserted-Passkey-SignIn" && shown["error"] != nil:
				return map[string]string{"passkeyAction": "renew"} // the button, once the challenge is spent
			case tp == "SelfAsserted-Passkey-SignIn":
				pages++
				return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, aliceAuth, shown["passkeyOptions"].(string))}
			}
			return nil
		})
		if err != nil || bag["objectId"] != alice.objectID || pages != 2 {
			t.Fatalf("after a refused passkey the button did not recover: %v (pages %d)", err, pages)
		}
	})

	t.Run("a name without passkeys, then fresh challenges only, signs nobody in", func(t *testing.T) {
		bag, err := p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp == "SelfAsserted-Passkey-SignIn" && shown["error"] == nil && shown["passkeyAction"] == nil {
				return map[string]string{"passkeyAction": "name", "signInName": dave.email}
			}
			return map[string]string{"passkeyAction": "renew"}
		})
		if err == nil {
			t.Fatalf("a token for %v without a verified passkey", bag["objectId"])
		}
	})

	t.Run("a password alone does not add a passkey: the e-mail code comes first", func(t *testing.T) {
		p.current = 4 // erin, who has no passkey yet
		defer func() { p.current = 0 }()
		var order []string
		other, _ := softauthn.New(h.URL)
		_, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			order = append(order, tp)
			switch tp {
			case "SelfAsserted-Passkey-Offer":
				return map[string]string{"passkeyAction": "add"}
			case "SelfAsserted-Passkey-EmailVerify":
				if shown["passkeyReadOnlyEmail"] != erin.email {
					t.Errorf("the code goes to %v, want %s", shown["passkeyReadOnlyEmail"], erin.email)
				}
				return map[string]string{"passkeyReadOnlyEmail": erin.email} // the user typed the code B2C mailed
			case "SelfAsserted-Passkey-Create":
				cred, err := other.Register(shown["passkeyOptions"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return map[string]string{"passkeyCredential": cred}
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		verify, create := slices.Index(order, "SelfAsserted-Passkey-EmailVerify"), slices.Index(order, "SelfAsserted-Passkey-Create")
		if verify < 0 || create < verify {
			t.Errorf("pages %v: a passkey was added without the e-mail code first", order)
		}
	})

	t.Run("device management always asks, also under single sign-on", func(t *testing.T) {
		defer func() { p.sso = nil }()
		skip := once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		})
		if _, err := p.play("PasskeySignUpOrSignIn", skip); err != nil {
			t.Fatal(err)
		}
		p.sso = p.lastSSO
		_, err := p.play("PasskeyManage", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp == "SelfAsserted-Passkey-EmailVerify" {
				return map[string]string{"passkeyReadOnlyEmail": alice.email}
			}
			return map[string]string{"passkeyAction": "done"}
		}))
		if err != nil {
			t.Fatal(err)
		}
		password := slices.IndexFunc(p.pages, func(tp string) bool { return p.m.includes(tp, "SelfAsserted-LocalAccountSignin-Email") })
		if password < 0 || !slices.Contains(p.pages, "SelfAsserted-Passkey-EmailVerify") {
			t.Errorf("device management under SSO showed %v: no fresh password and e-mail code", p.pages)
		}
	})

	t.Run("a passkey sign-in is a B2C sign-in: single sign-on and amr", func(t *testing.T) {
		defer func() { p.sso = nil }()
		bag, err := p.play("PasskeySignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "passkey", "passkeyCredential": buttonLogin(t, aliceAuth, shown["passkeyOptions"].(string))}
		}))
		if err != nil {
			t.Fatal(err)
		}
		if amr, _ := bag["passkeyAmr"].([]any); !slices.Contains(amr, any("passkey")) {
			t.Errorf("amr %v after a passkey sign-in", bag["passkeyAmr"])
		}
		p.sso = p.lastSSO
		bag, err = p.play("PasskeySignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			t.Errorf("page %s shown although the passkey sign-in started a session", tp)
			return nil
		})
		if err != nil || bag["objectId"] != alice.objectID {
			t.Fatalf("SSO after a passkey sign-in: %v, token for %v", err, bag["objectId"])
		}
		if amr, _ := bag["passkeyAmr"].([]any); !slices.Contains(amr, any("passkey")) {
			t.Errorf("amr %v under single sign-on after a passkey sign-in", bag["passkeyAmr"])
		}
	})

	t.Run("a password sign-in says pwd, not passkey", func(t *testing.T) {
		bag, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		}))
		if err != nil {
			t.Fatal(err)
		}
		amr, _ := bag["passkeyAmr"].([]any)
		if !slices.Contains(amr, any("pwd")) || slices.Contains(amr, any("passkey")) {
			t.Errorf("amr %v after a password sign-in", amr)
		}
	})

	t.Run("Not now on the offer: not offered again for 30 days", func(t *testing.T) {
		p.current = 3 // dave, who has no passkey
		defer func() { p.current = 0; p.clock = time.Time{} }()
		declined := false
		_, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			declined = tp == "SelfAsserted-Passkey-Offer"
			return map[string]string{"passkeyAction": "skip"}
		}))
		if err != nil || !declined {
			t.Fatalf("first visit: offer shown %v, err %v", declined, err)
		}
		p.clock = time.Now().Add(29 * 24 * time.Hour)
		_, err = p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			t.Errorf("page %s shown 29 days after Not now", tp)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		p.clock = time.Now().Add(31 * 24 * time.Hour)
		offered := false
		_, err = p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			offered = offered || tp == "SelfAsserted-Passkey-Offer"
			return map[string]string{"passkeyAction": "skip"}
		}))
		if err != nil || !offered {
			t.Errorf("31 days after Not now: offer shown %v, err %v", offered, err)
		}
	})

	// reset is the user on the two password reset pages.
	reset := func(u user) map[string]page {
		return map[string]page{
			"LocalAccountDiscoveryUsingEmailAddress": func(t *testing.T, tp string, shown map[string]any) map[string]string {
				return map[string]string{"email": u.email} // and the code B2C mailed
			},
			"LocalAccountWritePasswordUsingObjectId": func(t *testing.T, tp string, shown map[string]any) map[string]string {
				return map[string]string{"newPassword": "N3w-passw0rd!", "reenterPassword": "N3w-passw0rd!"}
			},
		}
	}

	t.Run("forgot password on sign-in: reset, then the passkeys to review", func(t *testing.T) {
		p.forgot = true
		defer func() { p.forgot = false }()
		steps := reset(alice)
		reviewed := false
		bag, err := p.play("PasskeySignUpOrSignIn", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if f, ok := steps[tp]; ok {
				return f(t, tp, shown)
			}
			if p.m.includes(tp, "SelfAsserted-Passkey-Manage") {
				var devices []struct {
					ID        string `json:"id"`
					CreatedAt string `json:"createdAt"`
				}
				json.Unmarshal([]byte(fmt.Sprint(shown["passkeyDevices"])), &devices)
				if len(devices) == 0 || devices[0].CreatedAt == "" {
					t.Errorf("after the reset the page shows %v, want the passkeys with their dates", shown["passkeyDevices"])
					return nil
				}
				reviewed = true
				return map[string]string{"passkeyAction": "done"}
			}
			return map[string]string{"passkeyAction": "skip"}
		}))
		if err != nil {
			t.Fatalf("forgot password: %v", err)
		}
		if !reviewed || bag["objectId"] != alice.objectID {
			t.Errorf("passkeys reviewed %v, token for %v", reviewed, bag["objectId"])
		}
	})

	t.Run("forgot password on device management", func(t *testing.T) {
		p.forgot = true
		defer func() { p.forgot = false }()
		steps := reset(alice)
		_, err := p.play("PasskeyManage", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if f, ok := steps[tp]; ok {
				return f(t, tp, shown)
			}
			return map[string]string{"passkeyAction": "done"}
		}))
		if err != nil || !slices.Contains(p.pages, "SelfAsserted-Passkey-Manage") {
			t.Fatalf("forgot password on device management: %v, pages %v", err, p.pages)
		}
	})

	t.Run("manage: Not now on a second add registers nothing and goes on", func(t *testing.T) {
		p.current = 2 // carol
		defer func() { p.current = 0 }()
		round := 0
		finishes := p.calls["REST-Passkey-RegisterFinish"]
		carolAuth, _ := softauthn.New(h.URL)
		bag, err := p.play("PasskeyManage", once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if p.m.includes(tp, "SelfAsserted-Passkey-Manage") {
				round++
			}
			switch {
			case tp == "SelfAsserted-Passkey-Manage" && round < 3:
				return map[string]string{"passkeyAction": "add"}
			case tp == "SelfAsserted-Passkey-Create" && round == 1:
				cred, err := carolAuth.Register(shown["passkeyOptions"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return map[string]string{"passkeyCredential": cred}
			case tp == "SelfAsserted-Passkey-Create":
				return map[string]string{"passkeyCredential": ""} // Not now
			case tp == "SelfAsserted-Passkey-EmailVerify":
				return nil
			}
			return map[string]string{"passkeyAction": "done"}
		}))
		if err != nil {
			t.Fatalf("Not now after an add: %v", err)
		}
		var devices []any
		listed := map[string]any{"objectId": carol.objectID}
		p.fixture("REST-Passkey-ListDevices", listed)
		json.Unmarshal([]byte(listed["passkeyDevices"].(string)), &devices)
		if len(devices) != 1 || round != 3 {
			t.Errorf("carol has %d passkeys after %d rounds, want 1 after 3", len(devices), round)
		}
		if n := p.calls["REST-Passkey-RegisterFinish"] - finishes; n != 1 {
			t.Errorf("register-finish called %d times for one passkey: Not now resent the earlier credential", n)
		}
		_ = bag
	})

	t.Run("single sign-on: the offer is not shown, so prompt=none completes", func(t *testing.T) {
		p.current = 2
		defer func() { p.current = 0; p.sso = nil }()
		none := once(func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		})
		if _, err := p.play("PasskeySignUpOrSignIn", none); err != nil {
			t.Fatal(err)
		}
		p.sso = p.lastSSO
		_, err := p.play("PasskeySignUpOrSignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			t.Errorf("page %s shown under single sign-on", tp)
			return nil
		})
		if err != nil || len(p.pages) != 0 {
			t.Fatalf("SSO visit: %v, pages %v", err, p.pages)
		}
	})

	t.Run("the offer is not shown to a user who has a passkey", func(t *testing.T) {
		_, err := p.play("PasskeySignUpOrSignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			t.Errorf("page %s shown to a user with a passkey", tp)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no B2C Cancel after a successful sign-in", func(t *testing.T) {
		for _, tp := range []string{"SelfAsserted-Passkey-Offer", "SelfAsserted-Passkey-Create"} {
			if p.m.meta(tp)["setting.showCancelButton"] != "false" {
				t.Errorf("%s shows B2C's Cancel, which ends a signed-in journey with AADB2C90091", tp)
			}
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
		if !strings.Contains(h.Log(), `"clientIp":"`+testClientIP+`"`) {
			t.Errorf("no security event carries the user's address %s", testClientIP)
		}
	})
}

// once is a browser that leaves a page when B2C shows an error on it. On
// the one-time code page the user types the code B2C sent, unless the
// test's browser answers that page itself.
func once(browser page) page {
	return func(t *testing.T, tp string, shown map[string]any) map[string]string {
		if shown["error"] != nil {
			return nil
		}
		if tp == "SelfAsserted-Passkey-EmailVerify" {
			if out := browser(t, tp, shown); out != nil {
				return out
			}
			return map[string]string{"passkeyReadOnlyEmail": fmt.Sprint(shown["passkeyReadOnlyEmail"])}
		}
		return browser(t, tp, shown)
	}
}

// fixture runs a RESTful profile outside any journey (with the caller
// token first where the environment uses one) to set up a test.
func (p *player) fixture(tp string, bag map[string]any) {
	p.t.Helper()
	if a := p.m.acquireProfile(); a != "" {
		if err := p.rest(a, bag); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := p.rest(tp, bag); err != nil {
		p.t.Fatalf("%s: %v", tp, err)
	}
}

func errorAs(err error, target **restError) bool {
	re, ok := err.(*restError)
	if ok {
		*target = re
	}
	return ok
}
