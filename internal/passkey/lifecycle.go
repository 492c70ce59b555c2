package passkey

import (
	"context"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// This file holds what today's browsers add to the ceremonies: automatic
// passkey upgrade (conditional create), hints, the credProps extension and
// the values the Signal API needs.

// maxHints bounds the hints a begin accepts: the spec defines three.
const maxHints = 3

// parseHints checks the hints of a begin call: security-key, client-device
// or hybrid, each at most once, in the caller's order of preference.
func parseHints(hints []string) ([]protocol.PublicKeyCredentialHints, error) {
	if len(hints) > maxHints {
		return nil, Errorf(CodeInvalidRequest, "hints may hold at most %d values", maxHints)
	}
	var out []protocol.PublicKeyCredentialHints
	for _, h := range hints {
		hint := protocol.PublicKeyCredentialHints(h)
		switch hint {
		case protocol.PublicKeyCredentialHintSecurityKey, protocol.PublicKeyCredentialHintClientDevice, protocol.PublicKeyCredentialHintHybrid:
		default:
			return nil, Errorf(CodeInvalidRequest, "hints may hold only security-key, client-device and hybrid")
		}
		for _, seen := range out {
			if seen == hint {
				return nil, Errorf(CodeInvalidRequest, "hints names %s twice", h)
			}
		}
		out = append(out, hint)
	}
	return out, nil
}

// registrationMediation accepts the mediation of register-begin: empty (a
// modal create) or conditional (the automatic upgrade after a password
// sign-in).
func registrationMediation(m string) (protocol.CredentialMediationRequirement, error) {
	switch mediation := protocol.CredentialMediationRequirement(m); mediation {
	case protocol.MediationDefault, protocol.MediationConditional:
		return mediation, nil
	}
	return "", Errorf(CodeInvalidRequest, "mediation of a registration must be empty or conditional")
}

// registrationOptions are the options of every registration: the user's
// passkeys excluded, the credProps extension (so the device list can say
// whether a passkey works without a user name) and the hints.
//
// A conditional registration asks for user verification only as
// "preferred": the browser creates it without a dialog, and Apple's
// password manager then sends neither user presence nor user verification.
// go-webauthn reads both from the session: UP is not checked when the
// session's mediation is conditional, UV only when it was required. A
// session begun any other way keeps both requirements.
func (s *Service) registrationOptions(wu webauthnUser, mediation protocol.CredentialMediationRequirement, hints []protocol.PublicKeyCredentialHints) []webauthn.RegistrationOption {
	opts := []webauthn.RegistrationOption{
		webauthn.WithExclusions(webauthn.Credentials(wu.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	}
	if len(hints) > 0 {
		opts = append(opts, webauthn.WithPublicKeyCredentialHints(hints))
	}
	if mediation == protocol.MediationConditional {
		selection := s.webauthn.Config.AuthenticatorSelection
		selection.UserVerification = protocol.VerificationPreferred
		opts = append(opts, webauthn.WithAuthenticatorSelection(selection))
	}
	return opts
}

// loginOptions are the options of a login beyond the user's passkeys.
func loginOptions(hints []protocol.PublicKeyCredentialHints) []webauthn.LoginOption {
	if len(hints) == 0 {
		return nil
	}
	return []webauthn.LoginOption{webauthn.WithAssertionPublicKeyCredentialHints(hints)}
}

// Signals are the values the page passes to the browser's Signal API
// (PublicKeyCredential.signalAllAcceptedCredentials, signalCurrentUserDetails,
// signalUnknownCredential) so that password managers keep only the
// passkeys the service still accepts.
type Signals struct {
	RPID string
	// UserHandle is the WebAuthn user id (the objectId's bytes), base64url.
	UserHandle string
	// AcceptedCredentialIDs are the user's credential ids, base64url; nil
	// where the function does not list them.
	AcceptedCredentialIDs []string
}

func (s *Service) signals(user *User) Signals {
	ids := make([]string, len(user.Credentials))
	for i, c := range user.Credentials {
		ids[i] = encodeID(c.WebAuthn.ID)
	}
	return Signals{RPID: s.webauthn.Config.RPID, UserHandle: encodeID([]byte(user.ID)), AcceptedCredentialIDs: ids}
}

// UserSignals returns the relying party and user handle of objectID, for
// signalCurrentUserDetails.
func (s *Service) UserSignals(objectID string) Signals {
	return Signals{RPID: s.webauthn.Config.RPID, UserHandle: encodeID([]byte(objectID))}
}

// AcceptedCredentials returns the signals of the user as stored now: every
// credential id the service accepts for them (none for an unknown user).
func (s *Service) AcceptedCredentials(ctx context.Context, objectID string) (Signals, error) {
	if err := checkObjectID(objectID); err != nil {
		return Signals{}, err
	}
	user, err := s.getUser(ctx, objectID)
	if err != nil {
		return Signals{}, err
	}
	return s.signals(user), nil
}

// SplitHints splits a hints claim: a comma- or space-separated string, as
// a B2C string claim carries it.
func SplitHints(claim string) []string {
	return strings.FieldsFunc(claim, func(r rune) bool { return r == ',' || r == ' ' })
}
