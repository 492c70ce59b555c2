package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/token"
)

// checkCaller requires, when CallerTokens is set, an Entra ID token of
// B2C's app registration on every call of a B2C function: the key proves
// little on its own, since it is one static string. The support
// functions, the page templates, the app API (its own tokens) and the
// readiness probe are not B2C's calls and keep their own rules.
func (s *Server) checkCaller(w http.ResponseWriter, r *http.Request, id, name string) error {
	if s.opts.CallerTokens == nil {
		return nil
	}
	if _, ok := s.functions()[name]; !ok {
		return nil
	}
	raw, err := token.FromHeader(r.Header.Get("Authorization"))
	if err == nil {
		_, err = s.opts.CallerTokens.Validate(r.Context(), raw)
	}
	if err == nil {
		return nil
	}
	refusal := bearerRefusal(w, err)
	s.securityEvent(r, "caller_token_refused", slog.String("requestId", id), slog.String("function", name),
		slog.String("reason", refusal.Message))
	return refusal
}

// bearerRefusal sets WWW-Authenticate for a refused bearer token (RFC
// 6750) and returns the contract's unauthorized error naming the failed
// check. The description never holds the token.
func bearerRefusal(w http.ResponseWriter, err error) *passkey.Error {
	description := "the token could not be validated"
	var cause error
	var terr *token.Error
	if errors.As(err, &terr) {
		description = terr.Description
		// Only the fetch failures' causes go to the log: a parser's
		// message could quote the attacker's bytes.
		if terr.Check == token.CheckKeys {
			cause = terr.Err
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+quoteSafe(description)+`"`)
	return &passkey.Error{Code: passkey.CodeUnauthorized, Message: "bearer token refused: " + description, Err: cause}
}

// quoteSafe keeps a value inside an HTTP quoted-string.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' || r > '~' {
			return '\''
		}
		return r
	}, s)
}

// securityEvent logs one line a security team alerts on: "security event"
// with its kind and details.
func (s *Server) securityEvent(r *http.Request, event string, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{slog.String("event", event)}, attrs...)
	s.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "security event", attrs...)
}
