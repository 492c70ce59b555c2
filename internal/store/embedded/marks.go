package embedded

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
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
// process, and a claim costs no write to disk. A login's mark keeps only
// that the finish succeeded (the service rebuilds the answer from the
// record), in about 60 bytes of a map the garbage collector need not
// scan, until its session's expiry plus the retry window: at 1,000 logins
// a second and the default 5-minute sessions, about 25 MB at most; at a
// B2C tenant's usual rates, a few. A registration's result is kept whole
// beside it (registrations are few, and the passkey may be deleted
// before the retry).
type marks struct {
	mu            sync.Mutex
	epoch         time.Time
	m             map[uint64]mark
	registrations map[uint64]*passkey.Result
}

// mark is a claim in compact form, without pointers.
type mark struct {
	digest    [passkey.DigestSize]byte // the claim's hex digest, decoded
	at        int64                    // Unix nanoseconds
	until     uint32                   // seconds since epoch
	succeeded bool                     // the claim has a result
}

func newMarks() *marks {
	return &marks{epoch: time.Now(), m: make(map[uint64]mark), registrations: make(map[uint64]*passkey.Result)}
}

// markKey is the map key of a challenge: 64 bits of its digest. Two
// challenges that share one (odds about 1 in 10^7 among a million live
// marks) would make the second look used: refused, never accepted twice.
func markKey(challenge string) uint64 {
	sum := sha256.Sum256([]byte(challenge))
	return binary.BigEndian.Uint64(sum[:8])
}

// since is t as whole seconds after the epoch, rounded up.
func (ms *marks) since(t time.Time) uint32 {
	d := t.Sub(ms.epoch)
	if d <= 0 {
		return 0
	}
	return uint32((d + time.Second - 1) / time.Second)
}

func (ms *marks) claim(k uint64, m mark) passkey.Claim {
	c := passkey.Claim{Digest: hex.EncodeToString(m.digest[:]), At: time.Unix(0, m.at).UTC()}
	switch r := ms.registrations[k]; {
	case r != nil:
		c.Result = r
	case m.succeeded:
		c.Result = &passkey.Result{}
	}
	return c
}

// SessionKey returns the key made when the store was opened.
func (s *Store) SessionKey() []byte { return s.sessionKey }

// ClaimSession stores the claim unless the challenge has one; it fails
// only on a digest that is not of the service's form.
func (s *Store) ClaimSession(_ context.Context, challenge string, claim passkey.Claim, keepUntil time.Time) (passkey.Claim, bool, error) {
	m := mark{at: claim.At.UnixNano(), succeeded: claim.Result != nil}
	if n, err := hex.Decode(m.digest[:], []byte(claim.Digest)); err != nil || n != passkey.DigestSize || len(claim.Digest) != 2*passkey.DigestSize {
		return passkey.Claim{}, false, fmt.Errorf("embedded store: a claim's digest must be %d bytes in hex", passkey.DigestSize)
	}
	k := markKey(challenge)
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	if first, ok := s.marks.m[k]; ok {
		return s.marks.claim(k, first), false, nil
	}
	m.until = s.marks.since(keepUntil)
	s.marks.m[k] = m
	if r := registration(claim.Result); r != nil {
		s.marks.registrations[k] = r
	}
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
	m.succeeded = result != nil
	s.marks.m[k] = m
	if r := registration(result); r != nil {
		s.marks.registrations[k] = r
	} else {
		delete(s.marks.registrations, k)
	}
	return nil
}

// RemoveExpired forgets the marks kept until before t.
func (s *Store) RemoveExpired(t time.Time) error {
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	now := s.marks.since(t)
	for k, m := range s.marks.m {
		if m.until < now {
			delete(s.marks.m, k)
			delete(s.marks.registrations, k)
		}
	}
	return nil
}
