package cosmos_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/passkeys-b2c/passkeys/internal/apitest"
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
	svc := apitest.NewService(t, apitest.Config(origin), store, passkey.Options{})
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

// The steps of TestRoundTrips that make the two login ceremonies.
const (
	loginBegin         = "login-begin (read user)"
	loginFinish        = "login-finish (read user, replace user with the mark and the use)"
	usernamelessBegin  = "login-begin, usernameless (nothing)"
	usernamelessFinish = "login-finish, usernameless (read user, mark, replace user)"
)

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
		{"register-begin, new user (read user)", 1, func(t *testing.T) { options = f.registerBegin(t, user) }},
		// The result is kept with the mark for B2C's retry.
		{"register-finish, new user (mark, read user, index item, create user, result)", 5, func(t *testing.T) { credID = f.registerFinish(t, nil, user, options) }},
		{"register-begin (read user)", 1, func(t *testing.T) { options = f.registerBegin(t, user) }},
		{"register-finish (mark, read user, index item, replace user, result)", 5, func(t *testing.T) { f.registerFinish(t, newAuthenticator(t), user, options) }},
		{loginBegin, 1, func(t *testing.T) { options = f.loginBegin(t, user); cred = f.assert(t, options) }},
		{loginFinish, 2, func(t *testing.T) {
			if err := f.loginFinish(t, user, cred); err != nil {
				t.Fatal(err)
			}
		}},
		// B2C's retry of a finish that already succeeded: the record
		// holds the first call's mark with its result, and it is this
		// request's; the Signal API's list comes from the same read.
		{"login-finish, identical retry (read user)", 1, func(t *testing.T) {
			if err := f.loginFinish(t, user, cred); err != nil {
				t.Fatal(err)
			}
		}},
		{"login-finish, another request on a used session (read user)", 1, func(t *testing.T) {
			loserCred = f.assert(t, options)
			if err := f.loginFinish(t, user, loserCred); passkey.ErrorCode(err) != passkey.CodeChallengeUsed {
				t.Fatalf("LoginFinish = %v; want challenge_used", err)
			}
		}},
		// A page load: the session is sealed into the challenge.
		{usernamelessBegin, 0, func(t *testing.T) { options = f.loginBegin(t, ""); cred = f.assert(t, options) }},
		{usernamelessFinish, 3, func(t *testing.T) {
			if err := f.loginFinish(t, "", cred); err != nil {
				t.Fatal(err)
			}
		}},
		{"login-finish, usernameless, identical retry (read user, mark 409, fetch mark, read user for the answer)", 4, func(t *testing.T) {
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
		{"delete-device (read user, replace user, read and remove index item)", 4, func(t *testing.T) {
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
	named := counts[loginBegin] + counts[loginFinish]
	usernameless := counts[usernamelessBegin] + counts[usernamelessFinish]
	if named > 3 || usernameless > 3 {
		t.Errorf("a login ceremony takes %d (named) and %d (usernameless) round trips; want at most 3", named, usernameless)
	}
	// Fix 4 of the test server: the SDK keeps its connections.
	if f.count.conns > 4 {
		t.Errorf("%d new connections for the whole test; want a few reused ones", f.count.conns)
	}
}

// TestMarkExpiresByTTL checks that a session's mark carries a TTL that
// removes it once it is no longer needed (fix 3 of the test server makes
// TTL work), and not before.
func TestMarkExpiresByTTL(t *testing.T) {
	c := testenv.StartCosmos(t)
	s := open(t, c, cosmos.Options{SessionGrace: time.Nanosecond})
	ctx := context.Background()
	claim := passkey.Claim{Digest: "first", At: time.Now()}
	for _, ch := range []string{"ttl-soon", "ttl-later"} {
		keep := time.Now().Add(time.Second)
		if ch == "ttl-later" {
			keep = time.Now().Add(time.Hour)
		}
		if _, won, err := s.ClaimSession(ctx, ch, claim, keep); err != nil || !won {
			t.Fatal(won, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, won, err := s.ClaimSession(ctx, "ttl-soon", passkey.Claim{Digest: "second", At: time.Now()}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if won {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mark was not removed by its TTL")
		}
		// A lost claim patches the mark, which restarts its TTL (as in
		// Cosmos DB: TTL counts from the last write); wait it out.
		time.Sleep(3 * time.Second)
	}
	if first, won, err := s.ClaimSession(ctx, "ttl-later", passkey.Claim{Digest: "second", At: time.Now()}, time.Now()); err != nil || won || first.Digest != "first" {
		t.Fatalf("the unexpired mark: %+v, won=%v, %v; want the first claim kept", first, won, err)
	}
}

// TestSessionKeyShared: instances opened on one database seal challenges
// with one key, so a finish may reach any of them.
func TestSessionKeyShared(t *testing.T) {
	c := testenv.StartCosmos(t)
	database := c.Database(t)
	a := open(t, c, cosmos.Options{Database: database})
	b := open(t, c, cosmos.Options{Database: database})
	if len(a.SessionKey()) != passkey.SessionKeySize || string(a.SessionKey()) != string(b.SessionKey()) {
		t.Fatal("two instances on one database have different session keys")
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
