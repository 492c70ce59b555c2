package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRequiredClaims: the service decides which claims a function needs,
// and each missing one is invalid_request naming it (the api only decodes).
func TestRequiredClaims(t *testing.T) {
	t.Parallel()
	h, _ := newServer(t, "http://localhost:7071")
	tests := []struct {
		fn, body, want string
	}{
		{"register-begin", `{"userName":"a"}`, "objectId is required"},
		{"register-begin", `{"objectId":"..","userName":"a"}`, "objectId must be a GUID"},
		{"register-begin", `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":" \t"}`, "userName is required"},
		{"register-finish", `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}`, "credential is required"},
		{"register-finish", `{"credential":"{}"}`, "objectId is required"},
		{"login-finish", `{}`, "credential is required"},
		{"list-devices", `{}`, "objectId is required"},
		{"rename-device", `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","deviceName":"n"}`, "credentialId is required"},
		{"rename-device", `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","credentialId":"AQID"}`, "deviceName is required"},
		{"delete-device", `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}`, "credentialId is required"},
	}
	for _, tt := range tests {
		t.Run(tt.fn+" "+tt.want, func(t *testing.T) {
			status, body := postRaw(t, h, tt.fn, tt.body, "application/json")
			if status != http.StatusBadRequest || body["code"] != "invalid_request" || !strings.HasPrefix(body["developerMessage"].(string), tt.want) {
				t.Errorf("%s %s: %d %v; want 400 invalid_request %q", tt.fn, tt.body, status, body, tt.want)
			}
		})
	}
}
