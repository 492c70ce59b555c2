// Command loadgen drives whole passkey ceremonies against running handlers
// on this machine and prints ceremonies per second, latency percentiles
// per function and the errors by status and code.
//
//	go run ./cmd/loadgen -target http://127.0.0.1:7071 -concurrency 8 -duration 20s
//	go run ./cmd/loadgen -target http://127.0.0.1:7071 -rate 200 -mix login=1
//
// Every run is bounded in time (-duration, at most 2 h) and count
// (-ceremonies), and only loopback targets are accepted. The handler's
// PASSKEY_RP_ORIGINS must hold -origin (by default http://localhost:PORT
// of the first target, the handler's own default).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var (
		targets     = fs.String("target", "http://127.0.0.1:7071", "handler base URL; several, comma-separated, share each ceremony round robin")
		origin      = fs.String("origin", "", "WebAuthn origin of the authenticators (default http://localhost:PORT of the first target)")
		apiKey      = fs.String("api-key", os.Getenv("PASSKEY_LOAD_API_KEY"), "sent as x-functions-key (default $PASSKEY_LOAD_API_KEY)")
		concurrency = fs.Int("concurrency", 4, "ceremonies in flight")
		rate        = fs.Float64("rate", 0, "ceremonies started per second (0: as fast as the workers go)")
		duration    = fs.Duration("duration", 10*time.Second, "how long to run (at most 2h)")
		ceremonies  = fs.Int("ceremonies", 0, "stop after this many ceremonies (0: only the duration bounds the run)")
		mix         = fs.String("mix", "register=1,login=6,usernameless=2,list=1", "weights of the ceremonies: register, login (named), usernameless, list")
		users       = fs.Int("users", 64, "virtual users, each with its own authenticator; each gets one passkey before the run")
		deviceLimit = fs.Int("device-limit", 10, "the handler's PASSKEY_DEVICE_LIMIT")
		verify      = fs.Bool("verify", false, "after the run, check that every passkey signs in, device counts are exact and used sessions are refused")
		asJSON      = fs.Bool("json", false, "print the result as JSON")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	weights, err := loadgen.ParseMix(*mix)
	if err != nil {
		return err
	}
	r, err := loadgen.New(loadgen.Config{
		Targets:     strings.Split(*targets, ","),
		Origin:      *origin,
		APIKey:      *apiKey,
		Concurrency: *concurrency,
		Rate:        *rate,
		Duration:    *duration,
		Ceremonies:  *ceremonies,
		Mix:         weights,
		Users:       *users,
		DeviceLimit: *deviceLimit,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := r.Config()
	fmt.Fprintf(os.Stderr, "loadgen: registering %d users on %s (origin %s)\n", cfg.Users, strings.Join(cfg.Targets, ", "), cfg.Origin)
	if err := r.Prepare(ctx); err != nil {
		return fmt.Errorf("preparing users: %w", err)
	}
	fmt.Fprintf(os.Stderr, "loadgen: running for %s, concurrency %d, rate %s\n", cfg.Duration, cfg.Concurrency, rateText(cfg.Rate))
	res := r.Run(ctx)
	var problems []string
	if *verify {
		for _, p := range r.Verify(ctx) {
			problems = append(problems, p.Error())
		}
		n, ps := r.VerifySessionsUsed(ctx, 1000)
		for _, p := range ps {
			problems = append(problems, p.Error())
		}
		fmt.Fprintf(os.Stderr, "loadgen: verified %d users and %d used sessions\n", len(r.Users()), n)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*loadgen.Result
			PerSecond float64  `json:"ceremoniesPerSecond"`
			Problems  []string `json:"problems,omitempty"`
		}{res, float64(res.Total()) / res.Elapsed.Seconds(), problems})
	}
	print(stdout, res)
	for _, p := range problems {
		fmt.Fprintln(stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems found by -verify", len(problems))
	}
	return nil
}

func rateText(rate float64) string {
	if rate <= 0 {
		return "unpaced"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64) + "/s"
}

func print(w io.Writer, res *loadgen.Result) {
	total := res.Total()
	fmt.Fprintf(w, "ceremonies: %d in %.2fs = %.1f/s\n", total, res.Elapsed.Seconds(), float64(total)/res.Elapsed.Seconds())
	for _, k := range loadgen.Kinds {
		if res.Ceremonies[k]+res.Failed[k] > 0 {
			fmt.Fprintf(w, "  %-13s %7d ok %5d failed\n", k, res.Ceremonies[k], res.Failed[k])
		}
	}
	fmt.Fprintf(w, "%-16s %7s %9s %9s %9s %9s\n", "function", "count", "p50", "p95", "p99", "max")
	var fns []string
	for fn := range res.Latency {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	for _, fn := range fns {
		p := res.Latency[fn]
		fmt.Fprintf(w, "%-16s %7d %9s %9s %9s %9s\n", fn, p.Count, ms(p.P50), ms(p.P95), ms(p.P99), ms(p.Max))
	}
	if len(res.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintln(w, "errors (function status code):")
		var keys []string
		for k := range res.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-40s %d\n", k, res.Errors[k])
		}
	}
	if res.Retries > 0 {
		fmt.Fprintf(w, "finish retries after 503: %d\n", res.Retries)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
