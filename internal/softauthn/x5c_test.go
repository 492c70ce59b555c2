package softauthn

import (
	"testing"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/mds/mdstest"
)

func TestAttestationCertificate(t *testing.T) {
	t.Parallel()
	aaguid := uuid.MustParse("a1a1a1a1-0000-4000-8000-00000000000a")
	ca := mdstest.NewCA(t, "Vendor")
	key, chain := ca.Attestation(t, aaguid)
	wa := newRP(t)
	a := newAuthenticator(t, WithAAGUID(aaguid), WithAttestationCertificate(key, chain))
	cred, err := register(t, wa, a, &testUser{id: []byte("u1")})
	if err != nil {
		t.Fatalf("go-webauthn refused the x5c attestation: %v", err)
	}
	if cred.AttestationFormat != AttestationPacked || cred.AttestationType != string(metadata.BasicFull) {
		t.Errorf("format %q type %q, want packed basic_full", cred.AttestationFormat, cred.AttestationType)
	}
	if got, _ := uuid.FromBytes(cred.Authenticator.AAGUID); got != aaguid {
		t.Errorf("AAGUID %s, want %s", got, aaguid)
	}

	// The certificate names the AAGUID, so an authenticator that claims
	// another one with it is caught.
	other := newAuthenticator(t, WithAAGUID(uuid.New()), WithAttestationCertificate(key, chain))
	if _, err := register(t, wa, other, &testUser{id: []byte("u2")}); err == nil {
		t.Error("an attestation certificate for another AAGUID was accepted")
	}
	bad := newAuthenticator(t, WithAAGUID(aaguid), WithAttestationCertificate(key, chain))
	if _, err := register(t, wa, bad, &testUser{id: []byte("u3")}, WithBadSignature()); err == nil {
		t.Error("a corrupt attestation signature was accepted")
	}
}
