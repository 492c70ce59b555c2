// Package pages serves the B2C page templates and the files they load at
// /api/pages/<file>. The templates are rendered once, at start, with the
// configured public URL of the handler and the Subresource Integrity hash
// of every script and stylesheet they load: nothing in a served page comes
// from the request. The files answer CORS for the configured origins,
// because B2C fetches a template from the browser on its own origin.
package pages

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// Prefix is where the files are served (functions/pages, route
// pages/{*file}, anonymous).
const Prefix = "/api/pages/"

// templateGlob names the B2C page templates among the files, and layout
// the frame they share.
const (
	templateGlob = "passkey-*.html"
	layout       = "layout.tmpl"
)

// Options configures the handler.
type Options struct {
	// Files holds the templates (passkey-*.html) and the files they load.
	Files fs.FS
	// PublicURL is the scheme and host (and port) at which browsers reach
	// the handler, such as https://func-passkeys.azurewebsites.net.
	PublicURL string
	// Origins may fetch the files from a page of theirs (CORS): every
	// origin B2C serves the journeys on.
	Origins []string
}

// Handler serves the rendered templates and the files they load.
type Handler struct {
	files   map[string]*file
	origins []string
	modTime time.Time
}

type file struct {
	data  []byte
	ctype string
	etag  string
}

// New renders every template. A template that loads a file Files does not
// hold, or a PublicURL that is not an absolute http(s) URL, is an error.
func New(opts Options) (*Handler, error) {
	base, err := url.Parse(opts.PublicURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || strings.Trim(base.Path, "/") != "" {
		return nil, fmt.Errorf("pages: public URL %q is not of the form https://host[:port]", opts.PublicURL)
	}
	h := &Handler{files: map[string]*file{}, origins: slices.Clone(opts.Origins), modTime: time.Now()}
	names, err := fs.Glob(opts.Files, templateGlob)
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("pages: no templates %s (%v)", templateGlob, err)
	}
	assetURL := strings.TrimRight(opts.PublicURL, "/") + Prefix
	frame, err := fs.ReadFile(opts.Files, layout)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	// asset is the absolute URL of a file beside the template: B2C
	// merges the template into a page on its own origin.
	asset := func(file string) (template.URL, error) {
		if err := h.addAsset(opts.Files, file); err != nil {
			return "", err
		}
		return template.URL(assetURL + file), nil
	}
	// integrity is the file's Subresource Integrity value.
	integrity := func(file string) (string, error) {
		if err := h.addAsset(opts.Files, file); err != nil {
			return "", err
		}
		sum := sha512.Sum384(h.files[file].data)
		return "sha384-" + base64.StdEncoding.EncodeToString(sum[:]), nil
	}
	funcs := template.FuncMap{
		"asset":     asset,
		"integrity": integrity,
		// script loads a file with its hash, marked data-preload so that
		// B2C, which inserts the scripts itself, keeps their order.
		"script": func(file string) (template.HTML, error) {
			src, err := asset(file)
			if err != nil {
				return "", err
			}
			sri, _ := integrity(file)
			return template.HTML(`<script src="` + template.HTMLEscapeString(string(src)) + `" integrity="` + sri +
				`" crossorigin="anonymous" data-preload="true"></script>`), nil
		},
	}
	for _, name := range names {
		src, err := fs.ReadFile(opts.Files, name)
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Funcs(funcs).Parse(string(frame))
		if err == nil {
			t, err = t.Parse(string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("pages: %w", err)
		}
		var out bytes.Buffer
		if err := t.Execute(&out, nil); err != nil {
			return nil, fmt.Errorf("pages: %w", err)
		}
		h.files[name] = newFile(name, out.Bytes())
	}
	return h, nil
}

func (h *Handler) addAsset(fsys fs.FS, name string) error {
	if _, ok := h.files[name]; ok {
		return nil
	}
	if !fs.ValidPath(name) || strings.Contains(name, "/") || path.Ext(name) == ".html" {
		return fmt.Errorf("%q is not a file beside the template", name)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	h.files[name] = newFile(name, data)
	return nil
}

func newFile(name string, data []byte) *file {
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(data)
	}
	sum := sha256.Sum256(data)
	return &file{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// Names lists the files served, sorted.
func (h *Handler) Names() []string {
	var out []string
	for name := range h.files {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// ServeHTTP answers GET, HEAD and the CORS preflight under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(h.origins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			w.Header().Set("Access-Control-Allow-Headers", rh)
		}
		w.Header().Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[strings.TrimPrefix(r.URL.Path, Prefix)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("ETag", f.etag)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", h.modTime, bytes.NewReader(f.data))
}
