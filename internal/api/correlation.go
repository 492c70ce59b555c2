package api

import (
	"net/http"
	"strings"
)

// CorrelationHeader carries a caller's correlation id when it cannot send
// the correlationId claim (a gateway, a script).
const CorrelationHeader = "X-Correlation-Id"

// maxCorrelationID bounds what is copied into the log; B2C's ids are
// GUIDs (36 characters).
const maxCorrelationID = 128

// correlationID is the caller's correlation id for the request log line:
// the correlationId claim (a B2C policy sends {Context:CorrelationId}),
// else the X-Correlation-Id header. A value that is not a plausible id
// (too long, or other characters than letters, digits and -_.:) is left
// out rather than logged.
func correlationID(r *http.Request, req *request) string {
	for _, v := range []string{req.CorrelationID, r.Header.Get(CorrelationHeader)} {
		if v = strings.TrimSpace(v); plausibleID(v) {
			return v
		}
	}
	return ""
}

func plausibleID(v string) bool {
	if v == "" || len(v) > maxCorrelationID {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("-_.:", c):
		default:
			return false
		}
	}
	return true
}
