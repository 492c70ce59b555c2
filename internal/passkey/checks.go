package passkey

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
)

// Bounds on what a client sends, applied before it is parsed or stored.
const (
	// maxAttestationBytes bounds the credential claim of register-finish:
	// an attestation with a certificate chain (TPM, packed) is a few KB.
	maxAttestationBytes = 16 << 10
	// maxAssertionBytes bounds the credential claim of login-finish.
	maxAssertionBytes = 8 << 10
	// maxCredentialIDBytes is WebAuthn's bound on a credential id.
	maxCredentialIDBytes = 1023
	// maxCorrelationID bounds a journey id; B2C's are GUIDs.
	maxCorrelationID = 128
)

// checkObjectID accepts what B2C puts in objectId: a directory object id,
// a GUID in its 36-character form. Nothing else reaches the store as a key
// or the authenticator as a user handle ("." and ".." included).
func checkObjectID(id string) error {
	if strings.TrimSpace(id) == "" {
		return Errorf(CodeInvalidRequest, "objectId is required")
	}
	if !isGUID(id) {
		return Errorf(CodeInvalidRequest, "objectId must be a GUID (the B2C user's object id)")
	}
	return nil
}

// isGUID reports the form 8-4-4-4-12 of hexadecimal digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// checkCredentialClaim refuses a missing credential claim and one larger
// than any real authenticator sends, before it is parsed.
func checkCredentialClaim(credential string, max int) error {
	if strings.TrimSpace(credential) == "" {
		return Errorf(CodeInvalidRequest, "credential is required")
	}
	if len(credential) > max {
		return Errorf(CodeCredentialRejected, "the credential is %d bytes; at most %d are accepted", len(credential), max)
	}
	return nil
}

// checkChallenge refuses a challenge that the service cannot have issued
// (a sealed session, seal.go: base64url without padding, of a bounded
// size) before it is opened.
func checkChallenge(challenge string) error {
	if challenge == "" {
		return Errorf(CodeCredentialRejected, "clientDataJSON has no challenge")
	}
	if len(challenge) > maxChallengeChars || len(challenge) < minChallengeChars {
		return Errorf(CodeCredentialRejected, "the challenge in clientDataJSON is not one this service issues")
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil {
		return Errorf(CodeCredentialRejected, "the challenge in clientDataJSON is not one this service issues")
	}
	return nil
}

// checkCorrelationID returns the journey id a session is bound to: B2C's
// {Context:CorrelationId}, a GUID; empty when the caller sent none.
func checkCorrelationID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if len(id) > maxCorrelationID || strings.IndexFunc(id, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:", r)))
	}) >= 0 {
		return "", Errorf(CodeInvalidRequest, "correlationId must be at most %d letters, digits or -_.:", maxCorrelationID)
	}
	return id, nil
}

// invisible reports characters that change how text reads without being
// seen: bidi overrides and isolates, zero-width characters, the BOM (all
// of Unicode's format category, Cf) and control characters.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r)
}

// cleanText returns a name taken from the directory (userName,
// displayName) without its invisible characters, which would let one name
// pass for another on the authenticator's account chooser.
func cleanText(field, value string, max int) (string, error) {
	if !utf8.ValidString(value) {
		return "", Errorf(CodeInvalidRequest, "%s must be UTF-8", field)
	}
	value = strings.TrimSpace(strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, value))
	if value == "" {
		return "", Errorf(CodeInvalidRequest, "%s is required", field)
	}
	if utf8.RuneCountInString(value) > max {
		return "", Errorf(CodeInvalidRequest, "%s must be at most %d characters", field, max)
	}
	return value, nil
}

// checkDeviceName refuses a device name the user typed with invisible
// characters in it, rather than storing something other than they typed.
func checkDeviceName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(CodeInvalidRequest, "deviceName is required")
	}
	if utf8.RuneCountInString(name) > 64 {
		return Errorf(CodeInvalidRequest, "deviceName must be at most 64 characters")
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, invisible) >= 0 {
		return Errorf(CodeInvalidRequest, "deviceName must not hold control, bidi or zero-width characters")
	}
	return nil
}

func decodeID(s string) ([]byte, error) {
	if strings.TrimSpace(s) == "" {
		return nil, Errorf(CodeInvalidRequest, "credentialId is required")
	}
	id, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(id) == 0 || len(id) > maxCredentialIDBytes {
		return nil, Errorf(CodeInvalidRequest, "credentialId must be a base64url credential id")
	}
	return id, nil
}

// cleanTransports keeps the transports WebAuthn defines, each once, in a
// fixed order: a client may send any strings, any number of times.
func cleanTransports(in []protocol.AuthenticatorTransport) []protocol.AuthenticatorTransport {
	known := []protocol.AuthenticatorTransport{protocol.BLE, protocol.SmartCard, protocol.Hybrid, protocol.Internal, protocol.NFC, protocol.USB}
	var out []protocol.AuthenticatorTransport
	for _, t := range known {
		if slices.Contains(in, t) {
			out = append(out, t)
		}
	}
	return out
}
