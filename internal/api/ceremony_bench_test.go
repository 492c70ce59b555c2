package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/apitest"
	"github.com/passkeys-b2c/passkeys/internal/floor"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// Whole ceremonies, so the handler can be stated as a multiple of
// BenchmarkFloor: BenchmarkLoginCeremony is one named login (login-begin
// and login-finish) with the authenticator's signing outside the timer;
// the Parallel variants run on every core (GOMAXPROCS) and report
// ceremonies/s (the authenticator's signing inside, as a client on the
// same machine would) and floor/s. The Cosmos variants run against the
// Cosmos test server and report the store round trips of each function.

func BenchmarkLoginCeremony(b *testing.B) {
	e := newBenchEnv(b)
	a := newBenchAuthenticator(b)
	e.register(b, a, benchUser)
	benchLoginCeremony(b, e.handler, a, benchUser)
}

func benchLoginCeremony(b *testing.B, h http.Handler, a *softauthn.Authenticator, objectID string) {
	e := &benchEnv{handler: h}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		begin := e.call(b, "login-begin", map[string]string{"objectId": objectID})
		b.StopTimer()
		cred, err := a.Login(begin["options"].(string))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.call(b, "login-finish", map[string]string{"objectId": objectID, "credential": cred})
	}
}

// BenchmarkLoginCeremonyParallel runs named logins on all cores, each
// goroutine as its own user, and reports ceremonies/s.
func BenchmarkLoginCeremonyParallel(b *testing.B) {
	e := newBenchEnv(b)
	var users atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 in flight on 2 cores: the store waits on syncs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		b.StopTimer()
		a := newBenchAuthenticator(b)
		objectID := oid(fmt.Sprintf("bench-user-%d", users.Add(1)))
		e.register(b, a, objectID)
		b.StartTimer()
		for pb.Next() {
			begin := e.call(b, "login-begin", map[string]string{"objectId": objectID})
			cred, err := a.Login(begin["options"].(string))
			if err != nil {
				b.Fatal(err)
			}
			e.call(b, "login-finish", map[string]string{"objectId": objectID, "credential": cred})
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ceremonies/s")
}

// BenchmarkFloorParallel is BenchmarkFloor on all cores, in floor/s.
func BenchmarkFloorParallel(b *testing.B) {
	verify := floorVerifier(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			verify(b)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "floor/s")
}

// countingTransport counts the HTTP requests the Cosmos SDK sends.
type countingTransport struct {
	n      atomic.Int64
	client *http.Client
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.client.Do(req)
}

// newCosmosBenchEnv is a handler on the Cosmos test server, with the
// store's round trips counted.
func newCosmosBenchEnv(b *testing.B) (*benchEnv, *countingTransport) {
	b.Helper()
	c := testenv.StartCosmos(b)
	counter := &countingTransport{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := cosmos.Open(ctx, cosmos.Options{Endpoint: c.Endpoint, Key: c.Key, Database: c.Database(b), Logger: logger, Transport: counter})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return &benchEnv{handler: apitest.NewHandler(b, apitest.Config(benchOrigin), store, passkey.Options{}, api.Options{})}, counter
}

func BenchmarkCosmosLoginCeremony(b *testing.B) {
	e, counter := newCosmosBenchEnv(b)
	a := newBenchAuthenticator(b)
	e.register(b, a, benchUser)
	counter.n.Store(0)
	benchLoginCeremony(b, e.handler, a, benchUser)
	b.ReportMetric(float64(counter.n.Load())/float64(b.N), "roundtrips/op")
}

// BenchmarkCosmosRoundTrips reports the Cosmos round trips of each
// function on its success path, for a user with one or two passkeys.
func BenchmarkCosmosRoundTrips(b *testing.B) {
	e, counter := newCosmosBenchEnv(b)
	a := newBenchAuthenticator(b)
	id := e.register(b, a, benchUser)
	// counted runs call and returns the round trips it took.
	counted := func(function string, claims map[string]string) int64 {
		before := counter.n.Load()
		e.call(b, function, claims)
		return counter.n.Load() - before
	}
	measure := func(name string, run func(i int) int64) {
		b.Run(name, func(b *testing.B) {
			var trips int64
			for i := 0; i < b.N; i++ {
				trips += run(i)
			}
			b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
		})
	}
	measure("register-begin", func(int) int64 {
		return counted("register-begin", map[string]string{"objectId": benchUser, "userName": "bench"})
	})
	measure("register-finish", func(int) int64 {
		objectID := oid(fmt.Sprintf("bench-new-%d", time.Now().UnixNano()))
		r := newBenchAuthenticator(b)
		begin := e.call(b, "register-begin", map[string]string{"objectId": objectID, "userName": "bench"})
		cred, err := r.Register(begin["options"].(string))
		if err != nil {
			b.Fatal(err)
		}
		return counted("register-finish", map[string]string{"objectId": objectID, "credential": cred})
	})
	measure("login-begin", func(int) int64 { return counted("login-begin", map[string]string{"objectId": benchUser}) })
	measure("login-begin-usernameless", func(int) int64 { return counted("login-begin", map[string]string{}) })
	for _, named := range []bool{true, false} {
		name := "login-finish"
		if !named {
			name += "-usernameless"
		}
		measure(name, func(int) int64 {
			claims := map[string]string{}
			if named {
				claims["objectId"] = benchUser
			}
			begin := e.call(b, "login-begin", claims)
			cred, err := a.Login(begin["options"].(string))
			if err != nil {
				b.Fatal(err)
			}
			claims["credential"] = cred
			return counted("login-finish", claims)
		})
	}
	measure("list-devices", func(int) int64 { return counted("list-devices", map[string]string{"objectId": benchUser}) })
	names := []string{"Phone", "Laptop"}
	measure("rename-device", func(i int) int64 {
		return counted("rename-device", map[string]string{"objectId": benchUser, "credentialId": id, "deviceName": names[i%2]})
	})
	measure("delete-device", func(int) int64 {
		second := e.register(b, newBenchAuthenticator(b), benchUser)
		return counted("delete-device", map[string]string{"objectId": benchUser, "credentialId": second})
	})
}

// floorVerifier is BenchmarkFloor's work as a function: parse an
// assertion and verify its signature against the stored public key.
func floorVerifier(b *testing.B) func(testing.TB) {
	login, err := floor.New(benchOrigin)
	if err != nil {
		b.Fatal(err)
	}
	return func(tb testing.TB) {
		if err := login.Verify(); err != nil {
			tb.Fatal(err)
		}
	}
}
