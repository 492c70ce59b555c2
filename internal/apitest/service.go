package apitest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// Origin is the WebAuthn origin of the services Config builds, the
// handler's own default.
const Origin = "http://localhost:7071"

// Config is the relying party of a test service: localhost, Origin (or
// origin when given), a five-minute session and no attestation.
func Config(origin string) config.Config {
	if origin == "" {
		origin = Origin
	}
	return config.Config{RPID: "localhost", RPName: "Passkeys", RPOrigins: []string{origin}, SessionTTL: 5 * time.Minute, Attestation: "none"}
}

// EmbeddedStore is a fresh embedded store in the test's temporary folder,
// closed when the test ends.
func EmbeddedStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	store, err := embedded.Open(tb.TempDir(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

// NewService wires the ceremonies of cfg onto store, as handler/main.go
// does; opts.SessionTTL defaults to cfg's, DeviceLimit to 100 and the
// Logger to none.
func NewService(tb testing.TB, cfg config.Config, store passkey.Store, opts passkey.Options) *passkey.Service {
	tb.Helper()
	wa, err := cfg.WebAuthn()
	if err != nil {
		tb.Fatal(err)
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = cfg.SessionTTL
	}
	if opts.DeviceLimit == 0 {
		opts.DeviceLimit = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return passkey.NewService(wa, store, opts)
}

// NewHandler is every function over NewService, with the service's
// logger; opts adds what the api needs besides.
func NewHandler(tb testing.TB, cfg config.Config, store passkey.Store, svcOpts passkey.Options, opts api.Options) http.Handler {
	tb.Helper()
	svc := NewService(tb, cfg, store, svcOpts)
	if opts.Logger == nil {
		opts.Logger = svcOpts.Logger
		if opts.Logger == nil {
			opts.Logger = slog.New(slog.DiscardHandler)
		}
	}
	return api.New(svc, opts)
}

// Log is a buffer that a logger may write to from many goroutines while
// the test reads it.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Logger writes JSON lines to the log.
func (l *Log) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is what was logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines are the log's JSON lines, decoded; a line that is not JSON fails
// the test.
func (l *Log) Lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// Events are the security events of one kind ("passkey.registered", ...).
func (l *Log) Events(tb testing.TB, kind string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range l.Lines(tb) {
		if line["msg"] == "security event" && line["event"] == kind {
			out = append(out, line)
		}
	}
	return out
}

// Clock is a service's clock that the test moves.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time; pass it as passkey.Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
