package cosmos_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/apitest"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// origin is the WebAuthn origin every handler of these tests accepts, so
// that a ceremony may begin on one handler and finish on another.
const origin = "http://localhost"

// startHandlers starts n handler processes on one Cosmos database.
func startHandlers(t *testing.T, c *testenv.Cosmos, n int) []*testenv.Handler {
	t.Helper()
	env := append(c.HandlerEnv(c.Database(t)), "PASSKEY_RP_ORIGINS="+origin, "PASSKEY_REQUEST_TIMEOUT=5s")
	hs := make([]*testenv.Handler, n)
	for i := range hs {
		hs[i] = testenv.StartHandler(t, "", env...)
		if !bytes.Contains([]byte(hs[i].Log()), []byte(`"store":"cosmos"`)) {
			t.Fatalf("handler %d does not use the Cosmos store; log:\n%s", i, hs[i].Log())
		}
		h := hs[i]
		t.Cleanup(func() {
			if c.Key != "" && bytes.Contains([]byte(h.Log()), []byte(c.Key)) {
				t.Errorf("the handler logged the Cosmos account key")
			}
		})
	}
	return hs
}

// call posts body to a function and returns the status and the decoded
// response body.
func call(t testing.TB, h *testenv.Handler, function string, body map[string]any) (int, map[string]any) {
	t.Helper()
	return apitest.Post(t, h.URL, function, body, nil)
}

// try is call for goroutines other than the test's: it returns the error.
func try(h *testenv.Handler, function string, body map[string]any) (int, map[string]any, error) {
	return apitest.Try(h.URL, function, body, nil)
}

// ok calls a function that must succeed.
func ok(t testing.TB, h *testenv.Handler, function string, body map[string]any) map[string]any {
	t.Helper()
	status, out := call(t, h, function, body)
	if status != http.StatusOK {
		t.Fatalf("%s on %s = %d %v; want 200\nlog:\n%s", function, h.URL, status, out, h.Log())
	}
	return out
}

func newAuthenticator(t testing.TB) *softauthn.Authenticator {
	t.Helper()
	a, err := softauthn.New(origin)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// register runs a registration begun on one handler and finished on another.
func register(t testing.TB, begin, finish *testenv.Handler, a *softauthn.Authenticator, objectID string) string {
	t.Helper()
	out := ok(t, begin, "register-begin", map[string]any{"objectId": objectID, "userName": objectID + "@example.com"})
	cred, err := a.Register(out["options"].(string))
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	done := ok(t, finish, "register-finish", map[string]any{"objectId": objectID, "credential": cred})
	return done["credentialId"].(string)
}

// assertion begins a login on h and returns the authenticator's answer.
func assertion(t testing.TB, h *testenv.Handler, a *softauthn.Authenticator, objectID string) string {
	t.Helper()
	req := map[string]any{}
	if objectID != "" {
		req["objectId"] = objectID
	}
	out := ok(t, h, "login-begin", req)
	cred, err := a.Login(out["options"].(string))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return cred
}

// TestTwoHandlers runs ceremonies across two handler processes that share
// one Cosmos database, as two Functions instances do.
func TestTwoHandlers(t *testing.T) {
	c := testenv.StartCosmos(t)
	hs := startHandlers(t, c, 2)
	a := newAuthenticator(t)
	const user = "7d1c6a0e-2f4b-4b8e-9a51-0c2d7e3f9b10"

	credID := register(t, hs[0], hs[1], a, user)

	for _, tc := range []struct {
		name          string
		begin, finish *testenv.Handler
		objectID      string
	}{
		{"named login begun on 1, finished on 0", hs[1], hs[0], user},
		{"usernameless login begun on 0, finished on 1", hs[0], hs[1], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred := assertion(t, tc.begin, a, tc.objectID)
			req := map[string]any{"credential": cred}
			if tc.objectID != "" {
				req["objectId"] = tc.objectID
			}
			out := ok(t, tc.finish, "login-finish", req)
			if out["objectId"] != user || out["credentialId"] != credID {
				t.Fatalf("login-finish = %v; want objectId %s, credentialId %s", out, user, credID)
			}
		})
	}

	t.Run("both handlers list the same devices", func(t *testing.T) {
		for i, h := range hs {
			out := ok(t, h, "list-devices", map[string]any{"objectId": user})
			if out["deviceCount"] != float64(1) {
				t.Fatalf("handler %d: list-devices = %v; want one device", i, out)
			}
		}
	})

	t.Run("concurrent finishes of one session on both: exactly one success", func(t *testing.T) {
		for round := range 4 {
			options := ok(t, hs[round%2], "login-begin", map[string]any{"objectId": user})["options"].(string)
			// Two different assertions for the same challenge: two
			// different requests, so at most one may use the session.
			creds := make([]string, 2)
			for i := range creds {
				var err error
				if creds[i], err = a.Login(options); err != nil {
					t.Fatal(err)
				}
			}
			type result struct {
				status int
				body   map[string]any
			}
			results := make([]result, 2)
			var wg sync.WaitGroup
			for i, h := range hs {
				wg.Go(func() {
					status, body, err := try(h, "login-finish", map[string]any{"objectId": user, "credential": creds[i]})
					if err != nil {
						t.Error(err)
					}
					results[i] = result{status, body}
				})
			}
			wg.Wait()
			wins := 0
			for i, r := range results {
				switch {
				case r.status == http.StatusOK:
					wins++
				case r.status == http.StatusConflict && r.body["code"] == "challenge_used":
				default:
					t.Errorf("round %d, handler %d: %d %v; want 200, or 409 challenge_used", round, i, r.status, r.body)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d finishes succeeded; want exactly 1 (%v)", round, wins, results)
			}
		}
	})

	t.Run("an identical retry on the other handler returns the same success", func(t *testing.T) {
		cred := assertion(t, hs[0], a, user)
		req := map[string]any{"objectId": user, "credential": cred}
		first := ok(t, hs[0], "login-finish", req)
		again := ok(t, hs[1], "login-finish", req)
		if first["credentialId"] != again["credentialId"] || again["objectId"] != user {
			t.Fatalf("retry = %v; want the first result %v", again, first)
		}
	})
}

// wantUnavailable checks the contract's 503 shape.
func wantUnavailable(t testing.TB, function string, status int, body map[string]any) {
	t.Helper()
	if status != http.StatusServiceUnavailable || body["status"] != float64(503) || body["code"] != "storage_unavailable" ||
		body["version"] != "1.0.0" || body["userMessage"] == "" || body["requestId"] == "" || body["developerMessage"] == "" {
		t.Errorf("%s = %d %v; want 503 storage_unavailable in the contract's error shape", function, status, body)
	}
}

// TestOutage stops the Cosmos server under traffic: every call answers
// 200 or the contract's 503, a registration cut off by the outage is not
// half-stored, and once the server is back the same handler process
// serves again.
func TestOutage(t *testing.T) {
	c := testenv.StartCosmos(t)
	if c.External {
		t.Skip("PASSKEY_COSMOS_ENDPOINT is set: an external account cannot be stopped by the test")
	}
	h := startHandlers(t, c, 1)[0]
	a := newAuthenticator(t)
	const user = "0b6e2c1d-5a4f-4c3e-8d2b-1f0a9e8d7c6b"
	credID := register(t, h, h, a, user)

	// Traffic during the whole outage: list-devices in a loop.
	stop := make(chan struct{})
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, body, err := try(h, "list-devices", map[string]any{"objectId": user})
			if err != nil {
				t.Error(err)
				return
			}
			if status == http.StatusServiceUnavailable {
				wantUnavailable(t, "list-devices under traffic", status, body)
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}
	})

	// A registration begun before the outage, finished during it.
	begin := ok(t, h, "register-begin", map[string]any{"objectId": user, "userName": "u@example.com"})
	a2 := newAuthenticator(t)
	cred, err := a2.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	finish := map[string]any{"objectId": user, "credential": cred}

	c.Stop(t)
	// Every kind of call at once: each gives up after the SDK's retries.
	var calls sync.WaitGroup
	for _, fc := range []struct {
		function string
		body     map[string]any
	}{
		{"register-begin", map[string]any{"objectId": user, "userName": "u@example.com"}},
		{"register-finish", finish},
		{"login-begin", map[string]any{"objectId": user}},
		{"list-devices", map[string]any{"objectId": user}},
		{"rename-device", map[string]any{"objectId": user, "credentialId": credID, "deviceName": "Laptop"}},
	} {
		calls.Go(func() {
			status, body, err := try(h, fc.function, fc.body)
			if err != nil {
				t.Error(err)
				return
			}
			wantUnavailable(t, fc.function, status, body)
		})
	}
	// A usernameless login-begin (a page load) needs no storage: its
	// session is sealed into its challenge.
	calls.Go(func() {
		if status, body, err := try(h, "login-begin", map[string]any{}); err != nil || status != http.StatusOK {
			t.Errorf("usernameless login-begin during the outage = %d %s, %v; want 200", status, body, err)
		}
	})
	calls.Wait()
	c.Start(t)

	// The same process serves again, with the data from before.
	out := ok(t, h, "list-devices", map[string]any{"objectId": user})
	if out["deviceCount"] != float64(1) {
		t.Fatalf("after the outage list-devices = %v; want the one device from before, nothing half-written", out)
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	t.Logf("list-devices during the test: %v", counts)
	for status, n := range counts {
		if status != http.StatusOK && status != http.StatusServiceUnavailable {
			t.Errorf("list-devices answered %d %d times; want only 200 or 503", status, n)
		}
	}
	mu.Unlock()

	// The registration the outage cut off: its session was never claimed,
	// so finishing it now stores the credential once.
	done := ok(t, h, "register-finish", finish)
	if done["deviceCount"] != float64(2) {
		t.Fatalf("register-finish after the outage = %v; want 2 devices", done)
	}
	login := assertion(t, h, a, user)
	if out := ok(t, h, "login-finish", map[string]any{"objectId": user, "credential": login}); out["credentialId"] != credID {
		t.Fatalf("login after the outage = %v", out)
	}
}

// TestThrottledAndFailing makes every Cosmos request answer 429 or 5xx:
// after the SDK's retries the handler answers the contract's 503, and it
// serves again as soon as Cosmos does.
func TestThrottledAndFailing(t *testing.T) {
	c := testenv.StartCosmos(t)
	if c.External {
		t.Skip("PASSKEY_COSMOS_ENDPOINT is set: an external account cannot be made to fail")
	}
	h := startHandlers(t, c, 1)[0]
	a := newAuthenticator(t)
	const user = "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170"
	register(t, h, h, a, user)
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c.Fail(t, status)
			start := time.Now()
			got, body := call(t, h, "list-devices", map[string]any{"objectId": user})
			wantUnavailable(t, "list-devices", got, body)
			got, body = call(t, h, "login-begin", map[string]any{"objectId": user})
			wantUnavailable(t, "login-begin", got, body)
			t.Logf("Cosmos answering %d: two calls answered 503 in %s", status, time.Since(start).Round(time.Millisecond))
			c.Heal(t)
			ok(t, h, "list-devices", map[string]any{"objectId": user})
		})
	}
}
