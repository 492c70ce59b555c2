package cosmos_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// counter is an HTTP transport for the SDK that counts round trips (the
// test server's request charge is always 1, so charges say nothing) and
// notes each request, whether it was a query, and whether it reused a
// connection.
type counter struct {
	client *http.Client

	mu       sync.Mutex
	requests []string
	queries  int
	conns    int // new connections
}

func newCounter() *counter {
	return &counter{client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
}

func (c *counter) Do(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
		}
	}}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.client.Do(req)
	status := "error"
	if resp != nil {
		status = resp.Status[:3]
	}
	c.mu.Lock()
	c.requests = append(c.requests, req.Method+" "+req.URL.Path+" "+status)
	if req.Header.Get("x-ms-documentdb-isquery") != "" || strings.HasPrefix(req.Header.Get("Content-Type"), "application/query+json") {
		c.queries++
	}
	c.mu.Unlock()
	return resp, err
}

// take returns the requests since the last take and forgets them.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.requests
	c.requests = nil
	return r
}

// fixture is a Service on a Cosmos store whose round trips are counted.
type fixture struct {
	svc   *passkey.Service
	store *cosmos.Store
	count *counter
	auth  *softauthn.Authenticator
}

func newFixture(t testing.TB, c *testenv.Cosmos) *fixture {
	t.Helper()
	return newFixtureVia(t, c, nil)
}

// newFixtureVia sends the SDK's requests through wrap(counter) when wrap
// is not nil.
func newFixtureVia(t testing.TB, c *testenv.Cosmos, wrap func(*counter) policy.Transporter) *fixture {
	t.Helper()
	count := newCounter()
	var transport policy.Transporter = count
	if wrap != nil {
		transport = wrap(count)
	}
	store := open(t, c, cosmos.Options{Transport: transport})
	cfg := config.Config{RPID: "localhost", RPName: "Passkeys", RPOrigins: []string{origin}, SessionTTL: 5 * time.Minute, Attestation: "direct"}
	wa, err := cfg.WebAuthn()
	if err != nil {
		t.Fatal(err)
	}
	svc := passkey.NewService(wa, store, passkey.Options{
		SessionTTL:  cfg.SessionTTL,
		DeviceLimit: 100,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	count.take() // opening: the account, the database, the containers
	return &fixture{svc: svc, store: store, count: count, auth: newAuthenticator(t)}
}

func (f *fixture) registerBegin(t testing.TB, user string) string {
	t.Helper()
	res, err := f.svc.RegisterBegin(context.Background(), passkey.RegisterBeginRequest{ObjectID: user, UserName: user})
	if err != nil {
		t.Fatalf("RegisterBegin: %v", err)
	}
	return string(res.Options)
}

// registerFinish registers a passkey of a (the fixture's authenticator
// when nil).
func (f *fixture) registerFinish(t testing.TB, a *softauthn.Authenticator, user, options string) string {
	t.Helper()
	if a == nil {
		a = f.auth
	}
	cred, err := a.Register(options)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: user, Credential: cred})
	if err != nil {
		t.Fatalf("RegisterFinish: %v", err)
	}
	return res.CredentialID
}

func (f *fixture) loginBegin(t testing.TB, user string) string {
	t.Helper()
	res, err := f.svc.LoginBegin(context.Background(), passkey.LoginBeginRequest{ObjectID: user})
	if err != nil {
		t.Fatalf("LoginBegin: %v", err)
	}
	return string(res.Options)
}

func (f *fixture) assert(t testing.TB, options string) string {
	t.Helper()
	cred, err := f.auth.Login(options)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func (f *fixture) loginFinish(t testing.TB, user, cred string) error {
	t.Helper()
	_, err := f.svc.LoginFinish(context.Background(), passkey.LoginFinishRequest{ObjectID: user, Credential: cred})
	return err
}

// TestRoundTrips pins how many requests each function sends to Cosmos DB,
// and that none of them is a query.
func TestRoundTrips(t *testing.T) {
	c := testenv.StartCosmos(t)
	f := newFixture(t, c)
	const user = "3f2e1d0c-9b8a-4766-a554-433221100ffe"
	ctx := context.Background()

	type step struct {
		name string
		want int
		run  func(t *testing.T)
	}
	var (
		options, cred, credID string
		loserCred             string
	)
	steps := []step{
		{"register-begin, new user (read user, create session)", 2, func(t *testing.T) { options = f.registerBegin(t, user) }},
		// A session holds no copy of the user (it would grow with the
		// user's passkeys), so the finish reads the user; the new
		// credential id is indexed before the record is written; the
		// result is kept with the session for B2C's retry.
		{"register-finish, new user (claim, read user, index, create user, result)", 5, func(t *testing.T) { credID = f.registerFinish(t, nil, user, options) }},
		{"register-begin (read user, create session)", 2, func(t *testing.T) { options = f.registerBegin(t, user) }},
		{"register-finish (claim, read user, index, replace user, result)", 5, func(t *testing.T) { f.registerFinish(t, newAuthenticator(t), user, options) }},
		{"login-begin (read user, create session)", 2, func(t *testing.T) { options = f.loginBegin(t, user); cred = f.assert(t, options) }},
		{"login-finish (claim, read user, replace user, result)", 4, func(t *testing.T) {
			if err := f.loginFinish(t, user, cred); err != nil {
				t.Fatal(err)
			}
		}},
		// B2C's retry of a finish that already succeeded: the claim is
		// lost and the stored session fetched, with this request's digest
		// and the first call's result; the user is read only for the
		// Signal API's list as it is now. Nothing is verified or written.
		{"login-finish, identical retry (claim 412, fetch session, read user)", 3, func(t *testing.T) {
			if err := f.loginFinish(t, user, cred); err != nil {
				t.Fatal(err)
			}
		}},
		{"login-finish, another request on a used session (claim 412, fetch session)", 2, func(t *testing.T) {
			loserCred = f.assert(t, options)
			if err := f.loginFinish(t, user, loserCred); passkey.ErrorCode(err) != passkey.CodeChallengeUsed {
				t.Fatalf("LoginFinish = %v; want challenge_used", err)
			}
		}},
		{"login-begin, usernameless (create session)", 1, func(t *testing.T) { options = f.loginBegin(t, ""); cred = f.assert(t, options) }},
		{"login-finish, usernameless (claim, read user, replace user, result)", 4, func(t *testing.T) {
			if err := f.loginFinish(t, "", cred); err != nil {
				t.Fatal(err)
			}
		}},
		{"list-devices (read user)", 1, func(t *testing.T) {
			if _, err := f.svc.Devices(ctx, user); err != nil {
				t.Fatal(err)
			}
		}},
		{"rename-device (read user, replace user)", 2, func(t *testing.T) {
			if _, err := f.svc.RenameDevice(ctx, user, credID, "Laptop"); err != nil {
				t.Fatal(err)
			}
		}},
		// The index item is read before it is deleted, so that an item
		// another user has taken over since is left alone.
		{"delete-device (read user, replace user, read index, delete index)", 4, func(t *testing.T) {
			if _, err := f.svc.DeleteDevice(ctx, user, credID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	counts := map[string]int{}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.count.take()
			s.run(t)
			got := f.count.take()
			counts[s.name] = len(got)
			if len(got) != s.want {
				t.Errorf("%d round trips; want %d:\n%s", len(got), s.want, strings.Join(got, "\n"))
			}
			for _, r := range got {
				if !strings.Contains(r, "/docs") {
					t.Errorf("request %q is not an item operation", r)
				}
			}
		})
	}
	if f.count.queries != 0 {
		t.Errorf("%d queries; want none", f.count.queries)
	}
	named := counts["login-begin (read user, create session)"] + counts["login-finish (claim, read user, replace user, result)"]
	usernameless := counts["login-begin, usernameless (create session)"] + counts["login-finish, usernameless (claim, read user, replace user, result)"]
	if named > 6 || usernameless > 5 {
		t.Errorf("a login ceremony takes %d (named) and %d (usernameless) round trips; want at most 6 and 5", named, usernameless)
	}
	// Fix 4 of the test server: the SDK keeps its connections.
	if f.count.conns > 4 {
		t.Errorf("%d new connections for the whole test; want a few reused ones", f.count.conns)
	}
}

// TestSessionExpiresByTTL checks that a session item carries a TTL that
// removes it once it expired (fix 3 of the test server makes TTL work).
func TestSessionExpiresByTTL(t *testing.T) {
	c := testenv.StartCosmos(t)
	s := open(t, c, cosmos.Options{SessionGrace: time.Nanosecond})
	ctx := context.Background()
	soon := &passkey.Session{Challenge: "ttl-soon", Ceremony: passkey.Login, ExpiresAt: time.Now().Add(time.Second)}
	later := &passkey.Session{Challenge: "ttl-later", Ceremony: passkey.Login, ExpiresAt: time.Now().Add(time.Hour)}
	for _, session := range []*passkey.Session{soon, later} {
		if err := s.CreateSession(ctx, session); err != nil {
			t.Fatal(err)
		}
	}
	// Creating the session again conflicts while the item exists and
	// succeeds once its TTL removed it; unlike a claim, it does not write
	// the item (a write restarts an item's TTL).
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.CreateSession(ctx, soon)
		if err == nil {
			break
		}
		if !errors.Is(err, passkey.ErrConflict) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the session item was not removed by its TTL")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.CreateSession(ctx, later); !errors.Is(err, passkey.ErrConflict) {
		t.Fatalf("CreateSession of the unexpired session = %v; want ErrConflict: it must still exist", err)
	}
	if _, won, err := s.ClaimSession(ctx, later.Challenge, passkey.Claim{Digest: "x", At: time.Now()}); err != nil || !won {
		t.Fatalf("the unexpired session: won=%v, %v; want it claimed", won, err)
	}
}

// failing makes the SDK's requests that match fail as if the connection
// broke, so a test can cut a function off between two of its requests.
type failing struct {
	next *counter

	mu    sync.Mutex
	match func(*http.Request) bool
}

func (f *failing) set(match func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.match = match
}

func (f *failing) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	match := f.match
	f.mu.Unlock()
	if match != nil && match(req) {
		return nil, errors.New("connection reset by the test")
	}
	return f.next.Do(req)
}

// TestCutOffBetweenClaimAndWrite fails the user write of a register-finish
// after its claim succeeded: the call is storage_unavailable, the user
// record is unchanged, and B2C's identical retry then stores the passkey
// exactly once.
func TestCutOffBetweenClaimAndWrite(t *testing.T) {
	c := testenv.StartCosmos(t)
	fail := &failing{}
	f := newFixtureVia(t, c, func(count *counter) policy.Transporter { fail.next = count; return fail })
	ctx := context.Background()
	const user = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	f.registerFinish(t, nil, user, f.registerBegin(t, user))

	options := f.registerBegin(t, user)
	cred, err := newAuthenticator(t).Register(options)
	if err != nil {
		t.Fatal(err)
	}
	req := passkey.RegisterFinishRequest{ObjectID: user, Credential: cred}
	fail.set(func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/colls/"+cosmos.UsersContainer+"/docs") && r.Method != http.MethodGet
	})
	if _, err := f.svc.RegisterFinish(ctx, req); passkey.ErrorCode(err) != passkey.CodeStorageUnavailable {
		t.Fatalf("RegisterFinish with the user write failing = %v; want storage_unavailable", err)
	}
	fail.set(nil)
	if u, err := f.store.GetUser(ctx, user); err != nil || len(u.Credentials) != 1 {
		t.Fatalf("after the cut-off finish: %v, %v; want the user unchanged with 1 passkey", u, err)
	}
	for range 2 {
		res, err := f.svc.RegisterFinish(ctx, req)
		if err != nil || res.DeviceCount != 2 {
			t.Fatalf("B2C's retry of the finish = %+v, %v; want success with 2 passkeys", res, err)
		}
	}
	if u, err := f.store.GetUser(ctx, user); err != nil || len(u.Credentials) != 2 {
		t.Fatalf("after the retries: %v, %v; want 2 passkeys", u, err)
	}
}
