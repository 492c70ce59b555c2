package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
	"golang.org/x/net/publicsuffix"
)

// MaxRelatedOriginLabels is how many distinct labels (the registrable
// domain without its public suffix: "contoso" of login.contoso.co.uk)
// browsers read from the related origins document; origins past it are
// ignored, so more are refused at start.
const MaxRelatedOriginLabels = 5

// validatePolicy checks the authenticator policy, the metadata source and
// the related origins.
func (c *Config) validatePolicy() error {
	switch c.Attestation {
	case "none", "direct", "required":
	default:
		return fmt.Errorf("PASSKEY_ATTESTATION: %q must be none, direct or required", c.Attestation)
	}
	if _, err := c.AllowedAAGUIDs(); err != nil {
		return err
	}
	if _, err := c.BlockedAAGUIDs(); err != nil {
		return err
	}
	if len(c.AAGUIDsAllowed) > 0 && len(c.AAGUIDsBlocked) > 0 {
		return fmt.Errorf("PASSKEY_AAGUIDS_BLOCKED: set it or PASSKEY_AAGUIDS_ALLOWED, not both (an allow list already refuses everything else)")
	}
	switch c.SyncedPasskeys {
	case "allow", "deny":
	default:
		return fmt.Errorf("PASSKEY_SYNCED_PASSKEYS: %q must be allow or deny", c.SyncedPasskeys)
	}
	if c.MDSFile == "" {
		if u, err := url.Parse(c.MDSURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("PASSKEY_MDS_URL: %q is not an https URL such as https://mds3.fidoalliance.org/", c.MDSURL)
		}
	}
	return c.validateRelatedOrigins()
}

// UsesMetadata reports whether the FIDO metadata is loaded: with
// attestation direct or required.
func (c *Config) UsesMetadata() bool { return c.Attestation == "direct" || c.Attestation == "required" }

// conveyance is the attestation the browser is asked for.
func (c *Config) conveyance() protocol.ConveyancePreference {
	if c.UsesMetadata() {
		return protocol.PreferDirectAttestation
	}
	return protocol.PreferNoAttestation
}

// AllowedAAGUIDs parses PASSKEY_AAGUIDS_ALLOWED.
func (c *Config) AllowedAAGUIDs() ([]uuid.UUID, error) {
	return parseAAGUIDs("PASSKEY_AAGUIDS_ALLOWED", c.AAGUIDsAllowed)
}

// BlockedAAGUIDs parses PASSKEY_AAGUIDS_BLOCKED.
func (c *Config) BlockedAAGUIDs() ([]uuid.UUID, error) {
	return parseAAGUIDs("PASSKEY_AAGUIDS_BLOCKED", c.AAGUIDsBlocked)
}

func parseAAGUIDs(name string, list []string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for _, s := range list {
		id, err := uuid.Parse(s)
		if err != nil || len(s) != 36 {
			return nil, fmt.Errorf("%s: %q is not an AAGUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8", name, s)
		}
		out = append(out, id)
	}
	return out, nil
}

// validateRelatedOrigins checks that each related origin is an https
// origin on another registrable domain than the RP ID, and that they name
// at most MaxRelatedOriginLabels distinct labels.
func (c *Config) validateRelatedOrigins() error {
	labels := map[string]bool{}
	for _, o := range c.RelatedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("PASSKEY_RELATED_ORIGINS: %q is not an https origin such as https://login.fabrikam.com", o)
		}
		host := u.Hostname()
		if host == c.RPID || strings.HasSuffix(host, "."+c.RPID) {
			return fmt.Errorf("PASSKEY_RELATED_ORIGINS: %q is on the RP ID %s already; list it in PASSKEY_RP_ORIGINS", o, c.RPID)
		}
		label, err := originLabel(host)
		if err != nil {
			return fmt.Errorf("PASSKEY_RELATED_ORIGINS: %q has no registrable domain: %v", o, err)
		}
		labels[label] = true
	}
	if len(labels) > MaxRelatedOriginLabels {
		return fmt.Errorf("PASSKEY_RELATED_ORIGINS: the origins name %d distinct labels; browsers read at most %d", len(labels), MaxRelatedOriginLabels)
	}
	return nil
}

// RelatedOriginsDocument returns the origins the document at
// /.well-known/webauthn lists, each without a trailing slash.
func (c *Config) RelatedOriginsDocument() []string {
	out := make([]string, len(c.RelatedOrigins))
	for i, o := range c.RelatedOrigins {
		out[i] = strings.TrimSuffix(o, "/")
	}
	return out
}

// originLabel is the label the WebAuthn related origins algorithm counts:
// the registrable domain (eTLD+1) without its public suffix.
func originLabel(host string) (string, error) {
	domain, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", err
	}
	suffix, _ := publicsuffix.PublicSuffix(domain)
	return strings.TrimSuffix(domain, "."+suffix), nil
}
