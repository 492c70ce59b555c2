package api

import (
	"encoding/json"
	"net/http"
)

// RelatedOriginsFunction is the function folder
// (functions/well-known-webauthn) that serves the related origins
// document under the Functions host, at RelatedOriginsFunctionPath; a
// front door routes https://<RP ID>/.well-known/webauthn to it.
const RelatedOriginsFunction = "well-known-webauthn"

// RelatedOriginsFunctionPath is where the Functions host serves it.
const RelatedOriginsFunctionPath = "/api/well-known/webauthn"

// RelatedOriginsPath is where browsers look for the document on the RP
// ID's host (WebAuthn Level 3, §5.11 related origin requests).
const RelatedOriginsPath = "/.well-known/webauthn"

// relatedOrigins serves {"origins": [...]}: the origins on other domains
// that may use the RP ID. Without any, there is no document (404).
func (s *Server) relatedOrigins(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(s.opts.RelatedOrigins) == 0 {
		http.Error(w, "no related origins are configured (PASSKEY_RELATED_ORIGINS)", http.StatusNotFound)
		return
	}
	body, _ := json.Marshal(struct {
		Origins []string `json:"origins"`
	}{s.opts.RelatedOrigins})
	w.Header().Set("Content-Type", "application/json")
	// Browsers fetch it on each ceremony from another origin; a short
	// cache keeps a changed list from lingering.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(body)
}
