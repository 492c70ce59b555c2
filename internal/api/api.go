// Package api is the HTTP side of the handler: the route table of the
// functions, request decoding with its size limit, caller authentication,
// the contract's error shape and the one log line per request.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/token"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Options configures the HTTP handler.
type Options struct {
	// APIKeys, when not empty, are the keys a caller must send in
	// x-functions-key or x-api-key.
	APIKeys []string
	// RequestTimeout bounds each function call.
	RequestTimeout time.Duration
	Logger         *slog.Logger
	// Static is served for GET requests outside /api/ (the demo page and
	// the browser script); nil serves nothing.
	Static fs.FS
	// Pages serves the B2C page templates under PagesPrefix
	// (internal/pages); nil serves none.
	Pages http.Handler
	// RelatedOrigins are listed in the related origins document served at
	// RelatedOriginsPath and RelatedOriginsFunctionPath
	// (PASSKEY_RELATED_ORIGINS).
	RelatedOrigins []string

	// AppTokens validates the B2C access tokens of the app API
	// (/api/me/passkeys, app.go); nil turns the app API off.
	AppTokens *token.Validator
	// AppOrigins may call the app API from a browser (CORS).
	AppOrigins []string
	// MaxAuthAge is how recent the user's sign-in (auth_time) must be to
	// add a passkey through the app API; 5 minutes when zero.
	MaxAuthAge time.Duration
	// CallerTokens, when set, must accept a bearer token on every call of
	// a B2C function, besides the key (caller.go).
	CallerTokens *token.Validator
}

// Server routes /api/<function> to the service.
type Server struct {
	service *passkey.Service
	opts    Options
	keys    [][sha256.Size]byte
	mux     *http.ServeMux
}

// New returns the handler for all functions, GET / and the static files.
func New(service *passkey.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 8 * time.Second
	}
	s := &Server{service: service, opts: opts, mux: http.NewServeMux()}
	for _, k := range opts.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	for name, fn := range s.functions() {
		s.mux.Handle("/api/"+name, s.function(name, fn))
	}
	for name, fn := range s.supportFunctions() {
		s.mux.Handle("/api/"+name, s.function(name, fn))
	}
	s.mux.HandleFunc(AppPrefix, s.app)
	s.mux.HandleFunc(AppPrefix+"/", s.app)
	pages := opts.Pages
	if pages == nil {
		pages = http.NotFoundHandler()
	}
	s.mux.Handle(PagesPrefix, pages)
	s.mux.HandleFunc(RelatedOriginsPath, s.relatedOrigins)
	s.mux.HandleFunc(RelatedOriginsFunctionPath, s.relatedOrigins)
	s.mux.Handle("/api/", s.function("", func(context.Context, *request) (response, error) {
		return nil, passkey.Errorf(passkey.CodeNotFound, "no such function")
	}))
	// GET / also answers the Functions host's readiness probe.
	static := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok\n")
	}))
	if opts.Static != nil {
		static = http.FileServerFS(opts.Static)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		static.ServeHTTP(w, r)
	})
	return s
}

// ServeHTTP routes function names without regard to case, as the Functions
// host does before it forwards a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok && name != strings.ToLower(name) && !strings.Contains(name, "/") {
		r.URL.Path = "/api/" + strings.ToLower(name)
		r.URL.RawPath = ""
	}
	s.mux.ServeHTTP(w, r)
}

// Functions lists the function names the server routes, for checks against
// the functions/ folders: the POST functions and "pages".
func (s *Server) Functions() []string {
	var names []string
	for name := range s.functions() {
		names = append(names, name)
	}
	for name := range s.supportFunctions() {
		names = append(names, name)
	}
	// functions/pages serves the page templates (GET, anonymous).
	names = append(names, PagesFunction)
	// functions/well-known-webauthn serves the related origins (GET, anonymous).
	names = append(names, RelatedOriginsFunction)
	// functions/me-passkeys serves the app API (anonymous: a bearer token).
	names = append(names, AppFunction)
	return names
}

// response is a flat JSON object of claims.
type response map[string]any

type functionFunc func(ctx context.Context, req *request) (response, error)

// function wraps one function: method, authentication, body limit, decoding,
// deadline, error shape, panic recovery and the request log line.
func (s *Server) function(name string, fn functionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID()
		req := &request{lang: passkey.Language("", r.Header.Get("Accept-Language"))}
		status, code, err := s.serve(w, r, id, req, name, fn)
		s.logRequest(r, req, id, name, start, status, code, err)
	})
}

// logRequest writes the one log line of a request.
func (s *Server) logRequest(r *http.Request, req *request, id, name string, start time.Time, status int, code passkey.Code, err error) {
	attrs := []slog.Attr{
		slog.String("requestId", id),
		slog.String("function", name),
		slog.Int("status", status),
		slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
	}
	if cid := correlationID(r, req); cid != "" {
		attrs = append(attrs, slog.String("correlationId", cid))
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", string(code)), slog.String("error", err.Error()))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.opts.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, id string, req *request, name string, fn functionFunc) (status int, code passkey.Code, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			status, code = s.writeError(w, id, req, err)
		}
	}()
	w.Header().Set("X-Request-Id", id)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		err = passkey.Errorf(passkey.CodeMethodNotAllowed, "functions take POST, not %s", r.Method)
	} else if !s.authorized(r) {
		err = passkey.Errorf(passkey.CodeUnauthorized, "missing or wrong API key (x-functions-key or x-api-key)")
	} else if err = s.checkCaller(w, r, id, name); err == nil {
		if err = checkContentType(r); err == nil {
			err = req.decode(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		}
	}
	var resp response
	if err == nil {
		ctx := passkey.WithCaller(context.WithValue(r.Context(), requestIDKey{}, id),
			passkey.Caller{CorrelationID: correlationID(r, req), ClientIP: clientIP(req)})
		ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		resp, err = fn(ctx, req)
	}
	if err != nil {
		status, code = s.writeError(w, id, req, err)
		return status, code, err
	}
	writeJSON(w, http.StatusOK, resp)
	return http.StatusOK, "", nil
}

// authorized compares the caller's key (x-functions-key, x-api-key or the
// code query parameter) with every configured key in
// constant time (over digests, so key lengths do not leak either).
func (s *Server) authorized(r *http.Request) bool {
	if len(s.keys) == 0 {
		return true
	}
	given := r.Header.Get("x-functions-key")
	if given == "" {
		given = r.Header.Get("x-api-key")
	}
	if given == "" {
		// The code query parameter, as the Functions host takes it: B2C
		// sends the key this way when its one authentication header holds
		// a caller token.
		given = r.URL.Query().Get("code")
	}
	sum := sha256.Sum256([]byte(given))
	ok := 0
	for _, k := range s.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	return given != "" && ok == 1
}

// statuses is the one map from error code to HTTP status.
var statuses = map[passkey.Code]int{
	passkey.CodeChallengeExpired:        http.StatusConflict,
	passkey.CodeChallengeUsed:           http.StatusConflict,
	passkey.CodeCredentialRejected:      http.StatusConflict,
	passkey.CodeCredentialUnknown:       http.StatusConflict,
	passkey.CodeCredentialExists:        http.StatusConflict,
	passkey.CodeNoDevices:               http.StatusConflict,
	passkey.CodeDeviceLimit:             http.StatusConflict,
	passkey.CodeUserMismatch:            http.StatusConflict,
	passkey.CodeAuthenticatorNotAllowed: http.StatusConflict,
	passkey.CodeInvalidRequest:          http.StatusBadRequest,
	passkey.CodeRequestTooLarge:         http.StatusRequestEntityTooLarge,
	passkey.CodeUnauthorized:            http.StatusUnauthorized,
	passkey.CodeNotFound:                http.StatusNotFound,
	passkey.CodeMethodNotAllowed:        http.StatusMethodNotAllowed,
	passkey.CodeStorageUnavailable:      http.StatusServiceUnavailable,
	passkey.CodeInternal:                http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code.
func Status(code passkey.Code) int {
	if status, ok := statuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// BodyStatus is the status an error body carries: B2C shows userMessage
// only when it is 409, so every 4xx says 409 (the HTTP status keeps its
// meaning). A 5xx keeps its own: B2C then shows the profile's localized
// DefaultUserMessageIfRequestFailed ("try again"), and retries.
func BodyStatus(httpStatus int) int {
	if httpStatus >= 400 && httpStatus < 500 {
		return http.StatusConflict
	}
	return httpStatus
}

// errorBody is the contract's error shape.
type errorBody struct {
	Version          string `json:"version"`
	Status           int    `json:"status"`
	Code             string `json:"code"`
	UserMessage      string `json:"userMessage"`
	DeveloperMessage string `json:"developerMessage"`
	RequestID        string `json:"requestId"`
}

func (s *Server) writeError(w http.ResponseWriter, id string, req *request, err error) (int, passkey.Code) {
	code := passkey.ErrorCode(err)
	if errors.Is(err, context.DeadlineExceeded) {
		code = passkey.CodeStorageUnavailable
	}
	status := Status(code)
	developer := "internal error; see the log line with this requestId"
	var perr *passkey.Error
	switch {
	case code == passkey.CodeStorageUnavailable:
		developer = "storage unavailable; nothing was written"
	case errors.As(err, &perr) && code != passkey.CodeInternal:
		developer = perr.Message
	}
	writeJSON(w, status, errorBody{
		Version:          "1.0.0",
		Status:           BodyStatus(status),
		Code:             string(code),
		UserMessage:      passkey.ErrorUserMessage(err, code, req.lang),
		DeveloperMessage: developer,
		RequestID:        id,
	})
	return status, code
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
