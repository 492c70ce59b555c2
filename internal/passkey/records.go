package passkey

import (
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// User is one B2C user and all of their passkeys, stored as one record so
// that listing devices is a single read and every change is one atomic
// replace. The B2C objectId doubles as the WebAuthn user handle: it is an
// opaque directory GUID, not a name or an address.
type User struct {
	ID          string       `json:"id"`
	Credentials []Credential `json:"credentials"`
	// Marks are the single-use marks of named logins on a store that
	// keeps them in the record (MarksInRecords); each is dropped once its
	// session and retry window are over.
	Marks []Mark `json:"marks,omitempty"`
	// Version is the store's concurrency token (an ETag, a counter). The
	// store sets it on read and write; callers only pass it back.
	Version string `json:"-"`
	// Indexed lists the credential ids the record held when the store last
	// read or wrote it, so that a replace indexes only the ids it adds and
	// unindexes only those it removes. Like Version, the store sets it and
	// callers pass it back untouched.
	Indexed [][]byte `json:"-"`
}

// credentialIDs returns the ids of the user's credentials.
func (u *User) credentialIDs() [][]byte {
	ids := make([][]byte, 0, len(u.Credentials))
	for _, c := range u.Credentials {
		if len(c.WebAuthn.ID) > 0 { // no real credential lacks one
			ids = append(ids, c.WebAuthn.ID)
		}
	}
	return ids
}

// IndexChanges returns the credential ids u holds that u.Indexed does not
// (added) and those u.Indexed holds that u does not (removed): what a
// store's index must gain and lose when it writes u.
func (u *User) IndexChanges() (added, removed [][]byte) {
	had := make(map[string]bool, len(u.Indexed))
	for _, id := range u.Indexed {
		had[string(id)] = true
	}
	has := make(map[string]bool, len(u.Credentials))
	for _, id := range u.credentialIDs() {
		has[string(id)] = true
		if !had[string(id)] {
			added = append(added, id)
		}
	}
	for _, id := range u.Indexed {
		if !has[string(id)] {
			removed = append(removed, id)
		}
	}
	return added, removed
}

// MarkIndexed records that the store's index now matches u's credentials.
func (u *User) MarkIndexed() { u.Indexed = u.credentialIDs() }

// Credential is one registered passkey with what a security team needs to
// judge it later: key, counter, clone warning, flags, transports, AAGUID,
// attestation format, creation and last use. Its stored JSON form is in
// encoding.go.
type Credential struct {
	WebAuthn   Key
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// Challenge is the tag (challengeTag) of the ceremony that last wrote
	// this credential, so that a retry of that ceremony whose result was
	// not recorded finds the change already made.
	Challenge string
	// BackupEligibleChanged is set once the authenticator reported a
	// backup-eligible flag other than the one it registered with.
	BackupEligibleChanged bool
	// AttestationVerified: at registration the attestation chained to a
	// root the FIDO metadata lists for the AAGUID.
	AttestationVerified bool
	// Description is the FIDO metadata's description of the
	// authenticator, where it is listed.
	Description string
}

// Key is what verification and display need of a passkey, and nothing the
// client sent besides: the attestation object, clientDataJSON and
// extension outputs go-webauthn's Credential also carries are not kept
// (they are unverified client bytes here: no attestation is checked
// against a trust anchor). The JSON names are go-webauthn's, so that
// records written as its Credential are still read.
type Key struct {
	ID                []byte                            `json:"id"`
	PublicKey         []byte                            `json:"publicKey"`
	AttestationFormat string                            `json:"attestationFormat,omitempty"`
	Transport         []protocol.AuthenticatorTransport `json:"transport,omitempty"`
	Flags             webauthn.CredentialFlags          `json:"flags"`
	Authenticator     webauthn.Authenticator            `json:"authenticator"`
	Extensions        KeyExtensions                     `json:"extensions,omitzero"`
}

// KeyExtensions are the registration's extension outputs worth keeping.
type KeyExtensions struct {
	// RK is the credProps extension's rk as the browser reported it: the
	// passkey is discoverable (signs in without a user name); nil: not said.
	RK *bool `json:"rk,omitempty"`
}

// credential is the key in go-webauthn's form, for verification.
func (k Key) credential() webauthn.Credential {
	return webauthn.Credential{
		ID:                k.ID,
		PublicKey:         k.PublicKey,
		AttestationFormat: k.AttestationFormat,
		Transport:         k.Transport,
		Flags:             k.Flags,
		Authenticator:     k.Authenticator,
		Extensions:        webauthn.CredentialExtensions{RK: k.Extensions.RK},
	}
}

// Ceremony names what a challenge session was begun for.
type Ceremony string

const (
	Registration Ceremony = "registration"
	Login        Ceremony = "login"
)

// Session is one challenge session, sealed into its challenge (seal.go)
// and used once: its claim is its only stored part. It holds no copy of
// the user record: a finish reads the user afresh.
type Session struct {
	Challenge string
	Ceremony  Ceremony
	UserID    string // empty: usernameless login
	// CorrelationID is the B2C journey (correlationId) of the begin call;
	// a finish must carry the same one. Empty: the begin had none.
	CorrelationID string
	ExpiresAt     time.Time
	// Conditional: a registration begun with conditional mediation (the
	// automatic upgrade), which verifies with other settings.
	Conditional bool
}

// Result is what a successful finish call answered: for a registration
// the new passkey and the user's passkey count, for a login the user and
// the passkey used.
type Result struct {
	ObjectID      string `json:"objectId"`
	CredentialID  []byte `json:"credentialId"`
	DeviceName    string `json:"deviceName"`
	DeviceCount   int    `json:"deviceCount,omitempty"`
	UserVerified  bool   `json:"userVerified,omitempty"`
	PasskeySynced bool   `json:"passkeySynced,omitempty"`
}

// Claim is the single-use mark of a session, stored by the first finish
// call: the digest of its request (an identical retry carries the same),
// when it came (expiry and the retry window are judged from the first
// attempt), and its result once it succeeded (an identical retry gets it
// again; without one, the retry runs the ceremony again).
type Claim struct {
	// Digest is the hex of DigestSize bytes of SHA-256 (digest in
	// journey.go).
	Digest string    `json:"digest"`
	At     time.Time `json:"at"`
	Result *Result   `json:"result,omitempty"`
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
		creds[i] = c.WebAuthn.credential()
	}
	return creds
}
