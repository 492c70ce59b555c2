package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/token"
)

// The app API: a signed-in user's own passkeys, for the apps that hold the
// user's B2C access token. The token is the authentication, so the
// Functions host lets these calls through without a key (functions/
// me-passkeys, authLevel anonymous) and browsers on PASSKEY_APP_ORIGINS
// may call it (CORS).
const (
	// AppFunction is the function folder of the app API.
	AppFunction = "me-passkeys"
	// AppRoute is its route in function.json: every path below
	// me/passkeys, including me/passkeys itself.
	AppRoute = "me/passkeys/{*path}"
	// AppPrefix is the path the handler serves it on.
	AppPrefix = "/api/me/passkeys"
)

// AppMethods are the methods of the app API, lower case as function.json
// lists them.
var AppMethods = []string{"get", "post", "patch", "delete", "options"}

// appRoute is one operation of the app API.
type appRoute struct {
	method string
	// op names the operation in the log and the OpenAPI description.
	op      string
	handler func(ctx context.Context, c *token.Claims, id string, body *appRequest) (any, error)
	// recent requires a recent sign-in (auth_time), for adding a passkey.
	recent bool
}

// AppOperation is a path and method of the app API, for the OpenAPI check.
type AppOperation struct{ Path, Method string }

// AppOperations lists every path and method the app API serves, with
// {id} standing for a credential id.
func AppOperations() []AppOperation {
	var s Server
	var out []AppOperation
	for _, path := range []string{AppPrefix, AppPrefix + "/register-begin", AppPrefix + "/register-finish", AppPrefix + "/{id}"} {
		lookup := strings.Replace(path, "{id}", "x", 1)
		routes, _ := s.appRoutes(lookup)
		for _, rt := range routes {
			out = append(out, AppOperation{Path: path, Method: rt.method})
		}
	}
	return out
}

// appRoutes returns the operations on a path and the credential id it
// names, if any; none for a path outside the app API.
func (s *Server) appRoutes(path string) ([]appRoute, string) {
	rest := strings.TrimPrefix(path, AppPrefix)
	switch rest {
	case "", "/":
		return []appRoute{{method: http.MethodGet, op: "list", handler: s.appList}}, ""
	case "/register-begin":
		return []appRoute{{method: http.MethodPost, op: "register-begin", handler: s.appRegisterBegin, recent: true}}, ""
	case "/register-finish":
		return []appRoute{{method: http.MethodPost, op: "register-finish", handler: s.appRegisterFinish}}, ""
	}
	id := strings.TrimPrefix(rest, "/")
	if id == "" || strings.Contains(id, "/") {
		return nil, ""
	}
	return []appRoute{
		{method: http.MethodPatch, op: "rename", handler: s.appRename},
		{method: http.MethodDelete, op: "delete", handler: s.appDelete},
	}, id
}

// appRequest is the JSON body of the app API's calls.
type appRequest struct {
	Name        string          `json:"name"`
	UserName    string          `json:"userName"`
	DisplayName string          `json:"displayName"`
	Credential  json.RawMessage `json:"credential"`
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID()
	req := &request{lang: passkey.Language("", r.Header.Get("Accept-Language"))}
	status, code, err := s.serveApp(w, r, id, req)
	if status != http.StatusNoContent || r.Method != http.MethodOptions {
		s.logRequest(r, req, id, AppFunction, start, status, code, err)
	}
}

func (s *Server) serveApp(w http.ResponseWriter, r *http.Request, id string, req *request) (status int, code passkey.Code, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			status, code = s.writeError(w, id, req, err)
		}
	}()
	w.Header().Set("X-Request-Id", id)
	routes, credentialID := s.appRoutes(r.URL.Path)
	s.cors(w, r, routes)
	if r.Method == http.MethodOptions {
		// A preflight, answered without a token. An origin not listed
		// gets no Access-Control-Allow-Origin, so the browser refuses.
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, "", nil
	}
	var route *appRoute
	for i := range routes {
		if routes[i].method == r.Method {
			route = &routes[i]
		}
	}
	switch {
	case len(routes) == 0:
		err = passkey.Errorf(passkey.CodeNotFound, "no such operation of the app API")
	case s.opts.AppTokens == nil:
		err = passkey.Errorf(passkey.CodeNotFound, "the app API is off (PASSKEY_TOKEN_METADATA_URLS is not set)")
	case route == nil:
		w.Header().Set("Allow", strings.Join(methodsOf(routes), ", "))
		err = passkey.Errorf(passkey.CodeMethodNotAllowed, "%s takes %s, not %s", r.URL.Path, strings.Join(methodsOf(routes), " or "), r.Method)
	}
	if err != nil {
		status, code = s.writeError(w, id, req, err)
		return status, code, err
	}
	claims, err := s.appToken(w, r, route)
	if err != nil {
		status, code = s.writeError(w, id, req, err)
		return status, code, err
	}
	body := &appRequest{}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		body, err = decodeApp(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	var resp any
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), requestIDKey{}, id), s.opts.RequestTimeout)
		defer cancel()
		resp, err = route.handler(ctx, claims, credentialID, body)
	}
	if err != nil {
		status, code = s.writeError(w, id, req, err)
		return status, code, err
	}
	writeJSON(w, http.StatusOK, resp)
	return http.StatusOK, "", nil
}

// cors answers CORS for an app origin: the origin may read the answer,
// and a preflight learns the path's methods and headers.
func (s *Server) cors(w http.ResponseWriter, r *http.Request, routes []appRoute) {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !slices.Contains(s.opts.AppOrigins, origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, X-Request-Id")
	if r.Method == http.MethodOptions && len(routes) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(methodsOf(routes), ", "))
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Correlation-Id")
		h.Set("Access-Control-Max-Age", "600")
	}
}

func methodsOf(routes []appRoute) []string {
	var out []string
	for _, rt := range routes {
		out = append(out, rt.method)
	}
	return out
}

// appToken validates the caller's B2C access token and, for adding a
// passkey, how recent the sign-in is.
func (s *Server) appToken(w http.ResponseWriter, r *http.Request, route *appRoute) (*token.Claims, error) {
	raw, err := token.FromHeader(r.Header.Get("Authorization"))
	var claims *token.Claims
	if err == nil {
		claims, err = s.opts.AppTokens.Validate(r.Context(), raw)
	}
	if err != nil {
		return nil, bearerRefusal(w, err)
	}
	if route.recent {
		maxAge := s.opts.MaxAuthAge
		if maxAge == 0 {
			maxAge = 5 * time.Minute
		}
		if claims.AuthTime.IsZero() || time.Since(claims.AuthTime) > maxAge {
			// RFC 9470: the app sends the user to sign in again with
			// max_age, then retries with the new token.
			description := fmt.Sprintf("auth_time: adding a passkey needs a sign-in within the last %s", maxAge)
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="`+
				description+`", max_age="`+strconv.Itoa(int(maxAge.Seconds()))+`"`)
			return nil, passkey.Errorf(passkey.CodeUnauthorized, "%s", description)
		}
	}
	return claims, nil
}

// decodeApp reads an app API body: a JSON object, bounded in size.
func decodeApp(body io.Reader) (*appRequest, error) {
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, passkey.Errorf(passkey.CodeRequestTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return nil, passkey.Errorf(passkey.CodeInvalidRequest, "reading the body failed")
	}
	out := &appRequest{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil, passkey.Errorf(passkey.CodeInvalidRequest, "the body must be a JSON object")
	}
	if err := json.Unmarshal(data, out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, passkey.Errorf(passkey.CodeInvalidRequest, "%s must be a %s", typeErr.Field, "string")
		}
		return nil, passkey.Errorf(passkey.CodeInvalidRequest, "the body is not valid JSON: %s", jsonProblem(err))
	}
	return out, nil
}

func (s *Server) appList(ctx context.Context, c *token.Claims, _ string, _ *appRequest) (any, error) {
	devices, err := s.service.Devices(ctx, c.Subject)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deviceCount": len(devices), "devices": devices}, nil
}

func (s *Server) appRename(ctx context.Context, c *token.Claims, id string, body *appRequest) (any, error) {
	name, err := s.service.RenameDevice(ctx, c.Subject, id, body.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "name": name}, nil
}

func (s *Server) appDelete(ctx context.Context, c *token.Claims, id string, _ *appRequest) (any, error) {
	count, err := s.service.DeleteDevice(ctx, c.Subject, id)
	if err != nil {
		return nil, err
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "security event", slog.String("event", "app_delete_passkey"),
		slog.String("requestId", requestIDFrom(ctx)), slog.String("objectId", c.Subject),
		slog.String("credentialId", id), slog.String("appId", c.AppID))
	return map[string]any{"deviceCount": count}, nil
}

func (s *Server) appRegisterBegin(ctx context.Context, c *token.Claims, _ string, body *appRequest) (any, error) {
	userName := firstOf(body.UserName, c.PreferredUsername, firstOf(c.Emails...), c.Name, c.Subject)
	res, err := s.service.RegisterBegin(ctx, passkey.RegisterBeginRequest{
		ObjectID: c.Subject, UserName: userName, DisplayName: firstOf(body.DisplayName, c.Name),
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"options": json.RawMessage(res.Options), "deviceCount": res.DeviceCount}, nil
}

func (s *Server) appRegisterFinish(ctx context.Context, c *token.Claims, _ string, body *appRequest) (any, error) {
	credential := string(body.Credential)
	var asString string
	if json.Unmarshal(body.Credential, &asString) == nil {
		credential = asString // the credential JSON sent as a string, as B2C does
	}
	res, err := s.service.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: c.Subject, Credential: credential, DeviceName: body.Name})
	if err != nil {
		return nil, err
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "security event", slog.String("event", "app_add_passkey"),
		slog.String("requestId", requestIDFrom(ctx)), slog.String("objectId", c.Subject),
		slog.String("credentialId", res.CredentialID), slog.String("appId", c.AppID))
	return map[string]any{
		"credentialId":  res.CredentialID,
		"deviceName":    res.DeviceName,
		"deviceCount":   res.DeviceCount,
		"passkeySynced": res.PasskeySynced,
	}, nil
}

// firstOf returns the first non-blank value.
func firstOf(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
