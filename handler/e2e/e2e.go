// Package e2e holds the end-to-end browser tests of the handler: the real
// handler binary, started as the Functions host starts it, and its demo page
// driven in headless Chromium with virtual WebAuthn authenticators. The
// tests are in the _test files; this file only documents the package.
//
// The handlers use the embedded store. PASSKEY_E2E_STORE=cosmos runs the
// same tests on the Cosmos store: each test gets a database of its own on
// the project's Cosmos test server (test/cosmosserver), or on the account
// that PASSKEY_COSMOS_ENDPOINT and PASSKEY_COSMOS_KEY name:
//
//	PASSKEY_E2E_STORE=cosmos go test ./handler/e2e
//
// PASSKEY_E2E_STORE_ENV adds any other handler settings, as white-space
// separated NAME=VALUE pairs.
package e2e
