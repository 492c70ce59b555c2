package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// cosmosOpenTimeout bounds the container checks at start, inside the 60 s
// the Functions host gives the handler to listen.
const cosmosOpenTimeout = 30 * time.Second

// openStore picks the Cosmos store when PASSKEY_COSMOS_ENDPOINT is set,
// else the embedded one in PASSKEY_DATA_DIR.
func openStore(cfg *config.Config, logger *slog.Logger) (passkey.Store, string, error) {
	if cfg.CosmosEndpoint != "" {
		ctx, cancel := context.WithTimeout(context.Background(), cosmosOpenTimeout)
		defer cancel()
		s, err := cosmos.Open(ctx, cosmos.Options{
			Endpoint: cfg.CosmosEndpoint,
			Key:      cfg.CosmosKey,
			Database: cfg.CosmosDatabase,
			Logger:   logger,
		})
		if err != nil {
			return nil, "", err
		}
		return s, "cosmos", nil
	}
	s, err := embedded.Open(cfg.DataDir, time.Minute)
	if err != nil {
		return nil, "", fmt.Errorf("PASSKEY_DATA_DIR: %w", err)
	}
	return s, "embedded", nil
}
