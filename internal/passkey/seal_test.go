package passkey

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := NewSessionKey()
	s, err := newSealer(key, "login.example.com")
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(5 * time.Minute).Truncate(time.Millisecond).UTC()
	for _, want := range []Session{
		{Ceremony: Login, ExpiresAt: expires},
		{Ceremony: Login, UserID: "0c2d9a4e-7b1f-4e36-9a58-2f4d6c8e1b37", CorrelationID: "journey-1", ExpiresAt: expires},
		{Ceremony: Registration, UserID: strings.Repeat("u", 64), CorrelationID: strings.Repeat("c", 128), ExpiresAt: expires, Conditional: true},
	} {
		challenge, err := s.seal(&want)
		if err != nil {
			t.Fatal(err)
		}
		if len(challenge) < minChallengeChars || len(challenge) > maxChallengeChars {
			t.Errorf("challenge of %d characters, outside [%d, %d]", len(challenge), minChallengeChars, maxChallengeChars)
		}
		got, err := s.open(challenge)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		want.Challenge = challenge
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("opened %+v, sealed %+v", *got, want)
		}
		again, _ := s.seal(&want)
		if again == challenge {
			t.Error("two seals of one session gave the same challenge")
		}
	}
}

// TestSealRefuses: a challenge changed by one bit, sealed under another
// key (another process of the embedded store) or for another relying
// party does not open.
func TestSealRefuses(t *testing.T) {
	t.Parallel()
	key := NewSessionKey()
	s, _ := newSealer(key, "login.example.com")
	other, _ := newSealer(NewSessionKey(), "login.example.com")
	otherRP, _ := newSealer(key, "evil.example.com")
	challenge, err := s.seal(&Session{Ceremony: Login, UserID: "u", ExpiresAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(challenge)
	for i := range raw {
		flipped := append([]byte(nil), raw...)
		flipped[i] ^= 1
		if _, err := s.open(base64.RawURLEncoding.EncodeToString(flipped)); err == nil {
			t.Fatalf("a challenge with byte %d changed opened", i)
		}
	}
	for name, c := range map[string]*sealer{"another key": other, "another relying party": otherRP} {
		if _, err := c.open(challenge); err == nil {
			t.Errorf("%s opened the challenge", name)
		}
	}
	for _, bad := range []string{"", "AAAA", strings.Repeat("A", maxChallengeChars+1), challenge + "!"} {
		if _, err := s.open(bad); err == nil {
			t.Errorf("open(%q) succeeded", bad)
		}
	}
}

// TestSessionDataRebuilt: the session data a finish rebuilds from the
// sealed challenge is what go-webauthn's begin returned, but for the
// allow list, which the finish checks against the record instead.
func TestSessionDataRebuilt(t *testing.T) {
	t.Parallel()
	wa, err := webauthn.New(&webauthn.Config{
		RPID: "localhost", RPDisplayName: "Passkeys", RPOrigins: []string{"http://localhost"},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(wa, keyOnly{}, Options{SessionTTL: time.Minute})
	if err := svc.prepare(); err != nil {
		t.Fatal(err)
	}
	user := webauthnUser{user: &User{ID: "0c2d9a4e-7b1f-4e36-9a58-2f4d6c8e1b37", Credentials: []Credential{{WebAuthn: Key{ID: []byte("cred")}}}}, name: "a", displayName: "a"}
	begin := func(session *Session) *webauthn.SessionData {
		challenge, err := svc.newChallenge(session, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		session.Challenge = base64.RawURLEncoding.EncodeToString(challenge)
		var data *webauthn.SessionData
		switch {
		case session.Ceremony == Registration:
			mediation := protocol.MediationDefault
			if session.Conditional {
				mediation = protocol.MediationConditional
			}
			_, data, err = wa.BeginMediatedRegistration(user, mediation, append(svc.registrationOptions(user, mediation, nil),
				func(o *protocol.PublicKeyCredentialCreationOptions) error { o.Challenge = challenge; return nil })...)
		case session.UserID == "":
			_, data, err = wa.BeginDiscoverableMediatedLogin(protocol.MediationConditional, webauthn.WithChallenge(challenge))
		default:
			_, data, err = wa.BeginLogin(user, webauthn.WithChallenge(challenge))
		}
		if err != nil {
			t.Fatal(err)
		}
		data.AllowedCredentialIDs, data.Expires = nil, time.Time{}
		return data
	}
	for _, session := range []*Session{
		{Ceremony: Registration, UserID: user.user.ID},
		{Ceremony: Registration, UserID: user.user.ID, Conditional: true},
		{Ceremony: Login},
		{Ceremony: Login, UserID: user.user.ID},
	} {
		want := begin(session)
		got := svc.sessionData(session, string(want.UserID))
		if !reflect.DeepEqual(got, *want) {
			t.Errorf("%+v: rebuilt %+v\nbegin gave %+v", *session, got, *want)
		}
	}
}

// keyOnly is a store with nothing but a session key.
type keyOnly struct{ Store }

var testKey = NewSessionKey()

func (keyOnly) SessionKey() []byte { return testKey }
