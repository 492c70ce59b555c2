package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// loadOpenAPI loads and validates docs/openapi.yaml, served from the test
// server's host.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(testenv.RepoRoot(), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not a valid OpenAPI description: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://example.com/api"}}
	return doc
}

// TestOpenAPIDescribesTheAppAPI: the description is valid, names exactly
// the operations the handler serves, and real requests and answers of
// every operation (successes and refusals) match it.
func TestOpenAPIDescribesTheAppAPI(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	var described, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" /api"+path)
		}
	}
	for _, op := range api.AppOperations() {
		served = append(served, op.Method+" "+op.Path)
	}
	slices.Sort(described)
	slices.Sort(served)
	if !slices.Equal(described, served) {
		t.Errorf("docs/openapi.yaml describes %q, the handler serves %q", described, served)
	}

	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := newAppEnv(t, nil)
	user := uuid.NewString()
	bearer := e.tokenFor(t, user)
	// call sends a request, checks it and its answer against the description
	// and returns the decoded answer.
	call := func(t *testing.T, method, path, bearer string, body any) map[string]any {
		t.Helper()
		var data []byte
		if body != nil {
			data, _ = json.Marshal(body)
		}
		r := httptest.NewRequest(method, "http://example.com"+path, bytes.NewReader(data))
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		route, params, err := router.FindRoute(r)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		in := &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && bearer != "" {
			t.Fatalf("the request does not match the description: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: w.Code, Header: w.Header(),
			Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: the answer %d %s does not match the description: %v", method, path, w.Code, w.Body, err)
		}
		var m map[string]any
		json.Unmarshal(w.Body.Bytes(), &m)
		return m
	}

	begin := call(t, "POST", "/api/me/passkeys/register-begin", bearer, map[string]any{"userName": "alice@contoso.com"})
	options, _ := json.Marshal(begin["options"])
	auth, err := softauthn.New(appOrigin)
	if err != nil {
		t.Fatal(err)
	}
	credential, err := auth.Register(string(options))
	if err != nil {
		t.Fatal(err)
	}
	finish := call(t, "POST", "/api/me/passkeys/register-finish", bearer, map[string]any{"credential": json.RawMessage(credential), "name": "Phone"})
	id, _ := finish["credentialId"].(string)
	call(t, "GET", "/api/me/passkeys", bearer, nil)
	call(t, "PATCH", "/api/me/passkeys/"+id, bearer, map[string]any{"name": "Work phone"})
	call(t, "DELETE", "/api/me/passkeys/"+id, bearer, nil)
	call(t, "DELETE", "/api/me/passkeys/"+id, bearer, nil) // 409: gone
	call(t, "GET", "/api/me/passkeys", "", nil)            // 401
	call(t, "POST", "/api/me/passkeys/register-begin", e.tokenFor(t, user, "auth_time", nil), nil)
}
