package soak_test

import (
	"context"
	"fmt"
	"github.com/passkeys-b2c/passkeys/internal/procstat"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/floor"
	"github.com/passkeys-b2c/passkeys/internal/loadgen"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// Process benchmarks: the built handler as the Functions host runs it,
// driven over loopback by the load generator in this process. Each
// reports its figures as metrics, so benchstat can compare runs:
//
//	go test -run '^$' -bench . -benchtime 1x -count 5 ./test/soak
//
// PASSKEY_BENCH_CONCURRENCY sets the ceremonies in flight (default 64).

// BenchmarkProcessStart starts the handler on the embedded store and
// measures until its first answered request, then its idle RSS.
func BenchmarkProcessStart(b *testing.B) {
	bin := testenv.HandlerBinary(b)
	var total time.Duration
	var rss int64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		port := testenv.FreePort(b)
		cmd := exec.Command(bin)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port), "PASSKEY_DATA_DIR="+filepath.Join(dir, "data"))
		client := &http.Client{Timeout: time.Second}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Since(start) > 10*time.Second {
				cmd.Process.Kill()
				cmd.Wait()
				b.Fatalf("no answer within 10s: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		time.Sleep(200 * time.Millisecond) // settle: what an idle instance holds
		rss += residentKB(b, cmd.Process.Pid)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-first-answer")
	b.ReportMetric(float64(rss)/1024/float64(b.N), "idle-RSS-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkProcessLogin runs b.N named logins (begin and finish) on the
// handler process, per store, and reports ceremonies/s, the p99 of each
// finish, the loaded RSS, the floor (parse and verify an assertion) on
// all cores of this machine measured just before, and their ratio.
func BenchmarkProcessLogin(b *testing.B) {
	for _, store := range []string{"embedded", "cosmos"} {
		b.Run(store, func(b *testing.B) {
			h := startForBench(b, store)
			floor := floorPerSecond(b)
			r := benchRunner(b, h, 0, time.Minute, b.N)
			stopRSS := sampleRSS(b, h.Cmd.Process.Pid)
			res := r.Run(context.Background())
			peak := stopRSS()
			checkClean(b, res)
			perSecond := float64(res.Total()) / res.Elapsed.Seconds()
			b.ReportMetric(perSecond, "ceremonies/s")
			b.ReportMetric(floor, "floor/s")
			b.ReportMetric(perSecond/floor, "ratio-to-floor")
			b.ReportMetric(ms(res.Latency["login-finish"].P99), "p99-finish-ms")
			b.ReportMetric(float64(peak)/1024, "loaded-RSS-MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkProcessRate runs logins at a fixed rate (PASSKEY_BENCH_RATE,
// default 200/s) for PASSKEY_BENCH_DURATION (default 10s) on the Cosmos
// test server and reports the latency percentiles of login-finish.
func BenchmarkProcessRate(b *testing.B) {
	rate := 200.0
	if v := os.Getenv("PASSKEY_BENCH_RATE"); v != "" {
		rate, _ = strconv.ParseFloat(v, 64)
	}
	d := 10 * time.Second
	if v := os.Getenv("PASSKEY_BENCH_DURATION"); v != "" {
		d, _ = time.ParseDuration(v)
	}
	for _, store := range []string{"cosmos", "embedded"} {
		b.Run(store, func(b *testing.B) {
			h := startForBench(b, store)
			var finish []loadgen.Percentiles
			var achieved float64
			for i := 0; i < b.N; i++ {
				r := benchRunner(b, h, rate, d, int(rate*d.Seconds()))
				res := r.Run(context.Background())
				checkClean(b, res)
				finish = append(finish, res.Latency["login-finish"])
				achieved += float64(res.Total()) / res.Elapsed.Seconds()
			}
			var p50, p99, maxd float64
			for _, p := range finish {
				p50 += ms(p.P50)
				p99 += ms(p.P99)
				maxd += ms(p.Max)
			}
			n := float64(len(finish))
			b.ReportMetric(achieved/n, "ceremonies/s")
			b.ReportMetric(p50/n, "p50-finish-ms")
			b.ReportMetric(p99/n, "p99-finish-ms")
			b.ReportMetric(maxd/n, "max-finish-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startForBench starts one handler on the given store.
func startForBench(b *testing.B, store string) *testenv.Handler {
	b.Helper()
	env := []string{"PASSKEY_RP_ORIGINS=" + origin}
	if store == "cosmos" {
		c := testenv.StartCosmos(b)
		env = append(env, c.HandlerEnv(c.Database(b))...)
	}
	h := testenv.StartHandler(b, "", env...)
	if !strings.Contains(h.Log(), `"store":"`+store+`"`) {
		b.Fatalf("the handler does not use the %s store; log:\n%s", store, h.Log())
	}
	return h
}

// benchRunner is a login-only runner with its users registered.
func benchRunner(b *testing.B, h *testenv.Handler, rate float64, d time.Duration, n int) *loadgen.Runner {
	b.Helper()
	concurrency := 64
	if v := os.Getenv("PASSKEY_BENCH_CONCURRENCY"); v != "" {
		concurrency, _ = strconv.Atoi(v)
	}
	r, err := loadgen.New(loadgen.Config{
		Targets:     []string{fmt.Sprintf("http://127.0.0.1:%d", h.Port)},
		Origin:      origin,
		Concurrency: concurrency,
		Rate:        rate,
		Duration:    d,
		Ceremonies:  n,
		Mix:         map[string]int{loadgen.Login: 1},
		Users:       2 * concurrency,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	return r
}

func checkClean(b *testing.B, res *loadgen.Result) {
	b.Helper()
	if res.ErrorCount() != 0 {
		b.Fatalf("errors: %v", res.Errors)
	}
}

// residentKB reads VmRSS of the process.
func residentKB(b *testing.B, pid int) int64 {
	rss, err := procstat.RSS(pid)
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	return rss >> 10
}

// sampleRSS samples the process's RSS every 50ms until the returned
// function is called, which returns the peak.
func sampleRSS(b *testing.B, pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if kb := residentKB(b, pid); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() int64 { close(stop); wg.Wait(); return peak.Load() }
}

// floorPerSecond parses and verifies one assertion on every core for a
// second: the most logins per second this machine could verify.
func floorPerSecond(b *testing.B) float64 {
	b.Helper()
	login, err := floor.New(origin)
	if err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	deadline := time.Now().Add(time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := login.Verify(); err != nil {
					panic(err)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}
