// Package config reads the handler's settings from the environment,
// applies the defaults, validates them once at start and builds the
// go-webauthn configuration from them.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/kelseyhightower/envconfig"
)

// Config holds every setting. The variable names are part of the contract
// (../API.md, Configuration).
type Config struct {
	Port       int           `envconfig:"FUNCTIONS_CUSTOMHANDLER_PORT" default:"7071"`
	ListenAddr string        `envconfig:"PASSKEY_LISTEN_ADDR" default:"127.0.0.1"`
	RPID       string        `envconfig:"PASSKEY_RP_ID" default:"localhost"`
	RPName     string        `envconfig:"PASSKEY_RP_NAME" default:"Passkeys"`
	RPOrigins  []string      `envconfig:"PASSKEY_RP_ORIGINS"`
	SessionTTL time.Duration `envconfig:"PASSKEY_SESSION_TTL" default:"5m"`
	// ConditionalTTL is the lifetime of an autofill sign-in challenge,
	// which waits in a sign-in page the user may leave open (pages.go).
	ConditionalTTL time.Duration `envconfig:"PASSKEY_CONDITIONAL_TTL"`
	APIKeys        []string      `envconfig:"PASSKEY_API_KEYS"`
	DeviceLimit    int           `envconfig:"PASSKEY_DEVICE_LIMIT" default:"10"`
	Attestation    string        `envconfig:"PASSKEY_ATTESTATION" default:"none"`
	// RequestTimeout bounds each request, well inside B2C's 30 s per try
	// (B2C tries three times), so a slow store answers a clear 503 first.
	RequestTimeout time.Duration `envconfig:"PASSKEY_REQUEST_TIMEOUT" default:"8s"`

	// The authenticator policy, the FIDO metadata and related origins
	// (policy.go).
	AAGUIDsAllowed []string `envconfig:"PASSKEY_AAGUIDS_ALLOWED"`
	AAGUIDsBlocked []string `envconfig:"PASSKEY_AAGUIDS_BLOCKED"`
	SyncedPasskeys string   `envconfig:"PASSKEY_SYNCED_PASSKEYS" default:"allow"`
	MDSURL         string   `envconfig:"PASSKEY_MDS_URL" default:"https://mds3.fidoalliance.org/"`
	MDSFile        string   `envconfig:"PASSKEY_MDS_FILE"`
	RelatedOrigins []string `envconfig:"PASSKEY_RELATED_ORIGINS"`

	// PageOrigins may fetch the B2C page templates (CORS): every origin B2C
	// serves the journeys on, <tenant>.b2clogin.com besides a custom
	// domain. Default: RPOrigins.
	PageOrigins []string `envconfig:"PASSKEY_PAGE_ORIGINS"`
	// PublicURL is where browsers reach the handler; the page templates
	// load their scripts from it. Derived when empty (pages.go).
	PublicURL string `envconfig:"PASSKEY_PUBLIC_URL"`
	// DemoPage serves the demo page and its script at /; off in
	// production. Unset: on, except on Azure (pages.go).
	DemoPage bool `envconfig:"PASSKEY_DEMO_PAGE"`

	CosmosEndpoint string `envconfig:"PASSKEY_COSMOS_ENDPOINT"`
	CosmosKey      string `envconfig:"PASSKEY_COSMOS_KEY"`
	CosmosDatabase string `envconfig:"PASSKEY_COSMOS_DATABASE" default:"passkeys"`
	DataDir        string `envconfig:"PASSKEY_DATA_DIR" default:"./data"`

	// The app API's B2C access tokens and B2C's caller tokens (tokens.go).
	TokenMetadataURLs []string      `envconfig:"PASSKEY_TOKEN_METADATA_URLS"`
	TokenAudience     string        `envconfig:"PASSKEY_TOKEN_AUDIENCE"`
	TokenScope        string        `envconfig:"PASSKEY_TOKEN_SCOPE"`
	TokenMaxAuthAge   time.Duration `envconfig:"PASSKEY_TOKEN_MAX_AUTH_AGE" default:"5m"`
	AppOrigins        []string      `envconfig:"PASSKEY_APP_ORIGINS"`
	CallerMetadataURL string        `envconfig:"PASSKEY_CALLER_METADATA_URL"`
	CallerAudience    string        `envconfig:"PASSKEY_CALLER_AUDIENCE"`
	CallerAppIDs      []string      `envconfig:"PASSKEY_CALLER_APP_IDS"`
}

// Load reads the environment, fills the defaults and validates. Its error
// is one line naming the variable and what is wrong with it.
func Load() (*Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var perr *envconfig.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s: cannot use %q as %s", perr.KeyName, perr.Value, perr.TypeName)
		}
		return nil, err
	}
	c.RPOrigins = trimList(c.RPOrigins)
	c.APIKeys = trimList(c.APIKeys)
	c.trimTokenLists()
	c.AAGUIDsAllowed = trimList(c.AAGUIDsAllowed)
	c.AAGUIDsBlocked = trimList(c.AAGUIDsBlocked)
	c.RelatedOrigins = trimList(c.RelatedOrigins)
	if len(c.RPOrigins) == 0 {
		c.RPOrigins = []string{fmt.Sprintf("http://localhost:%d", c.Port)}
	}
	c.pageDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("FUNCTIONS_CUSTOMHANDLER_PORT: %d is not a port (1-65535)", c.Port)
	}
	ip := net.ParseIP(c.ListenAddr)
	if ip == nil && c.ListenAddr != "localhost" {
		return fmt.Errorf("PASSKEY_LISTEN_ADDR: %q is not an IP address", c.ListenAddr)
	}
	if len(c.APIKeys) == 0 && !c.Loopback() {
		return fmt.Errorf("PASSKEY_API_KEYS: required when PASSKEY_LISTEN_ADDR (%s) is not a loopback address", c.ListenAddr)
	}
	for _, k := range c.APIKeys {
		if len(k) < 16 {
			return errors.New("PASSKEY_API_KEYS: every key must be at least 16 characters")
		}
	}
	if c.RPID == "" || strings.ContainsAny(c.RPID, "/: ") || net.ParseIP(c.RPID) != nil {
		return fmt.Errorf("PASSKEY_RP_ID: %q must be a domain name such as login.contoso.com", c.RPID)
	}
	if err := c.validateSharedRPID(); err != nil {
		return err
	}
	if strings.TrimSpace(c.RPName) == "" {
		return errors.New("PASSKEY_RP_NAME: must not be empty")
	}
	for _, o := range c.RPOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("PASSKEY_RP_ORIGINS: %q is not an origin such as https://login.contoso.com", o)
		}
		host := u.Hostname()
		if host != c.RPID && !strings.HasSuffix(host, "."+c.RPID) {
			return fmt.Errorf("PASSKEY_RP_ORIGINS: %q is not on the RP ID %s or a subdomain of it", o, c.RPID)
		}
		if u.Scheme == "http" && host != "localhost" {
			return fmt.Errorf("PASSKEY_RP_ORIGINS: %q must use https (plain http is only a secure context on localhost)", o)
		}
	}
	if err := c.validateB2C(); err != nil {
		return err
	}
	if c.SessionTTL < 10*time.Second || c.SessionTTL > time.Hour {
		return fmt.Errorf("PASSKEY_SESSION_TTL: %s must be between 10s and 1h", c.SessionTTL)
	}
	if c.DeviceLimit < 1 || c.DeviceLimit > 100 {
		return fmt.Errorf("PASSKEY_DEVICE_LIMIT: %d must be between 1 and 100", c.DeviceLimit)
	}
	if err := c.validatePolicy(); err != nil {
		return err
	}
	if c.RequestTimeout < time.Second || c.RequestTimeout > 9*time.Second {
		return fmt.Errorf("PASSKEY_REQUEST_TIMEOUT: %s must be between 1s and 9s (well inside B2C's 30s per try)", c.RequestTimeout)
	}
	if c.CosmosEndpoint != "" {
		if u, err := url.Parse(c.CosmosEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("PASSKEY_COSMOS_ENDPOINT: %q is not a URL such as https://myaccount.documents.azure.com:443/", c.CosmosEndpoint)
		}
		if c.CosmosDatabase == "" {
			return errors.New("PASSKEY_COSMOS_DATABASE: must not be empty")
		}
	} else if c.DataDir == "" {
		return errors.New("PASSKEY_DATA_DIR: must not be empty")
	}
	return c.validateTokens()
}

// Loopback reports whether the listen address is reachable only from this
// machine.
func (c *Config) Loopback() bool {
	if c.ListenAddr == "localhost" {
		return true
	}
	ip := net.ParseIP(c.ListenAddr)
	return ip != nil && ip.IsLoopback()
}

// Addr is the host:port to listen on.
func (c *Config) Addr() string {
	return net.JoinHostPort(c.ListenAddr, fmt.Sprint(c.Port))
}

// WebAuthn builds the relying party: user verification required, resident
// keys preferred, the configured attestation conveyance, and the session
// lifetime as the ceremony timeout.
func (c *Config) WebAuthn() (*webauthn.WebAuthn, error) {
	// The service enforces expiry itself (with the session's own clock and
	// B2C's retry in mind), so go-webauthn only announces the timeout.
	timeout := webauthn.TimeoutConfig{Timeout: c.SessionTTL, TimeoutUVD: c.SessionTTL}
	return webauthn.New(&webauthn.Config{
		RPID:                  c.RPID,
		RPDisplayName:         c.RPName,
		RPOrigins:             append(slices.Clone(c.RPOrigins), c.RelatedOriginsDocument()...),
		AttestationPreference: c.conveyance(),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
}

func trimList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
