package passkey

import "context"

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
	// CredentialOwner returns the id of the user whose record holds the
	// credential id. It returns ErrNotFound when no record holds it.
	CredentialOwner(ctx context.Context, credentialID []byte) (string, error)
}

// SessionStore keeps challenge sessions until they expire. A session is
// written once by CreateSession, claimed once by ClaimSession and given
// its result once by SetResult; nothing else writes it, so a store may
// keep sessions wherever it likes (another container, memory) as long as a
// claim is atomic across every instance that may answer the finish, and a
// result is seen by every later claim.
type SessionStore interface {
	// CreateSession stores a new session (s.Claim nil). It returns
	// ErrConflict when a session with that challenge exists.
	CreateSession(ctx context.Context, s *Session) error
	// ClaimSession atomically sets the claim of the session with the given
	// challenge if it has none yet. It returns the session as stored after
	// the call, with its Claim (the given one, or the one that was there),
	// and whether this call set it; of any number of concurrent calls
	// exactly one wins. It returns ErrNotFound when no session has that
	// challenge (never stored, or removed some time after expiry).
	ClaimSession(ctx context.Context, challenge string, claim Claim) (s *Session, won bool, err error)
	// SetResult records the result of the finish call that claimed the
	// session, so that ClaimSession returns it with the session from then
	// on. It returns ErrNotFound when no session has that challenge.
	SetResult(ctx context.Context, challenge string, result *Result) error
}

// Store is everything the ceremonies need from storage.
type Store interface {
	UserStore
	SessionStore
	// Close releases the store's resources.
	Close() error
}
