package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// storedCredential is how a Credential is kept: short member names,
// base64url bytes, flags in one number, times in Unix seconds, no
// authenticator attachment (neither verification nor display uses it), so
// that a user with a hundred passkeys stays under 64 KB (BENCHMARKS.md,
// "Record sizes"). Records written before (the whole go-webauthn
// credential under "webauthn") are still read.
type storedCredential struct {
	ID           b64url                            `json:"id"`
	PublicKey    b64url                            `json:"pk"`
	Format       string                            `json:"fmt,omitempty"`
	Transports   []protocol.AuthenticatorTransport `json:"tr,omitempty"`
	Flags        uint8                             `json:"fl"`
	AAGUID       b64url                            `json:"aaguid,omitempty"` // left out when all zero
	SignCount    uint32                            `json:"sc,omitempty"`
	CloneWarning bool                              `json:"cw,omitempty"`
	BEChanged    bool                              `json:"bec,omitempty"`
	RK           *bool                             `json:"rk,omitempty"`
	Verified     bool                              `json:"av,omitempty"`
	Description  string                            `json:"desc,omitempty"`
	Name         string                            `json:"name"`
	CreatedAt    int64                             `json:"created"`
	LastUsedAt   int64                             `json:"used"`
	Challenge    string                            `json:"ch,omitempty"`
}

// The bits of storedCredential.Flags.
const (
	flagUP = 1 << iota
	flagUV
	flagBE
	flagBS
)

// MarshalJSON writes the credential in its stored form.
func (c Credential) MarshalJSON() ([]byte, error) {
	k := c.WebAuthn
	s := storedCredential{
		ID:           k.ID,
		PublicKey:    k.PublicKey,
		Format:       k.AttestationFormat,
		Transports:   k.Transport,
		SignCount:    k.Authenticator.SignCount,
		CloneWarning: k.Authenticator.CloneWarning,
		BEChanged:    c.BackupEligibleChanged,
		RK:           k.Extensions.RK,
		Verified:     c.AttestationVerified,
		Description:  c.Description,
		Name:         c.Name,
		CreatedAt:    c.CreatedAt.Unix(),
		LastUsedAt:   c.LastUsedAt.Unix(),
		Challenge:    c.Challenge,
	}
	if len(bytes.Trim(k.Authenticator.AAGUID, "\x00")) > 0 {
		s.AAGUID = k.Authenticator.AAGUID
	}
	for bit, set := range map[uint8]bool{flagUP: k.Flags.UserPresent, flagUV: k.Flags.UserVerified, flagBE: k.Flags.BackupEligible, flagBS: k.Flags.BackupState} {
		if set {
			s.Flags |= bit
		}
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads the stored form, or the earlier one.
func (c *Credential) UnmarshalJSON(data []byte) error {
	var probe struct {
		WebAuthn json.RawMessage `json:"webauthn"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	if probe.WebAuthn != nil {
		type legacy struct {
			WebAuthn              Key       `json:"webauthn"`
			Name                  string    `json:"name"`
			CreatedAt             time.Time `json:"createdAt"`
			LastUsedAt            time.Time `json:"lastUsedAt"`
			Challenge             string    `json:"challenge"`
			BackupEligibleChanged bool      `json:"backupEligibleChanged"`
			AttestationVerified   bool      `json:"attestationVerified"`
			Description           string    `json:"description"`
		}
		var l legacy
		if err := json.Unmarshal(data, &l); err != nil {
			return err
		}
		*c = Credential(l)
		return nil
	}
	var s storedCredential
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	aaguid := []byte(s.AAGUID)
	if aaguid == nil {
		aaguid = make([]byte, 16)
	}
	*c = Credential{
		WebAuthn: Key{
			ID:                s.ID,
			PublicKey:         s.PublicKey,
			AttestationFormat: s.Format,
			Transport:         s.Transports,
			Flags: webauthn.CredentialFlags{
				UserPresent:    s.Flags&flagUP != 0,
				UserVerified:   s.Flags&flagUV != 0,
				BackupEligible: s.Flags&flagBE != 0,
				BackupState:    s.Flags&flagBS != 0,
			},
			Authenticator: webauthn.Authenticator{
				AAGUID:       aaguid,
				SignCount:    s.SignCount,
				CloneWarning: s.CloneWarning,
			},
			Extensions: KeyExtensions{RK: s.RK},
		},
		Name:                  s.Name,
		CreatedAt:             time.Unix(s.CreatedAt, 0).UTC(),
		LastUsedAt:            time.Unix(s.LastUsedAt, 0).UTC(),
		Challenge:             s.Challenge,
		BackupEligibleChanged: s.BEChanged,
		AttestationVerified:   s.Verified,
		Description:           s.Description,
	}
	return nil
}

// b64url is bytes that JSON carries as unpadded base64url, a third
// shorter than padded base64 for a key and no escaping of '/' or '+'.
type b64url []byte

func (b b64url) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *b64url) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	decoded, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	*b = decoded
	return nil
}
