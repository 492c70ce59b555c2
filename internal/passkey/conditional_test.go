package passkey_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/apitest"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestConditionalChallengeOutlivesASession: an autofill challenge waits in
// a sign-in page the user may leave open, so it lives ConditionalTTL (its
// options say so), while a modal one lives SessionTTL.
func TestConditionalChallengeOutlivesASession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	const conditionalTTL = 30 * time.Minute
	h.svc = apitest.NewService(t, h.config(), h.store, passkey.Options{ConditionalTTL: conditionalTTL, DeviceLimit: 10, Logger: h.logs.Logger(), Now: h.clock.Now})
	a := newAuthenticator(t)
	objectID := uuid.NewString()
	h.register(t, a, objectID)

	timeout := func(options []byte) time.Duration {
		var o struct {
			PublicKey struct {
				Timeout int `json:"timeout"`
			} `json:"publicKey"`
		}
		json.Unmarshal(options, &o)
		return time.Duration(o.PublicKey.Timeout) * time.Millisecond
	}
	autofill := h.loginBegin(t, "", "conditional")
	modal := h.loginBegin(t, "", "")
	if got := timeout(autofill.Options); got != conditionalTTL {
		t.Errorf("autofill options timeout %s, want %s", got, conditionalTTL)
	}
	if got := timeout(modal.Options); got != sessionTTL {
		t.Errorf("modal options timeout %s, want %s", got, sessionTTL)
	}
	autofillCred := getAssertion(t, a, string(autofill.Options))
	modalCred := getAssertion(t, a, string(modal.Options))
	h.advance(sessionTTL + time.Minute) // the page was left open
	_, err := h.svc.LoginFinish(context.Background(), passkey.LoginFinishRequest{Credential: modalCred})
	wantCode(t, err, passkey.CodeChallengeExpired)
	if _, err := h.svc.LoginFinish(context.Background(), passkey.LoginFinishRequest{Credential: autofillCred}); err != nil {
		t.Errorf("autofill after %s: %v", sessionTTL+time.Minute, err)
	}
	late := h.loginBegin(t, "", "conditional")
	lateCred := getAssertion(t, a, string(late.Options))
	h.advance(conditionalTTL + time.Minute)
	_, err = h.svc.LoginFinish(context.Background(), passkey.LoginFinishRequest{Credential: lateCred})
	wantCode(t, err, passkey.CodeChallengeExpired)
}
