package passkey

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code of the wire contract.
type Code string

// The codes of the contract. The 409 codes are ceremony outcomes a user
// should read; the others describe the call itself.
const (
	CodeChallengeExpired   Code = "challenge_expired"
	CodeChallengeUsed      Code = "challenge_used"
	CodeCredentialRejected Code = "credential_rejected"
	CodeCredentialUnknown  Code = "credential_unknown"
	CodeCredentialExists   Code = "credential_exists"
	CodeNoDevices          Code = "no_devices"
	CodeDeviceLimit        Code = "device_limit"
	CodeUserMismatch       Code = "user_mismatch"
	// CodeAuthenticatorNotAllowed: the authenticator policy refuses it.
	CodeAuthenticatorNotAllowed Code = "authenticator_not_allowed"

	CodeInvalidRequest     Code = "invalid_request"
	CodeRequestTooLarge    Code = "request_too_large"
	CodeUnauthorized       Code = "unauthorized"
	CodeNotFound           Code = "not_found"
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeStorageUnavailable Code = "storage_unavailable"
	CodeInternal           Code = "internal_error"
)

// Error is the one error type the domain returns to callers: a code and a
// developer message that names the failed check. The message never holds a
// secret, a key or a credential body; Err keeps the cause for the log only.
type Error struct {
	Code    Code
	Message string
	Err     error
	// Hint, where set, picks a more specific user message for the code
	// (see ErrorUserMessage).
	Hint string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted developer message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of an *Error in its chain,
// storage_unavailable for ErrUnavailable, internal_error otherwise.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrUnavailable):
		return CodeStorageUnavailable
	default:
		return CodeInternal
	}
}

// Store errors. Every store returns these (wrapped or not) so the domain can
// tell the cases apart whatever the storage engine.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a create found the record already there, or a replace
	// found a newer version than the one it was given.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the storage could not be reached or refused the
	// request after its retries; nothing was written.
	ErrUnavailable = errors.New("storage unavailable")
)
