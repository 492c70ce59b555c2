package cosmos_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// fakeToken stands in for a managed identity: the test server checks no
// token, so what matters is that the store takes the identity path.
type fakeToken struct{}

func (fakeToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestOpenWithIdentityNeedsContainers(t *testing.T) {
	c := testenv.StartCosmos(t)
	if c.External {
		t.Skip("PASSKEY_COSMOS_ENDPOINT is set: the identity path needs the test server, which checks no token")
	}
	database := c.Database(t)
	ctx := context.Background()
	_, err := cosmos.Open(ctx, cosmos.Options{Endpoint: c.Endpoint, Credential: fakeToken{}, Database: database})
	if err == nil || !strings.Contains(err.Error(), `"`+cosmos.UsersContainer+`"`) || !strings.Contains(err.Error(), database) {
		t.Fatalf("Open with an identity on a missing database = %v; want an error naming the database and the users container", err)
	}
	open(t, c, cosmos.Options{Database: database}) // with the key: creates them
	s, err := cosmos.Open(ctx, cosmos.Options{Endpoint: c.Endpoint, Credential: fakeToken{}, Database: database})
	if err != nil {
		t.Fatalf("Open with an identity once the containers exist: %v", err)
	}
	s.Close()
}

func TestOpenWithABadKey(t *testing.T) {
	const key = "this is not base64!"
	_, err := cosmos.Open(context.Background(), cosmos.Options{Endpoint: "http://127.0.0.1:1/", Key: key})
	if err == nil || !strings.Contains(err.Error(), "PASSKEY_COSMOS_KEY") || strings.Contains(err.Error(), key) {
		t.Fatalf("Open = %v; want an error naming PASSKEY_COSMOS_KEY without the key", err)
	}
}

// TestServer checks the test server's fixes through the SDK, where the
// store does not already: point reads of missing items and atomic
// transactional batches.
func TestServer(t *testing.T) {
	c := testenv.StartCosmos(t)
	database := c.Database(t)
	open(t, c, cosmos.Options{Database: database})
	client := c.Client(t)
	container, err := client.NewContainer(database, cosmos.UsersContainer)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pk := azcosmos.NewPartitionKeyString("batch")
	statusOf := func(err error) int {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			return re.StatusCode
		}
		return 0
	}

	t.Run("a point read of a missing item is 404", func(t *testing.T) {
		_, err := container.ReadItem(ctx, pk, "missing", nil)
		if statusOf(err) != http.StatusNotFound {
			t.Fatalf("ReadItem = %v; want 404", err)
		}
	})

	t.Run("a batch that succeeds applies all of it", func(t *testing.T) {
		b := container.NewTransactionalBatch(pk)
		b.CreateItem([]byte(`{"id":"batch","n":1}`), nil)
		b.ReadItem("batch", nil)
		resp, err := container.ExecuteTransactionalBatch(ctx, b, nil)
		if err != nil || !resp.Success || len(resp.OperationResults) != 2 || resp.OperationResults[0].StatusCode != http.StatusCreated {
			t.Fatalf("batch = %+v, %v; want success", resp, err)
		}
	})

	t.Run("a batch with a failing operation is 207 and rolled back", func(t *testing.T) {
		b := container.NewTransactionalBatch(pk)
		b.ReplaceItem("batch", []byte(`{"id":"batch","n":2}`), nil)
		b.CreateItem([]byte(`{"id":"batch","n":3}`), nil) // exists: 409
		resp, err := container.ExecuteTransactionalBatch(ctx, b, nil)
		if err != nil || resp.Success || len(resp.OperationResults) != 2 ||
			resp.OperationResults[0].StatusCode != http.StatusFailedDependency || resp.OperationResults[1].StatusCode != http.StatusConflict {
			t.Fatalf("batch = %+v, %v; want 207 with 424 and 409", resp, err)
		}
		item, err := container.ReadItem(ctx, pk, "batch", nil)
		if err != nil || !strings.Contains(string(item.Value), `"n":1`) {
			t.Fatalf("after the failed batch: %s, %v; want n still 1", item.Value, err)
		}
	})
}
