package api_test

import (
	"testing"
)

// TestPageLoadWritesNothing: a login-begin writes nothing to the store:
// its session is sealed into its challenge. Every visit to the sign-in
// page (autofill's usernameless begin), bots included, is free of
// storage; so is a named begin. The store is written by the finish.
func TestPageLoadWritesNothing(t *testing.T) {
	t.Parallel()
	e := newCeremonyEnv(t, 10)
	a := e.authenticator()
	user := oid("reader")
	e.register(a, user)
	before := e.sizes.writeCalls()
	for range 50 {
		e.ok("login-begin", map[string]string{})
		e.ok("login-begin", map[string]string{"mediation": "conditional", "correlationId": "journey-1"})
		e.ok("login-begin", map[string]string{"objectId": user})
	}
	if n := e.sizes.writeCalls() - before; n != 0 {
		t.Fatalf("150 login-begins made %d store writes; want none", n)
	}
	e.ok("login-finish", e.loginBody(a, user, ""))
	if e.sizes.writeCalls() == before {
		t.Fatal("a login-finish wrote nothing: the measuring store sees no writes at all")
	}
}
