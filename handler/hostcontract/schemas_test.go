package hostcontract

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// schemaSource names one SchemaStore schema: its file under the shared
// schemas folder and its published URL.
type schemaSource struct {
	rel string
	url string
	// draft07 compiles the schema as draft-07 whatever it declares; see
	// schemas/functions/SOURCE.txt for why function.json needs it.
	draft07 bool
}

var (
	hostSchema     = schemaSource{rel: "functions/host.json", url: "https://json.schemastore.org/host.json"}
	functionSchema = schemaSource{rel: "functions/function.json", url: "https://json.schemastore.org/function.json", draft07: true}
	settingsSchema = schemaSource{rel: "functions/local.settings.json", url: "https://json.schemastore.org/local.settings.json"}
)

// compile loads and compiles a schema; the compiler loads nothing from the
// network (only the file given and the bundled meta-schemas).
func compile(t *testing.T, src schemaSource) *jsonschema.Schema {
	t.Helper()
	doc := testenv.ReadJSONDocument(t, testenv.SchemaFile(t, src.rel, src.url))
	if src.draft07 {
		doc.(map[string]any)["$schema"] = "http://json-schema.org/draft-07/schema#"
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(src.url, doc); err != nil {
		t.Fatalf("adding schema %s: %v", src.rel, err)
	}
	schema, err := c.Compile(src.url)
	if err != nil {
		t.Fatalf("compiling schema %s: %v", src.rel, err)
	}
	return schema
}

// repoFile is a path relative to the repository root.
func repoFile(rel string) string { return filepath.Join(testenv.RepoRoot(), rel) }

// functionNames lists the POST functions that take the function key: the
// folders under functions/ that hold a function.json, except the
// anonymous ones (the GET functions api.PagesFunction and
// api.RelatedOriginsFunction, and the app API api.AppFunction), sorted.
func functionNames(t *testing.T) []string {
	t.Helper()
	return slices.DeleteFunc(functionFolders(t), func(n string) bool {
		return n == api.PagesFunction || n == api.RelatedOriginsFunction || n == api.AppFunction
	})
}

// functionFolders lists the folders under functions/ that hold a
// function.json, sorted.
func functionFolders(t *testing.T) []string {
	t.Helper()
	matches, err := filepath.Glob(repoFile("functions/*/function.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no functions/*/function.json found")
	}
	return names
}

// mutation breaks a copy of a valid document in one way the schema must
// reject.
type mutation struct {
	name   string
	mutate func(doc map[string]any)
}

// object walks doc along keys, each naming an object.
func object(doc map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		doc = doc[k].(map[string]any)
	}
	return doc
}

// binding returns binding i of a function.json document.
func binding(doc map[string]any, i int) map[string]any {
	return doc["bindings"].([]any)[i].(map[string]any)
}

// clone deep-copies a decoded document.
func clone(t *testing.T, doc any) map[string]any {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out.(map[string]any)
}

// checkSchema validates the file, then every mutation of it, which must
// each be rejected: a schema that accepted them would prove nothing.
func checkSchema(t *testing.T, schema *jsonschema.Schema, file string, mutations []mutation) {
	t.Helper()
	doc := testenv.ReadJSONDocument(t, file)
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("%s does not match %s:\n%v", file, schema.Location, err)
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			broken := clone(t, doc)
			m.mutate(broken)
			if err := schema.Validate(broken); err == nil {
				t.Errorf("%s with %s: the schema accepted it", filepath.Base(file), m.name)
			}
		})
	}
}

func TestHostJSONMatchesSchema(t *testing.T) {
	t.Parallel()
	checkSchema(t, compile(t, hostSchema), repoFile("host.json"), []mutation{
		{"version 3.0", func(d map[string]any) { d["version"] = "3.0" }},
		{"no version", func(d map[string]any) { delete(d, "version") }},
		{"customHandler.port as a string", func(d map[string]any) { object(d, "customHandler")["port"] = "7071" }},
		{"customHandler.http.enableProxying", func(d map[string]any) {
			object(d, "customHandler")["http"] = map[string]any{"enableProxying": true}
		}},
		{"customHandler unknown property", func(d map[string]any) { object(d, "customHandler")["executable"] = "handler" }},
		{"enableForwardingHttpRequest as a string", func(d map[string]any) {
			object(d, "customHandler")["enableForwardingHttpRequest"] = "true"
		}},
		{"defaultExecutablePath not a string", func(d map[string]any) {
			object(d, "customHandler", "description")["defaultExecutablePath"] = []any{"handler"}
		}},
		{"arguments not strings", func(d map[string]any) {
			object(d, "customHandler", "description")["arguments"] = []any{json.Number("1")}
		}},
	})
}

func TestFunctionJSONMatchesSchema(t *testing.T) {
	t.Parallel()
	schema := compile(t, functionSchema)
	for _, name := range functionFolders(t) {
		t.Run(name, func(t *testing.T) {
			checkSchema(t, schema, repoFile(filepath.Join("functions", name, "function.json")), []mutation{
				{"methods POST", func(d map[string]any) { binding(d, 0)["methods"] = []any{"POST"} }},
				{"method unknown", func(d map[string]any) { binding(d, 0)["methods"] = []any{"send"} }},
				{"trigger without direction", func(d map[string]any) { delete(binding(d, 0), "direction") }},
				{"output without direction", func(d map[string]any) { delete(binding(d, 1), "direction") }},
				{"trigger without name", func(d map[string]any) { delete(binding(d, 0), "name") }},
				{"trigger without type", func(d map[string]any) { delete(binding(d, 0), "type") }},
				{"trigger direction out", func(d map[string]any) { binding(d, 0)["direction"] = "out" }},
				{"direction sideways", func(d map[string]any) { binding(d, 1)["direction"] = "sideways" }},
				{"authLevel Function", func(d map[string]any) { binding(d, 0)["authLevel"] = "Function" }},
				{"authLevel user", func(d map[string]any) { binding(d, 0)["authLevel"] = "user" }},
				{"methods a string", func(d map[string]any) { binding(d, 0)["methods"] = "post" }},
				{"bindings an object", func(d map[string]any) { d["bindings"] = binding(d, 0) }},
				{"disabled as a string", func(d map[string]any) { d["disabled"] = "false" }},
			})
		})
	}
}

func TestLocalSettingsMatchesSchema(t *testing.T) {
	t.Parallel()
	checkSchema(t, compile(t, settingsSchema), repoFile("local.settings.json.example"), []mutation{
		{"FUNCTIONS_WORKER_RUNTIME Custom", func(d map[string]any) { object(d, "Values")["FUNCTIONS_WORKER_RUNTIME"] = "Custom" }},
		{"FUNCTIONS_WORKER_RUNTIME go", func(d map[string]any) { object(d, "Values")["FUNCTIONS_WORKER_RUNTIME"] = "go" }},
		{"IsEncrypted as a string", func(d map[string]any) { d["IsEncrypted"] = "false" }},
		{"AzureWebJobsStorage not a string", func(d map[string]any) { object(d, "Values")["AzureWebJobsStorage"] = json.Number("1") }},
		{"Values an array", func(d map[string]any) { d["Values"] = []any{} }},
	})
}

// hostJSON is the part of host.json the handler depends on.
type hostJSON struct {
	Version    string `json:"version"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string `json:"defaultExecutablePath"`
			WorkingDirectory      string `json:"workingDirectory"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
}

// functionJSON is a function.json.
type functionJSON struct {
	Bindings []struct {
		Type      string   `json:"type"`
		Direction string   `json:"direction"`
		Name      string   `json:"name"`
		AuthLevel string   `json:"authLevel"`
		Methods   []string `json:"methods"`
		Route     *string  `json:"route"`
	} `json:"bindings"`
}

func TestHostJSONSettings(t *testing.T) {
	t.Parallel()
	var h hostJSON
	testenv.ReadJSON(t, repoFile("host.json"), &h)
	if h.Version != "2.0" {
		t.Errorf("version = %q, want 2.0", h.Version)
	}
	if got := h.CustomHandler.Description.DefaultExecutablePath; got != "handler" {
		t.Errorf("customHandler.description.defaultExecutablePath = %q, want handler (the binary the packaging builds)", got)
	}
	if h.CustomHandler.Description.WorkingDirectory != "" {
		t.Errorf("customHandler.description.workingDirectory = %q, want the app root (empty)", h.CustomHandler.Description.WorkingDirectory)
	}
	if !h.CustomHandler.EnableForwardingHTTPRequest {
		t.Error("customHandler.enableForwardingHttpRequest is not true: the handler expects the original request on /api/<name>")
	}
	if p := h.Extensions.HTTP.RoutePrefix; p != nil && *p != "api" {
		t.Errorf("extensions.http.routePrefix = %q, want api (the handler serves /api/<name>)", *p)
	}
}

func TestFunctionJSONBindings(t *testing.T) {
	t.Parallel()
	for _, name := range functionNames(t) {
		t.Run(name, func(t *testing.T) {
			var f functionJSON
			testenv.ReadJSON(t, repoFile(filepath.Join("functions", name, "function.json")), &f)
			// Forwarding needs exactly an httpTrigger in and an http out.
			if len(f.Bindings) != 2 {
				t.Fatalf("%d bindings, want exactly an httpTrigger in and an http out", len(f.Bindings))
			}
			in, out := f.Bindings[0], f.Bindings[1]
			if in.Type != "httpTrigger" || in.Direction != "in" {
				t.Errorf("first binding is %s/%s, want httpTrigger/in", in.Type, in.Direction)
			}
			if in.AuthLevel != "function" {
				t.Errorf("authLevel = %q, want function (B2C sends x-functions-key)", in.AuthLevel)
			}
			if !slices.Equal(in.Methods, []string{"post"}) {
				t.Errorf("methods = %q, want [post]", in.Methods)
			}
			if in.Route != nil && *in.Route != name {
				t.Errorf("route = %q: the handler serves /api/%s", *in.Route, name)
			}
			if out.Type != "http" || out.Direction != "out" {
				t.Errorf("second binding is %s/%s, want http/out", out.Type, out.Direction)
			}
		})
	}
}

func TestLocalSettingsExample(t *testing.T) {
	t.Parallel()
	var s struct {
		IsEncrypted bool              `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	testenv.ReadJSON(t, repoFile("local.settings.json.example"), &s)
	if s.IsEncrypted {
		t.Error("IsEncrypted is true in an example")
	}
	if got := s.Values["FUNCTIONS_WORKER_RUNTIME"]; got != "custom" {
		t.Errorf("FUNCTIONS_WORKER_RUNTIME = %q, want custom", got)
	}
	for _, secret := range []string{"PASSKEY_API_KEYS", "PASSKEY_COSMOS_KEY"} {
		if v := s.Values[secret]; v != "" {
			t.Errorf("%s holds a value in the example; examples hold no secrets", secret)
		}
	}
}

func TestRoutesMatchFunctionFolders(t *testing.T) {
	t.Parallel()
	routes := api.New(nil, api.Options{}).Functions()
	sort.Strings(routes)
	folders := functionFolders(t)
	if !slices.Equal(routes, folders) {
		t.Errorf("the handler routes %q, functions/ holds %q", routes, folders)
	}
}

// TestRelatedOriginsFunctionJSON: browsers fetch the related origins
// document without a key; the route is the handler's
// RelatedOriginsFunctionPath under the "api" prefix.
func TestRelatedOriginsFunctionJSON(t *testing.T) {
	t.Parallel()
	anonymousGet(t, api.RelatedOriginsFunction, strings.TrimPrefix(api.RelatedOriginsFunctionPath, "/api/"))
}

// TestPagesFunctionJSON: the page templates are fetched by browsers from
// the B2C origin, without a key, under /api/pages/<file>.
func TestPagesFunctionJSON(t *testing.T) {
	t.Parallel()
	anonymousGet(t, api.PagesFunction, "pages/{*file}")
}

// anonymousGet checks that a function is exactly an anonymous GET
// httpTrigger on route, with its http out.
func anonymousGet(t *testing.T, function, route string) {
	t.Helper()
	var f functionJSON
	testenv.ReadJSON(t, repoFile(filepath.Join("functions", function, "function.json")), &f)
	if len(f.Bindings) != 2 {
		t.Fatalf("%d bindings, want exactly an httpTrigger in and an http out", len(f.Bindings))
	}
	in := f.Bindings[0]
	if in.Type != "httpTrigger" || in.AuthLevel != "anonymous" || !slices.Contains(in.Methods, "get") || in.Route == nil || *in.Route != route {
		t.Errorf("%s binding = %+v, want an anonymous get httpTrigger on route %s", function, in, route)
	}
}

// TestAppFunctionJSON: the app API is anonymous at the host (the B2C
// access token is its authentication), routed to every path below
// me/passkeys, with every method the handler serves there.
func TestAppFunctionJSON(t *testing.T) {
	t.Parallel()
	var f functionJSON
	testenv.ReadJSON(t, repoFile(filepath.Join("functions", api.AppFunction, "function.json")), &f)
	if len(f.Bindings) != 2 {
		t.Fatalf("%d bindings, want exactly an httpTrigger in and an http out", len(f.Bindings))
	}
	in, out := f.Bindings[0], f.Bindings[1]
	if in.Type != "httpTrigger" || in.Direction != "in" || out.Type != "http" || out.Direction != "out" {
		t.Errorf("bindings = %+v", f.Bindings)
	}
	if in.AuthLevel != "anonymous" {
		t.Errorf("authLevel = %q, want anonymous: apps send a bearer token, not a function key", in.AuthLevel)
	}
	if in.Route == nil || *in.Route != api.AppRoute {
		t.Errorf("route = %v, want %s", in.Route, api.AppRoute)
	}
	if !slices.Equal(in.Methods, api.AppMethods) {
		t.Errorf("methods = %q, want %q", in.Methods, api.AppMethods)
	}
	for _, op := range api.AppOperations() {
		if !slices.Contains(in.Methods, strings.ToLower(op.Method)) {
			t.Errorf("the handler serves %s %s, function.json does not let it through", op.Method, op.Path)
		}
	}
	if !slices.Contains(in.Methods, "options") {
		t.Error("no options: CORS preflights would not reach the handler")
	}
}

// TestSupportFunctionJSON: the support functions need the function key,
// like B2C's; only the app API and the pages are anonymous.
func TestSupportFunctionJSON(t *testing.T) {
	t.Parallel()
	for _, name := range functionFolders(t) {
		var f functionJSON
		testenv.ReadJSON(t, repoFile(filepath.Join("functions", name, "function.json")), &f)
		anonymous := f.Bindings[0].AuthLevel == "anonymous"
		if anonymous != (name == api.PagesFunction || name == api.AppFunction || name == api.RelatedOriginsFunction) {
			t.Errorf("%s: authLevel %q", name, f.Bindings[0].AuthLevel)
		}
	}
	for _, name := range []string{api.SupportListFunction, api.SupportDeleteFunction, api.SupportRevokeFunction} {
		if !slices.Contains(functionNames(t), name) {
			t.Errorf("no function folder %s", name)
		}
	}
}
