// Package authpolicy decides which authenticators may hold a passkey:
// allowed and blocked AAGUIDs, synced or device-bound passkeys, and
// attestation verified against the FIDO metadata (package mds). It is the
// passkey.AuthenticatorPolicy the ceremonies call after go-webauthn has
// verified them.
package authpolicy

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// Attestation is how attestation is treated.
type Attestation string

const (
	// None: attestation is neither asked for nor verified; AAGUIDs are
	// taken as the authenticator reports them.
	None Attestation = "none"
	// Direct: attestation is asked for and verified against the FIDO
	// metadata where the authenticator is listed. An attestation that
	// claims a listed authenticator but does not chain to its roots is
	// refused; zero and unlisted AAGUIDs stay allowed, unverified.
	Direct Attestation = "direct"
	// Required: a registration without a verified attestation is refused,
	// and so is a sign-in with a passkey registered without one.
	Required Attestation = "required"
)

// Metadata is where the FIDO metadata of an AAGUID is found (mds.Source).
type Metadata interface {
	// Entry returns the metadata of the AAGUID, or nil when unlisted.
	Entry(aaguid uuid.UUID) *metadata.Entry
}

// Policy is the authenticator policy. The zero value allows everything.
type Policy struct {
	Attestation Attestation
	// Allowed, when not empty, are the only AAGUIDs accepted; the zero
	// AAGUID only when listed.
	Allowed []uuid.UUID
	// Blocked AAGUIDs are refused.
	Blocked []uuid.UUID
	// DenySynced refuses backup-eligible (synced) passkeys.
	DenySynced bool
	// Metadata is consulted with Direct and Required, and for the status
	// of every authenticator when set.
	Metadata Metadata
}

var _ passkey.AuthenticatorPolicy = (*Policy)(nil)

// refusedStatuses are the status reports that make an authenticator
// unusable: revoked, or compromised in its keys or its user verification.
// RETIRED is not among them: a model its vendor no longer sells still works.
var refusedStatuses = []metadata.AuthenticatorStatus{
	metadata.Revoked,
	metadata.AttestationKeyCompromise,
	metadata.UserKeyRemoteCompromise,
	metadata.UserKeyPhysicalCompromise,
	metadata.UserVerificationBypass,
}

// Registration judges a new credential: its status in the metadata, its
// attestation, then the AAGUID lists and the synced rule.
func (p *Policy) Registration(ctx context.Context, parsed *protocol.ParsedCredentialCreationData, c *webauthn.Credential) (passkey.Attestation, error) {
	var result passkey.Attestation
	aaguid, err := uuid.FromBytes(c.Authenticator.AAGUID)
	if err != nil {
		return result, passkey.Errorf(passkey.CodeCredentialRejected, "the AAGUID is not 16 bytes")
	}
	entry := p.entry(aaguid)
	if err := checkStatus(aaguid, entry); err != nil {
		return result, err
	}
	if p.Attestation == Direct || p.Attestation == Required {
		if result, err = verify(ctx, aaguid, entry, parsed); err != nil {
			return result, err
		}
	}
	if p.Attestation == Required && !result.Verified {
		return result, passkey.NotAllowed(passkey.HintAttestationMissing,
			"attestation is required: the %s attestation of AAGUID %s could not be verified against the FIDO metadata", c.AttestationFormat, aaguid)
	}
	return result, p.checkRules(aaguid, c.Flags.BackupEligible)
}

// Login judges a stored passkey at sign-in: its authenticator's current
// status, the AAGUID lists and the synced rule as they are now, and with
// Required, that it was registered with a verified attestation.
func (p *Policy) Login(_ context.Context, c *passkey.Credential) error {
	aaguid, err := uuid.FromBytes(c.WebAuthn.Authenticator.AAGUID)
	if err != nil {
		aaguid = uuid.Nil
	}
	if err := checkStatus(aaguid, p.entry(aaguid)); err != nil {
		return err
	}
	if p.Attestation == Required && !c.AttestationVerified {
		return passkey.NotAllowed(passkey.HintAttestationMissing,
			"attestation is required and this passkey (AAGUID %s) was registered without a verified attestation", aaguid)
	}
	return p.checkRules(aaguid, c.WebAuthn.Flags.BackupEligible)
}

func (p *Policy) entry(aaguid uuid.UUID) *metadata.Entry {
	if p.Metadata == nil {
		return nil
	}
	return p.Metadata.Entry(aaguid)
}

// checkRules applies the allow list, the block list and the synced rule.
func (p *Policy) checkRules(aaguid uuid.UUID, backupEligible bool) error {
	if len(p.Allowed) > 0 && !slices.Contains(p.Allowed, aaguid) {
		return passkey.NotAllowed(passkey.HintNotOnAllowList, "AAGUID %s is not in PASSKEY_AAGUIDS_ALLOWED", aaguid)
	}
	if slices.Contains(p.Blocked, aaguid) {
		return passkey.NotAllowed(passkey.HintBlocked, "AAGUID %s is in PASSKEY_AAGUIDS_BLOCKED", aaguid)
	}
	if p.DenySynced && backupEligible {
		return passkey.NotAllowed(passkey.HintSyncedNotAllowed, "the passkey is backup eligible (synced) and PASSKEY_SYNCED_PASSKEYS is deny")
	}
	return nil
}

// checkStatus refuses an authenticator whose current status report is
// revoked or compromised.
func checkStatus(aaguid uuid.UUID, entry *metadata.Entry) error {
	if entry == nil {
		return nil
	}
	if err := metadata.ValidateStatusReports(entry.StatusReports, nil, refusedStatuses); err != nil {
		return passkey.NotAllowed(passkey.HintBlocked, "the FIDO metadata status of AAGUID %s (%s) refuses it: %v", aaguid, entry.MetadataStatement.Description, err)
	}
	return nil
}

// verify checks the attestation's certificate chain against the roots
// the metadata lists for the AAGUID, with go-webauthn's metadata checks.
// Without an x5c chain (none, self attestation) or a listed AAGUID there
// is nothing to verify against, and the result is unverified.
func verify(ctx context.Context, aaguid uuid.UUID, entry *metadata.Entry, parsed *protocol.ParsedCredentialCreationData) (passkey.Attestation, error) {
	var result passkey.Attestation
	if entry == nil {
		return result, nil
	}
	result.Description = entry.MetadataStatement.Description
	att := parsed.Response.AttestationObject
	x5c, _ := att.AttStatement[stmtX5C].([]any)
	if len(x5c) == 0 {
		return result, nil
	}
	provider, err := memory.New(
		memory.WithMetadata(map[uuid.UUID]*metadata.Entry{aaguid: entry}),
		memory.WithValidateEntry(true),
		memory.WithValidateTrustAnchor(true),
		memory.WithValidateAttestationTypes(true),
		memory.WithValidateStatus(true),
		memory.WithStatusUndesired(refusedStatuses),
	)
	if err != nil {
		return result, fmt.Errorf("metadata provider: %w", err)
	}
	if perr := protocol.ValidateMetadataWithAuthenticatorData(ctx, provider, aaguid, att.Type, att.Format, x5c, &att.AuthData); perr != nil {
		return result, passkey.NotAllowed(passkey.HintBlocked,
			"the %s attestation claims AAGUID %s (%s) but does not verify against its FIDO metadata: %s %s", att.Format, aaguid, result.Description, perr.Details, perr.DevInfo)
	}
	result.Verified = true
	return result, nil
}

// stmtX5C is the attestation statement's certificate chain.
const stmtX5C = "x5c"

// FromConfig returns the policy the settings describe, reading metadata
// from md (nil with attestation none).
func FromConfig(cfg *config.Config, md Metadata) (*Policy, error) {
	allowed, err := cfg.AllowedAAGUIDs()
	if err != nil {
		return nil, err
	}
	blocked, err := cfg.BlockedAAGUIDs()
	if err != nil {
		return nil, err
	}
	return &Policy{
		Attestation: Attestation(cfg.Attestation),
		Allowed:     allowed,
		Blocked:     blocked,
		DenySynced:  cfg.SyncedPasskeys == "deny",
		Metadata:    md,
	}, nil
}
