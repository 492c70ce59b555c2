package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// echo answers with what it was sent: the path, the Content-Type and the body.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "type": r.Header.Get("Content-Type"), "body": string(body), "method": r.Method})
})

func TestServeAndPostSendTheSame(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(echo)
	defer srv.Close()
	for name, call := range map[string]func(body any, h http.Header) (int, map[string]any){
		"in process": func(body any, h http.Header) (int, map[string]any) { return Serve(t, echo, "login-begin", body, h) },
		"over HTTP":  func(body any, h http.Header) (int, map[string]any) { return Post(t, srv.URL, "login-begin", body, h) },
	} {
		t.Run(name, func(t *testing.T) {
			status, out := call(map[string]string{"objectId": "x"}, nil)
			if status != 200 || out["path"] != "/api/login-begin" || out["method"] != "POST" || out["type"] != "application/json" || out["body"] != `{"objectId":"x"}` {
				t.Errorf("JSON body: %d %v", status, out)
			}
			if _, out := call(`{"raw":`, http.Header{"Content-Type": {"text/plain"}}); out["body"] != `{"raw":` || out["type"] != "text/plain" {
				t.Errorf("raw body with another Content-Type: %v", out)
			}
			if _, out := call("{}", http.Header{"Content-Type": nil}); out["type"] != "" {
				t.Errorf("Content-Type removed: %v", out)
			}
		})
	}
}

func TestTryReportsWhatIsNotJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }))
	defer srv.Close()
	if _, _, err := Try(srv.URL, "list-devices", "{}", nil); err == nil {
		t.Error("an HTML answer is no error")
	}
	srv.Close()
	if _, _, err := Try(srv.URL, "list-devices", "{}", nil); err == nil {
		t.Error("a closed server is no error")
	}
}
