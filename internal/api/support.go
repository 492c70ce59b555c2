package api

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"unicode"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// The support functions: a help desk acts on a user's passkeys (lost
// device, account compromised, account disabled). They take POST with
// the function key like B2C's functions, are never anonymous and answer
// no CORS, so no page can reach them; every call names who asked
// (requestedBy) and every change is logged as a security event.
const (
	SupportListFunction   = "support-list-passkeys"
	SupportDeleteFunction = "support-delete-passkey"
	SupportRevokeFunction = "support-revoke-passkeys"
)

// SupportReasons are the accepted reason claims.
var SupportReasons = []string{"lost_device", "account_compromised", "account_disabled", "user_request", "other"}

func (s *Server) supportFunctions() map[string]functionFunc {
	return map[string]functionFunc{
		SupportListFunction:   s.supportList,
		SupportDeleteFunction: s.supportDelete,
		SupportRevokeFunction: s.supportRevoke,
	}
}

// requestedBy checks the requestedBy and reason claims: who asked (an
// agent's sign-in name or ticket id, 1-256 printable characters) and why.
// They are the support functions' own (the audit trail), so they are
// checked here; the service checks objectId and credentialId.
func requestedBy(r *request) error {
	if strings.TrimSpace(r.RequestedBy) == "" {
		return passkey.Errorf(passkey.CodeInvalidRequest, "requestedBy is required")
	}
	if len(r.RequestedBy) > 256 || strings.ContainsFunc(r.RequestedBy, func(c rune) bool { return !unicode.IsPrint(c) }) {
		return passkey.Errorf(passkey.CodeInvalidRequest, "requestedBy must be 1-256 printable characters")
	}
	if r.Reason != "" && !slices.Contains(SupportReasons, r.Reason) {
		return passkey.Errorf(passkey.CodeInvalidRequest, "reason must be one of %s", strings.Join(SupportReasons, ", "))
	}
	return nil
}

func (s *Server) supportList(ctx context.Context, r *request) (response, error) {
	if err := requestedBy(r); err != nil {
		return nil, err
	}
	devices, err := s.service.Devices(ctx, r.ObjectID)
	if err != nil {
		return nil, err
	}
	s.supportEvent(ctx, "support_list_passkeys", r, slog.Int("deviceCount", len(devices)))
	return response{"deviceCount": len(devices), "devices": devices}, nil
}

func (s *Server) supportDelete(ctx context.Context, r *request) (response, error) {
	if err := requestedBy(r); err != nil {
		return nil, err
	}
	count, err := s.service.DeleteDevice(ctx, r.ObjectID, r.CredentialID)
	if err != nil {
		return nil, err
	}
	s.supportEvent(ctx, "support_delete_passkey", r, slog.String("credentialId", r.CredentialID), slog.Int("deviceCount", count))
	return response{"deviceCount": count}, nil
}

// supportRevoke deletes every passkey of the user, one atomic delete each
// through the service, until none is left (a passkey added meanwhile is
// deleted too); a repeated call finishes what a failed one began.
func (s *Server) supportRevoke(ctx context.Context, r *request) (response, error) {
	if err := requestedBy(r); err != nil {
		return nil, err
	}
	revoked := 0
	for range 3 {
		devices, err := s.service.Devices(ctx, r.ObjectID)
		if err != nil {
			return nil, err
		}
		if len(devices) == 0 {
			s.supportEvent(ctx, "support_revoke_passkeys", r, slog.Int("revoked", revoked))
			return response{"revoked": revoked, "deviceCount": 0}, nil
		}
		for _, d := range devices {
			_, err := s.service.DeleteDevice(ctx, r.ObjectID, d.ID)
			if passkey.ErrorCode(err) == passkey.CodeCredentialUnknown {
				continue // deleted meanwhile
			}
			if err != nil {
				s.supportEvent(ctx, "support_revoke_passkeys_incomplete", r, slog.Int("revoked", revoked))
				return nil, err
			}
			revoked++
		}
	}
	s.supportEvent(ctx, "support_revoke_passkeys_incomplete", r, slog.Int("revoked", revoked))
	return nil, errors.New("passkeys kept being added while revoking")
}

func (s *Server) supportEvent(ctx context.Context, event string, r *request, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{
		slog.String("event", event),
		slog.String("requestId", requestIDFrom(ctx)),
		slog.String("objectId", r.ObjectID),
		slog.String("requestedBy", r.RequestedBy),
		slog.String("reason", r.Reason),
	}, attrs...)
	s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "security event", attrs...)
}

// requestIDKey carries the request id to the security events.
type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// SupportFunctions lists the support functions' names.
func SupportFunctions() []string {
	return []string{SupportListFunction, SupportDeleteFunction, SupportRevokeFunction}
}
