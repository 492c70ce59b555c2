package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCorrelationIDInRequestLog checks that the request log line carries
// B2C's correlation id, from the correlationId claim or the
// X-Correlation-Id header, and leaves out values that are not ids.
func TestCorrelationIDInRequestLog(t *testing.T) {
	t.Parallel()
	const guid = "8c6a2d4e-1f3b-4a5c-9d7e-0b1c2d3e4f50"
	tests := []struct {
		name   string
		body   string
		header string
		want   string // "" means no correlationId field
		status int
	}{
		{name: "claim", body: `{"correlationId":"` + guid + `"}`, want: guid, status: http.StatusNotFound},
		{name: "header", body: `{}`, header: guid, want: guid, status: http.StatusNotFound},
		{name: "claim wins over header", body: `{"correlationId":"` + guid + `"}`, header: "from-gateway", want: guid, status: http.StatusNotFound},
		{name: "neither", body: `{}`, status: http.StatusNotFound},
		{name: "blank claim falls back to header", body: `{"correlationId":"  "}`, header: "gw-1", want: "gw-1", status: http.StatusNotFound},
		{name: "claim that is not an id is left out", body: `{"correlationId":"a\"}\n{\"level\":\"ERROR\""}`, status: http.StatusNotFound},
		{name: "too long is left out", body: `{"correlationId":"` + strings.Repeat("a", 129) + `"}`, status: http.StatusNotFound},
		{name: "header survives a body that does not decode", body: `{"objectId":`, header: guid, want: guid, status: http.StatusBadRequest},
		{name: "claim of the wrong type is the caller's error", body: `{"correlationId":42}`, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			srv := New(nil, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			req := httptest.NewRequest(http.MethodPost, "/api/no-such-function", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set(CorrelationHeader, tt.header)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("want one log line, got %d:\n%s", len(lines), logs.String())
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
				t.Fatal(err)
			}
			if entry["msg"] != "request" || entry["requestId"] == nil {
				t.Errorf("not the request line: %v", entry)
			}
			got, present := entry["correlationId"]
			switch {
			case tt.want == "" && present:
				t.Errorf("correlationId %q logged, want none", got)
			case tt.want != "" && got != tt.want:
				t.Errorf("correlationId = %v, want %q", got, tt.want)
			}
		})
	}
}
