// Package e2e holds the end-to-end browser tests of the handler: the real
// handler binary, started as the Functions host starts it, and its demo page
// driven in headless Chromium with virtual WebAuthn authenticators. The
// tests are in the _test files; this file only documents the package.
//
// The handlers use the embedded store unless PASSKEY_E2E_STORE_ENV holds
// settings of another store, as white-space separated NAME=VALUE pairs,
// for example
//
//	PASSKEY_E2E_STORE_ENV="PASSKEY_COSMOS_ENDPOINT=http://127.0.0.1:3000 PASSKEY_COSMOS_KEY=a2V5" go test ./handler/e2e
package e2e
