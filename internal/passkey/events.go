package passkey

import (
	"context"
	"log/slog"
)

// Security events: one structured log line ("msg":"security event") per
// change a security team may have to account for. Each carries the
// objectId, the credential id and AAGUID where there is one, and the
// caller's journey (correlationId, clientIp); never a credential body, a
// key or a challenge. docs/operations.md has a query per question.
const (
	EventRegistered        = "passkey.registered"
	EventSignedIn          = "passkey.signed_in"
	EventRefused           = "passkey.refused"
	EventRenamed           = "passkey.renamed"
	EventDeleted           = "passkey.deleted"
	EventBackupFlagChanged = "passkey.backup_eligible_changed"
	EventCloneWarning      = "passkey.clone_warning"
)

// Caller is who made the request, as B2C passes it: the journey's
// correlation id and the user's IP address ({Context:IPAddress}).
type Caller struct {
	CorrelationID string
	ClientIP      string
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller, for the security events of
// the calls made with it.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// event logs one security event about the user's credential c (zero when
// there is none).
func (s *Service) event(ctx context.Context, name, objectID string, c Credential, extra ...slog.Attr) {
	caller := callerOf(ctx)
	attrs := []slog.Attr{slog.String("event", name), slog.String("objectId", objectID)}
	if len(c.WebAuthn.ID) > 0 {
		attrs = append(attrs,
			slog.String("credentialId", encodeID(c.WebAuthn.ID)),
			slog.String("aaguid", aaguidString(c.WebAuthn.Authenticator.AAGUID)),
			slog.Bool("backupEligible", c.WebAuthn.Flags.BackupEligible),
			slog.Bool("backupState", c.WebAuthn.Flags.BackupState),
			slog.Uint64("signCount", uint64(c.WebAuthn.Authenticator.SignCount)))
	}
	if caller.CorrelationID != "" {
		attrs = append(attrs, slog.String("correlationId", caller.CorrelationID))
	}
	if caller.ClientIP != "" {
		attrs = append(attrs, slog.String("clientIp", caller.ClientIP))
	}
	attrs = append(attrs, extra...)
	level := slog.LevelInfo
	if name == EventCloneWarning || name == EventRefused {
		level = slog.LevelWarn
	}
	s.opts.Logger.LogAttrs(ctx, level, "security event", attrs...)
}

// refused logs the refusal of a ceremony with its code; internal errors
// and unavailable storage are the request log's business, not a refusal.
func (s *Service) refused(ctx context.Context, ceremony, objectID string, err error) {
	code := ErrorCode(err)
	if err == nil || code == CodeInternal || code == CodeStorageUnavailable {
		return
	}
	if !isGUID(objectID) {
		objectID = "" // not an object id: the caller's bytes stay out of the log
	}
	s.event(ctx, EventRefused, objectID, Credential{},
		slog.String("ceremony", ceremony), slog.String("code", string(code)), slog.String("reason", err.Error()))
}
