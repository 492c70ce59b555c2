package hostcontract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// app is the built handler running in a folder laid out like the deployed
// function app, started the way the Functions host starts it.
type app struct {
	*testenv.Handler
	dir  string
	port int
	url  string
}

// layOut builds a folder like the deployed app: host.json, one folder per
// function with its function.json, and the binary under the name host.json
// gives it.
func layOut(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var h hostJSON
	testenv.ReadJSON(t, repoFile("host.json"), &h)
	copyFile(t, repoFile("host.json"), filepath.Join(dir, "host.json"), 0o644)
	for _, name := range functionFolders(t) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, repoFile(filepath.Join("functions", name, "function.json")), filepath.Join(dir, name, "function.json"), 0o644)
	}
	exe := filepath.Join(dir, h.CustomHandler.Description.DefaultExecutablePath)
	if err := os.Link(testenv.HandlerBinary(t), exe); err != nil {
		copyFile(t, testenv.HandlerBinary(t), exe, 0o755)
	}
	return dir
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// baseEnv is the test's environment without any setting of the handler,
// so that the caller's shell cannot change what is tested.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSKEY_") && !strings.HasPrefix(kv, "FUNCTIONS_") {
			env = append(env, kv)
		}
	}
	return env
}

// launch starts ./handler in a fresh app folder with
// FUNCTIONS_CUSTOMHANDLER_PORT and env; it does not wait for readiness.
func launch(t *testing.T, env ...string) *app {
	t.Helper()
	dir := layOut(t)
	var h hostJSON
	testenv.ReadJSON(t, filepath.Join(dir, "host.json"), &h)
	exe := "./" + h.CustomHandler.Description.DefaultExecutablePath
	handler := testenv.LaunchBinary(t, exe, dir, func(port int) []string {
		return append(append(baseEnv(), fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port)), env...)
	})
	return &app{Handler: handler, dir: dir, port: handler.Port, url: handler.URL}
}

// startApp launches the handler and waits until it is ready as the host
// decides it: any answer to GET / on 127.0.0.1.
func startApp(t *testing.T, env ...string) *app {
	t.Helper()
	a := launch(t, env...)
	a.WaitReady(t)
	return a
}

func (a *app) wait(t *testing.T) int      { t.Helper(); return a.Wait(t) }
func (a *app) terminate(t *testing.T) int { t.Helper(); return a.Terminate(t) }
func (a *app) log() string                { return strings.Join(a.Stdout(), "\n") }
func (a *app) errors() string             { return a.Stderr() }

// logLines returns every stdout line decoded as JSON; a line that is not
// JSON fails the test (the host parses stdout).
func (a *app) logLines(t *testing.T) []map[string]any {
	t.Helper()
	lines := a.Stdout()
	var out []map[string]any
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stdout line is not JSON: %q", line)
			continue
		}
		out = append(out, m)
	}
	return out
}

// requestLog waits for the log line of a request id. The handler writes it
// as the request ends, so it may trail the response by a moment.
func (a *app) requestLog(t *testing.T, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		for _, line := range a.logLines(t) {
			// Security events carry the request id too.
			if line["requestId"] == id && line["msg"] == "request" {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with requestId %s\nstdout:\n%s", id, a.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reply is an HTTP answer with its body decoded.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends a request; body is sent as is, headers are name, value pairs.
func (a *app) call(t *testing.T, method, path string, body []byte, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: %d with a body that is not a JSON object: %q", method, path, resp.StatusCode, raw)
		}
	}
	return r
}

// post calls a function with a JSON body built from claims.
func (a *app) post(t *testing.T, function string, claims map[string]any, headers ...string) reply {
	t.Helper()
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return a.call(t, http.MethodPost, "/api/"+function, body, headers...)
}
