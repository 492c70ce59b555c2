package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every variable Config reads (restored when the test
// ends), so the caller's environment cannot change what is tested.
func clearEnv(t *testing.T) {
	t.Helper()
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("envconfig")
		if name == "" {
			t.Fatalf("field %s has no envconfig tag", typ.Field(i).Name)
		}
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// load clears the environment, sets env (name, value pairs) and loads.
func load(t *testing.T, env ...string) (*Config, error) {
	t.Helper()
	clearEnv(t)
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	return Load()
}

// checkLoaded loads env, which must be accepted, and runs check (when
// set) on the result.
func checkLoaded(t *testing.T, check func(*testing.T, *Config), env ...string) {
	t.Helper()
	c, err := load(t, env...)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if check != nil {
		check(t, c)
	}
}

// wantRefused checks that Load refuses env with one line that starts
// with the variable's name, and no config.
func wantRefused(t *testing.T, variable string, env ...string) {
	t.Helper()
	c, err := load(t, env...)
	if err == nil {
		t.Fatalf("Load() accepted %q: %+v", env, c)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, variable+":") {
		t.Errorf("error %q does not start with %s:", msg, variable)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is more than one line: %q", msg)
	}
	if c != nil {
		t.Errorf("Load() returned a config with its error")
	}
}

func TestDefaults(t *testing.T) {
	c, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Port:           7071,
		ListenAddr:     "127.0.0.1",
		RPID:           "localhost",
		RPName:         "Passkeys",
		RPOrigins:      []string{"http://localhost:7071"},
		SessionTTL:     5 * time.Minute,
		ConditionalTTL: 30 * time.Minute,
		DeviceLimit:    10,
		Attestation:    "none",
		SyncedPasskeys: "allow",
		MDSURL:         "https://mds3.fidoalliance.org/",
		RequestTimeout: 8 * time.Second,
		CosmosDatabase: "passkeys",
		DataDir:        "./data",
		PageOrigins:    []string{"http://localhost:7071"},
		PublicURL:      "http://localhost:7071",
		DemoPage:       true,
		// The app API's tokens (tokens.go).
		TokenMaxAuthAge: 5 * time.Minute,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.Addr() != "127.0.0.1:7071" {
		t.Errorf("Addr() = %q", c.Addr())
	}
	if !c.Loopback() {
		t.Error("the default address is not loopback")
	}
	if _, err := c.WebAuthn(); err != nil {
		t.Errorf("WebAuthn() with the defaults: %v", err)
	}
}

func TestOriginsDefaultFollowsPort(t *testing.T) {
	c, err := load(t, "FUNCTIONS_CUSTOMHANDLER_PORT", "34567")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.RPOrigins, []string{"http://localhost:34567"}) {
		t.Errorf("RPOrigins = %q, want [http://localhost:34567]", c.RPOrigins)
	}
	if c.Addr() != "127.0.0.1:34567" {
		t.Errorf("Addr() = %q", c.Addr())
	}
}

func TestValidSettings(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "lists are trimmed and empty entries dropped",
			env: []string{
				"PASSKEY_RP_ID", "contoso.com",
				"PASSKEY_RP_ORIGINS", " https://login.contoso.com , ,https://contoso.com/ ",
				"PASSKEY_API_KEYS", " 0123456789abcdef ,, fedcba9876543210",
			},
			check: func(t *testing.T, c *Config) {
				if !slices.Equal(c.RPOrigins, []string{"https://login.contoso.com", "https://contoso.com/"}) {
					t.Errorf("RPOrigins = %q", c.RPOrigins)
				}
				if !slices.Equal(c.APIKeys, []string{"0123456789abcdef", "fedcba9876543210"}) {
					t.Errorf("APIKeys = %q", c.APIKeys)
				}
			},
		},
		{
			name: "b2clogin domain",
			env:  []string{"PASSKEY_RP_ID", "contoso.b2clogin.com", "PASSKEY_RP_ORIGINS", "https://contoso.b2clogin.com"},
			check: func(t *testing.T, c *Config) {
				wa, err := c.WebAuthn()
				if err != nil {
					t.Fatal(err)
				}
				if wa.Config.RPID != "contoso.b2clogin.com" || !slices.Equal(wa.Config.RPOrigins, c.RPOrigins) {
					t.Errorf("webauthn config %q %q", wa.Config.RPID, wa.Config.RPOrigins)
				}
			},
		},
		{
			name: "every interface with keys",
			env:  []string{"PASSKEY_LISTEN_ADDR", "0.0.0.0", "PASSKEY_API_KEYS", "0123456789abcdef"},
			check: func(t *testing.T, c *Config) {
				if c.Loopback() {
					t.Error("0.0.0.0 counted as loopback")
				}
			},
		},
		{name: "IPv6 loopback", env: []string{"PASSKEY_LISTEN_ADDR", "::1"}, check: loopback(true)},
		{name: "localhost", env: []string{"PASSKEY_LISTEN_ADDR", "localhost"}, check: loopback(true)},
		{name: "127.0.0.2", env: []string{"PASSKEY_LISTEN_ADDR", "127.0.0.2"}, check: loopback(true)},
		{name: "lowest port", env: []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "1"}},
		{name: "highest port", env: []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "65535"}},
		{name: "shortest session", env: []string{"PASSKEY_SESSION_TTL", "10s"}},
		{name: "longest session", env: []string{"PASSKEY_SESSION_TTL", "1h"}},
		{name: "attestation none", env: []string{"PASSKEY_ATTESTATION", "none"}},
		{name: "one device", env: []string{"PASSKEY_DEVICE_LIMIT", "1"}},
		{name: "request timeout 9s", env: []string{"PASSKEY_REQUEST_TIMEOUT", "9s"}},
		{
			name: "cosmos without a data dir",
			env:  []string{"PASSKEY_COSMOS_ENDPOINT", "https://myaccount.documents.azure.com:443/", "PASSKEY_DATA_DIR", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoaded(t, tt.check, tt.env...)
		})
	}
}

func loopback(want bool) func(*testing.T, *Config) {
	return func(t *testing.T, c *Config) {
		t.Helper()
		if c.Loopback() != want {
			t.Errorf("Loopback() = %v for %q, want %v", c.Loopback(), c.ListenAddr, want)
		}
	}
}

func TestBadSettings(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		variable string // the error must start with it
	}{
		{"port not a number", []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "http"}, "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"port empty", []string{"FUNCTIONS_CUSTOMHANDLER_PORT", ""}, "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"port zero", []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "0"}, "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"port too high", []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "65536"}, "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{"listen on a host name", []string{"PASSKEY_LISTEN_ADDR", "example.com"}, "PASSKEY_LISTEN_ADDR"},
		{"listen with a port", []string{"PASSKEY_LISTEN_ADDR", "127.0.0.1:7071"}, "PASSKEY_LISTEN_ADDR"},
		{"every interface without keys", []string{"PASSKEY_LISTEN_ADDR", "0.0.0.0"}, "PASSKEY_API_KEYS"},
		{"every IPv6 interface without keys", []string{"PASSKEY_LISTEN_ADDR", "::"}, "PASSKEY_API_KEYS"},
		{"private address without keys", []string{"PASSKEY_LISTEN_ADDR", "10.0.0.5"}, "PASSKEY_API_KEYS"},
		{"short key", []string{"PASSKEY_API_KEYS", "0123456789abcdef,short-secret"}, "PASSKEY_API_KEYS"},
		{"RP ID empty", []string{"PASSKEY_RP_ID", ""}, "PASSKEY_RP_ID"},
		{"RP ID a URL", []string{"PASSKEY_RP_ID", "https://login.contoso.com"}, "PASSKEY_RP_ID"},
		{"RP ID an IP address", []string{"PASSKEY_RP_ID", "127.0.0.1"}, "PASSKEY_RP_ID"},
		{"RP ID with a port", []string{"PASSKEY_RP_ID", "localhost:7071"}, "PASSKEY_RP_ID"},
		{"RP name blank", []string{"PASSKEY_RP_NAME", "  "}, "PASSKEY_RP_NAME"},
		{"origin without scheme", []string{"PASSKEY_RP_ORIGINS", "localhost:7071"}, "PASSKEY_RP_ORIGINS"},
		{"origin with a path", []string{"PASSKEY_RP_ORIGINS", "http://localhost:7071/api"}, "PASSKEY_RP_ORIGINS"},
		{"origin ftp", []string{"PASSKEY_RP_ORIGINS", "ftp://localhost"}, "PASSKEY_RP_ORIGINS"},
		{"origin off the RP ID", []string{"PASSKEY_RP_ORIGINS", "https://evil.example"}, "PASSKEY_RP_ORIGINS"},
		{"origin ending like the RP ID", []string{"PASSKEY_RP_ORIGINS", "https://notlocalhost"}, "PASSKEY_RP_ORIGINS"},
		{"second origin bad", []string{"PASSKEY_RP_ORIGINS", "http://localhost:7071,https://evil.example"}, "PASSKEY_RP_ORIGINS"},
		{
			"plain http off localhost",
			[]string{"PASSKEY_RP_ID", "contoso.com", "PASSKEY_RP_ORIGINS", "http://login.contoso.com"},
			"PASSKEY_RP_ORIGINS",
		},
		{"session without unit", []string{"PASSKEY_SESSION_TTL", "300"}, "PASSKEY_SESSION_TTL"},
		{"session not a duration", []string{"PASSKEY_SESSION_TTL", "forever"}, "PASSKEY_SESSION_TTL"},
		{"session empty", []string{"PASSKEY_SESSION_TTL", ""}, "PASSKEY_SESSION_TTL"},
		{"session too short", []string{"PASSKEY_SESSION_TTL", "9s"}, "PASSKEY_SESSION_TTL"},
		{"session too long", []string{"PASSKEY_SESSION_TTL", "61m"}, "PASSKEY_SESSION_TTL"},
		{"session negative", []string{"PASSKEY_SESSION_TTL", "-5m"}, "PASSKEY_SESSION_TTL"},
		{"device limit zero", []string{"PASSKEY_DEVICE_LIMIT", "0"}, "PASSKEY_DEVICE_LIMIT"},
		{"device limit too high", []string{"PASSKEY_DEVICE_LIMIT", "101"}, "PASSKEY_DEVICE_LIMIT"},
		{"device limit a word", []string{"PASSKEY_DEVICE_LIMIT", "ten"}, "PASSKEY_DEVICE_LIMIT"},
		{"attestation format", []string{"PASSKEY_ATTESTATION", "packed"}, "PASSKEY_ATTESTATION"},
		{"attestation upper case", []string{"PASSKEY_ATTESTATION", "DIRECT"}, "PASSKEY_ATTESTATION"},
		{"request timeout too short", []string{"PASSKEY_REQUEST_TIMEOUT", "500ms"}, "PASSKEY_REQUEST_TIMEOUT"},
		{"request timeout past B2C", []string{"PASSKEY_REQUEST_TIMEOUT", "10s"}, "PASSKEY_REQUEST_TIMEOUT"},
		{"cosmos endpoint without scheme", []string{"PASSKEY_COSMOS_ENDPOINT", "myaccount.documents.azure.com"}, "PASSKEY_COSMOS_ENDPOINT"},
		{"cosmos endpoint ftp", []string{"PASSKEY_COSMOS_ENDPOINT", "ftp://myaccount"}, "PASSKEY_COSMOS_ENDPOINT"},
		{
			"cosmos database empty",
			[]string{"PASSKEY_COSMOS_ENDPOINT", "https://myaccount.documents.azure.com:443/", "PASSKEY_COSMOS_DATABASE", ""},
			"PASSKEY_COSMOS_DATABASE",
		},
		{"data dir empty", []string{"PASSKEY_DATA_DIR", ""}, "PASSKEY_DATA_DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, tt.variable, tt.env...)
		})
	}
}

func TestErrorsHoldNoKey(t *testing.T) {
	_, err := load(t, "PASSKEY_API_KEYS", "short-secret")
	if err == nil {
		t.Fatal("a 12-character key was accepted")
	}
	if strings.Contains(err.Error(), "short-secret") {
		t.Errorf("the error shows the key: %q", err)
	}
}
