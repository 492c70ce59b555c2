package api

import (
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// checkContentType accepts only a JSON body. A browser sends a cross-site
// POST without asking first (no CORS preflight) only as text/plain, a form
// or multipart, so refusing those keeps a web page from driving a handler
// that listens on a developer's machine.
func checkContentType(r *http.Request) error {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "application/json" {
		return passkey.Errorf(passkey.CodeInvalidRequest, "Content-Type must be application/json")
	}
	return nil
}

// clientIP is the user's address as B2C passes it in the clientIp claim
// ({Context:IPAddress}), when it is one.
func clientIP(req *request) string {
	ip := strings.TrimSpace(req.ClientIP)
	if net.ParseIP(ip) == nil {
		return ""
	}
	return ip
}
