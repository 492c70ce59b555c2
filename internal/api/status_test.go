package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// wantStatuses is the contract's table (API.md, Errors), written out so
// that a change to the map in api.go has to change it too.
var wantStatuses = []struct {
	code   passkey.Code
	status int
}{
	{passkey.CodeChallengeExpired, 409},
	{passkey.CodeChallengeUsed, 409},
	{passkey.CodeCredentialRejected, 409},
	{passkey.CodeCredentialUnknown, 409},
	{passkey.CodeCredentialExists, 409},
	{passkey.CodeNoDevices, 409},
	{passkey.CodeDeviceLimit, 409},
	{passkey.CodeUserMismatch, 409},
	{passkey.CodeAuthenticatorNotAllowed, 409},
	{passkey.CodeInvalidRequest, 400},
	{passkey.CodeRequestTooLarge, 413},
	{passkey.CodeUnauthorized, 401},
	{passkey.CodeNotFound, 404},
	{passkey.CodeMethodNotAllowed, 405},
	{passkey.CodeStorageUnavailable, 503},
	{passkey.CodeInternal, 500},
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range wantStatuses {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := Status(tt.code); got != tt.status {
				t.Errorf("Status(%s) = %d, want %d", tt.code, got, tt.status)
			}
		})
	}
	t.Run("every mapped code is in the contract table", func(t *testing.T) {
		if len(statuses) != len(wantStatuses) {
			t.Errorf("api maps %d codes, the table here has %d", len(statuses), len(wantStatuses))
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		if got := Status("no_such_code"); got != http.StatusInternalServerError {
			t.Errorf("Status(no_such_code) = %d, want 500", got)
		}
	})
}

// decodeError decodes an error body strictly: only the contract's fields.
func decodeError(t *testing.T, data []byte) errorBody {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var body errorBody
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q: %v", data, err)
	}
	return body
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	const hidden = "db password=hunter2 at 10.0.0.7"
	tests := []struct {
		name      string
		err       error
		code      passkey.Code
		developer string // a part developerMessage must hold
	}{
		{"domain error", passkey.Errorf(passkey.CodeChallengeExpired, "the session expired"), passkey.CodeChallengeExpired, "the session expired"},
		{"wrapped domain error", fmt.Errorf("finishing: %w", passkey.Errorf(passkey.CodeUserMismatch, "another objectId")), passkey.CodeUserMismatch, "another objectId"},
		{"domain error with a cause", &passkey.Error{Code: passkey.CodeCredentialRejected, Message: "bad signature", Err: errors.New(hidden)}, passkey.CodeCredentialRejected, "bad signature"},
		{"storage unavailable", fmt.Errorf("%s: %w", hidden, passkey.ErrUnavailable), passkey.CodeStorageUnavailable, "nothing was written"},
		{"deadline", fmt.Errorf("%s: %w", hidden, context.DeadlineExceeded), passkey.CodeStorageUnavailable, "nothing was written"},
		{"internal", errors.New(hidden), passkey.CodeInternal, "requestId"},
		{"internal with a code", &passkey.Error{Code: passkey.CodeInternal, Message: hidden}, passkey.CodeInternal, "requestId"},
		{"store not found leaking out", fmt.Errorf("%s: %w", hidden, passkey.ErrNotFound), passkey.CodeInternal, "requestId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(nil, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			w := httptest.NewRecorder()
			status, code := s.writeError(w, "req-1", &request{lang: language.German}, tt.err)
			if code != tt.code || status != Status(tt.code) {
				t.Errorf("writeError = %d %s, want %d %s", status, code, Status(tt.code), tt.code)
			}
			if w.Code != status {
				t.Errorf("HTTP status %d, returned %d", w.Code, status)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			body := decodeError(t, w.Body.Bytes())
			want := errorBody{
				Version:          "1.0.0",
				Status:           BodyStatus(status),
				Code:             string(tt.code),
				UserMessage:      passkey.UserMessage(tt.code, language.German),
				DeveloperMessage: body.DeveloperMessage,
				RequestID:        "req-1",
			}
			if body != want {
				t.Errorf("body %+v, want %+v", body, want)
			}
			if !strings.Contains(body.DeveloperMessage, tt.developer) {
				t.Errorf("developerMessage %q does not hold %q", body.DeveloperMessage, tt.developer)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("the body shows an internal detail: %s", w.Body)
			}
		})
	}
}

// server returns the handler without a service: every case here fails
// before a function would call it. Its log goes to logs.
func server(t *testing.T, logs *bytes.Buffer, opts Options) *Server {
	t.Helper()
	opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return New(nil, opts)
}

func TestServeErrors(t *testing.T) {
	t.Parallel()
	const key = "a-key-of-twenty-chars"
	tests := []struct {
		name    string
		keys    []string
		method  string
		path    string
		body    string
		headers map[string]string
		code    passkey.Code
	}{
		{name: "GET a function", method: "GET", path: "/api/register-begin", code: passkey.CodeMethodNotAllowed},
		{name: "method before key", keys: []string{key}, method: "GET", path: "/api/register-begin", code: passkey.CodeMethodNotAllowed},
		{name: "no key", keys: []string{key}, method: "POST", path: "/api/register-begin", body: `{}`, code: passkey.CodeUnauthorized},
		{name: "key before body", keys: []string{key}, method: "POST", path: "/api/register-begin", body: strings.Repeat(" ", MaxBodyBytes+1), code: passkey.CodeUnauthorized},
		{name: "empty key", keys: []string{key}, method: "POST", path: "/api/register-begin", body: `{}`, headers: map[string]string{"x-api-key": ""}, code: passkey.CodeUnauthorized},
		{name: "right key, missing claim", keys: []string{key}, method: "POST", path: "/api/register-begin", body: `{}`, headers: map[string]string{"x-functions-key": key}, code: passkey.CodeInvalidRequest},
		{name: "unknown function", method: "POST", path: "/api/enrol", body: `{}`, code: passkey.CodeNotFound},
		{name: "names match without regard to case, as in the host", method: "POST", path: "/api/Delete-Device", body: `{"objectId":"x"}`, code: passkey.CodeInvalidRequest},
		{name: "too large", method: "POST", path: "/api/list-devices", body: `{"objectId":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, code: passkey.CodeRequestTooLarge},
		{name: "missing claim", method: "POST", path: "/api/delete-device", body: `{"objectId":"x"}`, code: passkey.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := server(t, &logs, Options{APIKeys: tt.keys})
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			body := decodeError(t, w.Body.Bytes())
			if w.Code != Status(tt.code) || body.Code != string(tt.code) || body.Status != BodyStatus(w.Code) {
				t.Fatalf("%d %+v, want %d %s", w.Code, body, Status(tt.code), tt.code)
			}
			if body.RequestID == "" || body.RequestID != w.Header().Get("X-Request-Id") {
				t.Errorf("requestId %q, X-Request-Id %q", body.RequestID, w.Header().Get("X-Request-Id"))
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON log line: %q", logs.String())
			}
			if line["requestId"] != body.RequestID || line["status"] != float64(w.Code) || line["code"] != string(tt.code) {
				t.Errorf("log line %v", line)
			}
			if strings.Contains(logs.String(), key) {
				t.Error("the log holds the key")
			}
		})
	}
}

func TestFunctionsListsTheRouteTable(t *testing.T) {
	t.Parallel()
	s := New(nil, Options{})
	names := s.Functions()
	for name := range s.functions() {
		if !slices.Contains(names, name) {
			t.Errorf("Functions() = %q lacks %s", names, name)
		}
		var logs bytes.Buffer
		w := httptest.NewRecorder()
		server(t, &logs, Options{}).ServeHTTP(w, httptest.NewRequest("GET", "/api/"+name, nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /api/%s = %d, want 405 (a routed function)", name, w.Code)
		}
	}
}

// TestErrorBodySays409ForEvery4xx: B2C shows userMessage only when the
// body's status is 409, so a 400 or 404 says 409 in its body while the HTTP
// status keeps its meaning; a 503 keeps its own (the policy's localized
// DefaultUserMessageIfRequestFailed covers it).
func TestErrorBodySays409ForEvery4xx(t *testing.T) {
	t.Parallel()
	for _, code := range []passkey.Code{passkey.CodeInvalidRequest, passkey.CodeUnauthorized, passkey.CodeNotFound,
		passkey.CodeRequestTooLarge, passkey.CodeChallengeExpired, passkey.CodeStorageUnavailable} {
		s := New(nil, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		w := httptest.NewRecorder()
		s.writeError(w, "req-1", &request{lang: language.English}, &passkey.Error{Code: code, Message: "x"})
		body := decodeError(t, w.Body.Bytes())
		want := http.StatusConflict
		if w.Code >= 500 {
			want = w.Code
		}
		if w.Code != Status(code) || body.Status != want {
			t.Errorf("%s: HTTP %d, body status %d; want HTTP %d, body %d", code, w.Code, body.Status, Status(code), want)
		}
	}
}
