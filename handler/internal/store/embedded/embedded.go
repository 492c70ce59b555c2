// Package embedded is the default store: one bbolt file in
// PASSKEY_DATA_DIR, so that a handler run on its own keeps its passkeys
// across restarts without any server. bbolt gives serializable
// transactions, which make the conditional writes of the store contract
// plain read-compare-write code.
package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/handler/internal/passkey"
)

var (
	usersBucket    = []byte("users")
	sessionsBucket = []byte("sessions")
)

// FileName is the name of the database file inside the data directory.
const FileName = "passkeys.db"

// Store keeps users and sessions in one bbolt file.
type Store struct {
	db   *bolt.DB
	stop chan struct{}
	done chan struct{}
}

var _ passkey.Store = (*Store)(nil)

// record is how a user is kept: the user and the version it was written as.
type record struct {
	Version uint64        `json:"version"`
	User    *passkey.User `json:"user"`
}

// Open opens (creating it if needed) the store in dir and starts removing
// expired sessions every sweepEvery.
func Open(dir string, sweepEvery time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening %s (is another handler using it?): %w", filepath.Join(dir, FileName), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{usersBucket, sessionsBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweep(sweepEvery)
	return s, nil
}

// Close stops the sweeper and closes the file.
func (s *Store) Close() error {
	close(s.stop)
	<-s.done
	return s.db.Close()
}

// GetUser returns passkey.ErrNotFound when the user has no record.
func (s *Store) GetUser(_ context.Context, id string) (*passkey.User, error) {
	var user *passkey.User
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := readUser(tx, id)
		if err != nil {
			return err
		}
		user = rec.User
		user.Version = strconv.FormatUint(rec.Version, 10)
		return nil
	})
	return user, err
}

// CreateUser returns passkey.ErrConflict when the user exists.
func (s *Store) CreateUser(_ context.Context, u *passkey.User) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := readUser(tx, u.ID); err == nil {
			return passkey.ErrConflict
		}
		return writeUser(tx, u, 1)
	})
}

// ReplaceUser returns passkey.ErrNotFound when the user is gone and
// passkey.ErrConflict when it was written since u was read.
func (s *Store) ReplaceUser(_ context.Context, u *passkey.User) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := readUser(tx, u.ID)
		if err != nil {
			return err
		}
		if strconv.FormatUint(rec.Version, 10) != u.Version {
			return passkey.ErrConflict
		}
		return writeUser(tx, u, rec.Version+1)
	})
}

// CreateSession returns passkey.ErrConflict when the challenge is taken.
func (s *Store) CreateSession(_ context.Context, session *passkey.Session) error {
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		if b.Get([]byte(session.Challenge)) != nil {
			return passkey.ErrConflict
		}
		return b.Put([]byte(session.Challenge), data)
	})
}

// ClaimSession returns passkey.ErrNotFound when no session has the
// challenge. bbolt runs one write transaction at a time, so the
// read-compare-write below is atomic.
func (s *Store) ClaimSession(_ context.Context, challenge, claim string) (*passkey.Session, bool, error) {
	var (
		session passkey.Session
		won     bool
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		data := b.Get([]byte(challenge))
		if data == nil {
			return passkey.ErrNotFound
		}
		if err := json.Unmarshal(data, &session); err != nil {
			return fmt.Errorf("decoding session: %w", err)
		}
		if session.Claim != "" {
			return nil
		}
		session.Claim, won = claim, true
		data, err := json.Marshal(&session)
		if err != nil {
			return err
		}
		return b.Put([]byte(challenge), data)
	})
	if err != nil {
		return nil, false, err
	}
	return &session, won, nil
}

// sweep removes sessions a minute after they expired (the minute keeps an
// identical retry answerable right at the end of a session's life).
func (s *Store) sweep(every time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			_ = s.RemoveExpired(time.Now().Add(-time.Minute))
		}
	}
}

// RemoveExpired deletes the sessions that expired before t.
func (s *Store) RemoveExpired(t time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		var expired [][]byte // deleting while a cursor walks skips keys
		err := b.ForEach(func(k, v []byte) error {
			var session struct {
				ExpiresAt time.Time `json:"expiresAt"`
			}
			if json.Unmarshal(v, &session) != nil || session.ExpiresAt.Before(t) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range expired {
			if err == nil {
				err = b.Delete(k)
			}
		}
		return err
	})
}

func readUser(tx *bolt.Tx, id string) (*record, error) {
	data := tx.Bucket(usersBucket).Get([]byte(id))
	if data == nil {
		return nil, passkey.ErrNotFound
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decoding user: %w", err)
	}
	return &rec, nil
}

func writeUser(tx *bolt.Tx, u *passkey.User, version uint64) error {
	data, err := json.Marshal(record{Version: version, User: u})
	if err != nil {
		return err
	}
	if err := tx.Bucket(usersBucket).Put([]byte(u.ID), data); err != nil {
		return err
	}
	u.Version = strconv.FormatUint(version, 10)
	return nil
}
