package api_test

import (
	"net/http"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/apitest"

	"github.com/passkeys-b2c/passkeys/internal/api"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/embedded"
)

// newServer is the handler of every function on a fresh embedded store,
// for origin, with a device limit high enough not to get in the way and
// no log output.
func newServer(tb testing.TB, origin string) (http.Handler, *embedded.Store) {
	tb.Helper()
	cfg := apitest.Config(origin)
	cfg.Attestation = "direct"
	store := apitest.EmbeddedStore(tb)
	return apitest.NewHandler(tb, cfg, store, passkey.Options{}, api.Options{}), store
}

// postRaw posts body to the function with the Content-Type given (none
// when empty) and returns the status and the decoded body.
func postRaw(tb testing.TB, h http.Handler, function, body, contentType string) (int, map[string]any) {
	tb.Helper()
	header := http.Header{"Content-Type": nil}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	return apitest.Serve(tb, h, function, body, header)
}
