package policies_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
	"github.com/passkeys-b2c/passkeys/policies"
)

// playedElsewhere are the RESTful profiles that the journeys of
// TestJourneysAgainstTheHandler do not call with appsettings.json as
// written; TestAutomaticUpgradeJourney plays them.
var playedElsewhere = map[string]bool{"REST-Passkey-RegisterBegin-Conditional": true}

// modelWithUpgrade renders the first environment with the setting
// PasskeyAutomaticUpgrade set to value.
func modelWithUpgrade(t *testing.T, value string) *model {
	t.Helper()
	c := renderChains(t)[0]
	env := *c.env
	env.PolicySettings = maps.Clone(env.PolicySettings)
	env.PolicySettings["PasskeyAutomaticUpgrade"] = value
	rendered, err := policies.RenderAll(policies.Files, &env)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range policies.Order {
		c.files[name] = rendered[name]
	}
	c.env = &env
	return modelOf(t, c)
}

// TestAutomaticUpgradeJourney plays PasskeySignUpOrSignIn with the one
// setting on: after the password sign-in the silent page creates a
// passkey by conditional create (UP=0, UV=0, as Apple sends) and no page
// asks the user anything; where the browser cannot, the offer page
// follows; where it declines, the journey goes on. With the setting off
// the journey is what it was.
func TestAutomaticUpgradeJourney(t *testing.T) {
	key := "contract-test-key"
	h := testenv.StartHandler(t, "", "PASSKEY_API_KEYS="+key)

	// play runs the journey for a new user; the browser callback answers
	// each page and the pages shown are returned.
	play := func(t *testing.T, setting string, browser func(t *testing.T, tp string, shown map[string]any) map[string]string) (map[string]any, []string) {
		t.Helper()
		m := modelWithUpgrade(t, setting)
		u := user{objectID: uuid.NewString(), email: "bob@contoso.com", displayName: "Bob Example", givenName: "Bob", surname: "Example"}
		p := &player{t: t, m: m, h: h, key: key, users: []user{u}, calls: map[string]int{}, profiles: m.restProfiles(t)}
		var pages []string
		bag, err := p.play("PasskeySignUpOrSignIn", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			pages = append(pages, tp)
			return browser(t, tp, shown)
		})
		if err != nil {
			t.Fatalf("journey failed: %v (pages %v)", err, pages)
		}
		if bag["objectId"] != u.objectID {
			t.Errorf("token for %v, want %s", bag["objectId"], u.objectID)
		}
		if setting != "true" && p.calls["REST-Passkey-RegisterBegin-Conditional"] != 0 {
			t.Errorf("the upgrade began with the setting %q", setting)
		}
		return bag, pages
	}
	newAuth := func(t *testing.T) *softauthn.Authenticator {
		a, err := softauthn.New(h.URL)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("password sign-in, silent create, no page shown", func(t *testing.T) {
		auth := newAuth(t)
		bag, pages := play(t, "true", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp != "SelfAsserted-Passkey-Upgrade" {
				t.Fatalf("page %s shown after a silent upgrade", tp)
			}
			options, _ := shown["passkeyOptions"].(string)
			if !strings.Contains(options, `"mediation":"conditional"`) {
				t.Fatalf("upgrade options lack mediation conditional: %s", options)
			}
			cred, err := auth.Register(options, softauthn.WithoutUP(), softauthn.WithoutUV())
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{"passkeyAction": "upgraded", "passkeyCredential": cred}
		})
		if !slices.Equal(pages, []string{"SelfAsserted-Passkey-Upgrade"}) {
			t.Errorf("pages %v, want only the silent upgrade page", pages)
		}
		if bag["passkeyCredentialId"] == nil || bag["passkeyDeviceCount"] != float64(1) {
			t.Errorf("after the upgrade: %v", bag)
		}
	})

	t.Run("fallback: the browser cannot upgrade, the offer page follows", func(t *testing.T) {
		auth := newAuth(t)
		bag, pages := play(t, "true", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			switch tp {
			case "SelfAsserted-Passkey-Upgrade":
				return map[string]string{"passkeyAction": "offer"}
			case "SelfAsserted-Passkey-Offer":
				return map[string]string{"passkeyAction": "add"}
			case "SelfAsserted-Passkey-EmailVerify":
				// After a password, the code B2C mails comes before a passkey.
				return map[string]string{"passkeyReadOnlyEmail": fmt.Sprint(shown["passkeyReadOnlyEmail"])}
			case "SelfAsserted-Passkey-Create":
				options := shown["passkeyOptions"].(string)
				if strings.Contains(options, `"conditional"`) {
					t.Errorf("the offer's create runs with the upgrade's options: %s", options)
				}
				cred, err := auth.Register(options)
				if err != nil {
					t.Fatal(err)
				}
				return map[string]string{"passkeyCredential": cred}
			}
			t.Fatalf("unexpected page %s", tp)
			return nil
		})
		want := []string{"SelfAsserted-Passkey-Upgrade", "SelfAsserted-Passkey-Offer", "SelfAsserted-Passkey-EmailVerify", "SelfAsserted-Passkey-Create"}
		if !slices.Equal(pages, want) {
			t.Errorf("pages %v, want %v", pages, want)
		}
		if bag["passkeyDeviceCount"] != float64(1) {
			t.Errorf("after the offer: %v", bag)
		}
	})

	t.Run("the browser declines: no passkey, no offer", func(t *testing.T) {
		bag, pages := play(t, "true", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			if tp != "SelfAsserted-Passkey-Upgrade" {
				t.Fatalf("page %s shown after the browser declined", tp)
			}
			return map[string]string{"passkeyAction": "declined"}
		})
		if len(pages) != 1 || bag["passkeyCredentialId"] != nil {
			t.Errorf("pages %v, bag %v: want the silent page only and no passkey", pages, bag)
		}
	})

	t.Run("setting off: the offer page as before", func(t *testing.T) {
		_, pages := play(t, "false", func(t *testing.T, tp string, shown map[string]any) map[string]string {
			return map[string]string{"passkeyAction": "skip"}
		})
		if !slices.Equal(pages, []string{"SelfAsserted-Passkey-Offer"}) {
			t.Errorf("pages %v, want only the offer", pages)
		}
	})
}
