package softauthn

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

const testOrigin = "http://localhost:7071"

type testUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *testUser) WebAuthnID() []byte                         { return u.id }
func (u *testUser) WebAuthnName() string                       { return "alice@example.com" }
func (u *testUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *testUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newRP(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  "localhost",
		RPDisplayName:         "Test",
		RPOrigins:             []string{testOrigin},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: time.Minute, TimeoutUVD: time.Minute},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: time.Minute, TimeoutUVD: time.Minute},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return wa
}

func newAuthenticator(t *testing.T, opts ...Option) *Authenticator {
	t.Helper()
	a, err := New(testOrigin, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// register runs a registration through go-webauthn and returns the
// verified credential, or the error of the step that failed.
func register(t *testing.T, wa *webauthn.WebAuthn, a *Authenticator, u *testUser, opts ...CeremonyOption) (*webauthn.Credential, error) {
	t.Helper()
	creation, session, err := wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		t.Fatal(err)
	}
	options, err := json.Marshal(creation)
	if err != nil {
		t.Fatal(err)
	}
	credJSON, err := a.Register(string(options), opts...)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(credJSON))
	if err != nil {
		return nil, err
	}
	return wa.CreateCredential(u, *session, parsed)
}

// login runs a named login (allowCredentials) through go-webauthn.
func login(t *testing.T, wa *webauthn.WebAuthn, a *Authenticator, u *testUser, opts ...CeremonyOption) (*webauthn.Credential, error) {
	t.Helper()
	assertion, session, err := wa.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		t.Fatal(err)
	}
	credJSON, err := a.Login(string(options), opts...)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(credJSON))
	if err != nil {
		return nil, err
	}
	return wa.ValidateLogin(u, *session, parsed)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	aaguid := [16]byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd}
	tests := []struct {
		name       string
		opts       []Option
		ceremony   []CeremonyOption
		wantErr    bool
		wantFormat string
		wantType   string
		wantBE     bool
		wantBS     bool
	}{
		{name: "none", wantFormat: "none", wantType: "none", wantBE: true, wantBS: true},
		// FIDO metadata names self attestation "basic_surrogate".
		{name: "packed self", opts: []Option{WithAttestation(AttestationPacked)}, wantFormat: "packed", wantType: "basic_surrogate", wantBE: true, wantBS: true},
		{name: "device bound", opts: []Option{WithBackup(false, false)}, wantFormat: "none", wantType: "none"},
		{name: "eligible not backed up", opts: []Option{WithBackup(true, false)}, wantFormat: "none", wantType: "none", wantBE: true},
		{name: "no UV", ceremony: []CeremonyOption{WithoutUV()}, wantErr: true},
		{name: "no UP", ceremony: []CeremonyOption{WithoutUP()}, wantErr: true},
		{name: "wrong origin", ceremony: []CeremonyOption{WithOrigin("https://evil.example")}, wantErr: true},
		{name: "bad packed signature", opts: []Option{WithAttestation(AttestationPacked)}, ceremony: []CeremonyOption{WithBadSignature()}, wantErr: true},
		{name: "BS without BE", ceremony: []CeremonyOption{WithBackupFlags(false, true)}, wantErr: true},
	}
	wa := newRP(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthenticator(t, append([]Option{WithAAGUID(aaguid)}, tt.opts...)...)
			u := &testUser{id: []byte("user-1")}
			cred, err := register(t, wa, a, u, tt.ceremony...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("registration verified, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("registration failed: %v", err)
			}
			ids := a.Credentials()
			if len(ids) != 1 || string(ids[0]) != string(cred.ID) {
				t.Errorf("credential id %x, authenticator holds %x", cred.ID, ids)
			}
			if cred.AttestationFormat != tt.wantFormat || cred.AttestationType != tt.wantType {
				t.Errorf("attestation %s/%s, want %s/%s", cred.AttestationFormat, cred.AttestationType, tt.wantFormat, tt.wantType)
			}
			if string(cred.Authenticator.AAGUID) != string(aaguid[:]) {
				t.Errorf("AAGUID %x, want %x", cred.Authenticator.AAGUID, aaguid)
			}
			if !cred.Flags.UserPresent || !cred.Flags.UserVerified || cred.Flags.BackupEligible != tt.wantBE || cred.Flags.BackupState != tt.wantBS {
				t.Errorf("flags %+v, want UP UV BE=%v BS=%v", cred.Flags, tt.wantBE, tt.wantBS)
			}
			if cred.Authenticator.SignCount != 1 {
				t.Errorf("sign count %d, want 1", cred.Authenticator.SignCount)
			}
			if len(cred.Transport) != 2 {
				t.Errorf("transports %v, want hybrid and internal", cred.Transport)
			}
		})
	}
}

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	wa := newRP(t)
	a := newAuthenticator(t)
	u := &testUser{id: []byte("user-1")}
	cred, err := register(t, wa, a, u)
	if err != nil {
		t.Fatal(err)
	}
	u.creds = append(u.creds, *cred)
	if _, err := register(t, wa, a, u); !errors.Is(err, ErrExcluded) {
		t.Errorf("registering again with the credential excluded: %v, want ErrExcluded", err)
	}
	if _, err := a.Register(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dQ"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-257}]}}`); !errors.Is(err, ErrNotSupported) {
		t.Errorf("RS256 only: %v, want ErrNotSupported", err)
	}
	if _, err := a.Register(`{"publicKey":{"rp":{"id":"example.com"},"user":{"id":"dQ"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`); err == nil {
		t.Error("an RP ID foreign to the origin was accepted")
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ceremony  []CeremonyOption
		wantErr   bool
		wantClone bool
	}{
		{name: "good"},
		{name: "no UV", ceremony: []CeremonyOption{WithoutUV()}, wantErr: true},
		{name: "no UP", ceremony: []CeremonyOption{WithoutUP()}, wantErr: true},
		{name: "bad signature", ceremony: []CeremonyOption{WithBadSignature()}, wantErr: true},
		{name: "wrong origin", ceremony: []CeremonyOption{WithOrigin("https://evil.example")}, wantErr: true},
		{name: "backup eligibility changed", ceremony: []CeremonyOption{WithBackupFlags(false, false)}, wantErr: true},
		{name: "counter rewound", ceremony: []CeremonyOption{WithCounter(1)}, wantClone: true},
	}
	wa := newRP(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthenticator(t)
			u := &testUser{id: []byte("user-1")}
			cred, err := register(t, wa, a, u)
			if err != nil {
				t.Fatal(err)
			}
			u.creds = []webauthn.Credential{*cred}
			if _, err := login(t, wa, a, u, WithCounter(5)); err != nil {
				t.Fatalf("first login: %v", err)
			}
			u.creds[0].Authenticator.SignCount = 5
			got, err := login(t, wa, a, u, tt.ceremony...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("assertion verified, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("assertion failed: %v", err)
			}
			if got.Authenticator.CloneWarning != tt.wantClone {
				t.Errorf("clone warning %v, want %v", got.Authenticator.CloneWarning, tt.wantClone)
			}
			if n, _ := a.Counter(cred.ID); !tt.wantClone && (n != 6 || got.Authenticator.SignCount != 6) {
				t.Errorf("counter: authenticator %d, relying party %d, want 6", n, got.Authenticator.SignCount)
			}
		})
	}
}

func TestLoginDiscoverable(t *testing.T) {
	t.Parallel()
	wa := newRP(t)
	a := newAuthenticator(t)
	users := map[string]*testUser{}
	for _, id := range []string{"user-1", "user-2"} {
		u := &testUser{id: []byte(id)}
		cred, err := register(t, wa, a, u)
		if err != nil {
			t.Fatal(err)
		}
		u.creds = []webauthn.Credential{*cred}
		users[id] = u
	}
	for _, want := range []string{"user-1", "user-2"} {
		t.Run(want, func(t *testing.T) {
			assertion, session, err := wa.BeginDiscoverableLogin()
			if err != nil {
				t.Fatal(err)
			}
			options, _ := json.Marshal(assertion)
			credJSON, err := a.Login(string(options), WithCredentialID(users[want].creds[0].ID))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(credJSON))
			if err != nil {
				t.Fatal(err)
			}
			user, _, err := wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
				u, ok := users[string(handle)]
				if !ok {
					return nil, errors.New("unknown user handle")
				}
				return u, nil
			}, *session, parsed)
			if err != nil {
				t.Fatalf("discoverable login: %v", err)
			}
			if string(user.WebAuthnID()) != want {
				t.Errorf("user %s, want %s", user.WebAuthnID(), want)
			}
		})
	}
	t.Run("without user handle", func(t *testing.T) {
		assertion, _, err := wa.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		options, _ := json.Marshal(assertion)
		credJSON, err := a.Login(string(options), WithoutUserHandle())
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(credJSON))
		if err != nil {
			t.Fatal(err)
		}
		if len(parsed.Response.UserHandle) != 0 {
			t.Errorf("user handle %q, want none", parsed.Response.UserHandle)
		}
	})
	t.Run("no credential allowed", func(t *testing.T) {
		_, err := a.Login(`{"publicKey":{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rpId":"localhost","allowCredentials":[{"type":"public-key","id":"AAAA"}]}}`)
		if !errors.Is(err, ErrNoCredential) {
			t.Errorf("unknown allowCredentials: %v, want ErrNoCredential", err)
		}
	})
}

func TestCounterStepZero(t *testing.T) {
	t.Parallel()
	wa := newRP(t)
	a := newAuthenticator(t, WithCounterStep(0))
	u := &testUser{id: []byte("user-1")}
	cred, err := register(t, wa, a, u)
	if err != nil {
		t.Fatal(err)
	}
	u.creds = []webauthn.Credential{*cred}
	got, err := login(t, wa, a, u)
	if err != nil {
		t.Fatal(err)
	}
	if got.Authenticator.SignCount != 0 || got.Authenticator.CloneWarning {
		t.Errorf("count %d, clone warning %v; want 0 and none", got.Authenticator.SignCount, got.Authenticator.CloneWarning)
	}
}

func BenchmarkRegister(b *testing.B) {
	a, _ := New(testOrigin)
	options := `{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dXNlcg"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`
	for b.Loop() {
		if _, err := a.Register(options); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogin(b *testing.B) {
	a, _ := New(testOrigin)
	if _, err := a.Register(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dXNlcg"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`); err != nil {
		b.Fatal(err)
	}
	options := `{"publicKey":{"rpId":"localhost","challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`
	for b.Loop() {
		if _, err := a.Login(options); err != nil {
			b.Fatal(err)
		}
	}
}
