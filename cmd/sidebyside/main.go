// Command sidebyside measures the handler and the Node.js peer
// (../shared/peer, on @simplewebauthn/server) under the same load, in one
// run, alternating rounds, and prints both servers' figures and their
// ratios: login ceremonies/s, latency percentiles, server CPU per ceremony
// (utime + stime from /proc/PID/stat over the load), RSS after the load,
// and start to first answer.
//
//	go run ./cmd/sidebyside                       # 3 rounds of 10 s, concurrency 8, 200 users
//	go run ./cmd/sidebyside -rounds 5 -duration 20s
//
// Both servers run on this machine on loopback ports; the handler keeps its
// embedded store on disk in a fresh folder per round. The peer is copied to
// a cache folder and its packages installed with npm the first time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/loadgen"
	"github.com/passkeys-b2c/passkeys/internal/procstat"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

// server is one contestant: how to start it on a port with a data folder.
type server struct {
	name  string
	start func(port int, dataDir string) *exec.Cmd
}

// round is what one server did in one round.
type round struct {
	perSecond float64
	cpuPer    time.Duration // server CPU per ceremony
	rssMiB    float64
	startup   time.Duration
	p50, p99  time.Duration // login-finish
	failed    int
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	var (
		rounds      = fs.Int("rounds", 3, "rounds per server, alternating")
		duration    = fs.Duration("duration", 10*time.Second, "load per round (at most 10m)")
		concurrency = fs.Int("concurrency", 8, "ceremonies in flight")
		users       = fs.Int("users", 200, "virtual users, one passkey each")
		mix         = fs.String("mix", "login=1", "ceremony mix, as loadgen's -mix")
		peerDir     = fs.String("peer", "../shared/peer", "the Node.js peer's folder")
		handlerBin  = fs.String("handler", "", "a built handler binary (default: go build ./handler)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *rounds > 20 || *duration <= 0 || *duration > 10*time.Minute {
		return fmt.Errorf("-rounds must be 1-20 and -duration at most 10m")
	}
	weights, err := loadgen.ParseMix(*mix)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sidebyside-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	bin := *handlerBin
	if bin == "" {
		bin = filepath.Join(work, "handler")
		if out, err := exec.Command("go", "build", "-o", bin, "./handler").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./handler: %v\n%s", err, out)
		}
	}
	peer, err := preparePeer(*peerDir)
	if err != nil {
		return err
	}
	env := func(port int, extra ...string) []string {
		return append(append(os.Environ(),
			fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
			"PASSKEY_LISTEN_ADDR=127.0.0.1",
			"PASSKEY_RP_ID=localhost",
			fmt.Sprintf("PASSKEY_RP_ORIGINS=http://localhost:%d", port),
			"PASSKEY_DEVICE_LIMIT=10",
		), extra...)
	}
	servers := []server{
		{"handler", func(port int, dataDir string) *exec.Cmd {
			cmd := exec.Command(bin)
			cmd.Env = env(port, "PASSKEY_DATA_DIR="+dataDir)
			return cmd
		}},
		{"peer", func(port int, _ string) *exec.Cmd {
			cmd := exec.Command("node", "server.mjs")
			cmd.Dir = peer
			cmd.Env = env(port)
			return cmd
		}},
	}

	results := map[string][]round{}
	for i := range *rounds {
		for _, s := range servers {
			dataDir := filepath.Join(work, fmt.Sprintf("%s-%d", s.name, i))
			r, err := measure(s, dataDir, loadgen.Config{
				Concurrency: *concurrency,
				Duration:    *duration,
				Mix:         weights,
				Users:       *users,
			})
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", s.name, i+1, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-7s %8.1f ceremonies/s, %6.0f µs CPU each, RSS %5.1f MiB, start %s\n",
				i+1, s.name, r.perSecond, float64(r.cpuPer.Microseconds()), r.rssMiB, r.startup.Round(100*time.Microsecond))
			results[s.name] = append(results[s.name], r)
		}
	}
	report(stdout, results["handler"], results["peer"], *concurrency, *users, *mix)
	return nil
}

// measure starts the server, registers the users, runs the load and stops
// the server.
func measure(s server, dataDir string, cfg loadgen.Config) (round, error) {
	var r round
	port, err := freePort()
	if err != nil {
		return r, err
	}
	cmd := s.start(port, dataDir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(base, 30*time.Second); err != nil {
		return r, err
	}
	r.startup = time.Since(began)

	cfg.Targets = []string{base}
	cfg.Origin = fmt.Sprintf("http://localhost:%d", port)
	runner, err := loadgen.New(cfg)
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	if err := runner.Prepare(ctx); err != nil {
		return r, fmt.Errorf("registering users: %w", err)
	}
	before, err := procstat.CPU(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	res := runner.Run(ctx)
	after, err := procstat.CPU(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	rss, err := procstat.RSS(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	total := res.Total()
	if total == 0 {
		return r, fmt.Errorf("no ceremony completed: %v", res.Errors)
	}
	r.perSecond = float64(total) / res.Elapsed.Seconds()
	r.cpuPer = (after - before) / time.Duration(total)
	r.rssMiB = float64(rss) / (1 << 20)
	r.failed = res.ErrorCount()
	if p, ok := res.Latency["login-finish"]; ok {
		r.p50, r.p99 = p.P50, p.P99
	}
	return r, nil
}

func report(w io.Writer, handler, peer []round, concurrency, users int, mix string) {
	fmt.Fprintf(w, "side by side: %d rounds each, alternating; mix %s, concurrency %d, %d users (medians)\n\n", len(handler), mix, concurrency, users)
	fmt.Fprintf(w, "| | handler (embedded store, disk) | Node peer (memory) | handler ÷ peer |\n|---|---|---|---|\n")
	row := func(name string, f func(round) float64, unit string) {
		h, p := median(handler, f), median(peer, f)
		ratio := "–"
		if p != 0 {
			ratio = fmt.Sprintf("%.2f", h/p)
		}
		fmt.Fprintf(w, "| %s | %.1f %s | %.1f %s | %s |\n", name, h, unit, p, unit, ratio)
	}
	row("ceremonies/s", func(r round) float64 { return r.perSecond }, "")
	row("server CPU per ceremony", func(r round) float64 { return float64(r.cpuPer.Microseconds()) }, "µs")
	row("login-finish p50", func(r round) float64 { return float64(r.p50.Microseconds()) / 1000 }, "ms")
	row("login-finish p99", func(r round) float64 { return float64(r.p99.Microseconds()) / 1000 }, "ms")
	row("RSS after the load", func(r round) float64 { return r.rssMiB }, "MiB")
	row("start to first answer", func(r round) float64 { return float64(r.startup.Microseconds()) / 1000 }, "ms")
	row("failed requests", func(r round) float64 { return float64(r.failed) }, "")
}

func median(rs []round, f func(round) float64) float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// preparePeer copies the peer (its folder may be read-only) to a cache
// folder and installs its packages once.
func preparePeer(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "server.mjs")); err != nil {
		return "", fmt.Errorf("the peer is not at %s (-peer): %w", dir, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dst := filepath.Join(cache, "passkeys-sidebyside-peer")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "node_modules")); err != nil {
		cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--package-lock=false", "--loglevel=error")
		cmd.Dir = dst
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install in %s: %v\n%s", dst, err, strings.TrimSpace(string(out)))
		}
	}
	return dst, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls GET / as the Functions host does: any answer counts.
func waitReady(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s within %s: %w", base, limit, err)
		}
		time.Sleep(time.Millisecond)
	}
}
