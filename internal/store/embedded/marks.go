package embedded

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// marks keeps the single-use marks of challenge sessions in memory. The
// embedded store serves one process (bbolt locks its file), and its
// session key is made afresh at each start: a challenge issued before a
// crash cannot be opened after it, so a mark never needs to outlive the
// process, and a claim costs no write to disk. Each mark takes about 250
// bytes until its session's expiry plus the retry window (at 1,000 logins
// a second and the default 5-minute sessions, about 45 MB at most).
type marks struct {
	mu sync.Mutex
	m  map[[16]byte]mark
}

type mark struct {
	claim passkey.Claim
	until time.Time
}

func newMarks() *marks { return &marks{m: make(map[[16]byte]mark)} }

// markKey is the map key of a challenge: a digest, so that a key's size
// does not depend on the challenge's.
func markKey(challenge string) [16]byte {
	sum := sha256.Sum256([]byte(challenge))
	return [16]byte(sum[:16])
}

// SessionKey returns the key made when the store was opened.
func (s *Store) SessionKey() []byte { return s.sessionKey }

// ClaimSession stores the claim unless the challenge has one; it never
// fails.
func (s *Store) ClaimSession(_ context.Context, challenge string, claim passkey.Claim, keepUntil time.Time) (passkey.Claim, bool, error) {
	k := markKey(challenge)
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	if m, ok := s.marks.m[k]; ok {
		return m.claim, false, nil
	}
	s.marks.m[k] = mark{claim: claim, until: keepUntil}
	return claim, true, nil
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
	m.claim.Result = result
	s.marks.m[k] = m
	return nil
}

// RemoveExpired forgets the marks kept until before t.
func (s *Store) RemoveExpired(t time.Time) error {
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	for k, m := range s.marks.m {
		if m.until.Before(t) {
			delete(s.marks.m, k)
		}
	}
	return nil
}
