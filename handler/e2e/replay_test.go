package e2e

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// TestFinishRetry replays the finish call the page made, as B2C does when
// a call times out: the identical body gets the same success again; any
// other body on the used challenge is refused with challenge_used.
func TestFinishRetry(t *testing.T) {
	d := openDemo(t)
	h := d.h
	d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")

	for _, tc := range []struct {
		name     string
		fn       string
		ceremony func(*demo) outcome
		// other changes the page's body into a different request on the
		// same challenge.
		other func(finishBody) finishBody
	}{
		{
			name: "register", fn: "register-finish", ceremony: (*demo).register,
			other: func(b finishBody) finishBody { b.DeviceName = "Another name"; return b },
		},
		{
			name: "named login", fn: "login-finish", ceremony: (*demo).signInNamed,
			other: func(b finishBody) finishBody { b.Credential = reencode(t, b.Credential); return b },
		},
		{
			name: "usernameless login", fn: "login-finish", ceremony: (*demo).signInUsernameless,
			other: func(b finishBody) finishBody { b.ObjectID = objectID; return b },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d.in(t)
			tc.ceremony(d)
			sent := d.lastCall(tc.fn)
			var first map[string]any
			if err := json.Unmarshal([]byte(sent.Response), &first); err != nil || sent.Status != 200 {
				t.Fatalf("the page's %s got %d %s", tc.fn, sent.Status, sent.Response)
			}

			status, again := post(t, h, tc.fn, sent.Request)
			if status != 200 || !reflect.DeepEqual(again, first) {
				t.Errorf("identical retry: got %d %v, want 200 %v", status, again, first)
			}

			status, body := postJSON(t, h, tc.fn, tc.other(decodeFinish(t, sent)))
			wantError(t, "different body on the used challenge", status, body, 409, "challenge_used")

			// The page's own body, posted from another B2C journey: a used
			// assertion or attestation is never a credential again.
			var fromElsewhere map[string]any
			if err := json.Unmarshal([]byte(sent.Request), &fromElsewhere); err != nil {
				t.Fatal(err)
			}
			fromElsewhere["correlationId"] = "5f0c3b9e-1d2a-4e6f-8a7b-9c0d1e2f3a4b"
			status, body = postJSON(t, h, tc.fn, fromElsewhere)
			wantError(t, "the used body from another journey", status, body, 409, "challenge_used")

			// The identical retry still succeeds after the refused one.
			if status, again := post(t, h, tc.fn, sent.Request); status != 200 || !reflect.DeepEqual(again, first) {
				t.Errorf("identical retry after a refused one: got %d %v, want 200 %v", status, again, first)
			}
		})
	}

	status, list := postJSON(t, h, "list-devices", map[string]string{"objectId": objectID})
	if status != 200 || list["deviceCount"] != float64(1) {
		t.Errorf("after the retries list-devices answered %d %v, want one passkey", status, list)
	}
}

// reencode returns the credential JSON with the same content in another
// form (keys sorted, no white space), which is a different request body.
func reencode(t *testing.T, credential string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(credential), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) == credential {
		b = append([]byte(" "), b...)
	}
	return string(b)
}
