// Package apitest calls the handler's functions from tests, the way B2C
// does: a POST of a JSON body to /api/<function>, answered by a JSON
// object. One way to call, in process (an http.Handler) or over HTTP (a
// running handler's base URL), so that no test writes its own.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Timeout bounds one call over HTTP.
const Timeout = 20 * time.Second

// Body turns what a test passes as a request body into bytes: a string or
// []byte as it is (for malformed bodies), anything else as JSON.
func Body(v any) []byte {
	switch b := v.(type) {
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("apitest: the body does not marshal: %v", err))
	}
	return data
}

// Request is a POST of body to /api/<function> under base ("" in
// process), as application/json; header adds or overrides headers.
func Request(ctx context.Context, base, function string, body any, header http.Header) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/"+function, bytes.NewReader(Body(body)))
	if err != nil {
		panic(fmt.Sprintf("apitest: %v", err))
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

// Try posts body to a running handler at base and returns the status and
// the decoded answer, or an error: for goroutines other than the test's.
func Try(base, function string, body any, header http.Header) (int, map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(Request(ctx, base, function, body, header))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %v", function, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return decode(function, resp.StatusCode, raw)
}

// Post is Try that fails the test on a transport error or an answer that
// is not a JSON object.
func Post(tb testing.TB, base, function string, body any, header http.Header) (int, map[string]any) {
	tb.Helper()
	status, out, err := Try(base, function, body, header)
	if err != nil {
		tb.Fatal(err)
	}
	return status, out
}

// Serve posts body to h in process and returns the status and the decoded
// answer; an answer that is not a JSON object fails the test.
func Serve(tb testing.TB, h http.Handler, function string, body any, header http.Header) (int, map[string]any) {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, Request(context.Background(), "", function, body, header))
	status, out, err := decode(function, rec.Code, rec.Body.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return status, out
}

// OK is Post for a call that must succeed.
func OK(tb testing.TB, base, function string, body any) map[string]any {
	tb.Helper()
	status, out := Post(tb, base, function, body, nil)
	if status != http.StatusOK {
		tb.Fatalf("%s: %d %v", function, status, out)
	}
	return out
}

func decode(function string, status int, raw []byte) (int, map[string]any, error) {
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, nil, fmt.Errorf("%s answered %d with a body that is not a JSON object: %q", function, status, raw)
	}
	return status, out, nil
}
