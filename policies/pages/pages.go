// Package pages holds the browser side of the product: passkey.js, which
// runs the WebAuthn ceremonies for both the demo page and the B2C page
// templates; the B2C page templates (passkey-*.html) with passkey-b2c.js,
// served at GET /api/pages/<file>; and the demo page the handler serves at
// GET / when run on its own.
package pages

import "embed"

// Files are the templates and scripts; internal/pages renders and serves
// the templates and the files they load.
//
//go:embed *.html *.tmpl *.js *.css
var Files embed.FS

// Demo is the demo page and its scripts, served at / when the demo page
// is on (PASSKEY_DEMO_PAGE).
//
//go:embed index.html demo.js demo-lifecycle.js passkey.js passkey-lifecycle.js
var Demo embed.FS
