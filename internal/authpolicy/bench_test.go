package authpolicy_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeys-b2c/passkeys/internal/authpolicy"
	"github.com/passkeys-b2c/passkeys/internal/mds"
)

type benchUser struct{}

func (benchUser) WebAuthnID() []byte                         { return []byte("bench") }
func (benchUser) WebAuthnName() string                       { return "bench" }
func (benchUser) WebAuthnDisplayName() string                { return "bench" }
func (benchUser) WebAuthnCredentials() []webauthn.Credential { return nil }

// BenchmarkRegistrationCheck compares what the policy adds to a
// registration with what go-webauthn already spends on it: parsing and
// verifying the packed x5c attestation (CreateCredential), then the
// policy with attestation none (lists only) and direct (the chain to the
// metadata's roots, the status, the attestation type).
func BenchmarkRegistrationCheck(b *testing.B) {
	w := newWorld(b)
	file := filepath.Join(b.TempDir(), "blob.jwt")
	os.WriteFile(file, w.blob, 0o600)
	source := mds.New(mds.Options{File: file, Root: w.root.Base64(), Logger: slog.New(slog.DiscardHandler)})
	if err := source.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: "localhost", RPDisplayName: "x", RPOrigins: []string{origin},
		AttestationPreference: protocol.PreferDirectAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Registration: webauthn.TimeoutConfig{Timeout: time.Hour, TimeoutUVD: time.Hour}}})
	if err != nil {
		b.Fatal(err)
	}
	a := w.attested(b, trustedKey, w.vendor)
	creation, session, err := wa.BeginRegistration(benchUser{})
	if err != nil {
		b.Fatal(err)
	}
	options, _ := json.Marshal(creation)
	response, err := a.Register(string(options))
	if err != nil {
		b.Fatal(err)
	}
	create := func() (*protocol.ParsedCredentialCreationData, *webauthn.Credential) {
		parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(response))
		if err != nil {
			b.Fatal(err)
		}
		cred, err := wa.CreateCredential(benchUser{}, *session, parsed)
		if err != nil {
			b.Fatal(err)
		}
		return parsed, cred
	}
	b.Run("go-webauthn CreateCredential", func(b *testing.B) {
		for b.Loop() {
			create()
		}
	})
	parsed, cred := create()
	for _, mode := range []authpolicy.Attestation{authpolicy.None, authpolicy.Direct} {
		p := &authpolicy.Policy{Attestation: mode, Metadata: source}
		b.Run("policy "+string(mode), func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Registration(context.Background(), parsed, cred); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
