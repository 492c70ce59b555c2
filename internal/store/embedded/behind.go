package embedded

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// UseFlushEvery is how often the uses of passkeys that RecordUse keeps in
// memory are committed to the file, all of them in one synced
// transaction. A crash loses at most this much of them: sign counters a
// little behind (the genuine authenticator's next counter is still
// higher, so it still signs in) and last-used times. Everything the
// handler acknowledges to a user (a registered passkey, a rename, a
// delete, a clone warning) is written and synced before it answers.
const UseFlushEvery = time.Second

// pendingUser is a user record newer than the file's: one RecordUse
// wrote (owner nil: waiting for the next flush), or one a durable write
// is committing (owner set; readers and RecordUse skip it until the
// commit ends).
type pendingUser struct {
	user    *passkey.User // not changed after it is stored here
	version uint64
	owner   *byte // the durable write committing it; nil for a use
	prev    *pendingUser
}

// pendingUsers maps user ids to their pending records.
type pendingUsers struct {
	mu sync.Mutex
	m  map[string]*pendingUser
}

// current returns the newest pending record of the user that readers may
// see: the one under a durable write being committed, if any.
func (p *pendingUsers) current(id string) *pendingUser {
	e := p.m[id]
	for e != nil && e.owner != nil {
		e = e.prev
	}
	return e
}

// RecordUse replaces the user's record like ReplaceUser (same refusals),
// but returns before the change is on disk: it is committed within
// UseFlushEvery, together with every other use of that interval, and
// read back from memory until then. It is for what a login records (sign
// counter, flags, last use), never for a change of the credentials.
func (s *Store) RecordUse(ctx context.Context, u *passkey.User) error {
	if added, removed := u.IndexChanges(); len(added) > 0 || len(removed) > 0 {
		return s.ReplaceUser(ctx, u)
	}
	// The record is encoded by the flush, once for all the uses of the
	// user in that second.
	s.pending.mu.Lock()
	defer s.pending.mu.Unlock()
	var version uint64
	switch top := s.pending.m[u.ID]; {
	case top != nil && top.owner != nil:
		return passkey.ErrConflict // a durable write of this user is under way
	case top != nil:
		version = top.version
	default:
		err := s.db.View(func(tx *bolt.Tx) (err error) {
			version, err = readVersion(tx, u.ID)
			return err
		})
		if err != nil {
			return err
		}
	}
	if strconv.FormatUint(version, 10) != u.Version {
		return passkey.ErrConflict
	}
	version++
	stored := *u
	stored.Credentials = append([]passkey.Credential(nil), u.Credentials...)
	s.pending.m[u.ID] = &pendingUser{user: &stored, version: version}
	u.Version = strconv.FormatUint(version, 10)
	return nil
}

// pendingUser returns a copy of the user's pending record, or nil.
func (s *Store) pendingUser(id string) *passkey.User {
	s.pending.mu.Lock()
	e := s.pending.current(id)
	s.pending.mu.Unlock()
	if e == nil {
		return nil
	}
	u := *e.user
	u.Credentials = append([]passkey.Credential(nil), e.user.Credentials...)
	u.Version = strconv.FormatUint(e.version, 10)
	u.MarkIndexed()
	return &u
}

// pendingVersion returns the version a durable write of the user must
// match, inside its transaction, and marks the user as being committed by
// owner: the pending record if there is one, else the file's.
func (s *Store) pendingVersion(tx *bolt.Tx, id string, owner *byte) (version uint64, found bool, err error) {
	top := s.pending.m[id]
	if top != nil && top.owner == owner {
		top = top.prev // this write's own mark from a try that was rolled back
	}
	if top != nil {
		return top.version, true, nil
	}
	v, err := readVersion(tx, id)
	if err == passkey.ErrNotFound {
		return 0, false, nil
	}
	return v, err == nil, err
}

// committing marks the user's record as being written by owner at version.
func (s *Store) committing(id string, owner *byte, version uint64) {
	top := s.pending.m[id]
	if top != nil && top.owner == owner {
		top = top.prev
	}
	s.pending.m[id] = &pendingUser{owner: owner, version: version, prev: top}
}

// committed ends owner's mark on the user: the pending records under it
// are in the file when the write succeeded (it was made on top of them),
// and back in view when it failed.
func (s *Store) committed(id string, owner *byte, err error) {
	s.pending.mu.Lock()
	defer s.pending.mu.Unlock()
	top := s.pending.m[id]
	if top == nil || top.owner != owner {
		return
	}
	if err == nil || top.prev == nil {
		delete(s.pending.m, id)
		return
	}
	s.pending.m[id] = top.prev
}

// flushUses commits every pending use in one transaction. The records
// are encoded outside the lock; a record whose user the file already
// holds at that version or later (a durable write committed it since) is
// left out.
func (s *Store) flushUses() error {
	type flushing struct {
		e    *pendingUser
		data []byte
	}
	s.pending.mu.Lock()
	batch := make(map[string]flushing, len(s.pending.m))
	for id, e := range s.pending.m {
		if e.owner == nil { // a durable write commits its own
			batch[id] = flushing{e: e}
		}
	}
	s.pending.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	for id, f := range batch {
		user, err := json.Marshal(f.e.user)
		if err != nil {
			return err
		}
		f.data = recordBytes(user, f.e.version)
		batch[id] = f
	}
	err := s.update(func(tx *bolt.Tx) error {
		users := tx.Bucket(usersBucket)
		for id, f := range batch {
			if v, err := readVersion(tx, id); err != nil || v >= f.e.version {
				continue // gone, or written since by a durable write
			}
			if err := users.Put([]byte(id), f.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.pending.mu.Lock()
	defer s.pending.mu.Unlock()
	for id, f := range batch {
		if s.pending.m[id] == f.e {
			delete(s.pending.m, id)
		}
	}
	return nil
}

// flush commits the pending uses every UseFlushEvery, and once more at
// Close.
func (s *Store) flush(logger *slog.Logger) {
	defer close(s.flushed)
	ticker := time.NewTicker(UseFlushEvery)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopFlush:
			if err := s.flushUses(); err != nil {
				logger.Error("embedded store: committing the last uses of passkeys", slog.String("error", err.Error()))
			}
			return
		case <-ticker.C:
			s.pending.mu.Lock()
			n := len(s.pending.m)
			s.pending.mu.Unlock()
			if n == 0 {
				continue
			}
			if err := s.flushUses(); err != nil {
				logger.Warn("embedded store: committing uses of passkeys (tried again)", slog.String("error", err.Error()))
			}
		}
	}
}

// recordBytes is the file's encoding of a user record: the version first
// (readVersion reads only that), then the user's JSON.
func recordBytes(user []byte, version uint64) []byte {
	data := make([]byte, 0, len(user)+40)
	data = append(data, `{"version":`...)
	data = strconv.AppendUint(data, version, 10)
	data = append(data, `,"user":`...)
	data = append(data, user...)
	return append(data, '}')
}
