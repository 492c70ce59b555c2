package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/passkeys-b2c/passkeys/handler/internal/config"
	"github.com/passkeys-b2c/passkeys/handler/internal/passkey"
	"github.com/passkeys-b2c/passkeys/handler/internal/store/embedded"
)

// openStore picks the Cosmos store when PASSKEY_COSMOS_ENDPOINT is set,
// else the embedded one in PASSKEY_DATA_DIR.
func openStore(cfg *config.Config, _ *slog.Logger) (passkey.Store, string, error) {
	if cfg.CosmosEndpoint != "" {
		return nil, "", errors.New("PASSKEY_COSMOS_ENDPOINT: the Cosmos store is not available in this build")
	}
	s, err := embedded.Open(cfg.DataDir, time.Minute)
	return s, "embedded", err
}
