package passkey

import (
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
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
		Authenticator:     knownAuthenticators[aaguid],
		Transports:        transports,
		BackupEligible:    c.WebAuthn.Flags.BackupEligible,
		BackupState:       c.WebAuthn.Flags.BackupState,
		AttestationFormat: c.WebAuthn.AttestationFormat,

		AttestationVerified: c.AttestationVerified,
		Description:         c.Description,
	}
}

// DefaultDeviceName names a new passkey after its authenticator, where the
// AAGUID is a known one, and the day it was added: "iCloud Keychain
// (2026-11-21)". Unknown authenticators are a "Security key" when they
// speak USB, NFC or BLE, otherwise a "Passkey".
func DefaultDeviceName(c *webauthn.Credential, now time.Time) string {
	name := knownAuthenticators[aaguidString(c.Authenticator.AAGUID)]
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

// knownAuthenticators names the AAGUIDs of common passkey providers and
// security keys, as published by their vendors and collected in the
// community passkey AAGUID list and the FIDO metadata service.
var knownAuthenticators = map[string]string{
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"771b48fd-d3d4-4f74-9232-fc157ab0507a": "Edge on Mac",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
	"fdb141b2-5d84-443e-8a35-4698c205a502": "KeePassXC",
	"53414d53-554e-4700-0000-000000000000": "Samsung Pass",
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series with NFC",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC",
	"c5ef55ff-ad9a-4b9f-b580-adebafe026d0": "YubiKey 5Ci",
	"73bb0cd4-e502-49b8-9c6f-b59445bf720b": "YubiKey 5 FIPS Series",
	"149a2021-8ef6-4133-96b8-81f8d5b7f1f5": "Security Key by Yubico",
	"b92c3f9a-c014-4056-887f-140a2501163b": "Security Key by Yubico",
	"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73": "Security Key NFC by Yubico",
	"0bb43545-fd2c-4185-87dd-feb0b2916ace": "Security Key NFC by Yubico",
	"01020304-0506-0708-0102-030405060708": "Chromium virtual authenticator",
}
