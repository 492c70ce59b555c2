// Command index-credentials builds the credential index of a Cosmos DB
// database written before the handler kept one (every credential id names
// the one user that holds it). Run it once after deploying a handler that
// keeps the index, with the handler's own settings:
//
//	PASSKEY_COSMOS_ENDPOINT=https://acct.documents.azure.com:443/ \
//	PASSKEY_COSMOS_DATABASE=passkeys go run ./cmd/index-credentials
//
// It is safe to run again and while handlers serve. It exits 1 when two
// users' records hold one credential id (listed, for someone to decide);
// the embedded store indexes its file by itself when it opens it.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "index-credentials:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cfg.CosmosEndpoint == "" {
		return fmt.Errorf("PASSKEY_COSMOS_ENDPOINT is empty: only the Cosmos DB store needs this command")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	store, err := cosmos.Open(ctx, cosmos.Options{
		Endpoint: cfg.CosmosEndpoint,
		Key:      cfg.CosmosKey,
		Database: cfg.CosmosDatabase,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer store.Close()
	report, err := store.IndexCredentials(ctx)
	if report != nil {
		fmt.Fprintf(out, "users %d, credentials %d, indexed %d, conflicts %d\n",
			report.Users, report.Credentials, report.Indexed, len(report.Conflicts))
		for _, c := range report.Conflicts {
			fmt.Fprintln(out, "conflict:", c)
		}
	}
	if err != nil {
		return err
	}
	if len(report.Conflicts) > 0 {
		return fmt.Errorf("%d credential ids are held by more than one user", len(report.Conflicts))
	}
	return nil
}
