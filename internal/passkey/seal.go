package passkey

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// A challenge is the session itself, sealed: the begin call writes
// nothing, and the finish call opens the challenge it finds in
// clientDataJSON. The sealed bytes are XChaCha20-Poly1305 with a random
// 24-byte nonce (which is also the challenge's randomness) under the
// store's session key, with the relying party ID as associated data;
// nobody without the key can read them (the objectId and journey inside)
// or make one. Use once is the store's single-use mark (ClaimSession),
// written at finish.
//
// Plaintext, version 1:
//
//	[0]      version (1)
//	[1]      ceremony (1 registration, 2 login; +16: conditional mediation)
//	[2:10]   expiry, Unix milliseconds, big-endian
//	[10]     n = length of the user id (0: usernameless), then n bytes
//	[..]     m = length of the correlation id, then m bytes
const sealVersion = 1

// SessionKeySize is the size of the key that seals challenges.
const SessionKeySize = chacha20poly1305.KeySize

// maxChallengeChars bounds a challenge read from clientDataJSON before it
// is decoded: the longest sealed session (a 64-byte objectId and a
// 128-byte correlation id) is 285 bytes, 380 characters.
const maxChallengeChars = 400

// minChallengeChars is the length of the shortest sealed session (no
// user, no journey): 24 + 12 + 16 bytes.
const minChallengeChars = 70

// sealer seals and opens challenge sessions.
type sealer struct {
	aead cipher.AEAD
	rpID []byte
}

func newSealer(key []byte, rpID string) (*sealer, error) {
	if len(key) != SessionKeySize {
		return nil, fmt.Errorf("session key: %d bytes, want %d", len(key), SessionKeySize)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, rpID: []byte(rpID)}, nil
}

// seal returns the challenge (base64url, no padding) that carries the
// session's ceremony, user, journey and expiry.
func (s *sealer) seal(session *Session) (string, error) {
	userID, correlationID := session.UserID, session.CorrelationID
	if len(userID) > 255 || len(correlationID) > 255 {
		return "", errors.New("sealing a session: user or correlation id too long")
	}
	nonceSize := s.aead.NonceSize()
	plain := make([]byte, 0, 12+len(userID)+len(correlationID))
	kind := ceremonyByte(session.Ceremony)
	if session.Conditional {
		kind |= conditionalBit
	}
	plain = append(plain, sealVersion, kind)
	plain = binary.BigEndian.AppendUint64(plain, uint64(session.ExpiresAt.UnixMilli()))
	plain = append(plain, byte(len(userID)))
	plain = append(plain, userID...)
	plain = append(plain, byte(len(correlationID)))
	plain = append(plain, correlationID...)

	out := make([]byte, nonceSize, nonceSize+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", err
	}
	out = s.aead.Seal(out, out[:nonceSize], plain, s.rpID)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// errNotSealed is the answer to a challenge this service did not issue
// (or issued under another key: before a restart of the embedded store,
// or for another relying party).
var errNotSealed = errors.New("not a challenge this service issued")

// open returns the session sealed in the challenge, without its claim.
func (s *sealer) open(challenge string) (*Session, error) {
	if challenge == "" || len(challenge) > maxChallengeChars {
		return nil, errNotSealed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(challenge)
	nonceSize := s.aead.NonceSize()
	if err != nil || len(raw) < nonceSize+s.aead.Overhead() {
		return nil, errNotSealed
	}
	plain, err := s.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], s.rpID)
	if err != nil || len(plain) < 12 || plain[0] != sealVersion {
		return nil, errNotSealed
	}
	session := &Session{Challenge: challenge, Conditional: plain[1]&conditionalBit != 0}
	switch plain[1] &^ conditionalBit {
	case 1:
		session.Ceremony = Registration
	case 2:
		session.Ceremony = Login
	default:
		return nil, errNotSealed
	}
	session.ExpiresAt = time.UnixMilli(int64(binary.BigEndian.Uint64(plain[2:10]))).UTC()
	rest := plain[10:]
	userID, rest, ok := cutLength(rest)
	if !ok {
		return nil, errNotSealed
	}
	correlationID, rest, ok := cutLength(rest)
	if !ok || len(rest) != 0 {
		return nil, errNotSealed
	}
	session.UserID, session.CorrelationID = string(userID), string(correlationID)
	return session, nil
}

// cutLength splits a length-prefixed field off b.
func cutLength(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return b[1 : 1+n], b[1+n:], true
}

// conditionalBit marks a session begun with conditional mediation.
const conditionalBit = 16

func ceremonyByte(c Ceremony) byte {
	if c == Registration {
		return 1
	}
	return 2
}

// NewSessionKey returns a random session key.
func NewSessionKey() []byte {
	key := make([]byte, SessionKeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on a supported platform
	}
	return key
}
