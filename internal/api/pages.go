package api

import (
	"bytes"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// PagesFunction is the function folder (functions/pages) that serves the
// page templates.
const PagesFunction = "pages"

// PagesPrefix is where the B2C page templates and their scripts are served
// (functions/pages, route pages/{*file}, anonymous): B2C's ContentDefinition
// LoadUri points here and the browser fetches it from the B2C origin.
const PagesPrefix = "/api/pages/"

// startTime is the modification time of the embedded files.
var startTime = time.Now()

// relativeAsset matches a src or href attribute naming a file beside the
// template (passkey.js, passkey-b2c.js, a stylesheet).
var relativeAsset = regexp.MustCompile(`\b(src|href)="([A-Za-z0-9][A-Za-z0-9._-]*\.(?:js|css))"`)

// pages serves a file of Options.Static under PagesPrefix with CORS for the
// configured origins. B2C merges a template into a page on its own origin,
// so relative script URLs in templates are made absolute: the templates
// stay plain files that also run from the handler itself.
func (s *Server) pages(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(s.opts.PageOrigins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		if h := r.Header.Get("Access-Control-Request-Headers"); h != "" {
			w.Header().Set("Access-Control-Allow-Headers", h)
		}
		w.Header().Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, PagesPrefix)
	if s.opts.Static == nil || name == "" || strings.Contains(name, "/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(s.opts.Static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	cache := "public, max-age=300"
	if path.Ext(name) == ".html" {
		base := publicBase(r) + PagesPrefix
		data = relativeAsset.ReplaceAll(data, []byte(`$1="`+strings.ReplaceAll(base, "$", "$$")+`$2"`))
		// The page now depends on the caller's headers: no shared cache
		// may keep it and hand it to another caller.
		cache = "private, max-age=300"
		w.Header().Add("Vary", "Host, X-Forwarded-Host, X-Forwarded-Proto")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(data)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, startTime, bytes.NewReader(data))
}

// publicBase is the scheme and host the caller used: the forwarded ones
// when a front end set them, https unless the host is a loopback name.
func publicBase(r *http.Request) string {
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	host = strings.TrimSpace(strings.Split(host, ",")[0])
	scheme := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])
	if scheme != "http" && scheme != "https" {
		scheme = "https"
		if r.TLS == nil && isLoopback(host) {
			scheme = "http"
		}
	}
	return scheme + "://" + host
}

func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
