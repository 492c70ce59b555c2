package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/text/language"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// request holds every claim a function reads. B2C sends claims as a flat
// JSON object; unknown claims are ignored, known ones must be strings.
type request struct {
	ObjectID     string `json:"objectId"`
	UserName     string `json:"userName"`
	DisplayName  string `json:"displayName"`
	Credential   string `json:"credential"`
	DeviceName   string `json:"deviceName"`
	Mediation    string `json:"mediation"`
	CredentialID string `json:"credentialId"`
	Locale       string `json:"locale"`
	// Hints are the begin calls' user-agent hints (lifecycle.go).
	Hints hintList `json:"hints"`
	// CorrelationID is B2C's {Context:CorrelationId}: it is logged, and a
	// session is bound to the journey of its begin call.
	CorrelationID string `json:"correlationId"`
	// ClientIP is B2C's {Context:IPAddress}, for the security events.
	ClientIP string `json:"clientIp"`
	// RequestedBy and Reason are read by the support functions (support.go).
	RequestedBy string `json:"requestedBy"`
	Reason      string `json:"reason"`

	lang language.Tag
}

// decode reads the body into r and picks the language of userMessage: the
// locale claim first, then Accept-Language (already in r.lang).
func (r *request) decode(body io.Reader) error {
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return passkey.Errorf(passkey.CodeRequestTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return passkey.Errorf(passkey.CodeInvalidRequest, "reading the body failed")
	}
	// A null body decodes into the struct without error; it is not an object.
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return passkey.Errorf(passkey.CodeInvalidRequest, "the body must be a JSON object, not null")
	}
	err = json.Unmarshal(data, r)
	if err == nil {
		if r.Locale != "" {
			r.lang = passkey.Language(r.Locale, r.lang.String())
		}
		return nil
	}
	// Peek at locale alone, so that even a decoding error is localized.
	var peek struct {
		Locale any `json:"locale"`
	}
	if json.Unmarshal(data, &peek) == nil {
		if locale, ok := peek.Locale.(string); ok && locale != "" {
			r.lang = passkey.Language(locale, r.lang.String())
		}
	}
	var typeErr *json.UnmarshalTypeError
	var domainErr *passkey.Error
	switch {
	case errors.As(err, &domainErr):
		return domainErr
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return passkey.Errorf(passkey.CodeInvalidRequest, "%s must be a string, not %s", typeErr.Field, typeErr.Value)
	case errors.As(err, &typeErr):
		return passkey.Errorf(passkey.CodeInvalidRequest, "the body must be a JSON object, not %s", typeErr.Value)
	default:
		return passkey.Errorf(passkey.CodeInvalidRequest, "the body is not valid JSON: %s", jsonProblem(err))
	}
}

// jsonProblem describes a syntax error without quoting the body.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return "cannot be decoded"
}
