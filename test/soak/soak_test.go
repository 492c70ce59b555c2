// Package soak runs mixed ceremonies through two handler processes that
// share one Cosmos test server, for a fixed time at a fixed rate, and then
// checks that nothing was lost: every registered passkey signs in, device
// counts are exact, no used session can be used again, and no request
// failed. A fault variant stops the Cosmos server in the middle.
//
// The runs are short by default so that `go test ./...` includes them;
// PASSKEY_SOAK_DURATION (e.g. 30m) and PASSKEY_SOAK_RATE (ceremonies per
// second) make them longer or heavier.
package soak_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/apitest"

	"github.com/passkeys-b2c/passkeys/internal/loadgen"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// origin is the WebAuthn origin every handler accepts, so that a ceremony
// may begin on one handler and finish on the other.
const origin = "http://localhost"

func duration(t *testing.T, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv("PASSKEY_SOAK_DURATION")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("PASSKEY_SOAK_DURATION: %q is not a positive duration", v)
	}
	return d
}

func rate(t *testing.T, def float64) float64 {
	t.Helper()
	v := os.Getenv("PASSKEY_SOAK_RATE")
	if v == "" {
		return def
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r <= 0 {
		t.Fatalf("PASSKEY_SOAK_RATE: %q is not a positive number", v)
	}
	return r
}

// startPair starts the Cosmos test server and two handlers on one database.
func startPair(t *testing.T) (*testenv.Cosmos, []string) {
	t.Helper()
	c := testenv.StartCosmos(t)
	env := append(c.HandlerEnv(c.Database(t)), "PASSKEY_RP_ORIGINS="+origin, "PASSKEY_REQUEST_TIMEOUT=5s")
	var targets []string
	for i := range 2 {
		h := testenv.StartHandler(t, "", env...)
		if !strings.Contains(h.Log(), `"store":"cosmos"`) {
			t.Fatalf("handler %d does not use the Cosmos store; log:\n%s", i, h.Log())
		}
		targets = append(targets, fmt.Sprintf("http://127.0.0.1:%d", h.Port))
	}
	return c, targets
}

func newRunner(t *testing.T, targets []string, d time.Duration, perSecond float64, retry bool) *loadgen.Runner {
	t.Helper()
	r, err := loadgen.New(loadgen.Config{
		Targets:          targets,
		Origin:           origin,
		Concurrency:      16,
		Rate:             perSecond,
		Duration:         d,
		Users:            48,
		RetryUnavailable: retry,
		RetryFor:         90 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// check runs the checks after a soak: every passkey signs in, the device
// counts are exact, and used sessions are refused.
func check(t *testing.T, r *loadgen.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, p := range r.Verify(ctx) {
		t.Error(p)
	}
	n, problems := r.VerifySessionsUsed(ctx, 400)
	for _, p := range problems {
		t.Error(p)
	}
	passkeys := 0
	for _, u := range r.Users() {
		passkeys += len(u.Credentials)
	}
	t.Logf("checked %d users with %d passkeys, and %d used sessions", len(r.Users()), passkeys, n)
}

func report(t *testing.T, name string, res *loadgen.Result) {
	t.Helper()
	t.Logf("%s: %d ceremonies in %.1fs (%.1f/s) %v, failed %v, errors %v, finish retries %d",
		name, res.Total(), res.Elapsed.Seconds(), float64(res.Total())/res.Elapsed.Seconds(), res.Ceremonies, res.Failed, res.Errors, res.Retries)
	for fn, p := range res.Latency {
		t.Logf("  %-16s n=%-5d p50 %-9s p99 %s", fn, p.Count, p.P50.Round(10*time.Microsecond), p.P99.Round(10*time.Microsecond))
	}
}

// TestSoak: mixed ceremonies on two handlers and one Cosmos server, no
// error at all, nothing lost.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	_, targets := startPair(t)
	d := duration(t, 10*time.Second)
	r := newRunner(t, targets, d, rate(t, 40), false)
	res := r.Run(context.Background())
	report(t, "soak", res)
	if res.Total() == 0 {
		t.Fatal("no ceremony completed")
	}
	if n := res.ErrorCount(); n != 0 {
		t.Errorf("%d errors: %v", n, res.Errors)
	}
	for kind, n := range res.Failed {
		if n != 0 {
			t.Errorf("%d %s ceremonies failed", n, kind)
		}
	}
	check(t, r)
}

// TestSoakCosmosOutage stops the Cosmos server in the middle of the load
// and starts it again: while it is down only 503 storage_unavailable in
// the contract's shape may be answered, finishes retried as B2C retries
// them complete once it is back, the handlers serve again without a
// restart, and nothing is lost or duplicated.
func TestSoakCosmosOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	c, targets := startPair(t)
	d := duration(t, 12*time.Second)
	r := newRunner(t, targets, d, rate(t, 40), true)

	var wg sync.WaitGroup
	var res *loadgen.Result
	wg.Add(1)
	go func() { defer wg.Done(); res = r.Run(context.Background()) }()
	time.Sleep(d / 3)
	// Two ceremonies begun before the outage, finished during it (503)
	// and retried after it with the identical body, as B2C retries.
	st := beginStraddling(t, targets)
	c.Stop(t)
	down := time.Now()
	t.Logf("Cosmos test server stopped")
	st.finishWhileDown(t)
	time.Sleep(time.Until(down.Add(d / 3)))
	c.Start(t)
	t.Logf("Cosmos test server started again")
	st.retryAndCheck(t)
	wg.Wait()
	report(t, "outage", res)
	for key, n := range res.Errors {
		if !strings.HasSuffix(key, " 503 storage_unavailable") {
			t.Errorf("%d answers %q: only 503 storage_unavailable may be answered while storage is down", n, key)
		}
	}
	// Only ceremonies whose begin met the outage may fail; a begin answered
	// 503 is not retried (the user starts again).
	for kind, n := range res.Failed {
		if n > 0 && res.Errors["register-begin 503 storage_unavailable"]+res.Errors["login-begin 503 storage_unavailable"]+res.Errors["list-devices 503 storage_unavailable"] == 0 {
			t.Errorf("%d %s ceremonies failed with no begin answered 503", n, kind)
		}
	}

	// Service is back without restarting the handlers.
	after, err := loadgen.New(loadgen.Config{Targets: targets, Origin: origin, Concurrency: 4, Duration: 3 * time.Second, Users: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := after.Prepare(ctx); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	back := after.Run(ctx)
	report(t, "after the outage", back)
	if back.Total() == 0 || back.ErrorCount() != 0 {
		t.Errorf("after the outage: %d ceremonies, errors %v", back.Total(), back.Errors)
	}
	check(t, r)
}

// straddling is a user with one passkey, a second registration and a
// login both begun and not yet finished.
type straddling struct {
	targets          []string
	objectID         string
	second           *softauthn.Authenticator
	register, login  map[string]string
	secondCredential string
}

func beginStraddling(t *testing.T, targets []string) *straddling {
	t.Helper()
	st := &straddling{targets: targets, objectID: "5d1f0c7a-2b9e-4c3d-8e6f-0a1b2c3d4e5f"}
	first, _ := softauthn.New(origin)
	begin := mustPost(t, targets[0], "register-begin", map[string]string{"objectId": st.objectID, "userName": "straddle"})
	cred, err := first.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	mustPost(t, targets[1], "register-finish", map[string]string{"objectId": st.objectID, "credential": cred})

	st.second, _ = softauthn.New(origin)
	begin = mustPost(t, targets[0], "register-begin", map[string]string{"objectId": st.objectID, "userName": "straddle"})
	cred, err = st.second.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	st.register = map[string]string{"objectId": st.objectID, "credential": cred}

	begin = mustPost(t, targets[1], "login-begin", map[string]string{"objectId": st.objectID})
	cred, err = first.Login(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	st.login = map[string]string{"objectId": st.objectID, "credential": cred}
	return st
}

func (st *straddling) finishWhileDown(t *testing.T) {
	t.Helper()
	for fn, claims := range map[string]map[string]string{"register-finish": st.register, "login-finish": st.login} {
		status, body := post(t, st.targets[0], fn, claims)
		if status != http.StatusServiceUnavailable || body["code"] != "storage_unavailable" || number(body["status"]) != status {
			t.Errorf("%s while Cosmos is down: %d %v, want 503 storage_unavailable in the contract's shape", fn, status, body)
		}
	}
}

func (st *straddling) retryAndCheck(t *testing.T) {
	t.Helper()
	for fn, claims := range map[string]map[string]string{"register-finish": st.register, "login-finish": st.login} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, body := post(t, st.targets[1], fn, claims)
			if status == http.StatusOK {
				if fn == "register-finish" {
					st.secondCredential, _ = body["credentialId"].(string)
				}
				break
			}
			if status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("%s retried after the outage: %d %v", fn, status, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	list := mustPost(t, st.targets[0], "list-devices", map[string]string{"objectId": st.objectID})
	if n := number(list["deviceCount"]); n != 2 {
		t.Errorf("after the retried registration the user has %d passkeys, want 2: %v", n, list)
	}
	begin := mustPost(t, st.targets[1], "login-begin", map[string]string{"objectId": st.objectID})
	raw, _ := base64.RawURLEncoding.DecodeString(st.secondCredential)
	cred, err := st.second.Login(begin["options"].(string), softauthn.WithCredentialID(raw))
	if err != nil {
		t.Fatal(err)
	}
	mustPost(t, st.targets[0], "login-finish", map[string]string{"objectId": st.objectID, "credential": cred})
}

func number(v any) int {
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return int(f)
}

func post(t *testing.T, target, function string, claims map[string]string) (int, map[string]any) {
	t.Helper()
	return apitest.Post(t, target, function, claims, nil)
}

func mustPost(t *testing.T, target, function string, claims map[string]string) map[string]any {
	t.Helper()
	return apitest.OK(t, target, function, claims)
}
