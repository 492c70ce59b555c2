package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

const yubikey = "cb69481e-8ff7-4039-93ec-0a2729a154a8"

func TestPolicySettings(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(*testing.T, *Config)
	}{
		{name: "attestation direct asks for direct", env: []string{"PASSKEY_ATTESTATION", "direct"}, check: conveys(protocol.PreferDirectAttestation)},
		{name: "attestation required asks for direct", env: []string{"PASSKEY_ATTESTATION", "required"}, check: conveys(protocol.PreferDirectAttestation)},
		{name: "attestation none asks for none", env: []string{"PASSKEY_ATTESTATION", "none"}, check: conveys(protocol.PreferNoAttestation)},
		{
			name: "allow list", env: []string{"PASSKEY_AAGUIDS_ALLOWED", " " + yubikey + " , ee882879-721c-4913-9775-3dfcce97072a"},
			check: func(t *testing.T, c *Config) {
				ids, err := c.AllowedAAGUIDs()
				if err != nil || len(ids) != 2 || ids[0].String() != yubikey {
					t.Errorf("AllowedAAGUIDs() = %v, %v", ids, err)
				}
			},
		},
		{name: "block list", env: []string{"PASSKEY_AAGUIDS_BLOCKED", yubikey}},
		{name: "synced deny", env: []string{"PASSKEY_SYNCED_PASSKEYS", "deny"}},
		{name: "metadata file replaces the URL", env: []string{"PASSKEY_MDS_FILE", "/home/site/blob.jwt", "PASSKEY_MDS_URL", ""}},
		{
			name: "five labels, several origins each",
			env: []string{"PASSKEY_RP_ID", "contoso.com", "PASSKEY_RP_ORIGINS", "https://login.contoso.com", "PASSKEY_RELATED_ORIGINS",
				"https://login.fabrikam.com,https://fabrikam.co.uk,https://www.fabrikam.de,https://login.tailspin.com,https://a.wingtip.com,https://b.wingtip.com,https://woodgrove.com/"},
			check: func(t *testing.T, c *Config) {
				wa, err := c.WebAuthn()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(wa.Config.RPOrigins, "https://woodgrove.com") || !slices.Contains(wa.Config.RPOrigins, "https://login.contoso.com") {
					t.Errorf("RPOrigins = %q; want the RP's and the related origins, without trailing slashes", wa.Config.RPOrigins)
				}
				if doc := c.RelatedOriginsDocument(); len(doc) != 7 || doc[6] != "https://woodgrove.com" {
					t.Errorf("RelatedOriginsDocument() = %q", doc)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoaded(t, tt.check, tt.env...)
		})
	}
}

func conveys(want protocol.ConveyancePreference) func(*testing.T, *Config) {
	return func(t *testing.T, c *Config) {
		t.Helper()
		wa, err := c.WebAuthn()
		if err != nil {
			t.Fatal(err)
		}
		if wa.Config.AttestationPreference != want {
			t.Errorf("AttestationPreference = %q, want %q", wa.Config.AttestationPreference, want)
		}
	}
}

func TestBadPolicySettings(t *testing.T) {
	rp := []string{"PASSKEY_RP_ID", "contoso.com", "PASSKEY_RP_ORIGINS", "https://login.contoso.com"}
	tests := []struct {
		name     string
		env      []string
		variable string
	}{
		{"attestation indirect", []string{"PASSKEY_ATTESTATION", "indirect"}, "PASSKEY_ATTESTATION"},
		{"attestation enterprise", []string{"PASSKEY_ATTESTATION", "enterprise"}, "PASSKEY_ATTESTATION"},
		{"allowed not a uuid", []string{"PASSKEY_AAGUIDS_ALLOWED", "yubikey"}, "PASSKEY_AAGUIDS_ALLOWED"},
		{"allowed without dashes", []string{"PASSKEY_AAGUIDS_ALLOWED", strings.ReplaceAll(yubikey, "-", "")}, "PASSKEY_AAGUIDS_ALLOWED"},
		{"blocked braces", []string{"PASSKEY_AAGUIDS_BLOCKED", "{" + yubikey + "}"}, "PASSKEY_AAGUIDS_BLOCKED"},
		{"both lists", []string{"PASSKEY_AAGUIDS_ALLOWED", yubikey, "PASSKEY_AAGUIDS_BLOCKED", "ee882879-721c-4913-9775-3dfcce97072a"}, "PASSKEY_AAGUIDS_BLOCKED"},
		{"synced no", []string{"PASSKEY_SYNCED_PASSKEYS", "no"}, "PASSKEY_SYNCED_PASSKEYS"},
		{"metadata over http", []string{"PASSKEY_MDS_URL", "http://mds3.fidoalliance.org/"}, "PASSKEY_MDS_URL"},
		{"metadata URL empty without a file", []string{"PASSKEY_MDS_URL", ""}, "PASSKEY_MDS_URL"},
		{"related origin over http", append(slices.Clone(rp), "PASSKEY_RELATED_ORIGINS", "http://login.fabrikam.com"), "PASSKEY_RELATED_ORIGINS"},
		{"related origin with a path", append(slices.Clone(rp), "PASSKEY_RELATED_ORIGINS", "https://login.fabrikam.com/signin"), "PASSKEY_RELATED_ORIGINS"},
		{"related origin on the RP ID", append(slices.Clone(rp), "PASSKEY_RELATED_ORIGINS", "https://www.contoso.com"), "PASSKEY_RELATED_ORIGINS"},
		{"related origin a public suffix", append(slices.Clone(rp), "PASSKEY_RELATED_ORIGINS", "https://co.uk"), "PASSKEY_RELATED_ORIGINS"},
		{
			"six labels",
			append(slices.Clone(rp), "PASSKEY_RELATED_ORIGINS", "https://a.com,https://b.com,https://c.com,https://d.co.uk,https://e.de,https://f.com"),
			"PASSKEY_RELATED_ORIGINS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, tt.variable, tt.env...)
		})
	}
}
