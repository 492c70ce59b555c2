package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// prepare builds, once, what the ceremonies share: the sealer under the
// store's session key, and the parts of go-webauthn's session data that
// are the same for every session of a ceremony (relying party, user
// verification, credential parameters, extensions), taken from one begin
// of each, so that a finish rebuilds the session data from the sealed
// challenge alone.
func (s *Service) prepare() error {
	s.once.Do(func() {
		s.sealer, s.prepareErr = newSealer(s.store.SessionKey(), s.webauthn.Config.RPID)
		if s.prepareErr != nil {
			return
		}
		probe := webauthnUser{user: &User{ID: "template"}, name: "template", displayName: "template"}
		var reg, conditional, login *webauthn.SessionData
		if _, reg, s.prepareErr = s.webauthn.BeginMediatedRegistration(probe, protocol.MediationDefault,
			s.registrationOptions(probe, protocol.MediationDefault, nil)...); s.prepareErr != nil {
			return
		}
		if _, conditional, s.prepareErr = s.webauthn.BeginMediatedRegistration(probe, protocol.MediationConditional,
			s.registrationOptions(probe, protocol.MediationConditional, nil)...); s.prepareErr != nil {
			return
		}
		if _, login, s.prepareErr = s.webauthn.BeginDiscoverableMediatedLogin(protocol.MediationDefault); s.prepareErr != nil {
			return
		}
		s.templates = map[templateKey]webauthn.SessionData{
			{Registration, false}: template(*reg),
			{Registration, true}:  template(*conditional),
			{Login, false}:        template(*login),
		}
	})
	if s.prepareErr != nil {
		return fmt.Errorf("preparing the ceremonies: %w", s.prepareErr)
	}
	return nil
}

// templateKey names a kind of session whose session data differs from
// the others' in more than the challenge and the user.
type templateKey struct {
	ceremony    Ceremony
	conditional bool
}

// template is session data without what differs from one session to the
// next.
func template(d webauthn.SessionData) webauthn.SessionData {
	d.Challenge, d.UserID, d.AllowedCredentialIDs, d.Expires = "", nil, nil, time.Time{}
	return d
}

// sessionData rebuilds go-webauthn's session data of a session for the
// user it is verified for. The allow list is not kept: the finish checks
// that the credential is one of the user's against the record. Expiry is
// checked by the service, at the first attempt.
func (s *Service) sessionData(session *Session, userID string) webauthn.SessionData {
	d := s.templates[templateKey{session.Ceremony, session.Conditional && session.Ceremony == Registration}]
	d.Challenge = session.Challenge
	if userID != "" {
		d.UserID = []byte(userID)
	}
	return d
}

// newChallenge seals a new session into a challenge; it sets the
// session's expiry, ttl from now.
func (s *Service) newChallenge(session *Session, ttl time.Duration) ([]byte, error) {
	if err := s.prepare(); err != nil {
		return nil, err
	}
	session.ExpiresAt = s.opts.Now().Add(ttl).UTC()
	sealed, err := s.sealer.seal(session)
	if err != nil {
		return nil, err
	}
	// go-webauthn sends the challenge as base64url of these bytes; the
	// browser puts the same text into clientDataJSON.
	return base64.RawURLEncoding.DecodeString(sealed)
}

// openSession opens the challenge found in clientDataJSON and checks what
// it is bound to: the ceremony and the journey. It does not claim it.
func (s *Service) openSession(challenge string, ceremony Ceremony, correlationID string) (*Session, error) {
	if err := s.prepare(); err != nil {
		return nil, err
	}
	if err := checkChallenge(challenge); err != nil {
		return nil, err
	}
	session, err := s.sealer.open(challenge)
	if err != nil {
		return nil, Errorf(CodeChallengeExpired, "no challenge session for this challenge: unknown, expired, or issued before a restart")
	}
	if session.Ceremony != ceremony {
		return nil, Errorf(CodeCredentialRejected, "the challenge was issued for %s, not %s", session.Ceremony, ceremony)
	}
	if session.CorrelationID != "" && session.CorrelationID != correlationID {
		return nil, Errorf(CodeChallengeUsed, "the challenge session belongs to another journey (correlationId)")
	}
	return session, nil
}

// claim stores the single-use mark of the session for this request. It
// returns the first claim and whether this request is an identical retry
// of it within the retry window: when the first succeeded, its answer is
// first.Result, with nothing verified or written; when it did not
// (refused, or cut off by an outage), the retry runs the ceremony again,
// as the first did. Any other request on a claimed session is refused.
// Expiry is judged at the first attempt: B2C's retry of a request made in
// time is answered even when it arrives after the session expired.
func (s *Service) claim(ctx context.Context, session *Session, claim Claim) (first Claim, retry bool, err error) {
	keepUntil := session.ExpiresAt
	if claim.At.After(keepUntil) {
		keepUntil = claim.At
	}
	first, won, err := s.store.ClaimSession(ctx, session.Challenge, claim, keepUntil.Add(s.opts.RetryWindow))
	if err != nil {
		return Claim{}, false, fmt.Errorf("claiming the challenge session: %w", err)
	}
	if !won {
		if first.Digest != claim.Digest {
			return Claim{}, false, Errorf(CodeChallengeUsed, "the challenge session was already used by another request")
		}
		if claim.At.Sub(first.At) > s.opts.RetryWindow {
			return Claim{}, false, Errorf(CodeChallengeUsed, "the challenge session was used %s ago; a retry is answered for %s",
				claim.At.Sub(first.At).Round(time.Second), s.opts.RetryWindow)
		}
	}
	if first.At.After(session.ExpiresAt) {
		return Claim{}, false, Errorf(CodeChallengeExpired, "the challenge session expired at %s", session.ExpiresAt.Format(time.RFC3339))
	}
	return first, !won, nil
}

// currentSignals are the user's signals as stored now, for a retry
// answered from its session: the Signal API must list the passkeys the
// service accepts now, not when the first call was answered. Should the
// read fail, the answer lists none rather than fail a retry that
// succeeded.
func (s *Service) currentSignals(ctx context.Context, objectID string) Signals {
	signals, err := s.AcceptedCredentials(ctx, objectID)
	if err != nil {
		return s.UserSignals(objectID)
	}
	return signals
}

// setResult records the result of a finish with its session's mark (nil:
// the call did not succeed after all). Should that fail, the call's
// answer stands: a retry then runs the ceremony again and finds any
// change already in the record (the credential carries the session's
// challenge tag), so it writes nothing twice; or, when the mark kept a
// result the write then did not make, the retry gets that result.
func (s *Service) setResult(ctx context.Context, session *Session, result *Result) {
	if err := s.store.SetResult(ctx, session.Challenge, result); err != nil {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "recording the result of a finish call failed; a retry will be checked against the record",
			slog.String("error", err.Error()))
	}
}

// challengeTag is the part of a session's challenge a credential keeps to
// recognise the ceremony that last wrote it: 16 base64url characters (96
// random bits) tell one user's sessions apart, in a third of the bytes.
func challengeTag(challenge string) string {
	if len(challenge) > 16 {
		return challenge[:16]
	}
	return challenge
}

// digest identifies a finish request, so that an identical retry is told
// apart from a different request on the same session.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	// 128 bits: finding another request with the same digest is as hard as
	// a second preimage of SHA-256 truncated to 128 bits, and a mark kept in
	// memory for every session stays small.
	return hex.EncodeToString(h.Sum(nil)[:DigestSize])
}

// DigestSize is the size in bytes of a finish request's digest, which a
// claim carries in hex.
const DigestSize = 16

// outcome is what a change to a user record decided: whether to write the
// changed record, and the refusal to answer with (after the write, when
// there is one: a clone warning is kept although the login is refused).
type outcome struct {
	write   bool
	use     bool // the write only records a use (Store.RecordUse)
	refusal error
}

var (
	// write stores the changed record.
	write = outcome{write: true}
	// recordUse stores the changed record as a use of a passkey.
	recordUse = outcome{write: true, use: true}
	// keep writes nothing: the record already holds the change.
	keep = outcome{}
)

// refuse writes nothing and answers err.
func refuse(err error) outcome { return outcome{refusal: err} }

// writeThenRefuse stores the changed record and answers err.
func writeThenRefuse(err error) outcome { return outcome{write: true, refusal: err} }

// Contention on one user record: a write that lost to another is tried
// again on a fresh read after a jittered pause that doubles each time;
// past maxWriteAttempts the call is storage_unavailable.
const (
	maxWriteAttempts = 10
	firstBackoff     = 5 * time.Millisecond
	maxBackoff       = 200 * time.Millisecond
)

// updateUser applies change to the user and writes it back with optimistic
// concurrency, reading the record afresh after a conflict. user is updated
// in place to what was stored.
func (s *Service) updateUser(ctx context.Context, user *User, change func(*User) outcome) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		working := cloneUser(user)
		decided := change(working)
		if !decided.write {
			return decided.refusal
		}
		var err error
		switch {
		case working.Version == "":
			err = s.store.CreateUser(ctx, working)
		case decided.use:
			err = s.store.RecordUse(ctx, working)
		default:
			err = s.store.ReplaceUser(ctx, working)
		}
		switch {
		case err == nil:
			*user = *working
			return decided.refusal
		case errors.Is(err, ErrCredentialTaken):
			return Errorf(CodeCredentialExists, "the credential id is already registered")
		case errors.Is(err, ErrTooLarge):
			return Errorf(CodeDeviceLimit, "the user's record is full: remove a passkey first")
		case errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound):
			if attempt >= maxWriteAttempts {
				return fmt.Errorf("updating user: %d writes lost to concurrent changes: %w", attempt, ErrUnavailable)
			}
			select {
			case <-time.After(jitter(backoff)):
			case <-ctx.Done():
				return fmt.Errorf("updating user: %w: %w", ErrUnavailable, ctx.Err())
			}
			backoff = min(2*backoff, maxBackoff)
			fresh, err := s.getUser(ctx, user.ID)
			if err != nil {
				return err
			}
			*user = *fresh
		default:
			return fmt.Errorf("updating user: %w", err)
		}
	}
}
