package config

import (
	"slices"
	"strings"
	"testing"
)

func TestPageSettings(t *testing.T) {
	t.Run("custom domain: the pages still load on b2clogin.com", func(t *testing.T) {
		c, err := load(t, "PASSKEY_RP_ID", "login.contoso.com", "PASSKEY_RP_ORIGINS", "https://login.contoso.com",
			"PASSKEY_PAGE_ORIGINS", "https://login.contoso.com, https://contoso.b2clogin.com",
			"PASSKEY_PUBLIC_URL", "https://func-passkeys.azurewebsites.net/")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.PageOrigins, []string{"https://login.contoso.com", "https://contoso.b2clogin.com"}) {
			t.Errorf("PageOrigins %q", c.PageOrigins)
		}
		if !slices.Equal(c.RPOrigins, []string{"https://login.contoso.com"}) {
			t.Errorf("the page origins changed the WebAuthn origins: %q", c.RPOrigins)
		}
		if c.PublicURL != "https://func-passkeys.azurewebsites.net" {
			t.Errorf("PublicURL %q", c.PublicURL)
		}
	})
	t.Run("on Azure the public URL is the Function App's host", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("WEBSITE_HOSTNAME", "func-passkeys.azurewebsites.net")
		c, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != "https://func-passkeys.azurewebsites.net" {
			t.Errorf("PublicURL %q", c.PublicURL)
		}
		if c.DemoPage {
			t.Error("the demo page is on in an Azure deployment")
		}
	})
	t.Run("the demo page can be turned off", func(t *testing.T) {
		c, err := load(t, "PASSKEY_DEMO_PAGE", "false")
		if err != nil || c.DemoPage {
			t.Fatalf("PASSKEY_DEMO_PAGE=false: %v %+v", err, c)
		}
	})
	refused := []struct{ name, variable, value string }{
		{"b2clogin.com as RP ID", "PASSKEY_RP_ID", "b2clogin.com"},
		{"B2CLOGIN.COM. as RP ID", "PASSKEY_RP_ID", "B2CLOGIN.COM."},
		{"page origin with a path", "PASSKEY_PAGE_ORIGINS", "https://contoso.b2clogin.com/contoso.onmicrosoft.com"},
		{"page origin over http", "PASSKEY_PAGE_ORIGINS", "http://contoso.b2clogin.com"},
		{"public URL with markup", "PASSKEY_PUBLIC_URL", `https://x"><script>alert(1)</script>`},
		{"public URL with a path", "PASSKEY_PUBLIC_URL", "https://func.azurewebsites.net/api"},
		{"public URL over http", "PASSKEY_PUBLIC_URL", "http://func.azurewebsites.net"},
		{"autofill challenge shorter than a session", "PASSKEY_CONDITIONAL_TTL", "1m"},
		{"autofill challenge of a day", "PASSKEY_CONDITIONAL_TTL", "24h"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			env := []string{tt.variable, tt.value}
			if tt.variable == "PASSKEY_RP_ID" {
				env = append(env, "PASSKEY_RP_ORIGINS", "https://b2clogin.com")
			}
			c, err := load(t, env...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.variable+":") {
				t.Fatalf("%s=%s: err %v, config %+v", tt.variable, tt.value, err, c)
			}
		})
	}
}
