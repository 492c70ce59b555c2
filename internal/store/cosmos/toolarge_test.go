package cosmos_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// itemLimit answers a user write larger than limit bytes with 413, as
// Cosmos DB answers an item over its 2 MB limit (the test server has
// none).
type itemLimit struct {
	next  *counter
	limit int64
}

func (l *itemLimit) Do(req *http.Request) (*http.Response, error) {
	isUserWrite := (req.Method == http.MethodPut || req.Method == http.MethodPost) &&
		strings.Contains(req.URL.Path, "/colls/users/docs")
	if isUserWrite && req.ContentLength > l.limit {
		body := `{"code":"RequestEntityTooLarge","message":"Request size is too large"}`
		return &http.Response{
			StatusCode: http.StatusRequestEntityTooLarge, Status: "413 Request Entity Too Large",
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
			Request: req, ContentLength: int64(len(body)),
		}, nil
	}
	return l.next.Do(req)
}

// TestTooLargeItemIsDeviceLimit: when Cosmos DB refuses a user record as
// too large, the registration is device_limit (a 409 the user can act
// on), never an internal error, and the record is left as it was.
func TestTooLargeItemIsDeviceLimit(t *testing.T) {
	c := testenv.StartCosmos(t)
	f := newFixtureVia(t, c, func(count *counter) policy.Transporter { return &itemLimit{next: count, limit: 1200} })
	user := "7a3e4a52-0c3b-4d55-8a61-6f2b9d0c1e11"
	var err error
	registered := 0
	for range 10 {
		options := f.registerBegin(t, user)
		cred, rerr := newAuthenticator(t).Register(options)
		if rerr != nil {
			t.Fatal(rerr)
		}
		_, err = f.svc.RegisterFinish(context.Background(), passkey.RegisterFinishRequest{ObjectID: user, Credential: cred})
		if err != nil {
			break
		}
		registered++
	}
	if passkey.ErrorCode(err) != passkey.CodeDeviceLimit {
		t.Fatalf("after %d passkeys the registration failed with %v (%s); want device_limit", registered, err, passkey.ErrorCode(err))
	}
	u, gerr := f.store.GetUser(context.Background(), user)
	if gerr != nil || len(u.Credentials) != registered {
		t.Fatalf("the record holds %v (%v); want the %d passkeys registered before", u, gerr, registered)
	}
}
