// Package floor is the least work a login can cost: go-webauthn parses an
// assertion and its signature is verified against the stored public key.
// Every speed figure of the handler is reported as a ratio of it.
package floor

import (
	"crypto/sha256"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// Login is one assertion and the public key that verifies it.
type Login struct {
	assertion []byte
	publicKey []byte
}

// New registers a passkey with a software authenticator for origin and
// signs one assertion with it.
func New(origin string) (*Login, error) {
	a, err := softauthn.New(origin)
	if err != nil {
		return nil, err
	}
	created, err := a.Register(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"YmVuY2g"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(created))
	if err != nil {
		return nil, err
	}
	assertion, err := a.Login(`{"publicKey":{"rpId":"localhost","challenge":"AQEBAQEBAQEBAQEBAQEBAQ"}}`)
	if err != nil {
		return nil, err
	}
	return &Login{
		assertion: []byte(assertion),
		publicKey: parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey,
	}, nil
}

// Verify parses the assertion and verifies its signature: the floor.
func (l *Login) Verify() error {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(l.assertion)
	if err != nil {
		return err
	}
	key, err := webauthncose.ParsePublicKey(l.publicKey)
	if err != nil {
		return err
	}
	clientHash := sha256.Sum256(parsed.Raw.AssertionResponse.ClientDataJSON)
	signed := append(append([]byte(nil), parsed.Raw.AssertionResponse.AuthenticatorData...), clientHash[:]...)
	ok, err := webauthncose.VerifySignature(key, signed, parsed.Response.Signature)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("floor: the signature does not verify")
	}
	return nil
}
