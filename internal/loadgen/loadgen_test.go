package loadgen

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

func TestRefusesTargetsOffThisMachine(t *testing.T) {
	tests := []struct {
		name   string
		target string
		ok     bool
	}{
		{name: "127.0.0.1", target: "http://127.0.0.1:7071", ok: true},
		{name: "another loopback address", target: "http://127.0.0.2:7071", ok: true},
		{name: "localhost", target: "http://localhost:7071", ok: true},
		{name: "ipv6 loopback", target: "http://[::1]:7071", ok: true},
		{name: "private address", target: "http://10.0.0.1:7071"},
		{name: "public address", target: "http://203.0.113.7"},
		{name: "host name", target: "https://login.contoso.com"},
		{name: "not a URL", target: "127.0.0.1:7071"},
		{name: "other scheme", target: "ftp://127.0.0.1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Targets: []string{tt.target}, Users: 1})
			if (err == nil) != tt.ok {
				t.Errorf("New(%q) = %v, want ok=%v", tt.target, err, tt.ok)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	r, err := New(Config{Targets: []string{"http://127.0.0.1:1"}, Duration: 100 * time.Hour, Concurrency: 1 << 20, Users: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Config(); c.Duration != MaxDuration || c.Concurrency != MaxConcurrency || c.Ceremonies != MaxCeremonies {
		t.Errorf("bounds not applied: %+v", c)
	}
	if _, err := New(Config{Targets: []string{"http://127.0.0.1:1"}, Mix: map[string]int{"dance": 1}}); err == nil {
		t.Error("an unknown ceremony in the mix was accepted")
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond)
	}
	p := percentiles(ds)
	if p.Count != 100 || p.P50 != 50*time.Millisecond || p.P95 != 95*time.Millisecond || p.P99 != 99*time.Millisecond || p.Max != 100*time.Millisecond {
		t.Errorf("percentiles = %+v", p)
	}
	if p := percentiles(nil); p != (Percentiles{}) {
		t.Errorf("percentiles(nil) = %+v", p)
	}
}

// TestRunAgainstHandler runs every ceremony for a second against the
// built handler and checks the run.
func TestRunAgainstHandler(t *testing.T) {
	h := testenv.StartHandler(t, "")
	r, err := New(Config{
		Targets:     []string{fmt.Sprintf("http://127.0.0.1:%d", h.Port)},
		Concurrency: 4,
		Duration:    time.Second,
		Users:       8,
		Mix:         map[string]int{Register: 1, Login: 1, Usernameless: 1, List: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	res := r.Run(ctx)
	if res.Total() == 0 || res.ErrorCount() != 0 {
		t.Fatalf("%d ceremonies, errors %v", res.Total(), res.Errors)
	}
	for _, k := range Kinds {
		if res.Ceremonies[k] == 0 {
			t.Errorf("no %s ceremony ran: %v", k, res.Ceremonies)
		}
	}
	for _, p := range r.Verify(ctx) {
		t.Error(p)
	}
	n, problems := r.VerifySessionsUsed(ctx, 50)
	for _, p := range problems {
		t.Error(p)
	}
	if n == 0 {
		t.Error("no used session was checked")
	}
	if !strings.Contains(h.Log(), `"function":"login-finish"`) {
		t.Error("the handler logged no login-finish")
	}
}
