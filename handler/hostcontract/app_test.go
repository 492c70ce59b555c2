package hostcontract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// app is the built handler running in a folder laid out like the deployed
// function app, started the way the Functions host starts it.
type app struct {
	dir  string
	port int
	url  string
	cmd  *exec.Cmd

	mu     sync.Mutex
	stdout []string // lines
	stderr []string // lines
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// layOut builds a folder like the deployed app: host.json, one folder per
// function with its function.json, and the binary under the name host.json
// gives it.
func layOut(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var h hostJSON
	decodeFile(t, repoFile("host.json"), &h)
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
	a := &app{dir: dir, port: testenv.FreePort(t), exited: make(chan struct{})}
	a.url = fmt.Sprintf("http://localhost:%d", a.port)
	var h hostJSON
	decodeFile(t, filepath.Join(dir, "host.json"), &h)
	a.cmd = exec.Command("./" + h.CustomHandler.Description.DefaultExecutablePath)
	a.cmd.Dir = dir
	a.cmd.Env = append(baseEnv(), fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", a.port))
	a.cmd.Env = append(a.cmd.Env, env...)
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go a.collect(stdout, &a.stdout, &readers)
	go a.collect(stderr, &a.stderr, &readers)
	go func() {
		readers.Wait()
		a.err = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		if a.running() {
			a.cmd.Process.Kill()
			<-a.exited
		}
	})
	return a
}

func (a *app) collect(r io.Reader, lines *[]string, done *sync.WaitGroup) {
	defer done.Done()
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	for s.Scan() {
		a.mu.Lock()
		*lines = append(*lines, s.Text())
		a.mu.Unlock()
	}
}

func (a *app) running() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// startApp launches the handler and waits until it is ready as the host
// decides it: any answer to GET / on 127.0.0.1.
func startApp(t *testing.T, env ...string) *app {
	t.Helper()
	a := launch(t, env...)
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := probe.Get(fmt.Sprintf("http://127.0.0.1:%d/", a.port))
		if err == nil {
			resp.Body.Close()
			return a
		}
		if !a.running() {
			t.Fatalf("handler exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", a.err, a.log(), a.errors())
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler not ready within 30s (the host's limit)\nstdout:\n%s", a.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code. The bound
// only keeps a hung process from hanging the test run.
func (a *app) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-a.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("handler did not exit\nstdout:\n%s", a.log())
	}
	var exit *exec.ExitError
	if errors.As(a.err, &exit) {
		return exit.ExitCode()
	}
	if a.err != nil {
		t.Fatalf("waiting for the handler: %v", a.err)
	}
	return 0
}

// terminate sends SIGTERM, as the host does when it stops the app.
func (a *app) terminate(t *testing.T) int {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return a.wait(t)
}

func (a *app) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.stdout, "\n")
}

func (a *app) errors() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.stderr, "\n")
}

// logLines returns every stdout line decoded as JSON; a line that is not
// JSON fails the test (the host parses stdout).
func (a *app) logLines(t *testing.T) []map[string]any {
	t.Helper()
	a.mu.Lock()
	lines := append([]string(nil), a.stdout...)
	a.mu.Unlock()
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
