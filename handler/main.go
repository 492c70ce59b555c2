// Command handler is the Azure Functions custom handler that registers and
// verifies passkeys for Azure AD B2C. It only wires: configuration, store,
// ceremonies, HTTP; see internal/ for each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/authpolicy"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/mds"
	"github.com/passkeys-b2c/passkeys/internal/pages"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	pagefiles "github.com/passkeys-b2c/passkeys/policies/pages"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("stopped", slog.String("error", err.Error()))
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	wa, err := cfg.WebAuthn()
	if err != nil {
		return fmt.Errorf("webauthn configuration: %w", err)
	}
	store, storeName, err := openStore(cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	policy, err := authenticatorPolicy(ctx, cfg, store, logger)
	if err != nil {
		return err
	}
	service := passkey.NewService(wa, store, passkey.Options{
		SessionTTL:     cfg.SessionTTL,
		ConditionalTTL: cfg.ConditionalTTL,
		DeviceLimit:    cfg.DeviceLimit,
		Logger:         logger,
		Policy:         policy,
	})
	// The pages answer CORS for the B2C origins and the related origins.
	templates, err := pages.New(pages.Options{Files: pagefiles.Files, PublicURL: cfg.PublicURL,
		Origins: append(slices.Clone(cfg.PageOrigins), cfg.RelatedOriginsDocument()...)})
	if err != nil {
		return err
	}
	var static fs.FS // the demo page, off in production (PASSKEY_DEMO_PAGE)
	if cfg.DemoPage {
		static = pagefiles.Demo
	}
	opts := api.Options{
		APIKeys:        cfg.APIKeys,
		RequestTimeout: cfg.RequestTimeout,
		Logger:         logger,
		Static:         static,
		Pages:          templates,
		RelatedOrigins: cfg.RelatedOriginsDocument(),
	}
	if err := tokenOptions(cfg, &opts); err != nil {
		return err
	}
	server := &http.Server{
		Handler:           api.New(service, opts),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	listener, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr(), err)
	}
	logger.Info("started",
		slog.String("version", buildVersion()),
		slog.String("addr", listener.Addr().String()),
		slog.String("store", storeName),
		slog.String("rpId", cfg.RPID),
		slog.Any("rpOrigins", cfg.RPOrigins),
		slog.Any("relatedOrigins", cfg.RelatedOrigins),
		slog.Any("pageOrigins", cfg.PageOrigins),
		slog.String("publicUrl", cfg.PublicURL),
		slog.Bool("demoPage", cfg.DemoPage),
		slog.String("attestation", cfg.Attestation),
		slog.Bool("apiKeys", len(cfg.APIKeys) > 0),
		slog.Bool("appAPI", cfg.AppAPI()),
		slog.Bool("callerTokens", cfg.CallerTokens()))

	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped cleanly")
	return nil
}

// buildVersion is the stamped version, else the module version and VCS
// revision Go recorded.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// authenticatorPolicy builds the policy; with attestation direct or
// required it loads the FIDO metadata (the stored copy first) and keeps
// refreshing it until ctx ends.
func authenticatorPolicy(ctx context.Context, cfg *config.Config, store passkey.Store, logger *slog.Logger) (*authpolicy.Policy, error) {
	if !cfg.UsesMetadata() {
		return authpolicy.FromConfig(cfg, nil)
	}
	blobs, _ := store.(passkey.MetadataStore)
	source := mds.New(mds.Options{URL: cfg.MDSURL, File: cfg.MDSFile, Store: blobs, Logger: logger})
	// The Functions host waits 60 s for the handler to listen.
	load, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := source.Load(load); err != nil {
		return nil, err
	}
	go source.Run(ctx)
	return authpolicy.FromConfig(cfg, source)
}
