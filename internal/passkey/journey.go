package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// claim finds the session of the challenge and takes it for this request.
// It fails when the session is unknown, expired, for another ceremony, for
// another journey, or already taken by a different request. retry reports
// an identical request within the retry window of the first: when the
// first succeeded, its answer is session.Result, with nothing verified or
// written; when it did not (refused, or cut off by an outage), the retry
// runs the ceremony again, as the first did.
func (s *Service) claim(ctx context.Context, challenge string, ceremony Ceremony, correlationID, requestDigest string) (session *Session, retry bool, err error) {
	if err := checkChallenge(challenge); err != nil {
		return nil, false, err
	}
	now := s.opts.Now().UTC()
	session, won, err := s.store.ClaimSession(ctx, challenge, Claim{Digest: requestDigest, At: now})
	if errors.Is(err, ErrNotFound) {
		return nil, false, Errorf(CodeChallengeExpired, "no challenge session for this challenge: unknown or expired")
	}
	if err != nil {
		return nil, false, fmt.Errorf("claiming the challenge session: %w", err)
	}
	first := session.Claim
	if first == nil {
		return nil, false, fmt.Errorf("the store returned the claimed session %s without its claim", challenge)
	}
	if !won {
		if first.Digest != requestDigest {
			return nil, false, Errorf(CodeChallengeUsed, "the challenge session was already used by another request")
		}
		if now.Sub(first.At) > s.opts.RetryWindow {
			return nil, false, Errorf(CodeChallengeUsed, "the challenge session was used %s ago; a retry is answered for %s",
				now.Sub(first.At).Round(time.Second), s.opts.RetryWindow)
		}
	}
	// Expiry is judged at the first attempt: B2C's retry of a request made
	// in time is answered even when it arrives after the session expired.
	if first.At.After(session.ExpiresAt) {
		return nil, false, Errorf(CodeChallengeExpired, "the challenge session expired at %s", session.ExpiresAt.Format(time.RFC3339))
	}
	if session.Ceremony != ceremony {
		return nil, false, Errorf(CodeCredentialRejected, "the challenge was issued for %s, not %s", session.Ceremony, ceremony)
	}
	if session.CorrelationID != "" && session.CorrelationID != correlationID {
		return nil, false, Errorf(CodeChallengeUsed, "the challenge session belongs to another journey (correlationId)")
	}
	return session, !won, nil
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

// setResult records the result of a successful finish with its session.
// Should that fail, the call still succeeded: a retry then runs the
// ceremony again and finds the change already in the record (the
// credential carries the session's challenge), so it writes nothing twice.
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
	return hex.EncodeToString(h.Sum(nil))
}

// outcome is what a change to a user record decided: whether to write the
// changed record, and the refusal to answer with (after the write, when
// there is one: a clone warning is kept although the login is refused).
type outcome struct {
	write   bool
	refusal error
}

var (
	// write stores the changed record.
	write = outcome{write: true}
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
		if working.Version == "" {
			err = s.store.CreateUser(ctx, working)
		} else {
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
