package passkey_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

var iCloudAAGUID = [16]byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd}

func TestRegisterBeginOptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	first := h.register(t, newAuthenticator(t), userA)
	second := h.register(t, newAuthenticator(t), userA)
	h.register(t, newAuthenticator(t), userB)

	res, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: userA, UserName: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeviceCount != 2 || !res.ForUser {
		t.Errorf("deviceCount %d named %v, want 2 and true", res.DeviceCount, res.ForUser)
	}
	opts := creationOptions(t, string(res.Options))
	if opts.RelyingParty.ID != "localhost" {
		t.Errorf("rp.id %q, want localhost", opts.RelyingParty.ID)
	}
	if opts.User.ID != b64([]byte(userA)) || opts.User.Name != "a@example.com" || opts.User.DisplayName != "a@example.com" {
		t.Errorf("user %+v, want id base64url(user-a), name and displayName a@example.com", opts.User)
	}
	if len(opts.Challenge) < 16 {
		t.Errorf("challenge of %d bytes, want at least 16", len(opts.Challenge))
	}
	if opts.AuthenticatorSelection.UserVerification != protocol.VerificationRequired {
		t.Errorf("userVerification %q, want required", opts.AuthenticatorSelection.UserVerification)
	}
	excluded := descriptorIDs(opts.CredentialExcludeList)
	if len(excluded) != 2 || !excluded[first.CredentialID] || !excluded[second.CredentialID] {
		t.Errorf("excludeCredentials %v, want exactly %s and %s", excluded, first.CredentialID, second.CredentialID)
	}

	fresh := creationOptions(t, h.registerBegin(t, userNew))
	if len(fresh.CredentialExcludeList) != 0 {
		t.Errorf("a new user's excludeCredentials: %v, want none", fresh.CredentialExcludeList)
	}
}

func TestRegisterBeginRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  passkey.RegisterBeginRequest
		want passkey.Code
	}{
		{name: "no objectId", req: passkey.RegisterBeginRequest{UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId with a slash", req: passkey.RegisterBeginRequest{ObjectID: "a/b", UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId dot", req: passkey.RegisterBeginRequest{ObjectID: ".", UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId dot dot", req: passkey.RegisterBeginRequest{ObjectID: "..", UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId not a GUID", req: passkey.RegisterBeginRequest{ObjectID: "user-a", UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId a GUID with braces", req: passkey.RegisterBeginRequest{ObjectID: "{0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70}", UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "objectId too long", req: passkey.RegisterBeginRequest{ObjectID: strings.Repeat("a", 65), UserName: "a"}, want: passkey.CodeInvalidRequest},
		{name: "blank userName", req: passkey.RegisterBeginRequest{ObjectID: userA, UserName: "  "}, want: passkey.CodeInvalidRequest},
		{name: "userName of invisible characters only", req: passkey.RegisterBeginRequest{ObjectID: userA, UserName: "\u200b\u202e\ufeff\x00"}, want: passkey.CodeInvalidRequest},
	}
	h := newHarness(t, 10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.RegisterBegin(context.Background(), tt.req)
			wantCode(t, err, tt.want)
		})
	}
}

func TestRegisterFinish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []softauthn.Option
		deviceName string
		wantName   string // before " (date)" unless deviceName is given
		wantSynced bool
	}{
		{name: "unknown platform authenticator", wantName: "Passkey", wantSynced: true},
		{name: "known AAGUID", opts: []softauthn.Option{softauthn.WithAAGUID(iCloudAAGUID)}, wantName: "Apple Passwords", wantSynced: true},
		{name: "security key", opts: []softauthn.Option{softauthn.WithTransports("usb", "nfc"), softauthn.WithBackup(false, false), softauthn.WithAttestation(softauthn.AttestationPacked)}, wantName: "Security key"},
		{name: "named by the user", deviceName: "My phone", wantSynced: true},
		{name: "eligible but not synced", opts: []softauthn.Option{softauthn.WithBackup(true, false)}, wantName: "Passkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 10)
			a := newAuthenticator(t, tt.opts...)
			cred := attest(t, a, h.registerBegin(t, userA))
			res, err := h.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: userA, Credential: cred, DeviceName: tt.deviceName})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.deviceName
			if want == "" {
				want = tt.wantName + " (" + h.clock.Now().Format("2006-01-02") + ")"
			}
			if res.DeviceName != want {
				t.Errorf("deviceName %q, want %q", res.DeviceName, want)
			}
			if ids := a.Credentials(); len(ids) != 1 || res.CredentialID != b64(ids[0]) {
				t.Errorf("credentialId %s, authenticator holds %d credentials", res.CredentialID, len(ids))
			}
			if res.DeviceCount != 1 || res.PasskeySynced != tt.wantSynced {
				t.Errorf("deviceCount %d passkeySynced %v, want 1 and %v", res.DeviceCount, res.PasskeySynced, tt.wantSynced)
			}
			devices, err := h.svc.Devices(context.Background(), userA)
			if err != nil {
				t.Fatal(err)
			}
			if len(devices) != 1 || devices[0].ID != res.CredentialID || devices[0].Name != want ||
				!devices[0].CreatedAt.Equal(h.clock.Now()) || devices[0].BackupState != tt.wantSynced {
				t.Errorf("devices %+v, want the one just registered", devices)
			}
		})
	}
}

func TestRegisterFinishRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		objectID string
		ceremony []softauthn.CeremonyOption
		opts     []softauthn.Option
		want     passkey.Code
	}{
		{name: "no UV", ceremony: []softauthn.CeremonyOption{softauthn.WithoutUV()}, want: passkey.CodeCredentialRejected},
		{name: "no UP", ceremony: []softauthn.CeremonyOption{softauthn.WithoutUP()}, want: passkey.CodeCredentialRejected},
		{name: "wrong origin", ceremony: []softauthn.CeremonyOption{softauthn.WithOrigin("https://evil.example")}, want: passkey.CodeCredentialRejected},
		{name: "bad attestation signature", opts: []softauthn.Option{softauthn.WithAttestation(softauthn.AttestationPacked)}, ceremony: []softauthn.CeremonyOption{softauthn.WithBadSignature()}, want: passkey.CodeCredentialRejected},
		{name: "another user finishes", objectID: userB, want: passkey.CodeUserMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 10)
			cred := attest(t, newAuthenticator(t, tt.opts...), h.registerBegin(t, userA), tt.ceremony...)
			objectID := tt.objectID
			if objectID == "" {
				objectID = userA
			}
			_, err := h.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: objectID, Credential: cred})
			wantCode(t, err, tt.want)
			if _, err := h.store.GetUser(context.Background(), userA); err == nil {
				t.Error("a refused registration stored the user")
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		h := newHarness(t, 10)
		_, err := h.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: userA, Credential: "{"})
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
}

func TestLoginBegin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	first := h.register(t, newAuthenticator(t), userA)
	second := h.register(t, newAuthenticator(t), userA)
	h.register(t, newAuthenticator(t), userB)

	t.Run("named", func(t *testing.T) {
		res := h.loginBegin(t, userA, "")
		if !res.ForUser || res.DeviceCount != 2 {
			t.Errorf("named %v deviceCount %d, want true and 2", res.ForUser, res.DeviceCount)
		}
		opts := requestOptions(t, string(res.Options))
		allowed := descriptorIDs(opts.Response.AllowedCredentials)
		if len(allowed) != 2 || !allowed[first.CredentialID] || !allowed[second.CredentialID] {
			t.Errorf("allowCredentials %v, want exactly %s and %s", allowed, first.CredentialID, second.CredentialID)
		}
		if opts.Response.UserVerification != protocol.VerificationRequired || opts.Response.RelyingPartyID != "localhost" {
			t.Errorf("userVerification %q rpId %q, want required and localhost", opts.Response.UserVerification, opts.Response.RelyingPartyID)
		}
		if opts.Mediation != "" {
			t.Errorf("mediation %q, want none", opts.Mediation)
		}
	})
	tests := []struct {
		name      string
		mediation string
	}{
		{name: "usernameless"},
		{name: "conditional", mediation: "conditional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.loginBegin(t, "", tt.mediation)
			if res.ForUser || res.DeviceCount != 0 {
				t.Errorf("named %v deviceCount %d, want false and 0", res.ForUser, res.DeviceCount)
			}
			opts := requestOptions(t, string(res.Options))
			if len(opts.Response.AllowedCredentials) != 0 {
				t.Errorf("allowCredentials %v, want none", opts.Response.AllowedCredentials)
			}
			if string(opts.Mediation) != tt.mediation {
				t.Errorf("mediation %q, want %q", opts.Mediation, tt.mediation)
			}
			var raw map[string]json.RawMessage
			json.Unmarshal(res.Options, &raw)
			if _, ok := raw["publicKey"]; !ok {
				t.Errorf("options %s lack publicKey", res.Options)
			}
		})
	}
	refusals := []struct {
		name      string
		objectID  string
		mediation string
		want      passkey.Code
	}{
		{name: "user without passkeys", objectID: userNone, want: passkey.CodeNoDevices},
		{name: "unknown mediation", mediation: "silent-please", want: passkey.CodeInvalidRequest},
		{name: "bad objectId", objectID: "a b", want: passkey.CodeInvalidRequest},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.LoginBegin(context.Background(), passkey.LoginBeginRequest{ObjectID: tt.objectID, Mediation: tt.mediation})
			wantCode(t, err, tt.want)
		})
	}
}

func TestLoginFinish(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	a := newAuthenticator(t)
	regA := h.register(t, a, userA)
	regB := h.register(t, a, userB) // the same provider holds both users' passkeys
	ctx := context.Background()

	tests := []struct {
		name        string
		beginFor    string // empty: usernameless
		mediation   string
		finishAs    string
		credential  string // which passkey signs
		want        passkey.Code
		wantOwner   string
		wantCredID  string
		wantNameSub string
	}{
		{name: "named", beginFor: userA, finishAs: userA, credential: regA.CredentialID, wantOwner: userA, wantCredID: regA.CredentialID},
		{name: "usernameless", credential: regB.CredentialID, wantOwner: userB, wantCredID: regB.CredentialID},
		{name: "conditional", mediation: "conditional", credential: regA.CredentialID, wantOwner: userA, wantCredID: regA.CredentialID},
		{name: "usernameless with the owner's objectId", finishAs: userB, credential: regB.CredentialID, wantOwner: userB, wantCredID: regB.CredentialID},
		{name: "usernameless with another objectId", finishAs: userA, credential: regB.CredentialID, want: passkey.CodeUserMismatch},
		{name: "named, finished as another user", beginFor: userA, finishAs: userB, credential: regA.CredentialID, want: passkey.CodeUserMismatch},
		{name: "named, finished without objectId", beginFor: userA, credential: regA.CredentialID, want: passkey.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			begin := h.loginBegin(t, tt.beginFor, tt.mediation)
			id := mustDecode(t, tt.credential)
			cred := getAssertion(t, a, string(begin.Options), softauthn.WithCredentialID(id))
			res, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: tt.finishAs, Credential: cred})
			if tt.want != "" {
				wantCode(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.ObjectID != tt.wantOwner || res.CredentialID != tt.wantCredID || !res.UserVerified || !res.PasskeySynced {
				t.Errorf("result %+v, want owner %s, credential %s, verified and synced", res, tt.wantOwner, tt.wantCredID)
			}
			if !strings.HasPrefix(res.DeviceName, "Passkey (") {
				t.Errorf("deviceName %q, want the default name", res.DeviceName)
			}
			stored := h.user(t, tt.wantOwner).Credentials[0]
			if counter, _ := a.Counter(id); stored.WebAuthn.Authenticator.SignCount != counter {
				t.Errorf("stored sign count %d, authenticator at %d", stored.WebAuthn.Authenticator.SignCount, counter)
			}
		})
	}

	t.Run("named login cannot use another user's passkey", func(t *testing.T) {
		// The authenticator is made to sign with B's passkey although the
		// options only allow A's.
		begin := h.loginBegin(t, userA, "")
		opts := requestOptions(t, string(begin.Options))
		opts.Response.AllowedCredentials = nil
		raw, _ := json.Marshal(opts)
		cred := getAssertion(t, a, string(raw), softauthn.WithCredentialID(mustDecode(t, regB.CredentialID)))
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: userA, Credential: cred})
		wantCode(t, err, passkey.CodeCredentialUnknown)
	})
	t.Run("usernameless without user handle finds the owner by the index", func(t *testing.T) {
		begin := h.loginBegin(t, "", "")
		cred := getAssertion(t, a, string(begin.Options), softauthn.WithoutUserHandle())
		res, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: cred})
		if err != nil {
			t.Fatal(err)
		}
		if h.user(t, res.ObjectID).Find(mustDecode(t, res.CredentialID)) < 0 {
			t.Fatalf("LoginFinish = %+v: the user does not hold the credential", res)
		}
	})
	t.Run("usernameless with a deleted passkey", func(t *testing.T) {
		other := newAuthenticator(t)
		reg := h.register(t, other, userC)
		h.register(t, newAuthenticator(t), userC)
		if _, err := h.svc.DeleteDevice(ctx, userC, reg.CredentialID); err != nil {
			t.Fatal(err)
		}
		begin := h.loginBegin(t, "", "")
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: getAssertion(t, other, string(begin.Options))})
		wantCode(t, err, passkey.CodeCredentialUnknown)
	})
}

func TestLoginFinishRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ceremony []softauthn.CeremonyOption
	}{
		{name: "no UV", ceremony: []softauthn.CeremonyOption{softauthn.WithoutUV()}},
		{name: "no UP", ceremony: []softauthn.CeremonyOption{softauthn.WithoutUP()}},
		{name: "bad signature", ceremony: []softauthn.CeremonyOption{softauthn.WithBadSignature()}},
		{name: "wrong origin", ceremony: []softauthn.CeremonyOption{softauthn.WithOrigin("https://evil.example")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 10)
			a := newAuthenticator(t)
			h.register(t, a, userA)
			before := h.user(t, userA)
			_, err := h.login(t, a, userA, tt.ceremony...)
			wantCode(t, err, passkey.CodeCredentialRejected)
			after := h.user(t, userA)
			if after.Version != before.Version {
				t.Errorf("a refused login changed the user record (version %s → %s)", before.Version, after.Version)
			}
		})
	}
}

func TestSignCounter(t *testing.T) {
	t.Parallel()
	t.Run("backwards is refused and recorded", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		if _, err := h.login(t, a, userA, softauthn.WithCounter(5)); err != nil {
			t.Fatal(err)
		}
		begin := h.loginBegin(t, userA, "")
		cred := getAssertion(t, a, string(begin.Options), softauthn.WithCounter(3))
		req := passkey.LoginFinishRequest{ObjectID: userA, Credential: cred}
		_, err := h.svc.LoginFinish(context.Background(), req)
		wantCode(t, err, passkey.CodeCredentialRejected)

		stored := h.user(t, userA).Credentials[0].WebAuthn.Authenticator
		if !stored.CloneWarning || stored.SignCount != 5 {
			t.Errorf("stored authenticator %+v, want cloneWarning and count 5", stored)
		}
		var line struct {
			Level    string `json:"level"`
			Event    string `json:"event"`
			Stored   int    `json:"signCount"`
			Received int    `json:"receivedCount"`
		}
		found := false
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if json.Unmarshal([]byte(l), &line) == nil && line.Level == "WARN" && line.Event == passkey.EventCloneWarning {
				found = line.Stored == 5 && line.Received == 3
			}
		}
		if !found {
			t.Errorf("no clone warning event with signCount 5 and receivedCount 3 in the log:\n%s", h.logs.String())
		}
		// The retry of a refused call runs again, and is refused again.
		_, err = h.svc.LoginFinish(context.Background(), req)
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
	t.Run("equal non-zero is refused", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		_, err := h.login(t, a, userA, softauthn.WithCounter(1))
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
	t.Run("always zero is accepted", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t, softauthn.WithCounterStep(0))
		h.register(t, a, userA)
		for i := range 2 {
			if _, err := h.login(t, a, userA); err != nil {
				t.Fatalf("login %d with a zero counter: %v", i+1, err)
			}
		}
	})
}

func TestIdenticalRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("register-finish", func(t *testing.T) {
		h := newHarness(t, 10)
		cred := attest(t, newAuthenticator(t), h.registerBegin(t, userA))
		req := passkey.RegisterFinishRequest{ObjectID: userA, Credential: cred, DeviceName: "Laptop"}
		first, err := h.svc.RegisterFinish(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.svc.RegisterFinish(ctx, req)
		if err != nil {
			t.Fatalf("identical retry: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("retry answered %+v, first call %+v", again, first)
		}
		if n := len(h.user(t, userA).Credentials); n != 1 {
			t.Errorf("%d credentials stored, want 1", n)
		}
		req.DeviceName = "Desktop"
		_, err = h.svc.RegisterFinish(ctx, req)
		wantCode(t, err, passkey.CodeChallengeUsed)
	})
	t.Run("login-finish", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		begin := h.loginBegin(t, userA, "")
		req := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(begin.Options))}
		first, err := h.svc.LoginFinish(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		version := h.user(t, userA).Version
		again, err := h.svc.LoginFinish(ctx, req)
		if err != nil {
			t.Fatalf("identical retry: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("retry answered %+v, first call %+v", again, first)
		}
		if v := h.user(t, userA).Version; v != version {
			t.Errorf("the retry wrote the user again (version %s → %s)", version, v)
		}
		// A second assertion over the same options is another request.
		req.Credential = getAssertion(t, a, string(begin.Options))
		_, err = h.svc.LoginFinish(ctx, req)
		wantCode(t, err, passkey.CodeChallengeUsed)
	})
}

func TestSessionChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("expired registration", func(t *testing.T) {
		h := newHarness(t, 10)
		cred := attest(t, newAuthenticator(t), h.registerBegin(t, userA))
		h.advance(sessionTTL + time.Second)
		_, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: cred})
		wantCode(t, err, passkey.CodeChallengeExpired)
	})
	t.Run("registration just inside the lifetime", func(t *testing.T) {
		h := newHarness(t, 10)
		cred := attest(t, newAuthenticator(t), h.registerBegin(t, userA))
		h.advance(sessionTTL - time.Second)
		if _, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: cred}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired login", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		begin := h.loginBegin(t, "", "")
		cred := getAssertion(t, a, string(begin.Options))
		h.advance(sessionTTL + time.Second)
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: cred})
		wantCode(t, err, passkey.CodeChallengeExpired)
	})
	t.Run("unknown challenge", func(t *testing.T) {
		h, other := newHarness(t, 10), newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		begin := other.loginBegin(t, "", "")
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: getAssertion(t, a, string(begin.Options))})
		wantCode(t, err, passkey.CodeChallengeExpired)
	})
	t.Run("login challenge used to register", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		login := requestOptions(t, string(h.loginBegin(t, userA, "").Options))
		creation := creationOptions(t, h.registerBegin(t, userA))
		creation.Challenge = login.Response.Challenge
		creation.CredentialExcludeList = nil
		raw, _ := json.Marshal(protocol.CredentialCreation{Response: creation})
		cred := attest(t, newAuthenticator(t), string(raw))
		_, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: cred})
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
	t.Run("registration challenge used to log in", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		creation := creationOptions(t, h.registerBegin(t, userA))
		raw, _ := json.Marshal(protocol.CredentialAssertion{Response: protocol.PublicKeyCredentialRequestOptions{
			Challenge: creation.Challenge, RelyingPartyID: "localhost",
		}})
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(raw))})
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
}

func TestDeviceLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("begin", func(t *testing.T) {
		h := newHarness(t, 2)
		h.register(t, newAuthenticator(t), userA)
		h.register(t, newAuthenticator(t), userA)
		_, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: userA, UserName: "a"})
		wantCode(t, err, passkey.CodeDeviceLimit)
	})
	t.Run("finish", func(t *testing.T) {
		// Two registrations begun while there was room; the second to
		// finish finds the limit reached.
		h := newHarness(t, 2)
		h.register(t, newAuthenticator(t), userA)
		first := attest(t, newAuthenticator(t), h.registerBegin(t, userA))
		second := attest(t, newAuthenticator(t), h.registerBegin(t, userA))
		res, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: first})
		if err != nil || res.DeviceCount != 2 {
			t.Fatalf("first finish: %+v, %v; want deviceCount 2", res, err)
		}
		_, err = h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: second})
		wantCode(t, err, passkey.CodeDeviceLimit)
		if n := len(h.user(t, userA).Credentials); n != 2 {
			t.Errorf("%d credentials stored, want 2", n)
		}
	})
}

func TestManageDevices(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	mine := h.register(t, newAuthenticator(t), userA)
	kept := h.register(t, newAuthenticator(t), userA)
	theirs := h.register(t, newAuthenticator(t), userB)

	refusals := []struct {
		name         string
		objectID     string
		credentialID string
		newName      string
		want         passkey.Code
	}{
		{name: "another user's passkey", objectID: userA, credentialID: theirs.CredentialID, newName: "Mine now", want: passkey.CodeCredentialUnknown},
		{name: "no such passkey", objectID: userA, credentialID: b64([]byte("nothing")), newName: "X", want: passkey.CodeCredentialUnknown},
		{name: "unknown user", objectID: userZ, credentialID: mine.CredentialID, newName: "X", want: passkey.CodeCredentialUnknown},
		{name: "not base64url", objectID: userA, credentialID: "***", newName: "X", want: passkey.CodeInvalidRequest},
	}
	for _, tt := range refusals {
		t.Run("rename: "+tt.name, func(t *testing.T) {
			_, err := h.svc.RenameDevice(ctx, tt.objectID, tt.credentialID, tt.newName)
			wantCode(t, err, tt.want)
		})
		t.Run("delete: "+tt.name, func(t *testing.T) {
			_, err := h.svc.DeleteDevice(ctx, tt.objectID, tt.credentialID)
			wantCode(t, err, tt.want)
		})
	}
	names := []struct {
		name, given string
		want        passkey.Code
	}{
		{name: "blank", given: "   ", want: passkey.CodeInvalidRequest},
		{name: "too long", given: strings.Repeat("x", 65), want: passkey.CodeInvalidRequest},
		{name: "control character", given: "a\nb", want: passkey.CodeInvalidRequest},
	}
	for _, tt := range names {
		t.Run("rename to "+tt.name, func(t *testing.T) {
			_, err := h.svc.RenameDevice(ctx, userA, mine.CredentialID, tt.given)
			wantCode(t, err, tt.want)
		})
	}
	if names := deviceNames(t, h, userB); len(names) != 1 || names[0] != theirs.DeviceName {
		t.Fatalf("user-b's devices %v after the refusals, want only %q", names, theirs.DeviceName)
	}

	t.Run("rename", func(t *testing.T) {
		got, err := h.svc.RenameDevice(ctx, userA, mine.CredentialID, "  Work laptop ")
		if err != nil || got != "Work laptop" {
			t.Fatalf("rename: %q, %v; want the trimmed name", got, err)
		}
		if _, err := h.svc.RenameDevice(ctx, userA, mine.CredentialID, "Work laptop"); err != nil {
			t.Errorf("renaming to the same name: %v", err)
		}
		if names := deviceNames(t, h, userA); names[0] != "Work laptop" || names[1] != kept.DeviceName {
			t.Errorf("devices %v after rename", names)
		}
	})
	t.Run("delete", func(t *testing.T) {
		n, err := h.svc.DeleteDevice(ctx, userA, mine.CredentialID)
		if err != nil || n != 1 {
			t.Fatalf("delete: %d, %v; want 1 left", n, err)
		}
		if names := deviceNames(t, h, userA); len(names) != 1 || names[0] != kept.DeviceName {
			t.Errorf("devices %v after delete, want only %q", names, kept.DeviceName)
		}
		_, err = h.svc.DeleteDevice(ctx, userA, mine.CredentialID)
		wantCode(t, err, passkey.CodeCredentialUnknown)
	})
	t.Run("unknown user lists none", func(t *testing.T) {
		devices, err := h.svc.Devices(ctx, userZ)
		if err != nil || len(devices) != 0 {
			t.Errorf("devices %v, %v; want none", devices, err)
		}
	})
}

func TestConcurrentFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const rounds = 4
	t.Run("login", func(t *testing.T) {
		h := newHarness(t, 10)
		a := newAuthenticator(t)
		h.register(t, a, userA)
		for range rounds {
			begin := h.loginBegin(t, userA, "")
			bodies := []string{getAssertion(t, a, string(begin.Options)), getAssertion(t, a, string(begin.Options))}
			errs := race(len(bodies), func(i int) error {
				_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: userA, Credential: bodies[i]})
				return err
			})
			checkOneWinner(t, errs)
		}
	})
	t.Run("register", func(t *testing.T) {
		h := newHarness(t, 10)
		for range rounds {
			options := h.registerBegin(t, userA)
			bodies := []string{attest(t, newAuthenticator(t), options), attest(t, newAuthenticator(t), options)}
			errs := race(len(bodies), func(i int) error {
				_, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: userA, Credential: bodies[i]})
				return err
			})
			checkOneWinner(t, errs)
		}
		if n := len(h.user(t, userA).Credentials); n != rounds {
			t.Errorf("%d credentials stored, want %d", n, rounds)
		}
	})
}

// race runs n calls of fn as nearly at once as it can.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			errs[i] = fn(i)
		})
	}
	start.Done()
	done.Wait()
	return errs
}

func checkOneWinner(t *testing.T, errs []error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch code := passkey.ErrorCode(err); code {
		case "":
			wins++
		case passkey.CodeChallengeUsed:
		default:
			t.Errorf("a racing finish failed with %v, want success or challenge_used", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d racing finishes succeeded, want exactly 1", wins, len(errs))
	}
}

func deviceNames(t *testing.T, h *harness, objectID string) []string {
	t.Helper()
	devices, err := h.svc.Devices(context.Background(), objectID)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(devices))
	for i, d := range devices {
		names[i] = d.Name
	}
	return names
}

func mustDecode(t *testing.T, id string) []byte {
	t.Helper()
	var b protocol.URLEncodedBase64
	if err := b.UnmarshalJSON([]byte(`"` + id + `"`)); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetryAfterExpiry: B2C retries a finish that took up to 30 s, twice;
// when the first attempt was made in time, the retry gets the same success
// even after the session expired, while a first attempt after expiry is
// refused, and so is its retry.
func TestRetryAfterExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, 10)
	a := newAuthenticator(t)
	h.register(t, a, userA)

	begin := h.loginBegin(t, userA, "")
	req := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(begin.Options))}
	h.advance(sessionTTL - time.Second)
	first, err := h.svc.LoginFinish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	again, err := h.svc.LoginFinish(ctx, req)
	if err != nil {
		t.Fatalf("retry of an in-time request after expiry: %v", err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("retry answered %+v, first call %+v", again, first)
	}

	late := h.loginBegin(t, userA, "")
	lateReq := passkey.LoginFinishRequest{ObjectID: userA, Credential: getAssertion(t, a, string(late.Options))}
	h.advance(sessionTTL + time.Second)
	_, err = h.svc.LoginFinish(ctx, lateReq)
	wantCode(t, err, passkey.CodeChallengeExpired)
	_, err = h.svc.LoginFinish(ctx, lateReq)
	wantCode(t, err, passkey.CodeChallengeExpired)
}
