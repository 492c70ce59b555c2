package embedded

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// marks keeps the single-use marks of challenge sessions in memory. The
// embedded store serves one process (bbolt locks its file), and its
// session key is made afresh at each start: a challenge issued before a
// crash cannot be opened after it, so a mark never needs to outlive the
// process, and a claim costs no write to disk. A login's mark takes about
// 90 bytes until its session's expiry plus the retry window (it keeps
// only that the finish succeeded; the service rebuilds the answer from
// the record): at 1,000 logins a second and the default 5-minute
// sessions, about 35 MB at most; at a B2C tenant's usual rates, a few.
type marks struct {
	mu sync.Mutex
	m  map[[16]byte]mark
}

// mark is a claim in compact form.
type mark struct {
	digest [sha256.Size]byte // the claim's hex digest, decoded
	at     int64             // Unix nanoseconds
	until  int64             // Unix nanoseconds
	// succeeded: the claim has a result. A registration's is kept whole
	// (registrations are few, and the passkey may be deleted before the
	// retry); of a login's only that there is one (ClaimSession returns an
	// empty one, which the service rebuilds from the record and request).
	succeeded bool
	result    *passkey.Result
}

func newMarks() *marks { return &marks{m: make(map[[16]byte]mark)} }

// markKey is the map key of a challenge: a digest, so that a key's size
// does not depend on the challenge's.
func markKey(challenge string) [16]byte {
	sum := sha256.Sum256([]byte(challenge))
	return [16]byte(sum[:16])
}

func (m mark) claim() passkey.Claim {
	c := passkey.Claim{Digest: hex.EncodeToString(m.digest[:]), At: time.Unix(0, m.at).UTC()}
	switch {
	case m.result != nil:
		c.Result = m.result
	case m.succeeded:
		c.Result = &passkey.Result{}
	}
	return c
}

// SessionKey returns the key made when the store was opened.
func (s *Store) SessionKey() []byte { return s.sessionKey }

// ClaimSession stores the claim unless the challenge has one; it fails
// only on a digest that is not the service's (hex SHA-256).
func (s *Store) ClaimSession(_ context.Context, challenge string, claim passkey.Claim, keepUntil time.Time) (passkey.Claim, bool, error) {
	m := mark{at: claim.At.UnixNano(), until: keepUntil.UnixNano(), succeeded: claim.Result != nil, result: registration(claim.Result)}
	if n, err := hex.Decode(m.digest[:], []byte(claim.Digest)); err != nil || n != sha256.Size {
		return passkey.Claim{}, false, fmt.Errorf("embedded store: a claim's digest must be hex SHA-256")
	}
	k := markKey(challenge)
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	if first, ok := s.marks.m[k]; ok {
		return first.claim(), false, nil
	}
	s.marks.m[k] = m
	return claim, true, nil
}

// registration returns a copy of a registration's result (it counts the
// user's passkeys), nil for a login's.
func registration(r *passkey.Result) *passkey.Result {
	if r == nil || r.DeviceCount == 0 {
		return nil
	}
	c := *r
	c.CredentialID = bytes.Clone(r.CredentialID)
	return &c
}

// SetResult replaces the result of the challenge's claim. It returns
// passkey.ErrNotFound when the challenge has none.
func (s *Store) SetResult(_ context.Context, challenge string, result *passkey.Result) error {
	k := markKey(challenge)
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	m, ok := s.marks.m[k]
	if !ok {
		return passkey.ErrNotFound
	}
	m.succeeded, m.result = result != nil, registration(result)
	s.marks.m[k] = m
	return nil
}

// RemoveExpired forgets the marks kept until before t.
func (s *Store) RemoveExpired(t time.Time) error {
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	for k, m := range s.marks.m {
		if m.until < t.UnixNano() {
			delete(s.marks.m, k)
		}
	}
	return nil
}
