package passkey

import (
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/authenticators"
)

// Device is the contract's view of one passkey, as list-devices returns it.
type Device struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	CreatedAt         time.Time `json:"createdAt"`
	LastUsedAt        time.Time `json:"lastUsedAt"`
	AAGUID            string    `json:"aaguid"`
	Authenticator     string    `json:"authenticator,omitempty"`
	Transports        []string  `json:"transports"`
	BackupEligible    bool      `json:"backupEligible"`
	BackupState       bool      `json:"backupState"`
	AttestationFormat string    `json:"attestationFormat"`
	// AttestationVerified: the attestation was verified against the FIDO
	// metadata at registration.
	AttestationVerified bool `json:"attestationVerified"`
	// Description is the FIDO metadata's description, where there is one.
	Description string `json:"description,omitempty"`
	// Discoverable is the credProps extension's rk as the browser reported
	// it at registration: true means the passkey signs in without a user
	// name; absent means the browser did not say.
	Discoverable *bool `json:"discoverable,omitempty"`
}

func newDevice(c Credential) Device {
	transports := make([]string, len(c.WebAuthn.Transport))
	for i, t := range c.WebAuthn.Transport {
		transports[i] = string(t)
	}
	aaguid := aaguidString(c.WebAuthn.Authenticator.AAGUID)
	return Device{
		ID:                encodeID(c.WebAuthn.ID),
		Name:              c.Name,
		CreatedAt:         c.CreatedAt.UTC(),
		LastUsedAt:        c.LastUsedAt.UTC(),
		AAGUID:            aaguid,
		Authenticator:     authenticators.Name(aaguid),
		Transports:        transports,
		BackupEligible:    c.WebAuthn.Flags.BackupEligible,
		BackupState:       c.WebAuthn.Flags.BackupState,
		AttestationFormat: c.WebAuthn.AttestationFormat,

		AttestationVerified: c.AttestationVerified,
		Description:         c.Description,
		Discoverable:        c.WebAuthn.Extensions.RK,
	}
}

// DefaultDeviceName names a new passkey after its authenticator, where the
// AAGUID is a known one, and the day it was added: "Apple Passwords
// (2026-11-21)". Unknown authenticators are a "Security key" when they
// speak USB, NFC or BLE, otherwise a "Passkey".
func DefaultDeviceName(c *webauthn.Credential, now time.Time) string {
	name := authenticators.Name(aaguidString(c.Authenticator.AAGUID))
	if name == "" {
		name = "Passkey"
		for _, t := range c.Transport {
			if t == "usb" || t == "nfc" || t == "ble" {
				name = "Security key"
			}
		}
	}
	return name + " (" + now.UTC().Format("2006-01-02") + ")"
}

func aaguidString(b []byte) string {
	id, err := uuid.FromBytes(b)
	if err != nil {
		return uuid.Nil.String()
	}
	return id.String()
}
