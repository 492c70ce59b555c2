package policies_test

import (
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/policies"
)

func TestRegions(t *testing.T) {
	policy := `<J>
  <OrchestrationSteps>
    <!--{If:Mode=Token}-->
    <OrchestrationStep Order="1" Type="ClaimsExchange"/>
    <!--{EndIf}-->
    <OrchestrationStep Order="1" Type="A"/>
    <OrchestrationStep Order="2" Type="B"/>
  </OrchestrationSteps>
  <Url>x/y<!--{If:Mode=Token}-->?code=k<!--{EndIf}--></Url>
</J>`
	tests := []struct {
		mode string
		want string
	}{
		{"Key", `<J>
  <OrchestrationSteps>
    <OrchestrationStep Order="1" Type="A"/>
    <OrchestrationStep Order="2" Type="B"/>
  </OrchestrationSteps>
  <Url>x/y</Url>
</J>`},
		{"Token", `<J>
  <OrchestrationSteps>
    <OrchestrationStep Order="1" Type="ClaimsExchange"/>
    <OrchestrationStep Order="2" Type="A"/>
    <OrchestrationStep Order="3" Type="B"/>
  </OrchestrationSteps>
  <Url>x/y?code=k</Url>
</J>`},
	}
	for _, tt := range tests {
		env := &policies.Environment{Name: tt.mode, Tenant: "t", PolicySettings: map[string]string{"Mode": tt.mode}}
		got, err := env.Render("p.xml", []byte(policy))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Render = %v\n%s\nwant\n%s", tt.mode, err, got, tt.want)
		}
	}
	env := &policies.Environment{Name: "x", Tenant: "t", PolicySettings: map[string]string{"Mode": "Key"}}
	for _, broken := range []string{`<!--{If:Mode=Key}--> no end`, `a <!--{EndIf}-->`, `<!--{If:Mode=Key}--><!--{If:Mode=Key}-->x<!--{EndIf}--><!--{EndIf}-->`} {
		if _, err := env.Render("p.xml", []byte(broken)); err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("Render(%q) = %v, want a region error", broken, err)
		}
	}
}

// TestKeyEnvironmentsHaveNoCallerTokenProfiles: an environment that calls
// the API with the key alone uploads nothing that refers to the caller
// token's policy keys, so its first deployment needs only the API key.
func TestKeyEnvironmentsHaveNoCallerTokenProfiles(t *testing.T) {
	modes := map[string]bool{}
	for _, c := range renderChains(t) {
		mode, _ := c.env.Value("PasskeyCallerAuth")
		modes[mode] = true
		ext := string(c.files["TrustFrameworkExtensions.xml"])
		token := strings.Contains(ext, "REST-Passkey-AcquireToken") || strings.Contains(ext, "Bearer") || strings.Contains(ext, "?code=")
		switch mode {
		case "Key":
			if token {
				t.Errorf("%s (Key) holds caller-token profiles", c.env.Name)
			}
		case "Token":
			if !token || strings.Contains(ext, "ApiKeyHeader") {
				t.Errorf("%s (Token) lacks the caller-token profiles or still sends the key header", c.env.Name)
			}
		default:
			t.Errorf("%s: PasskeyCallerAuth = %q, want Key or Token", c.env.Name, mode)
		}
	}
	if !modes["Key"] || !modes["Token"] {
		t.Errorf("appsettings.json has environments in modes %v; the tests need both", modes)
	}
}
