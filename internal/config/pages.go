package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// sharedB2CDomains are B2C's own login domains. They are not on the public
// suffix list, so a browser would take one as an RP ID, and the passkeys
// would be offered on every tenant's login page.
var sharedB2CDomains = []string{"b2clogin.com"}

// pageDefaults fills the page settings left empty: the demo page is on
// except on Azure (WEBSITE_HOSTNAME is set there); an autofill challenge
// lives 30 minutes (at least a session's lifetime); the CORS origins are
// the WebAuthn origins; the public URL is the Function App's own host name
// on Azure (WEBSITE_HOSTNAME), else this machine's port for local runs.
func (c *Config) pageDefaults() {
	if c.ConditionalTTL == 0 {
		c.ConditionalTTL = max(30*time.Minute, c.SessionTTL)
	}
	c.PageOrigins = trimList(c.PageOrigins)
	if len(c.PageOrigins) == 0 {
		c.PageOrigins = append([]string(nil), c.RPOrigins...)
	}
	azureHost := strings.TrimSpace(os.Getenv("WEBSITE_HOSTNAME"))
	if _, set := os.LookupEnv("PASSKEY_DEMO_PAGE"); !set {
		c.DemoPage = azureHost == ""
	}
	c.PublicURL = strings.TrimRight(strings.TrimSpace(c.PublicURL), "/")
	if c.PublicURL == "" {
		if host := azureHost; host != "" {
			c.PublicURL = "https://" + host
		} else {
			c.PublicURL = fmt.Sprintf("http://localhost:%d", c.Port)
		}
	}
}

// validateSharedRPID refuses B2C's shared login domain as RP ID.
func (c *Config) validateSharedRPID() error {
	rpID := strings.TrimSuffix(strings.ToLower(c.RPID), ".")
	for _, d := range sharedB2CDomains {
		if rpID == d {
			return fmt.Errorf("PASSKEY_RP_ID: %s is shared by every B2C tenant (and not on the public suffix list): use <tenant>.b2clogin.com or your custom domain", c.RPID)
		}
	}
	return nil
}

// validateB2C checks the autofill challenge lifetime, the page origins
// and the public URL.
func (c *Config) validateB2C() error {
	// Zero (a Config not made by Load) means PASSKEY_SESSION_TTL.
	if c.ConditionalTTL != 0 && (c.ConditionalTTL < c.SessionTTL || c.ConditionalTTL > 2*time.Hour) {
		return fmt.Errorf("PASSKEY_CONDITIONAL_TTL: %s must be between PASSKEY_SESSION_TTL (%s) and 2h", c.ConditionalTTL, c.SessionTTL)
	}
	for _, o := range c.PageOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("PASSKEY_PAGE_ORIGINS: %q is not an origin such as https://contoso.b2clogin.com", o)
		}
		if u.Scheme == "http" && u.Hostname() != "localhost" {
			return fmt.Errorf("PASSKEY_PAGE_ORIGINS: %q must use https", o)
		}
	}
	if c.PublicURL == "" {
		return nil // a Config not made by Load: the pages are not served
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("PASSKEY_PUBLIC_URL: %q is not a URL such as https://func-passkeys.azurewebsites.net", c.PublicURL)
	}
	if u.Scheme == "http" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("PASSKEY_PUBLIC_URL: %q must use https", c.PublicURL)
	}
	return nil
}
