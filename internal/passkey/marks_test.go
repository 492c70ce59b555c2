package passkey_test

import (
	"context"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// TestNamedLoginMarkedInRecord runs the single-use and retry rules of a
// named login on a store that keeps its mark in the user's record.
func TestNamedLoginMarkedInRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newH := func(t *testing.T) (*harness, *softauthn.Authenticator) {
		h := newHarnessOn(t, 10, func(s *embedded.Store) passkey.Store { return recordMarks{s} })
		a := newAuthenticator(t)
		h.register(t, a, userA)
		return h, a
	}
	t.Run("identical retry answered from the record, another request refused", func(t *testing.T) {
		h, a := newH(t)
		begin := h.loginBegin(t, userA, "")
		req := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(begin.Options))}
		first, err := h.svc.LoginFinish(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		u := h.user(t, userA)
		if len(u.Marks) != 1 {
			t.Fatalf("%d marks in the record, want 1", len(u.Marks))
		}
		again, err := h.svc.LoginFinish(ctx, req)
		if err != nil || again.CredentialID != first.CredentialID || again.ObjectID != first.ObjectID {
			t.Fatalf("identical retry = %+v, %v; want %+v", again, err, first)
		}
		if v := h.user(t, userA).Version; v != u.Version {
			t.Errorf("the retry wrote the record (version %s → %s)", u.Version, v)
		}
		req.Credential = getAssertion(t, a, string(begin.Options))
		_, err = h.svc.LoginFinish(ctx, req)
		wantCode(t, err, passkey.CodeChallengeUsed)
	})
	t.Run("racing finishes: one winner", func(t *testing.T) {
		h, a := newH(t)
		for range 4 {
			begin := h.loginBegin(t, userA, "")
			bodies := []string{getAssertion(t, a, string(begin.Options)), getAssertion(t, a, string(begin.Options))}
			checkOneWinner(t, race(len(bodies), func(i int) error {
				_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: userA, Credential: bodies[i]})
				return err
			}))
		}
	})
	t.Run("retry after expiry, and old marks dropped", func(t *testing.T) {
		h, a := newH(t)
		begin := h.loginBegin(t, userA, "")
		req := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(begin.Options))}
		h.advance(sessionTTL - time.Second)
		if _, err := h.svc.LoginFinish(ctx, req); err != nil {
			t.Fatal(err)
		}
		h.advance(10 * time.Second)
		if _, err := h.svc.LoginFinish(ctx, req); err != nil {
			t.Fatalf("retry of an in-time request after expiry: %v", err)
		}
		late := h.loginBegin(t, userA, "")
		h.advance(sessionTTL + time.Second)
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(late.Options))})
		wantCode(t, err, passkey.CodeChallengeExpired)
		h.advance(passkey.RetryWindow)
		if _, err := h.login(t, a, userA); err != nil {
			t.Fatal(err)
		}
		if n := len(h.user(t, userA).Marks); n != 1 {
			t.Errorf("%d marks in the record, want only the last login's", n)
		}
	})
	t.Run("a clone's refusal is kept, and so is its retry's", func(t *testing.T) {
		h, a := newH(t)
		if _, err := h.login(t, a, userA, softauthn.WithCounter(5)); err != nil {
			t.Fatal(err)
		}
		begin := h.loginBegin(t, userA, "")
		req := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(begin.Options), softauthn.WithCounter(3))}
		_, err := h.svc.LoginFinish(ctx, req)
		wantCode(t, err, passkey.CodeCredentialRejected)
		if !h.user(t, userA).Credentials[0].WebAuthn.Authenticator.CloneWarning {
			t.Error("no clone warning stored")
		}
		_, err = h.svc.LoginFinish(ctx, req)
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
}
