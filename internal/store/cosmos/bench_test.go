package cosmos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// The benchmarks measure the store and the functions on the Cosmos store
// against the test server over loopback (or PASSKEY_COSMOS_ENDPOINT):
// client, SDK and server time, not Cosmos DB's latency. Each reports the
// round trips per operation the counting transport saw.

func reportRoundTrips(b *testing.B, f *fixture) {
	b.Helper()
	b.ReportMetric(float64(len(f.count.take()))/float64(b.N), "roundtrips/op")
}

func BenchmarkStore(b *testing.B) {
	c := testenv.StartCosmos(b)
	f := newFixture(b, c)
	ctx := context.Background()
	prefix := fmt.Sprintf("b%d-", time.Now().UnixNano())
	user := &passkey.User{ID: prefix + "user", Credentials: []passkey.Credential{{Name: "Phone", CreatedAt: time.Now()}}}
	if err := f.store.CreateUser(ctx, user); err != nil {
		b.Fatal(err)
	}
	b.Run("GetUser", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			if _, err := f.store.GetUser(ctx, user.ID); err != nil {
				b.Fatal(err)
			}
		}
		reportRoundTrips(b, f)
	})
	b.Run("ReplaceUser", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			if err := f.store.ReplaceUser(ctx, user); err != nil {
				b.Fatal(err)
			}
		}
		reportRoundTrips(b, f)
	})
	b.Run("ClaimSession", func(b *testing.B) {
		base := int(time.Now().UnixNano())
		f.count.take()
		for i := 0; i < b.N; i++ {
			claim := passkey.Claim{Digest: "claim", At: time.Now()}
			if _, won, err := f.store.ClaimSession(ctx, fmt.Sprintf("%sbench-%d", prefix, base+i), claim, time.Now().Add(5*time.Minute)); err != nil || !won {
				b.Fatalf("ClaimSession = %v, %v", won, err)
			}
		}
		reportRoundTrips(b, f)
	})
}

func BenchmarkFunctions(b *testing.B) {
	c := testenv.StartCosmos(b)
	f := newFixture(b, c)
	ctx := context.Background()
	prefix := fmt.Sprintf("b%d-", time.Now().UnixNano())
	const user = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
	f.registerFinish(b, nil, user, f.registerBegin(b, user))

	registered := 0
	b.Run("register ceremony, new user", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			registered++
			id := fmt.Sprintf("%s%d", prefix, registered)
			f.registerFinish(b, nil, id, f.registerBegin(b, id))
		}
		reportRoundTrips(b, f)
	})
	b.Run("login ceremony, named", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			if err := f.loginFinish(b, user, f.assert(b, f.loginBegin(b, user))); err != nil {
				b.Fatal(err)
			}
		}
		reportRoundTrips(b, f)
	})
	b.Run("login ceremony, usernameless", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			if err := f.loginFinish(b, "", f.assert(b, f.loginBegin(b, ""))); err != nil {
				b.Fatal(err)
			}
		}
		reportRoundTrips(b, f)
	})
	b.Run("list-devices", func(b *testing.B) {
		f.count.take()
		for b.Loop() {
			if _, err := f.svc.Devices(ctx, user); err != nil {
				b.Fatal(err)
			}
		}
		reportRoundTrips(b, f)
	})
}
