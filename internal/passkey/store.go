package passkey

import (
	"context"
	"time"
)

// UserStore keeps user records, each with all of its credentials, and an
// index from credential id to the user that holds it.
//
// The index makes a credential id belong to at most one user in the whole
// store: CreateUser and ReplaceUser refuse a record that holds an id
// another user's record holds, and keep the index in step with the records
// they write, also when the process stops between two writes or two
// instances write at once (how is each engine's business; the store
// contract suite, storetest, proves it with a fault between the writes).
type UserStore interface {
	// GetUser returns the user with the given id and sets its Version.
	// It returns ErrNotFound when no record exists.
	GetUser(ctx context.Context, id string) (*User, error)
	// CreateUser stores a new user record and sets u.Version. It returns
	// ErrConflict when a record with that id exists and
	// ErrCredentialTaken when one of its credential ids belongs to another
	// user; either way nothing is written.
	CreateUser(ctx context.Context, u *User) error
	// ReplaceUser overwrites the record if its stored version still equals
	// u.Version, and sets u.Version to the new one. It returns ErrConflict
	// when the stored version differs, ErrNotFound when it is gone and
	// ErrCredentialTaken when a credential id it adds belongs to another
	// user; in each case the record is left as it was.
	ReplaceUser(ctx context.Context, u *User) error
	// RecordUse is ReplaceUser (same refusals) for what a login records
	// of a passkey's use: sign counter, flags, last use; never a change of
	// the credentials. A store may make it durable a little later than it
	// returns (the embedded store commits the uses of each second
	// together), as long as every read sees it at once.
	RecordUse(ctx context.Context, u *User) error
	// CredentialOwner returns the id of the user whose record holds the
	// credential id. It returns ErrNotFound when no record holds it.
	CredentialOwner(ctx context.Context, credentialID []byte) (string, error)
}

// SessionStore seals challenge sessions and keeps the single-use mark of
// each. A begin call writes nothing: its session is sealed into the
// challenge itself (seal.go) under SessionKey. The finish call's claim is
// the first write, atomic across every instance that may answer the
// finish; its result, once known, is kept with it for B2C's retry.
type SessionStore interface {
	// SessionKey returns the key (SessionKeySize bytes) that seals
	// challenges. Every instance that shares the store has the same key,
	// so that any of them can open a challenge another one issued. A
	// store whose marks do not outlive the process (the embedded store
	// keeps them in memory) makes a new key at each start: every
	// challenge issued before a crash is unknown after it, so none can be
	// used twice.
	SessionKey() []byte
	// ClaimSession stores claim as the single-use mark of the challenge
	// unless the challenge has one already, and keeps it at least until
	// keepUntil. It returns the first claim (the given one, or the one
	// that was there, with the result SetResult gave it) and whether this
	// call stored it; of any number of concurrent calls exactly one wins.
	// A store may keep of a result only that there was one (an empty
	// Result): the service then rebuilds it from the record.
	ClaimSession(ctx context.Context, challenge string, claim Claim, keepUntil time.Time) (first Claim, won bool, err error)
	// SetResult replaces the result of the challenge's claim (nil: the
	// call did not succeed after all, and a retry runs it again). It
	// returns ErrNotFound when the challenge has no claim.
	SetResult(ctx context.Context, challenge string, result *Result) error
}

// Store is everything the ceremonies need from storage.
type Store interface {
	UserStore
	SessionStore
	// Close releases the store's resources.
	Close() error
}
