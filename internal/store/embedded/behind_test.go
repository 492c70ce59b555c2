package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestRecordUse: a use is read back at once, refused on a stale version,
// built on by a durable write, and on disk after Close.
func TestRecordUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u := &passkey.User{ID: "u1", Credentials: []passkey.Credential{{Name: "Phone", WebAuthn: passkey.Key{ID: []byte("c1")}}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	stale := *u
	writes := commits(s)

	u.Credentials[0].WebAuthn.Authenticator.SignCount = 5
	if err := s.RecordUse(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, "u1"); err != nil || got.Credentials[0].WebAuthn.Authenticator.SignCount != 5 || got.Version != u.Version {
		t.Fatalf("read after RecordUse = %+v, %v; want count 5 at version %s", got, err, u.Version)
	}
	if w := commits(s); w != writes {
		t.Errorf("RecordUse made %d commits at once; want none before the flush", w-writes)
	}
	if err := s.RecordUse(ctx, &stale); !errors.Is(err, passkey.ErrConflict) {
		t.Fatalf("RecordUse of a stale version = %v; want ErrConflict", err)
	}
	if err := s.ReplaceUser(ctx, &stale); !errors.Is(err, passkey.ErrConflict) {
		t.Fatalf("ReplaceUser of a stale version = %v; want ErrConflict", err)
	}

	// A rename read after the use keeps it.
	renamed, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	renamed.Credentials[0].Name = "Laptop"
	if err := s.ReplaceUser(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	renamed.Credentials[0].WebAuthn.Authenticator.SignCount = 6
	if err := s.RecordUse(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetUser(ctx, "u1")
	if err != nil || got.Credentials[0].Name != "Laptop" || got.Credentials[0].WebAuthn.Authenticator.SignCount != 6 {
		t.Fatalf("after reopening: %+v, %v; want the rename and count 6", got, err)
	}
}

// TestUsesFlushed: pending uses reach the file within UseFlushEvery, in
// one transaction.
func TestUsesFlushed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"a", "b", "c"} {
		u := &passkey.User{ID: id, Credentials: []passkey.Credential{{Name: id}}}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		u.Credentials[0].Name += "-used"
		if err := s.RecordUse(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * UseFlushEvery)
	for {
		s.pending.mu.Lock()
		n := len(s.pending.m)
		s.pending.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uses still pending after %s", n, 5*UseFlushEvery)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range []string{"a", "b", "c"} {
		if u, err := s.GetUser(ctx, id); err != nil || u.Credentials[0].Name != id+"-used" {
			t.Errorf("user %s from the file: %+v, %v", id, u, err)
		}
	}
}

// commits is how many write transactions the store's file has seen.
func commits(s *Store) int64 {
	stats := s.db.Stats()
	return stats.TxStats.GetWrite()
}
