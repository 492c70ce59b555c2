// Package storetest is the contract every passkey.Store implementation
// must pass: not-found and conflict errors, optimistic concurrency on
// users, a credential index that agrees with the user records (also after
// a fault between its write and the record's, and under races), and
// exactly one winner when sessions are claimed concurrently, each claim
// with its digest and time.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// Engine opens stores of one storage engine for the contract.
type Engine struct {
	// Open returns a store; one may serve every subtest.
	Open func(t *testing.T) passkey.Store
	// OpenFaulty returns a store on the same data whose user writes call
	// fault after writing the credential index and before writing the
	// record (or, where the engine writes the record first, between the
	// two), failing as a crash there would when fault returns an error.
	OpenFaulty func(t *testing.T, fault func() error) passkey.Store
}

// Run runs the contract against the engine's stores. Each subtest gets its
// own ids, so one store may serve them all.
func Run(t *testing.T, engine Engine) {
	store := engine.Open(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("t%d-", time.Now().UnixNano())

	t.Run("GetUser of an unknown user is ErrNotFound", func(t *testing.T) {
		u, err := store.GetUser(ctx, prefix+"nobody")
		if !errors.Is(err, passkey.ErrNotFound) || u != nil {
			t.Fatalf("GetUser = %v, %v; want nil, ErrNotFound", u, err)
		}
	})

	t.Run("create, read and replace a user", func(t *testing.T) {
		u := &passkey.User{ID: prefix + "alice", Credentials: []passkey.Credential{credential("one", "Phone")}}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.Version == "" {
			t.Fatal("CreateUser left Version empty")
		}
		got, err := store.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if got.Version != u.Version || len(got.Credentials) != 1 || got.Credentials[0].Name != "Phone" ||
			string(got.Credentials[0].WebAuthn.ID) != "one" || got.Credentials[0].WebAuthn.Authenticator.SignCount != 7 ||
			!got.Credentials[0].CreatedAt.Equal(u.Credentials[0].CreatedAt) {
			t.Fatalf("GetUser = %+v; want what was created (version %s)", got, u.Version)
		}
		got.Credentials = append(got.Credentials, credential("two", "Key"))
		old := got.Version
		if err := store.ReplaceUser(ctx, got); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		if got.Version == old {
			t.Fatal("ReplaceUser did not change Version")
		}
		again, err := store.GetUser(ctx, u.ID)
		if err != nil || len(again.Credentials) != 2 || again.Version != got.Version {
			t.Fatalf("GetUser after replace = %+v, %v", again, err)
		}
	})

	t.Run("CreateUser of an existing user is ErrConflict", func(t *testing.T) {
		u := &passkey.User{ID: prefix + "bob"}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if err := store.CreateUser(ctx, &passkey.User{ID: u.ID}); !errors.Is(err, passkey.ErrConflict) {
			t.Fatalf("second CreateUser = %v; want ErrConflict", err)
		}
	})

	t.Run("ReplaceUser with a stale version is ErrConflict and writes nothing", func(t *testing.T) {
		u := &passkey.User{ID: prefix + "carol"}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		first, _ := store.GetUser(ctx, u.ID)
		second, _ := store.GetUser(ctx, u.ID)
		first.Credentials = []passkey.Credential{credential("a", "A")}
		if err := store.ReplaceUser(ctx, first); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		second.Credentials = []passkey.Credential{credential("b", "B")}
		if err := store.ReplaceUser(ctx, second); !errors.Is(err, passkey.ErrConflict) {
			t.Fatalf("stale ReplaceUser = %v; want ErrConflict", err)
		}
		got, _ := store.GetUser(ctx, u.ID)
		if len(got.Credentials) != 1 || got.Credentials[0].Name != "A" {
			t.Fatalf("after stale replace: %+v; want only A", got.Credentials)
		}
	})

	t.Run("ReplaceUser of a missing user is ErrNotFound", func(t *testing.T) {
		err := store.ReplaceUser(ctx, &passkey.User{ID: prefix + "ghost", Version: "1"})
		if !errors.Is(err, passkey.ErrNotFound) && !errors.Is(err, passkey.ErrConflict) {
			t.Fatalf("ReplaceUser = %v; want ErrNotFound", err)
		}
	})

	t.Run("concurrent replaces: exactly one wins", func(t *testing.T) {
		u := &passkey.User{ID: prefix + "dave"}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		wins := race(t, 8, passkey.ErrConflict, func(i int) error {
			copyOf := *u
			copyOf.Credentials = []passkey.Credential{credential(fmt.Sprint(i), fmt.Sprint(i))}
			return store.ReplaceUser(ctx, &copyOf)
		})
		if wins != 1 {
			t.Fatalf("%d replaces won; want exactly 1", wins)
		}
	})

	runIndex(t, engine, store, prefix)

	t.Run("sessions: one key for every instance", func(t *testing.T) {
		if len(store.SessionKey()) != passkey.SessionKeySize {
			t.Fatalf("SessionKey is %d bytes; want %d", len(store.SessionKey()), passkey.SessionKeySize)
		}
	})

	t.Run("sessions: claim once, concurrent claims have one winner", func(t *testing.T) {
		challenge := prefix + "challenge-1"
		keep := time.Now().Add(5 * time.Minute)
		const n = 8
		type outcome struct {
			claim string
			first passkey.Claim
			won   bool
			err   error
		}
		var wg sync.WaitGroup
		results := make(chan outcome, n)
		claimedAt := time.Now().UTC().Truncate(time.Millisecond)
		for i := range n {
			claim := Digest(fmt.Sprintf("claim-%d", i))
			wg.Go(func() {
				first, won, err := store.ClaimSession(ctx, challenge, passkey.Claim{Digest: claim, At: claimedAt}, keep)
				results <- outcome{claim, first, won, err}
			})
		}
		wg.Wait()
		close(results)
		var winner string
		var seen []outcome
		for r := range results {
			if r.err != nil {
				t.Fatalf("ClaimSession: %v", r.err)
			}
			if r.won {
				if winner != "" {
					t.Fatalf("two winners: %s and %s", winner, r.claim)
				}
				winner = r.claim
			}
			seen = append(seen, r)
		}
		if winner == "" {
			t.Fatal("no claim won")
		}
		for _, r := range seen {
			if r.first.Digest != winner || !r.first.At.Equal(claimedAt) || r.first.Result != nil {
				t.Errorf("%s saw claim %+v; want the winner's %q at %s", r.claim, r.first, winner, claimedAt)
			}
		}
		result := &passkey.Result{ObjectID: prefix + "erin", CredentialID: []byte("cred"), DeviceName: "Phone", DeviceCount: 2, UserVerified: true, PasskeySynced: true}
		if err := store.SetResult(ctx, challenge, result); err != nil {
			t.Fatalf("SetResult: %v", err)
		}
		again, won, err := store.ClaimSession(ctx, challenge, passkey.Claim{Digest: Digest("late"), At: claimedAt.Add(time.Second)}, keep)
		if err != nil || won || again.Digest != winner || !again.At.Equal(claimedAt) || again.Result == nil || !reflect.DeepEqual(*again.Result, *result) {
			t.Fatalf("repeat claim = %+v, %v, %v; want the stored claim with its result, not won", again, won, err)
		}
		if err := store.SetResult(ctx, challenge, nil); err != nil {
			t.Fatalf("SetResult(nil): %v", err)
		}
		if again, _, err := store.ClaimSession(ctx, challenge, passkey.Claim{Digest: Digest("late"), At: claimedAt}, keep); err != nil || again.Result != nil {
			t.Fatalf("claim after SetResult(nil) = %+v, %v; want no result", again, err)
		}
	})

	t.Run("SetResult of an unclaimed challenge is ErrNotFound", func(t *testing.T) {
		if err := store.SetResult(ctx, prefix+"no-such-challenge", &passkey.Result{}); !errors.Is(err, passkey.ErrNotFound) {
			t.Fatalf("SetResult = %v; want ErrNotFound", err)
		}
	})
}

func credential(id, name string) passkey.Credential {
	now := time.Now().UTC().Truncate(time.Second) // records keep times to the second
	return passkey.Credential{
		WebAuthn: passkey.Key{
			ID:                []byte(id),
			PublicKey:         []byte("public-key-" + id),
			AttestationFormat: "none",
			Transport:         []protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid},
			Flags:             webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: true},
			Authenticator:     webauthn.Authenticator{AAGUID: make([]byte, 16), SignCount: 7},
		},
		Name:       name,
		CreatedAt:  now,
		LastUsedAt: now,
	}
}

// Digest is a claim digest of the service's form for label.
func Digest(label string) string {
	sum := sha256.Sum256([]byte(label))
	return hex.EncodeToString(sum[:passkey.DigestSize])
}

// race runs n calls of try at once and counts those that succeed; any
// other answer than success or lost fails the test.
func race(t *testing.T, n int, lost error, try func(i int) error) (wins int) {
	t.Helper()
	results := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results <- try(i) })
	}
	wg.Wait()
	close(results)
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, lost):
			t.Errorf("a racer got %v; want nil or %v", err, lost)
		}
	}
	return wins
}
