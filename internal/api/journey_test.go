package api_test

import (
	"maps"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestUsedLoginFromAnotherJourney: a login-finish body that signed in once
// does not sign in again when posted from another journey, nor without
// one, nor after the retry window; the identical retry within the window
// gets the first answer.
func TestUsedLoginFromAnotherJourney(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	e.register(a, oid("victim"))

	finish := e.loginBody(a, oid("victim"), "journey-1")
	first := e.ok("login-finish", finish)

	again := e.ok("login-finish", finish)
	if !reflect.DeepEqual(again, first) {
		t.Errorf("identical retry answered %v; want the first answer %v", again, first)
	}

	other := maps.Clone(finish)
	other["correlationId"] = "journey-2"
	e.refused("the used body from another journey", http.StatusConflict, "challenge_used", "login-finish", other)
	delete(other, "correlationId")
	e.refused("the used body without a journey", http.StatusConflict, "challenge_used", "login-finish", other)

	e.advance(passkey.RetryWindow + time.Second)
	e.refused("the identical retry after the window", http.StatusConflict, "challenge_used", "login-finish", finish)
}

// TestFinishInAnotherJourney: a session begun in one journey cannot be
// finished first from another.
func TestFinishInAnotherJourney(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	e.register(a, oid("victim"))
	finish := e.loginBody(a, "", "journey-1")
	finish["correlationId"] = "journey-2"
	e.refused("a fresh session finished from another journey", http.StatusConflict, "challenge_used", "login-finish", finish)
}

// TestReplayedRegistrationAfterDelete: the user deletes the passkey a
// registration just added; the same register-finish body posted again
// does not bring it back: as an identical retry within the window it gets
// the first answer and writes nothing, from another journey or after the
// window it is refused.
func TestReplayedRegistrationAfterDelete(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	finish := e.registerBody(a, oid("user"), "journey-1")
	first := e.ok("register-finish", finish)
	e.ok("delete-device", map[string]string{"objectId": oid("user"), "credentialId": first["credentialId"].(string)})

	// The first answer again, with the Signal API's list as it is now:
	// without the deleted passkey.
	again := e.ok("register-finish", finish)
	if ids, _ := again["acceptedCredentialIds"].([]any); len(ids) != 0 {
		t.Errorf("the retry lists accepted credentials %v; want none", ids)
	}
	delete(again, "acceptedCredentialIds")
	delete(first, "acceptedCredentialIds")
	if !reflect.DeepEqual(again, first) {
		t.Errorf("identical retry answered %v; want the first answer %v", again, first)
	}
	e.advance(passkey.RetryWindow + time.Second)
	e.refused("the replayed registration after the window", http.StatusConflict, "challenge_used", "register-finish", finish)
	other := maps.Clone(finish)
	other["correlationId"] = "journey-2"
	e.refused("the replayed registration from another journey", http.StatusConflict, "challenge_used", "register-finish", other)
	if devices := e.devices(oid("user")); len(devices) != 0 {
		t.Fatalf("the deleted passkey came back: %v", devices)
	}
}

// TestRetryIsAnsweredWithoutWriting: B2C's retry of a registration gets
// the first answer and writes nothing, even after the session expired.
func TestRetryIsAnsweredWithoutWriting(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	finish := e.registerBody(a, oid("user"), "journey-1")
	e.advance(5*time.Minute - time.Second)
	first := e.ok("register-finish", finish)
	before, err := e.store.GetUser(t.Context(), oid("user"))
	if err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second) // past the session's expiry, inside the window
	again := e.ok("register-finish", finish)
	if !reflect.DeepEqual(again, first) {
		t.Errorf("retry answered %v; want %v", again, first)
	}
	after, err := e.store.GetUser(t.Context(), oid("user"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version {
		t.Errorf("the retry wrote the user record (version %s → %s)", before.Version, after.Version)
	}
	if n := len(e.events(passkey.EventRegistered)); n != 1 {
		t.Errorf("%d registration events; want 1 (the retry is not a second registration)", n)
	}
}
