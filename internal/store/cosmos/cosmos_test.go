package cosmos_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/store/storetest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// open opens a store on a database of the test's own.
func open(t testing.TB, c *testenv.Cosmos, opts cosmos.Options) *cosmos.Store {
	t.Helper()
	opts.Endpoint, opts.Key = c.Endpoint, c.Key
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Database == "" {
		opts.Database = c.Database(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := cosmos.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	c := testenv.StartCosmos(t)
	database := c.Database(t)
	storetest.Run(t, storetest.Engine{
		Open: func(t *testing.T) passkey.Store { return open(t, c, cosmos.Options{Database: database}) },
		// A second store on the same database: another instance, whose
		// writes stop between the index and the record.
		OpenFaulty: func(t *testing.T, fault func() error) passkey.Store {
			s := open(t, c, cosmos.Options{Database: database})
			cosmos.SetBetweenWrites(s, fault)
			return s
		},
	})
}
