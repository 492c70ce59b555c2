package passkey

import "context"

// UserStore keeps user records, each with all of its credentials.
type UserStore interface {
	// GetUser returns the user with the given id and sets its Version.
	// It returns ErrNotFound when no record exists.
	GetUser(ctx context.Context, id string) (*User, error)
	// CreateUser stores a new user record and sets u.Version. It returns
	// ErrConflict when a record with that id exists.
	CreateUser(ctx context.Context, u *User) error
	// ReplaceUser overwrites the record if its stored version still equals
	// u.Version, and sets u.Version to the new one. It returns ErrConflict
	// when the stored version differs and ErrNotFound when it is gone.
	ReplaceUser(ctx context.Context, u *User) error
}

// SessionStore keeps challenge sessions until they expire.
type SessionStore interface {
	// CreateSession stores a new session. It returns ErrConflict when a
	// session with that challenge exists.
	CreateSession(ctx context.Context, s *Session) error
	// ClaimSession atomically sets the claim of the session with the given
	// challenge if it has none yet. It returns the session as stored after
	// the call and whether this call set the claim; of any number of
	// concurrent calls exactly one wins. It returns ErrNotFound when no
	// session has that challenge (never used, or removed after expiry).
	ClaimSession(ctx context.Context, challenge, claim string) (s *Session, won bool, err error)
}

// Store is everything the ceremonies need from storage.
type Store interface {
	UserStore
	SessionStore
	// Close releases the store's resources.
	Close() error
}
