// Package embedded is the default store: one bbolt file in
// PASSKEY_DATA_DIR, so that a handler run on its own keeps its passkeys
// across restarts without any server. bbolt gives serializable
// transactions, which make the conditional writes of the store contract
// plain read-compare-write code.
package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

var (
	usersBucket = []byte("users")
	// oldBuckets held challenge sessions, claims and results before sessions
	// were sealed into their challenges; a file that has them loses them
	// at open (their challenges were issued under a key that is gone).
	oldBuckets = [][]byte{[]byte("sessions"), []byte("claims"), []byte("results")}
	// credentialsBucket is the credential index: credential id -> user id.
	// It is written in the same transaction as the user record, so the
	// two can never disagree.
	credentialsBucket = []byte("credentials")
)

// FileName is the name of the database file inside the data directory.
const FileName = "passkeys.db"

// Store keeps users in one bbolt file, and the single-use marks of
// challenge sessions in memory (marks.go).
//
// Every write is durable when its method returns (bbolt syncs the file at
// each commit). Writes that arrive while a commit is under way are
// committed together in the next transaction (group commit), so that
// concurrent ceremonies share the cost of a sync instead of queueing for
// one each; a write that arrives alone is committed at once. bbolt's own
// DB.Batch groups writes too, but behind a timer that every lone write
// waits out: measured in one run against this committer, a serial login
// ceremony took 3.4 times as long with a 1 ms batch delay, and 64
// concurrent ceremonies reached 0.75 of the throughput.
type Store struct {
	db     *bolt.DB
	stop   chan struct{}
	done   chan struct{}
	writes chan *write // unbuffered: a write is either taken or refused
	wrote  chan struct{}

	// sessionKey seals this process's challenges; marks are their
	// single-use marks (marks.go).
	sessionKey []byte
	marks      *marks

	// pending holds the records RecordUse wrote and the flusher has not
	// committed yet (behind.go).
	pending   pendingUsers
	stopFlush chan struct{}
	flushed   chan struct{}

	// betweenWrites, when set (by tests), runs inside a user write after
	// the index is written and before the record is: an error from it
	// fails the write as a crash there would.
	betweenWrites func() error
}

// write is one write transaction function waiting for its commit. Its
// function may return passkey.ErrConflict or passkey.ErrNotFound only
// before it writes anything, so that its refusal does not spoil the
// writes it shares a transaction with; it may run more than once.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// maxGroup bounds how many writes share one transaction.
const maxGroup = 128

// errClosed is returned by writes after Close.
var errClosed = errors.New("embedded store: closed")

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
		if _, err := tx.CreateBucketIfNotExists(usersBucket); err != nil {
			return err
		}
		for _, b := range oldBuckets {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
		}
		if tx.Bucket(credentialsBucket) == nil {
			return indexExisting(tx)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{
		db: db, stop: make(chan struct{}), done: make(chan struct{}), writes: make(chan *write), wrote: make(chan struct{}),
		sessionKey: passkey.NewSessionKey(), marks: newMarks(),
		pending: pendingUsers{m: make(map[string]*pendingUser)}, stopFlush: make(chan struct{}), flushed: make(chan struct{}),
	}
	go s.sweep(sweepEvery)
	go s.commit()
	go s.flush(slog.Default())
	return s, nil
}

// Close stops the sweeper and the committer and closes the file.
func (s *Store) Close() error {
	close(s.stopFlush)
	<-s.flushed // the last uses are committed
	close(s.stop)
	<-s.done
	<-s.wrote
	return s.db.Close()
}

// update runs fn in a write transaction, possibly together with other
// writes, and returns once that transaction is committed and synced.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
		return <-w.done
	case <-s.stop:
		return errClosed
	}
}

// commit takes the writes one group at a time: the first that arrives,
// and every other one already waiting.
func (s *Store) commit() {
	defer close(s.wrote)
	for {
		var group []*write
		select {
		case <-s.stop:
			return
		case w := <-s.writes:
			group = append(group, w)
		}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup commits the writes in one transaction. A refusal
// (ErrConflict, ErrNotFound) is that write's answer and the others go on;
// any other failure rolls the transaction back and each write runs again
// in a transaction of its own.
func (s *Store) commitGroup(group []*write) {
	if len(group) == 1 {
		group[0].done <- s.db.Update(group[0].fn)
		return
	}
	results := make([]error, len(group))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, w := range group {
			results[i] = w.fn(tx)
			if err := results[i]; err != nil && !refusal(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, w := range group {
			w.done <- s.db.Update(w.fn)
		}
		return
	}
	for i, w := range group {
		w.done <- results[i]
	}
}

// refusal reports the errors a write function returns before it writes
// anything, which leave the transaction usable for the others.
func refusal(err error) bool {
	return errors.Is(err, passkey.ErrConflict) || errors.Is(err, passkey.ErrNotFound) || errors.Is(err, passkey.ErrCredentialTaken)
}

// GetUser returns passkey.ErrNotFound when the user has no record.
func (s *Store) GetUser(_ context.Context, id string) (*passkey.User, error) {
	if u := s.pendingUser(id); u != nil {
		return u, nil
	}
	var user *passkey.User
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := readUser(tx, id)
		if err != nil {
			return err
		}
		user = rec.User
		user.Version = strconv.FormatUint(rec.Version, 10)
		user.MarkIndexed()
		return nil
	})
	return user, err
}

// CreateUser returns passkey.ErrConflict when the user exists and
// passkey.ErrCredentialTaken when another user holds one of its
// credential ids.
func (s *Store) CreateUser(_ context.Context, u *passkey.User) error {
	user, err := json.Marshal(u)
	if err != nil {
		return err
	}
	u.Indexed = nil
	added, removed := u.IndexChanges()
	owner := new(byte)
	err = s.update(func(tx *bolt.Tx) error {
		s.pending.mu.Lock()
		defer s.pending.mu.Unlock()
		if _, found, err := s.pendingVersion(tx, u.ID, owner); err != nil || found {
			return cmp.Or(err, passkey.ErrConflict)
		}
		if err := s.writeUser(tx, u, user, 1, added, removed); err != nil {
			return err
		}
		s.committing(u.ID, owner, 1)
		return nil
	})
	s.committed(u.ID, owner, err)
	if err == nil {
		u.MarkIndexed()
	}
	return err
}

// ReplaceUser returns passkey.ErrNotFound when the user is gone,
// passkey.ErrConflict when it was written since u was read and
// passkey.ErrCredentialTaken when another user holds a credential id it
// adds.
func (s *Store) ReplaceUser(_ context.Context, u *passkey.User) error {
	user, err := json.Marshal(u)
	if err != nil {
		return err
	}
	added, removed := u.IndexChanges()
	owner := new(byte)
	want := u.Version // writeUser sets u.Version; the function may run twice
	err = s.update(func(tx *bolt.Tx) error {
		s.pending.mu.Lock()
		defer s.pending.mu.Unlock()
		version, found, err := s.pendingVersion(tx, u.ID, owner)
		switch {
		case err != nil:
			return err
		case !found:
			return passkey.ErrNotFound
		case strconv.FormatUint(version, 10) != want:
			return passkey.ErrConflict
		}
		if err := s.writeUser(tx, u, user, version+1, added, removed); err != nil {
			return err
		}
		s.committing(u.ID, owner, version+1)
		return nil
	})
	s.committed(u.ID, owner, err)
	if err == nil {
		u.MarkIndexed()
	}
	return err
}

// CredentialOwner returns passkey.ErrNotFound when no record holds the
// credential id.
func (s *Store) CredentialOwner(_ context.Context, credentialID []byte) (string, error) {
	var owner string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(credentialsBucket).Get(credentialID)
		if v == nil {
			return passkey.ErrNotFound
		}
		owner = string(v)
		return nil
	})
	return owner, err
}

// sweep forgets the marks of sessions whose retry window is over.
func (s *Store) sweep(every time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			_ = s.RemoveExpired(time.Now())
		}
	}
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

// readVersion reads only the version of the user's record.
func readVersion(tx *bolt.Tx, id string) (uint64, error) {
	data := tx.Bucket(usersBucket).Get([]byte(id))
	if data == nil {
		return 0, passkey.ErrNotFound
	}
	// writeUser starts every record with the version: read it from there.
	if rest, ok := bytes.CutPrefix(data, []byte(`{"version":`)); ok {
		if end := bytes.IndexByte(rest, ','); end > 0 {
			if v, err := strconv.ParseUint(string(rest[:end]), 10, 64); err == nil {
				return v, nil
			}
		}
	}
	var rec struct {
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return 0, fmt.Errorf("decoding user: %w", err)
	}
	return rec.Version, nil
}

// writeUser indexes the credential ids u adds (refusing, before anything
// is written, an id another user holds), unindexes those it removes, and
// stores the user (user: u encoded as JSON) as the record
// {"version":N,"user":...}, the encoding of record, built without encoding
// the user again inside the transaction.
func (s *Store) writeUser(tx *bolt.Tx, u *passkey.User, user []byte, version uint64, added, removed [][]byte) error {
	index := tx.Bucket(credentialsBucket)
	for _, id := range added {
		if owner := index.Get(id); owner != nil && string(owner) != u.ID {
			return passkey.ErrCredentialTaken
		}
	}
	for _, id := range added {
		if err := index.Put(id, []byte(u.ID)); err != nil {
			return err
		}
	}
	for _, id := range removed {
		if owner := index.Get(id); string(owner) == u.ID {
			if err := index.Delete(id); err != nil {
				return err
			}
		}
	}
	if s.betweenWrites != nil {
		if err := s.betweenWrites(); err != nil {
			return err
		}
	}
	if err := tx.Bucket(usersBucket).Put([]byte(u.ID), recordBytes(user, version)); err != nil {
		return err
	}
	u.Version = strconv.FormatUint(version, 10)
	return nil
}

// indexExisting creates the credential index of a file written before
// there was one, from every user record in it. Should two records hold one
// id (possible before the index), the first user in key order keeps it in
// the index; the other still signs in by name with it but cannot be found
// by it.
func indexExisting(tx *bolt.Tx) error {
	index, err := tx.CreateBucket(credentialsBucket)
	if err != nil {
		return err
	}
	return tx.Bucket(usersBucket).ForEach(func(k, v []byte) error {
		var rec record
		if err := json.Unmarshal(v, &rec); err != nil || rec.User == nil {
			return fmt.Errorf("indexing the credentials of user %s: %v", k, err)
		}
		for _, c := range rec.User.Credentials {
			if len(c.WebAuthn.ID) > 0 && index.Get(c.WebAuthn.ID) == nil {
				if err := index.Put(c.WebAuthn.ID, append([]byte(nil), k...)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
