package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/storetest"
)

func TestContract(t *testing.T) {
	var shared *Store
	storetest.Run(t, storetest.Engine{
		Open: func(t *testing.T) passkey.Store {
			s, err := Open(t.TempDir(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			shared = s
			return s
		},
		// One process may open the file at a time, so the faulty store is
		// the same one with the fault set; it is cleared when the test ends.
		OpenFaulty: func(t *testing.T, fault func() error) passkey.Store {
			shared.betweenWrites = fault
			t.Cleanup(func() { shared.betweenWrites = nil })
			return shared
		},
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &passkey.User{ID: "u1", Credentials: []passkey.Credential{{Name: "Phone"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.GetUser(ctx, "u1")
	if err != nil || len(u.Credentials) != 1 || u.Credentials[0].Name != "Phone" {
		t.Fatalf("after reopen: %+v, %v", u, err)
	}
}

func TestRemoveExpired(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	for i, exp := range []time.Duration{-time.Minute, -time.Second, time.Minute} {
		ch := string(rune('a' + i))
		if err := s.CreateSession(ctx, &passkey.Session{Challenge: ch, ExpiresAt: now.Add(exp)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveExpired(now); err != nil {
		t.Fatal(err)
	}
	for ch, want := range map[string]bool{"a": false, "b": false, "c": true} {
		_, _, err := s.ClaimSession(ctx, ch, passkey.Claim{Digest: "x", At: now})
		if (err == nil) != want {
			t.Errorf("session %s: err %v, want kept=%v", ch, err, want)
		}
	}
}
