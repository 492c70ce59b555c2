package embedded

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestRecordFormat: a user record is the JSON encoding of record, so files
// written before and after stay readable by either.
func TestRecordFormat(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	u := &passkey.User{ID: "u1", Credentials: []passkey.Credential{{Name: `Phone "1"`}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(record{Version: 2, User: u})
	s.db.View(func(tx *bolt.Tx) error {
		if got := tx.Bucket(usersBucket).Get([]byte("u1")); string(got) != string(want) {
			t.Errorf("stored\n%s\nwant\n%s", got, want)
		}
		return nil
	})
	// A record whose version is not first is still read.
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(usersBucket).Put([]byte("u2"), []byte(`{"user":{"id":"u2","credentials":[]},"version":7}`))
	})
	if err := s.ReplaceUser(ctx, &passkey.User{ID: "u2", Version: "7"}); err != nil {
		t.Errorf("replace of a record with the version last: %v", err)
	}
}

// TestOldSessionBucketsAreDropped: a file written when sessions were
// stored loses them at open; its users stay.
func TestOldSessionBucketsAreDropped(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"sessions", "claims"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("c1"), []byte(`{}`)); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucket(usersBucket)
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.View(func(tx *bolt.Tx) error {
		for _, name := range oldBuckets {
			if tx.Bucket(name) != nil {
				t.Errorf("bucket %s is still there", name)
			}
		}
		return nil
	})
}
