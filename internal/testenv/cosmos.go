package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
)

// CosmosServerDir is the folder of the Cosmos-compatible test server,
// relative to the repository root.
const CosmosServerDir = "test/cosmosserver"

// TestCosmosKey is the account key given to the test server. The server
// checks no key, but the SDK needs one that is valid base64.
var TestCosmosKey = base64.StdEncoding.EncodeToString([]byte("passkeys test server key, not a secret"))

// Cosmos is a Cosmos DB endpoint for tests: by default the project's test
// server (test/cosmosserver/server.js) on a free loopback port, which the
// test can stop, start again (it keeps its data across a restart) and make
// fail; or, when PASSKEY_COSMOS_ENDPOINT is set, that account (Microsoft's
// emulator, a real account) with PASSKEY_COSMOS_KEY.
type Cosmos struct {
	Endpoint string
	Key      string
	// External is true for an account named by PASSKEY_COSMOS_ENDPOINT;
	// it cannot be stopped or made to fail.
	External bool

	port     int
	dataFile string
	cmd      *exec.Cmd
	exited   chan struct{}

	mu  sync.Mutex
	log strings.Builder
}

// StartCosmos starts the test server (stopped when the test ends), or
// returns the external account. Without node or the server's
// node_modules it skips (fails in CI).
func StartCosmos(t testing.TB) *Cosmos {
	t.Helper()
	if endpoint := os.Getenv("PASSKEY_COSMOS_ENDPOINT"); endpoint != "" {
		return &Cosmos{Endpoint: endpoint, Key: os.Getenv("PASSKEY_COSMOS_KEY"), External: true}
	}
	LookPath(t, "node")
	dir := filepath.Join(RepoRoot(), CosmosServerDir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server")); err != nil {
		Missing(t, "%s/node_modules is missing (npm ci there)", CosmosServerDir)
	}
	c := &Cosmos{
		Key:      TestCosmosKey,
		port:     FreePort(t),
		dataFile: filepath.Join(t.TempDir(), "cosmos.json"),
	}
	c.Endpoint = fmt.Sprintf("http://127.0.0.1:%d/", c.port)
	c.Start(t)
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// Database returns a database name of its own for the test; the store
// creates it. On an external account it stays after the test: remove the
// passkeys-test-* databases when done (docs/cosmos.md).
func (c *Cosmos) Database(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	return "passkeys-test-" + hex.EncodeToString(b)
}

// HandlerEnv is the environment that points a handler at this endpoint
// and database.
func (c *Cosmos) HandlerEnv(database string) []string {
	return []string{
		"PASSKEY_COSMOS_ENDPOINT=" + c.Endpoint,
		"PASSKEY_COSMOS_KEY=" + c.Key,
		"PASSKEY_COSMOS_DATABASE=" + database,
	}
}

// Log returns what the test server wrote so far.
func (c *Cosmos) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// Start starts the test server (again) on its port with its data.
func (c *Cosmos) Start(t testing.TB) {
	t.Helper()
	if c.External {
		t.Skip("the Cosmos endpoint is external (PASSKEY_COSMOS_ENDPOINT): it cannot be restarted by the test")
	}
	if c.cmd != nil {
		t.Fatal("the Cosmos test server is already running")
	}
	cmd := exec.Command("node", "server.js", "--port", fmt.Sprint(c.port), "--data", c.dataFile)
	cmd.Dir = filepath.Join(RepoRoot(), CosmosServerDir)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	ready := make(chan struct{})
	go func() {
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for s.Scan() {
			line := s.Text()
			c.mu.Lock()
			c.log.WriteString(line + "\n")
			c.mu.Unlock()
			if strings.HasPrefix(line, "ready ") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	select {
	case <-ready:
	case <-exited:
		c.cmd = nil
		t.Fatalf("the Cosmos test server exited at start; log:\n%s", c.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("the Cosmos test server was not ready within 30s; log:\n%s", c.Log())
	}
}

// Stop stops the test server (SIGTERM: it saves its data) and waits for it.
func (c *Cosmos) Stop(t testing.TB) {
	t.Helper()
	if c.External {
		t.Skip("the Cosmos endpoint is external (PASSKEY_COSMOS_ENDPOINT): it cannot be stopped by the test")
	}
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
		t.Errorf("the Cosmos test server did not stop within 10s")
	}
	c.cmd = nil
}

// Fail makes the test server answer every Cosmos request with status
// (429 or 5xx) until Heal.
func (c *Cosmos) Fail(t testing.TB, status int) {
	t.Helper()
	c.control(t, http.MethodPost, fmt.Sprintf(`{"status":%d}`, status))
}

// Heal ends what Fail began.
func (c *Cosmos) Heal(t testing.TB) {
	t.Helper()
	c.control(t, http.MethodDelete, "")
}

func (c *Cosmos) control(t testing.TB, method, body string) {
	t.Helper()
	if c.External {
		t.Skip("the Cosmos endpoint is external (PASSKEY_COSMOS_ENDPOINT): it cannot be made to fail")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, c.Endpoint+"_test/fault", bytes.NewBufferString(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("Cosmos test server fault control: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Cosmos test server fault control: %s", resp.Status)
	}
}

// Client is an SDK client of the test server, for tests that look at or
// plant items behind the store's back; it is closed when the test ends.
func (c *Cosmos) Client(t testing.TB) *azcosmos.Client {
	t.Helper()
	cred, err := azcosmos.NewKeyCredential(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azcosmos.NewClientWithKey(c.Endpoint, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
