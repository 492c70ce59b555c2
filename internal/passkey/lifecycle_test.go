package passkey_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// conditionalBegin begins an automatic upgrade (conditional create).
func (h *harness) conditionalBegin(t *testing.T, objectID string) *passkey.BeginResult {
	t.Helper()
	res, err := h.svc.RegisterBegin(context.Background(), passkey.RegisterBeginRequest{
		ObjectID: objectID, UserName: objectID + "@example.com", Mediation: "conditional"})
	if err != nil {
		t.Fatalf("conditional register-begin for %s: %v", objectID, err)
	}
	return res
}

// TestConditionalRegistrationAcceptsNoPresenceNoVerification: Apple's
// silent upgrade sends UP=0 and UV=0; only a session begun with mediation
// conditional takes such a credential.
func TestConditionalRegistrationAcceptsNoPresenceNoVerification(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	res := h.conditionalBegin(t, oid("upgrader"))
	var creation protocol.CredentialCreation
	if err := json.Unmarshal(res.Options, &creation); err != nil {
		t.Fatal(err)
	}
	if creation.Mediation != protocol.MediationConditional {
		t.Errorf("options mediation %q, want conditional", creation.Mediation)
	}
	if uv := creation.Response.AuthenticatorSelection.UserVerification; uv != protocol.VerificationPreferred {
		t.Errorf("userVerification %q on a conditional registration, want preferred", uv)
	}
	cred := attest(t, newAuthenticator(t), string(res.Options), softauthn.WithoutUP(), softauthn.WithoutUV())
	reg, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: oid("upgrader"), Credential: cred})
	if err != nil {
		t.Fatalf("a silent upgrade (UP=0, UV=0) on a conditional session was refused: %v", err)
	}
	if reg.DeviceCount != 1 {
		t.Errorf("deviceCount %d, want 1", reg.DeviceCount)
	}
	stored := h.user(t, oid("upgrader")).Credentials[0].WebAuthn.Flags
	if stored.UserPresent || stored.UserVerified {
		t.Errorf("stored flags %+v, want UP and UV recorded as absent", stored)
	}
}

// TestNoPresenceOrVerificationRefusedElsewhere: every other ceremony still
// requires user presence and user verification.
func TestNoPresenceOrVerificationRefusedElsewhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	a := newAuthenticator(t)
	h.register(t, a, oid("known"))
	flags := []struct {
		name string
		opts []softauthn.CeremonyOption
	}{
		{"UP=0 UV=0", []softauthn.CeremonyOption{softauthn.WithoutUP(), softauthn.WithoutUV()}},
		{"UP=0", []softauthn.CeremonyOption{softauthn.WithoutUP()}},
		{"UV=0", []softauthn.CeremonyOption{softauthn.WithoutUV()}},
	}
	for _, f := range flags {
		t.Run("modal registration, "+f.name, func(t *testing.T) {
			cred := attest(t, newAuthenticator(t), h.registerBegin(t, oid("modal")), f.opts...)
			_, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: oid("modal"), Credential: cred})
			wantCode(t, err, passkey.CodeCredentialRejected)
		})
		for _, mediation := range []string{"", "conditional", "optional"} {
			t.Run("named login mediation "+mediation+", "+f.name, func(t *testing.T) {
				begin := h.loginBegin(t, oid("known"), mediation)
				cred := getAssertion(t, a, string(begin.Options), f.opts...)
				_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: oid("known"), Credential: cred})
				wantCode(t, err, passkey.CodeCredentialRejected)
			})
			t.Run("usernameless login mediation "+mediation+", "+f.name, func(t *testing.T) {
				begin := h.loginBegin(t, "", mediation)
				cred := getAssertion(t, a, string(begin.Options), f.opts...)
				_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: cred})
				wantCode(t, err, passkey.CodeCredentialRejected)
			})
		}
	}
	t.Run("a conditional registration's assertion is not a login", func(t *testing.T) {
		// The login ceremony never takes a registration session, conditional or not.
		res := h.conditionalBegin(t, oid("known"))
		opts := creationOptions(t, string(res.Options))
		login := h.loginBegin(t, oid("known"), "")
		var assertion map[string]any
		json.Unmarshal(login.Options, &assertion)
		assertion["publicKey"].(map[string]any)["challenge"] = b64(opts.Challenge)
		swapped, _ := json.Marshal(assertion)
		cred := getAssertion(t, a, string(swapped), softauthn.WithoutUP(), softauthn.WithoutUV())
		_, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: oid("known"), Credential: cred})
		wantCode(t, err, passkey.CodeCredentialRejected)
	})
	t.Run("mediation other than conditional is refused at begin", func(t *testing.T) {
		for _, m := range []string{"optional", "required", "silent", "CONDITIONAL"} {
			_, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: oid("x"), UserName: "x", Mediation: m})
			wantCode(t, err, passkey.CodeInvalidRequest)
		}
	})
}

// TestConditionalBeginAtTheDeviceLimit: a silent upgrade never stops a
// sign-in, so a user at the limit gets no options instead of device_limit;
// a modal registration still gets device_limit.
func TestConditionalBeginAtTheDeviceLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.register(t, newAuthenticator(t), oid("full"))
	res := h.conditionalBegin(t, oid("full"))
	if res.Options != nil || res.DeviceCount != 1 {
		t.Errorf("conditional begin at the limit: options %s deviceCount %d, want none and 1", res.Options, res.DeviceCount)
	}
	_, err := h.svc.RegisterBegin(context.Background(), passkey.RegisterBeginRequest{ObjectID: oid("full"), UserName: "f"})
	wantCode(t, err, passkey.CodeDeviceLimit)
}

func TestHintsInTheOptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	h.register(t, newAuthenticator(t), oid("hinted"))
	reg, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: oid("hinted"), UserName: "h", Hints: []string{"security-key", "hybrid"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := creationOptions(t, string(reg.Options))
	if !slices.Equal(opts.Hints, []protocol.PublicKeyCredentialHints{"security-key", "hybrid"}) {
		t.Errorf("registration hints %q, want [security-key hybrid]", opts.Hints)
	}
	// For browsers without hints, the first hint also picks the attachment.
	if opts.AuthenticatorSelection.AuthenticatorAttachment != protocol.CrossPlatform {
		t.Errorf("attachment %q, want cross-platform", opts.AuthenticatorSelection.AuthenticatorAttachment)
	}
	if plain := creationOptions(t, h.registerBegin(t, oid("hinted"))); len(plain.Hints) != 0 || plain.AuthenticatorSelection.AuthenticatorAttachment != "" {
		t.Errorf("without hints: hints %q attachment %q, want neither", plain.Hints, plain.AuthenticatorSelection.AuthenticatorAttachment)
	}
	for _, objectID := range []string{oid("hinted"), ""} {
		login, err := h.svc.LoginBegin(ctx, passkey.LoginBeginRequest{ObjectID: objectID, Hints: []string{"client-device"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := requestOptions(t, string(login.Options)).Response.Hints; !slices.Equal(got, []protocol.PublicKeyCredentialHints{"client-device"}) {
			t.Errorf("login (objectId %q) hints %q, want [client-device]", objectID, got)
		}
	}
	bad := [][]string{{"usb"}, {"security-key", "security-key"}, {"hybrid", "client-device", "security-key", "hybrid"}, {""}}
	for _, hints := range bad {
		_, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: oid("hinted"), UserName: "h", Hints: hints})
		wantCode(t, err, passkey.CodeInvalidRequest)
		_, err = h.svc.LoginBegin(ctx, passkey.LoginBeginRequest{Hints: hints})
		wantCode(t, err, passkey.CodeInvalidRequest)
	}
}

// TestCredPropsStoredAndListed: registrations request credProps; the rk the
// browser reports is stored and listed as discoverable.
func TestCredPropsStoredAndListed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	for _, mediation := range []string{"", "conditional"} {
		res, err := h.svc.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: oid("p"), UserName: "p", Mediation: mediation})
		if err != nil {
			t.Fatal(err)
		}
		if !creationOptions(t, string(res.Options)).Extensions.CredProps {
			t.Errorf("registration (mediation %q) does not request credProps: %s", mediation, res.Options)
		}
	}
	no := false
	cases := []struct {
		name string
		opts []softauthn.CeremonyOption
		want *bool
	}{
		{"rk true", nil, new(true)},
		{"rk false", []softauthn.CeremonyOption{softauthn.WithCredProps(&no)}, new(false)},
		{"not reported", []softauthn.CeremonyOption{softauthn.WithCredProps(nil)}, nil},
	}
	for _, c := range cases {
		objectID := oid("rk-" + c.name[:2] + c.name[len(c.name)-4:])
		cred := attest(t, newAuthenticator(t), h.registerBegin(t, objectID), c.opts...)
		if _, err := h.svc.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: objectID, Credential: cred}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := h.user(t, objectID).Credentials[0].WebAuthn.Extensions.RK; !equalPtr(got, c.want) {
			t.Errorf("%s: stored rk %v, want %v", c.name, show(got), show(c.want))
		}
		devices, err := h.svc.Devices(ctx, objectID)
		if err != nil {
			t.Fatal(err)
		}
		if !equalPtr(devices[0].Discoverable, c.want) {
			t.Errorf("%s: listed discoverable %v, want %v", c.name, show(devices[0].Discoverable), show(c.want))
		}
		listed, _ := json.Marshal(devices[0])
		var fields map[string]any
		json.Unmarshal(listed, &fields)
		if _, present := fields["discoverable"]; present != (c.want != nil) {
			t.Errorf("%s: device JSON %s, want discoverable only when reported", c.name, listed)
		}
	}
}

// TestSignalsAfterEachFunction: the values the Signal API needs, after
// each change, are the user's credentials as stored.
func TestSignalsAfterEachFunction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	ctx := context.Background()
	a, b := newAuthenticator(t), newAuthenticator(t)
	handle := b64([]byte(oid("signals")))
	first := h.register(t, a, oid("signals"))
	want := func(t *testing.T, got passkey.Signals, ids ...string) {
		t.Helper()
		if got.RPID != "localhost" || got.UserHandle != handle {
			t.Errorf("rpId %q userHandle %q, want localhost and %s", got.RPID, got.UserHandle, handle)
		}
		if !slices.Equal(got.AcceptedCredentialIDs, ids) {
			t.Errorf("accepted %v, want %v", got.AcceptedCredentialIDs, ids)
		}
	}
	want(t, first.Signals, first.CredentialID)
	second := h.register(t, b, oid("signals"))
	want(t, second.Signals, first.CredentialID, second.CredentialID)
	login, err := h.login(t, b, oid("signals"))
	if err != nil {
		t.Fatal(err)
	}
	want(t, login.Signals, first.CredentialID, second.CredentialID)
	begin := h.loginBegin(t, "", "")
	usernameless, err := h.svc.LoginFinish(ctx, passkey.LoginFinishRequest{Credential: getAssertion(t, a, string(begin.Options))})
	if err != nil {
		t.Fatal(err)
	}
	want(t, usernameless.Signals, first.CredentialID, second.CredentialID)
	if _, err := h.svc.DeleteDevice(ctx, oid("signals"), first.CredentialID); err != nil {
		t.Fatal(err)
	}
	after, err := h.svc.AcceptedCredentials(ctx, oid("signals"))
	if err != nil {
		t.Fatal(err)
	}
	want(t, after, second.CredentialID)
	none, err := h.svc.AcceptedCredentials(ctx, oid("nobody"))
	if err != nil || none.AcceptedCredentialIDs == nil || len(none.AcceptedCredentialIDs) != 0 {
		t.Errorf("an unknown user's accepted ids %v (%v), want an empty list", none.AcceptedCredentialIDs, err)
	}
	if u := h.svc.UserSignals(oid("signals")); u.UserHandle != handle || u.RPID != "localhost" || u.AcceptedCredentialIDs != nil {
		t.Errorf("UserSignals %+v", u)
	}
}

func equalPtr(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show(p *bool) any {
	if p == nil {
		return "absent"
	}
	return *p
}
