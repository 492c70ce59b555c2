package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

const supportKey = "support-key-0123456789"

// TestSupportFunctions: with the function key a help desk lists a user's
// passkeys, deletes one and revokes all; every call names who asked and
// is logged as a security event; without the key nothing happens.
func TestSupportFunctions(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, func(o *api.Options) { o.APIKeys = []string{supportKey} })
	user, other := uuid.NewString(), uuid.NewString()
	first := e.register(t, user, "Phone")
	e.register(t, user, "Laptop")
	e.register(t, user, "Key")
	e.register(t, other, "Other's phone")
	key := []string{"x-functions-key", supportKey}
	agent := "agent.smith@contoso.com"

	t.Run("without the key", func(t *testing.T) {
		for _, fn := range []string{api.SupportListFunction, api.SupportDeleteFunction, api.SupportRevokeFunction} {
			r := e.do(t, "POST", "/api/"+fn, "", map[string]any{"objectId": user, "credentialId": first, "requestedBy": agent})
			checkCode(t, r, http.StatusUnauthorized, passkey.CodeUnauthorized)
			r = e.do(t, "OPTIONS", "/api/"+fn, "", nil, "Origin", "https://app.contoso.com")
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s answers CORS", fn)
			}
		}
		if n := len(devices(t, e, user)); n != 3 {
			t.Fatalf("%d passkeys after refused calls, want 3", n)
		}
	})

	t.Run("requestedBy is required", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"objectId": user},
			{"objectId": user, "requestedBy": "  "},
			{"objectId": user, "requestedBy": strings.Repeat("a", 257)},
			{"objectId": user, "requestedBy": "agent\nforged log line"},
			{"objectId": user, "requestedBy": agent, "reason": "because"},
		} {
			r := e.do(t, "POST", "/api/"+api.SupportRevokeFunction, "", body, key...)
			checkCode(t, r, http.StatusBadRequest, passkey.CodeInvalidRequest)
		}
	})

	list := ok(t, e.do(t, "POST", "/api/"+api.SupportListFunction, "", map[string]any{"objectId": user, "requestedBy": agent}, key...), "list")
	if list["deviceCount"] != float64(3) || len(list["devices"].([]any)) != 3 {
		t.Errorf("list = %v", list)
	}
	del := ok(t, e.do(t, "POST", "/api/"+api.SupportDeleteFunction, "", map[string]any{
		"objectId": user, "credentialId": first, "requestedBy": agent, "reason": "lost_device",
	}, key...), "delete")
	if del["deviceCount"] != float64(2) {
		t.Errorf("delete = %v", del)
	}
	r := e.do(t, "POST", "/api/"+api.SupportDeleteFunction, "", map[string]any{"objectId": other, "credentialId": first, "requestedBy": agent}, key...)
	checkCode(t, r, http.StatusConflict, passkey.CodeCredentialUnknown)

	revoke := ok(t, e.do(t, "POST", "/api/"+api.SupportRevokeFunction, "", map[string]any{
		"objectId": user, "requestedBy": agent, "reason": "account_compromised",
	}, key...), "revoke")
	if revoke["revoked"] != float64(2) || revoke["deviceCount"] != float64(0) {
		t.Errorf("revoke = %v", revoke)
	}
	if n := len(devices(t, e, user)); n != 0 {
		t.Errorf("%d passkeys after revoke", n)
	}
	if n := len(devices(t, e, other)); n != 1 {
		t.Errorf("the other user has %d passkeys after the revoke, want 1", n)
	}
	again := ok(t, e.do(t, "POST", "/api/"+api.SupportRevokeFunction, "", map[string]any{"objectId": user, "requestedBy": agent}, key...), "revoke again")
	if again["revoked"] != float64(0) {
		t.Errorf("second revoke = %v", again)
	}

	for kind, want := range map[string]int{"support_list_passkeys": 1, "support_delete_passkey": 1, "support_revoke_passkeys": 2} {
		events := e.logs.Events(t, kind)
		if len(events) != want {
			t.Errorf("%d %s events, want %d", len(events), kind, want)
		}
		for _, ev := range events {
			if ev["requestedBy"] != agent || ev["objectId"] != user || ev["requestId"] == "" {
				t.Errorf("%s event = %v", kind, ev)
			}
		}
	}
	if ev := e.logs.Events(t, "support_revoke_passkeys"); len(ev) > 0 && ev[0]["reason"] != "account_compromised" {
		t.Errorf("revoke event = %v", ev[0])
	}
}
