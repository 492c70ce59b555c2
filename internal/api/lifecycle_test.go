package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// signalClaims checks the Signal API claims of a response.
func signalClaims(t *testing.T, function string, out map[string]any, objectID string, ids ...string) {
	t.Helper()
	if out["rpId"] != "localhost" || out["userHandle"] != b64url(objectID) {
		t.Errorf("%s: rpId %v userHandle %v, want localhost and %s", function, out["rpId"], out["userHandle"], b64url(objectID))
	}
	if ids == nil {
		if _, ok := out["acceptedCredentialIds"]; ok {
			t.Errorf("%s: acceptedCredentialIds %v, want none", function, out["acceptedCredentialIds"])
		}
		return
	}
	list, ok := out["acceptedCredentialIds"].([]any)
	if !ok {
		t.Fatalf("%s: acceptedCredentialIds %#v, want an array", function, out["acceptedCredentialIds"])
	}
	var got []string
	for _, v := range list {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, ids) && !(len(got) == 0 && len(ids) == 0) {
		t.Errorf("%s: acceptedCredentialIds %v, want %v", function, got, ids)
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSignalClaimsAfterEachFunction(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	user := oid("signal-user")
	begin := e.call(t, "register-begin", map[string]string{"objectId": user, "userName": user})
	cred, err := e.auth.Register(begin["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	reg := e.call(t, "register-finish", map[string]string{"objectId": user, "credential": cred})
	id := reg["credentialId"].(string)
	signalClaims(t, "register-finish", reg, user, id)

	login := e.call(t, "login-begin", map[string]string{"objectId": user})
	assertion, err := e.auth.Login(login["options"].(string))
	if err != nil {
		t.Fatal(err)
	}
	signalClaims(t, "login-finish", e.call(t, "login-finish", map[string]string{"objectId": user, "credential": assertion}), user, id)

	list := e.call(t, "list-devices", map[string]string{"objectId": user})
	signalClaims(t, "list-devices", list, user, id)
	var devices []map[string]any
	json.Unmarshal([]byte(list["devices"].(string)), &devices)
	if devices[0]["discoverable"] != true {
		t.Errorf("device %v, want discoverable true (credProps rk)", devices[0])
	}
	signalClaims(t, "rename-device", e.call(t, "rename-device", map[string]string{"objectId": user, "credentialId": id, "deviceName": "Laptop"}), user)
	signalClaims(t, "delete-device", e.call(t, "delete-device", map[string]string{"objectId": user, "credentialId": id}), user, []string{}...)
}

func TestHintsClaim(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	for _, body := range []string{
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":"security-key, hybrid"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":["security-key","hybrid"]}`,
	} {
		status, out := e.post(t, "register-begin", []byte(body), nil)
		if status != http.StatusOK || !strings.Contains(out["options"].(string), `"hints":["security-key","hybrid"]`) {
			t.Errorf("%s: %d %v, want options with both hints", body, status, out)
		}
	}
	status, out := e.post(t, "login-begin", []byte(`{"hints":"client-device"}`), nil)
	if status != http.StatusOK || !strings.Contains(out["options"].(string), `"hints":["client-device"]`) {
		t.Errorf("login-begin: %d %v, want options with the hint", status, out)
	}
	for _, body := range []string{
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":"usb"}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":7}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":[1]}`,
		`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"h","hints":"` + strings.Repeat("hybrid,", 30) + `"}`,
	} {
		status, out := e.post(t, "register-begin", []byte(body), nil)
		if status != http.StatusBadRequest || out["code"] != "invalid_request" || !strings.Contains(out["developerMessage"].(string), "hints") {
			t.Errorf("%s: %d %v, want invalid_request naming hints", body, status, out)
		}
	}
}

// TestConditionalRegistrationOverHTTP: the upgrade as B2C calls it.
func TestConditionalRegistrationOverHTTP(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t)
	silent := []softauthn.CeremonyOption{softauthn.WithoutUP(), softauthn.WithoutUV()}
	begin := e.call(t, "register-begin", map[string]string{"objectId": oid("up"), "userName": "up", "mediation": "conditional"})
	if !strings.Contains(begin["options"].(string), `"mediation":"conditional"`) {
		t.Errorf("options %s lack mediation conditional", begin["options"])
	}
	cred, err := e.auth.Register(begin["options"].(string), silent...)
	if err != nil {
		t.Fatal(err)
	}
	e.call(t, "register-finish", map[string]string{"objectId": oid("up"), "credential": cred})

	modal := e.call(t, "register-begin", map[string]string{"objectId": oid("modal"), "userName": "modal"})
	other, _ := softauthn.New(fuzzOrigin)
	cred, err = other.Register(modal["options"].(string), silent...)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"objectId": oid("modal"), "credential": cred})
	if status, out := e.post(t, "register-finish", body, nil); status != http.StatusConflict || out["code"] != "credential_rejected" {
		t.Errorf("a modal registration without UP and UV: %d %v, want 409 credential_rejected", status, out)
	}
	status, out := e.post(t, "register-begin", []byte(`{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"x","mediation":"silent"}`), nil)
	if status != http.StatusBadRequest || out["code"] != "invalid_request" {
		t.Errorf("mediation silent: %d %v, want invalid_request", status, out)
	}
}
