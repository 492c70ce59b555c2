// Package testenv gives tests the real parts they need (the handler
// binary, Chromium, the shared schemas) and one rule for when a part is
// missing: skip with the reason when run by hand, fail in CI (CI=true).
package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where a missing part fails.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Missing skips the test with the reason, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing part fails; scripts/test installs it)", reason)
	}
	t.Skipf("%s; scripts/test installs it", reason)
}

// RepoRoot is the directory of go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir is ../shared beside the repository, or PASSKEY_SHARED_DIR.
func SharedDir() string {
	if d := os.Getenv("PASSKEY_SHARED_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "..", "shared")
}

// SchemasDir is the folder of third-party schemas: PASSKEY_SCHEMAS_DIR, or
// schemas/ in the shared folder.
func SchemasDir() string {
	if d := os.Getenv("PASSKEY_SCHEMAS_DIR"); d != "" {
		return d
	}
	return filepath.Join(SharedDir(), "schemas")
}

// SchemaFile returns the local path of a schema file (relative to
// SchemasDir), downloading it from its published URL into a cache when
// there is no local copy; it skips (fails in CI) when neither works.
func SchemaFile(t testing.TB, rel, publishedURL string) string {
	t.Helper()
	path, err := FindSchemaFile(rel, publishedURL)
	if err != nil {
		Missing(t, "%v", err)
	}
	return path
}

// FindSchemaFile is SchemaFile for a caller that decides itself what a
// missing file means: it returns the error instead of skipping.
func FindSchemaFile(rel, publishedURL string) (string, error) {
	local := filepath.Join(SchemasDir(), rel)
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if publishedURL == "" {
		return "", fmt.Errorf("schema %s not found (set PASSKEY_SCHEMAS_DIR)", local)
	}
	cache := filepath.Join(os.TempDir(), "passkeys-schema-cache", rel)
	if _, err := os.Stat(cache); err == nil {
		return cache, nil
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(publishedURL)
	if err != nil || resp.StatusCode != http.StatusOK {
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("status %s", resp.Status)
		}
		return "", fmt.Errorf("schema %s not found locally and %s could not be fetched: %v", local, publishedURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %v", publishedURL, err)
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(cache, data, 0o644); err != nil {
		return "", err
	}
	return cache, nil
}

// LookPath finds a program or skips (fails in CI) naming it.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed", name)
	}
	return p
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// HandlerBinary builds the handler once per test binary and returns its path.
func HandlerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "passkeys-handler-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "handler")
		args := []string{"build", "-o", buildPath}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./handler")...)
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./handler: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Handler is a running handler process.
type Handler struct {
	URL    string // http://localhost:PORT
	Port   int
	Cmd    *exec.Cmd
	Binary string
	Env    []string // the whole environment of the process
	Dir    string

	exited  chan struct{} // closed when the current process has exited and its output is read
	waitErr error         // of cmd.Wait, once exited is closed
	mu      sync.Mutex
	log     strings.Builder // stdout and stderr as they came
	stdout  []string        // lines
	stderr  []string        // lines
}

// Log returns what the process wrote to stdout and stderr so far.
func (h *Handler) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

// Stdout returns the lines the process wrote to stdout so far (the
// Functions host reads its log from there).
func (h *Handler) Stdout() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.stdout...)
}

// Stderr returns what the process wrote to stderr so far.
func (h *Handler) Stderr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.stderr, "\n")
}

// StartHandler starts the built handler the way the Functions host does:
// working directory dir (a temp dir when empty), FUNCTIONS_CUSTOMHANDLER_PORT
// set, ready once GET / answers. env adds or overrides variables; by default
// the embedded store lives in dir/data and the origin is http://localhost:PORT.
// The process is stopped (SIGTERM) when the test ends.
func StartHandler(t testing.TB, dir string, env ...string) *Handler {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	return StartBinary(t, HandlerBinary(t), dir, func(port int) []string {
		return append(append(os.Environ(),
			fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
			"PASSKEY_DATA_DIR="+filepath.Join(dir, "data"),
		), env...)
	})
}

// StartBinary starts binary in dir as the Functions host does (a packaged
// app, say) with exactly the environment env returns for the chosen port,
// and waits until GET / answers. It fails the test when the process exits
// first or is not ready within the host's 30 s.
func StartBinary(t testing.TB, binary, dir string, env func(port int) []string) *Handler {
	t.Helper()
	h := LaunchBinary(t, binary, dir, env)
	h.WaitReady(t)
	return h
}

// LaunchBinary is StartBinary without waiting for the process to be
// ready, for tests of how it starts (or refuses to).
func LaunchBinary(t testing.TB, binary, dir string, env func(port int) []string) *Handler {
	t.Helper()
	port := FreePort(t)
	h := &Handler{Port: port, URL: fmt.Sprintf("http://localhost:%d", port), Binary: binary, Dir: dir, Env: env(port)}
	h.launch(t)
	return h
}

// Restart stops the process and starts it again with the same settings.
func (h *Handler) Restart(t testing.TB) {
	t.Helper()
	h.Stop(t)
	h.launch(t)
	h.WaitReady(t)
}

// Stop sends SIGINT and waits for the process to exit.
func (h *Handler) Stop(t testing.TB) {
	t.Helper()
	if h.Cmd == nil {
		return
	}
	if h.Running() {
		h.Cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.exited:
		case <-time.After(10 * time.Second):
			h.Cmd.Process.Kill()
			<-h.exited
			t.Errorf("handler did not stop within 10s of SIGINT")
		}
	}
	h.Cmd = nil
	if raceBuild && strings.Contains(h.Log(), "WARNING: DATA RACE") {
		t.Errorf("the race detector found a data race in the handler:\n%s", h.Log())
	}
}

// Running reports whether the process has not exited yet.
func (h *Handler) Running() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// Wait waits for the process to exit by itself and returns its exit code.
// The bound only keeps a hung process from hanging the test run.
func (h *Handler) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-h.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("handler did not exit\nlog:\n%s", h.Log())
	}
	var exit *exec.ExitError
	if errors.As(h.waitErr, &exit) {
		return exit.ExitCode()
	}
	if h.waitErr != nil {
		t.Fatalf("waiting for the handler: %v", h.waitErr)
	}
	return 0
}

// Terminate sends SIGTERM, as the Functions host does when it stops the
// app, and returns the exit code.
func (h *Handler) Terminate(t testing.TB) int {
	t.Helper()
	if err := h.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return h.Wait(t)
}

// launch starts the process and collects its output; the test's end
// stops it.
func (h *Handler) launch(t testing.TB) {
	t.Helper()
	cmd := exec.Command(h.Binary)
	cmd.Dir = h.Dir
	cmd.Env = h.Env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var read sync.WaitGroup
	read.Add(2)
	go h.collect(stdout, &h.stdout, &read)
	go h.collect(stderr, &h.stderr, &read)
	exited := make(chan struct{})
	h.Cmd, h.exited = cmd, exited
	// exited closes once the whole output is read and the process is gone.
	go func() { read.Wait(); h.waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { h.Stop(t) })
}

func (h *Handler) collect(r io.Reader, lines *[]string, done *sync.WaitGroup) {
	defer done.Done()
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	for s.Scan() {
		h.mu.Lock()
		*lines = append(*lines, s.Text())
		h.log.WriteString(s.Text() + "\n")
		h.mu.Unlock()
	}
}

// WaitReady waits until the process answers GET / on 127.0.0.1, as the
// Functions host decides it is ready (any answer counts), within the
// host's 30 s; a process that exits first fails the test with its log.
func (h *Handler) WaitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", h.Port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-h.exited:
			t.Fatalf("handler exited before it was ready (%v); log:\n%s", h.waitErr, h.Log())
		case <-ctx.Done():
			t.Fatalf("handler not ready on port %d within 30s; log:\n%s", h.Port, h.Log())
		case <-time.After(25 * time.Millisecond):
		}
	}
}
