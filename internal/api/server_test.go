package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// newServer is the handler of every function on a fresh embedded store,
// for origin, with a device limit high enough not to get in the way and
// no log output.
func newServer(tb testing.TB, origin string) (http.Handler, *embedded.Store) {
	tb.Helper()
	cfg := config.Config{RPID: "localhost", RPName: "Passkeys", RPOrigins: []string{origin}, SessionTTL: 5 * time.Minute, Attestation: "direct"}
	wa, err := cfg.WebAuthn()
	if err != nil {
		tb.Fatal(err)
	}
	store, err := embedded.Open(tb.TempDir(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	logger := slog.New(slog.DiscardHandler)
	svc := passkey.NewService(wa, store, passkey.Options{SessionTTL: cfg.SessionTTL, DeviceLimit: 100, Logger: logger})
	return api.New(svc, api.Options{Logger: logger}), store
}

// postRaw posts body to the function with the Content-Type given and
// returns the status and the decoded body.
func postRaw(tb testing.TB, h http.Handler, function, body, contentType string) (int, map[string]any) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/"+function, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatalf("%s answered %d with a body that is not JSON: %q", function, rec.Code, rec.Body)
	}
	return rec.Code, out
}
