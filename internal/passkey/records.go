package passkey

import (
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// User is one B2C user and all of their passkeys, stored as one record so
// that listing devices is a single read and every change is one atomic
// replace. The B2C objectId doubles as the WebAuthn user handle: it is an
// opaque directory GUID, not a name or an address, and it lets a
// usernameless login find its user without another index.
type User struct {
	ID          string       `json:"id"`
	Credentials []Credential `json:"credentials"`
	// Version is the store's concurrency token (an ETag, a counter). The
	// store sets it on read and write; callers only pass it back.
	Version string `json:"-"`
}

// Credential is one registered passkey with what a security team needs to
// judge it later: key, counter, clone warning, flags, transports, AAGUID,
// attestation format and statement, creation and last use.
type Credential struct {
	WebAuthn   webauthn.Credential `json:"webauthn"`
	Name       string              `json:"name"`
	CreatedAt  time.Time           `json:"createdAt"`
	LastUsedAt time.Time           `json:"lastUsedAt"`
	// Challenge is the challenge of the ceremony that last wrote this
	// credential, so that an identical retry of that ceremony is
	// recognised as already applied.
	Challenge string `json:"challenge,omitempty"`
	// AttestationVerified: at registration the attestation chained to a
	// root the FIDO metadata lists for the AAGUID.
	AttestationVerified bool `json:"attestationVerified,omitempty"`
	// Description is the FIDO metadata's description of the
	// authenticator, where it is listed.
	Description string `json:"description,omitempty"`
}

// Ceremony names what a challenge session was begun for.
type Ceremony string

const (
	Registration Ceremony = "registration"
	Login        Ceremony = "login"
)

// Session is one challenge session, stored by its challenge (base64url, as
// it returns inside clientDataJSON) and used once.
type Session struct {
	Challenge string               `json:"id"`
	Ceremony  Ceremony             `json:"ceremony"`
	UserID    string               `json:"userId,omitempty"` // empty: usernameless login
	Data      webauthn.SessionData `json:"data"`
	ExpiresAt time.Time            `json:"expiresAt"`
	// User is the user record as read when the ceremony began, so that a
	// finish can write it back without reading it again; a stale copy is
	// detected by its Version and read afresh. UserVersion "" means the
	// user had no record yet.
	User        *User  `json:"user,omitempty"`
	UserVersion string `json:"userVersion,omitempty"`
	// Claim is set once, atomically, by the first finish call: the digest
	// of its request. An identical retry carries the same digest.
	Claim string `json:"claim,omitempty"`
}

// Find returns the index of the credential with the given id, or -1.
func (u *User) Find(id []byte) int {
	for i := range u.Credentials {
		if string(u.Credentials[i].WebAuthn.ID) == string(id) {
			return i
		}
	}
	return -1
}

// webauthnUser adapts a User to go-webauthn's User interface.
type webauthnUser struct {
	user        *User
	name        string
	displayName string
}

func (w webauthnUser) WebAuthnID() []byte          { return []byte(w.user.ID) }
func (w webauthnUser) WebAuthnName() string        { return w.name }
func (w webauthnUser) WebAuthnDisplayName() string { return w.displayName }

func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential {
	creds := make([]webauthn.Credential, len(w.user.Credentials))
	for i, c := range w.user.Credentials {
		creds[i] = c.WebAuthn
	}
	return creds
}
