package main

import (
	"fmt"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/token"
)

// tokenOptions turns on the app API and the caller tokens where the
// configuration asks for them.
func tokenOptions(cfg *config.Config, opts *api.Options) error {
	if cfg.AppAPI() {
		v, err := token.New(cfg.AppTokenConfig())
		if err != nil {
			return fmt.Errorf("PASSKEY_TOKEN_METADATA_URLS: %w", err)
		}
		opts.AppTokens, opts.AppOrigins, opts.MaxAuthAge = v, cfg.AppOrigins, cfg.TokenMaxAuthAge
	}
	if cfg.CallerTokens() {
		v, err := token.New(cfg.CallerTokenConfig())
		if err != nil {
			return fmt.Errorf("PASSKEY_CALLER_METADATA_URL: %w", err)
		}
		opts.CallerTokens = v
	}
	return nil
}
