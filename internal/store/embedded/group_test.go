package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestGroupCommit: many concurrent writes, some refused, share
// transactions; each gets its own answer, and every accepted one is on
// disk after a reopen.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each id is created twice: one of the two wins.
			errs[i] = s.CreateUser(ctx, &passkey.User{ID: fmt.Sprintf("u%d", i/2)})
		}()
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, passkey.ErrConflict):
		default:
			t.Errorf("create %d: %v", i, err)
		}
	}
	if created != n/2 {
		t.Errorf("%d creates succeeded, want %d", created, n/2)
	}
	s.Close()
	s, err = Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	found := 0
	s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(usersBucket).Stats().KeyN
		return nil
	})
	if found != created {
		t.Errorf("%d creates succeeded, %d users on disk", created, found)
	}
}

// TestGroupCommitFailure: a write that fails with an error other than a
// refusal does not take the writes of its group down with it.
func TestGroupCommitFailure(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("boom")
	results := make(chan error, 3)
	group := []*write{
		{fn: func(tx *bolt.Tx) error {
			return tx.Bucket(usersBucket).Put([]byte("a"), []byte(`{"version":1,"user":{"id":"a"}}`))
		}, done: results},
		{fn: func(tx *bolt.Tx) error { tx.Bucket(usersBucket).Put([]byte("b"), []byte("x")); return boom }, done: results},
		{fn: func(*bolt.Tx) error { return passkey.ErrNotFound }, done: results},
	}
	s.commitGroup(group)
	var got []error
	for range group {
		got = append(got, <-results)
	}
	if got[0] != nil || !errors.Is(got[1], boom) || !errors.Is(got[2], passkey.ErrNotFound) {
		t.Fatalf("results %v", got)
	}
	s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(usersBucket)
		if b.Get([]byte("a")) == nil || b.Get([]byte("b")) != nil {
			t.Errorf("a=%q b=%q: want a written and b rolled back", b.Get([]byte("a")), b.Get([]byte("b")))
		}
		return nil
	})
}
