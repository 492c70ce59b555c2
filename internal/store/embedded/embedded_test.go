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

// TestRemoveExpired: a mark is forgotten once the time it was kept for
// is over, and kept until then.
func TestRemoveExpired(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	for i, keep := range []time.Duration{-time.Minute, -time.Second, time.Minute} {
		ch := string(rune('a' + i))
		if _, won, err := s.ClaimSession(ctx, ch, passkey.Claim{Digest: storetest.Digest("first"), At: now}, now.Add(keep)); err != nil || !won {
			t.Fatal(won, err)
		}
	}
	if err := s.RemoveExpired(now); err != nil {
		t.Fatal(err)
	}
	for ch, kept := range map[string]bool{"a": false, "b": false, "c": true} {
		first, _, err := s.ClaimSession(ctx, ch, passkey.Claim{Digest: storetest.Digest("second"), At: now}, now.Add(time.Minute))
		if err != nil || (first.Digest == storetest.Digest("first")) != kept {
			t.Errorf("mark %s: first claim %q, %v; want kept=%v", ch, first.Digest, err, kept)
		}
	}
}

// TestSessionKeyIsNewAtEachOpen: the marks live in memory, so a challenge
// issued before a restart must not open after it.
func TestSessionKeyIsNewAtEachOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	before := string(s.SessionKey())
	s.Close()
	s, err = Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if string(s.SessionKey()) == before {
		t.Fatal("the session key survived a restart")
	}
}
