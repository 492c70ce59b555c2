package hostcontract

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/passkeys-b2c/passkeys/internal/api"
	pagesrv "github.com/passkeys-b2c/passkeys/internal/pages"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/policies/pages"
)

// Keys of the API key test; they must never show up in a log or a reply.
const (
	keyOne = "first-api-key-0123456789abcdef"
	keyTwo = "second-api-key-fedcba9876543210"
)

// checkError asserts the contract's error shape, the X-Request-Id header
// and the request's log line.
func checkError(t *testing.T, a *app, r reply, function string, status int, code passkey.Code) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if r.body == nil {
		t.Fatalf("error body is not JSON (Content-Type %q): %q", r.header.Get("Content-Type"), r.raw)
	}
	for _, field := range []string{"version", "status", "code", "userMessage", "developerMessage", "requestId"} {
		if _, ok := r.body[field]; !ok {
			t.Errorf("error body has no %s: %s", field, r.raw)
		}
	}
	if len(r.body) != 6 {
		t.Errorf("error body has %d fields, want the 6 of the contract: %s", len(r.body), r.raw)
	}
	if r.body["version"] != "1.0.0" {
		t.Errorf("version = %v, want 1.0.0", r.body["version"])
	}
	if r.body["status"] != float64(api.BodyStatus(r.status)) {
		t.Errorf("status field %v, HTTP status %d, want %d", r.body["status"], r.status, api.BodyStatus(r.status))
	}
	if r.body["code"] != string(code) {
		t.Errorf("code = %v, want %s; developerMessage %v", r.body["code"], code, r.body["developerMessage"])
	}
	for _, field := range []string{"userMessage", "developerMessage"} {
		if s, _ := r.body[field].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s is empty", field)
		}
	}
	id, _ := r.body["requestId"].(string)
	if id == "" || id != r.header.Get("X-Request-Id") {
		t.Fatalf("requestId %q, X-Request-Id header %q", id, r.header.Get("X-Request-Id"))
	}
	line := a.requestLog(t, id)
	want := map[string]any{"function": function, "status": float64(status), "code": string(code)}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log line %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["durationMs"].(float64); !ok {
		t.Errorf("log line has no numeric durationMs: %v", line)
	}
}

// checkOK asserts a success: 200, a flat JSON object without null, a
// request id, and a log line without an error code.
func checkOK(t *testing.T, a *app, r reply, function string) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200; body %s", function, r.status, r.raw)
	}
	for k, v := range r.body {
		switch v.(type) {
		case nil:
			t.Errorf("%s: claim %s is null (B2C rejects null)", function, k)
		case map[string]any:
			t.Errorf("%s: claim %s is an object; claims are flat", function, k)
		}
	}
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatalf("%s: no X-Request-Id", function)
	}
	line := a.requestLog(t, id)
	if line["function"] != function || line["status"] != float64(200) {
		t.Errorf("%s: log line %v", function, line)
	}
	if _, ok := line["code"]; ok {
		t.Errorf("%s: a success is logged with a code: %v", function, line)
	}
	if _, ok := line["durationMs"].(float64); !ok {
		t.Errorf("%s: log line has no numeric durationMs: %v", function, line)
	}
	return r.body
}

// str returns a string claim or fails.
func str(t *testing.T, body map[string]any, claim string) string {
	t.Helper()
	s, ok := body[claim].(string)
	if !ok || s == "" {
		t.Fatalf("claim %s is %v, want a non-empty string; body %v", claim, body[claim], body)
	}
	return s
}

// TestHandlerProcess runs the built handler in a folder laid out like the
// deployed app and calls every function through HTTP, as the host
// forwards B2C's calls.
func TestHandlerProcess(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	secrets := []string{}

	t.Run("routes match the function folders", func(t *testing.T) {
		for _, name := range functionNames(t) {
			r := a.post(t, name, map[string]any{})
			if r.status == http.StatusNotFound || r.body["code"] == string(passkey.CodeNotFound) {
				t.Errorf("/api/%s answers %d %s: the folder has no route", name, r.status, r.raw)
			}
		}
		// The pages function serves the templates and their files, anonymously.
		if slices.Contains(functionFolders(t), api.PagesFunction) {
			for _, file := range pageFiles(t) {
				if r := a.call(t, http.MethodGet, "/api/pages/"+file, nil); r.status != http.StatusOK {
					t.Errorf("GET /api/pages/%s = %d, want 200", file, r.status)
				}
			}
			if r := a.call(t, http.MethodGet, "/api/pages/no-such-file.js", nil); r.status != http.StatusNotFound {
				t.Errorf("GET /api/pages/no-such-file.js = %d, want 404", r.status)
			}
		}
		for _, path := range []string{"/api/no-such-function", "/api/register-begin/extra", "/api/"} {
			r := a.call(t, http.MethodPost, path, []byte(`{}`))
			checkError(t, a, r, "", http.StatusNotFound, passkey.CodeNotFound)
		}
	})

	t.Run("ceremonies with valid bodies", func(t *testing.T) {
		auth, err := softauthn.New(a.url)
		if err != nil {
			t.Fatal(err)
		}
		objectID := uuid.NewString()
		begin := checkOK(t, a, a.post(t, "register-begin", map[string]any{
			"objectId": objectID, "userName": "alice@contoso.com", "displayName": "Alice",
			"locale": "en-US", "tenantId": "b2c-sends-more", "extension_x": map[string]any{"nested": []any{1, true}},
		}), "register-begin")
		if begin["deviceCount"] != float64(0) {
			t.Errorf("register-begin deviceCount = %v, want 0", begin["deviceCount"])
		}
		var creation struct {
			PublicKey struct {
				RP struct {
					ID string `json:"id"`
				} `json:"rp"`
				Challenge string `json:"challenge"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal([]byte(str(t, begin, "options")), &creation); err != nil || creation.PublicKey.Challenge == "" {
			t.Fatalf("options is not creation options JSON: %v %s", err, begin["options"])
		}
		if creation.PublicKey.RP.ID != "localhost" {
			t.Errorf("rp.id = %q, want the default localhost", creation.PublicKey.RP.ID)
		}
		credential, err := auth.Register(str(t, begin, "options"))
		if err != nil {
			t.Fatalf("the authenticator refused the options: %v", err)
		}
		secrets = append(secrets, credential)
		finishClaims := map[string]any{"objectId": objectID, "credential": credential, "deviceName": "Laptop"}
		finished := checkOK(t, a, a.post(t, "register-finish", finishClaims), "register-finish")
		credentialID := str(t, finished, "credentialId")
		if finished["deviceName"] != "Laptop" || finished["deviceCount"] != float64(1) || finished["passkeySynced"] != true {
			t.Errorf("register-finish = %v", finished)
		}
		retried := checkOK(t, a, a.post(t, "register-finish", finishClaims), "register-finish")
		if retried["credentialId"] != credentialID || retried["deviceCount"] != float64(1) {
			t.Errorf("an identical retry of register-finish = %v, want the first success %v", retried, finished)
		}

		loginBegin := checkOK(t, a, a.post(t, "login-begin", map[string]any{"objectId": objectID}), "login-begin")
		if loginBegin["deviceCount"] != float64(1) {
			t.Errorf("login-begin deviceCount = %v, want 1", loginBegin["deviceCount"])
		}
		assertion, err := auth.Login(str(t, loginBegin, "options"))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, assertion)
		login := checkOK(t, a, a.post(t, "login-finish", map[string]any{"objectId": objectID, "credential": assertion}), "login-finish")
		if login["objectId"] != objectID || login["credentialId"] != credentialID || login["userVerified"] != true || login["deviceName"] != "Laptop" {
			t.Errorf("login-finish = %v", login)
		}

		usernameless := checkOK(t, a, a.post(t, "login-begin", map[string]any{"mediation": "conditional"}), "login-begin")
		if _, ok := usernameless["deviceCount"]; ok {
			t.Errorf("usernameless login-begin has deviceCount: %v", usernameless)
		}
		if !strings.Contains(str(t, usernameless, "options"), `"mediation":"conditional"`) {
			t.Errorf("conditional login-begin options lack mediation: %s", usernameless["options"])
		}
		assertion, err = auth.Login(str(t, usernameless, "options"))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, assertion)
		login = checkOK(t, a, a.post(t, "login-finish", map[string]any{"credential": assertion}), "login-finish")
		if login["objectId"] != objectID {
			t.Errorf("usernameless login-finish objectId = %v, want %s", login["objectId"], objectID)
		}

		list := checkOK(t, a, a.post(t, "list-devices", map[string]any{"objectId": objectID}), "list-devices")
		if list["deviceCount"] != float64(1) || !slices.Equal(toStrings(list["deviceNames"]), []string{"Laptop"}) {
			t.Errorf("list-devices = %v", list)
		}
		var devices []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(str(t, list, "devices")), &devices); err != nil || len(devices) != 1 || devices[0].ID != credentialID {
			t.Errorf("devices = %s (%v), want one device %s", list["devices"], err, credentialID)
		}

		renamed := checkOK(t, a, a.post(t, "rename-device", map[string]any{"objectId": objectID, "credentialId": credentialID, "deviceName": "Phone"}), "rename-device")
		if renamed["deviceName"] != "Phone" {
			t.Errorf("rename-device = %v", renamed)
		}
		r := a.post(t, "rename-device", map[string]any{"objectId": uuid.NewString(), "credentialId": credentialID, "deviceName": "Mine"})
		checkError(t, a, r, "rename-device", http.StatusConflict, passkey.CodeCredentialUnknown)
		deleted := checkOK(t, a, a.post(t, "delete-device", map[string]any{"objectId": objectID, "credentialId": credentialID}), "delete-device")
		if deleted["deviceCount"] != float64(0) {
			t.Errorf("delete-device = %v", deleted)
		}
		r = a.post(t, "login-begin", map[string]any{"objectId": objectID})
		checkError(t, a, r, "login-begin", http.StatusConflict, passkey.CodeNoDevices)
	})

	t.Run("ceremony failures are 409 with a localized userMessage", func(t *testing.T) {
		auth, err := softauthn.New(a.url)
		if err != nil {
			t.Fatal(err)
		}
		objectID := uuid.NewString()
		begin := checkOK(t, a, a.post(t, "register-begin", map[string]any{"objectId": objectID, "userName": "bob"}), "register-begin")
		credential, err := auth.Register(str(t, begin, "options"), softauthn.WithoutUV())
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, credential)
		r := a.post(t, "register-finish", map[string]any{"objectId": objectID, "credential": credential, "locale": "de-CH"})
		checkError(t, a, r, "register-finish", http.StatusConflict, passkey.CodeCredentialRejected)
		for _, part := range secretParts(credential) {
			if bytes.Contains(r.raw, []byte(part)) {
				t.Errorf("the reply quotes the credential (%.24s...)", part)
			}
		}
		if want := passkey.UserMessage(passkey.CodeCredentialRejected, language.German); r.body["userMessage"] != want {
			t.Errorf("userMessage = %v, want %q", r.body["userMessage"], want)
		}
		r = a.post(t, "register-finish", map[string]any{"objectId": objectID, "credential": credential + " "})
		checkError(t, a, r, "register-finish", http.StatusConflict, passkey.CodeChallengeUsed)
	})

	t.Run("userMessage language", func(t *testing.T) {
		tests := []struct {
			name, locale, acceptLanguage string
			want                         language.Tag
		}{
			{name: "none", want: language.English},
			{name: "locale de-CH", locale: "de-CH", want: language.German},
			{name: "locale fr-CA", locale: "fr-CA", want: language.French},
			{name: "Accept-Language it", acceptLanguage: "it-IT,it;q=0.9,en;q=0.5", want: language.Italian},
			{name: "locale before Accept-Language", locale: "fr", acceptLanguage: "de", want: language.French},
			{name: "unsupported locale falls back to Accept-Language", locale: "ja-JP", acceptLanguage: "de", want: language.German},
			{name: "unsupported everywhere", locale: "ja-JP", acceptLanguage: "zh", want: language.English},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				claims := map[string]any{"objectId": uuid.NewString()}
				if tt.locale != "" {
					claims["locale"] = tt.locale
				}
				var headers []string
				if tt.acceptLanguage != "" {
					headers = []string{"Accept-Language", tt.acceptLanguage}
				}
				r := a.post(t, "login-begin", claims, headers...)
				checkError(t, a, r, "login-begin", http.StatusConflict, passkey.CodeNoDevices)
				if want := passkey.UserMessage(passkey.CodeNoDevices, tt.want); r.body["userMessage"] != want {
					t.Errorf("userMessage = %v, want %q", r.body["userMessage"], want)
				}
			})
		}
		// A body that fails decoding is still answered in the locale it names.
		r := a.call(t, http.MethodPost, "/api/register-begin", []byte(`{"locale":"it","objectId":42}`))
		checkError(t, a, r, "register-begin", http.StatusBadRequest, passkey.CodeInvalidRequest)
		if want := passkey.UserMessage(passkey.CodeInvalidRequest, language.Italian); r.body["userMessage"] != want {
			t.Errorf("userMessage = %v, want %q", r.body["userMessage"], want)
		}
	})

	t.Run("bad bodies are 400 for every function", func(t *testing.T) {
		bodies := []struct{ name, body string }{
			{"empty", ``},
			{"null", `null`},
			{"array", `[]`},
			{"string", `"objectId"`},
			{"number", `42`},
			{"truncated", `{"objectId":`},
			{"trailing garbage", `{} x`},
			{"two objects", `{}{}`},
			{"objectId a number", `{"objectId":42,"userName":"u","credential":"c","credentialId":"c","deviceName":"d"}`},
			{"objectId an object", `{"objectId":{"id":"x"}}`},
			{"credential an object", `{"objectId":"x","credential":{"id":"x"},"credentialId":"x","deviceName":"d"}`},
			{"locale a number", `{"locale":5}`},
			{"mediation a boolean", `{"mediation":true}`},
			{"objectId with a space", `{"objectId":"a b","userName":"u","credential":"c","credentialId":"c","deviceName":"d"}`},
			{"objectId too long", `{"objectId":"` + strings.Repeat("a", 65) + `","userName":"u","credential":"c","credentialId":"c","deviceName":"d"}`},
			{"invalid UTF-8", "{\"objectId\":\"\xff\xfe\",\"userName\":\"u\",\"credential\":\"c\",\"credentialId\":\"c\",\"deviceName\":\"d\"}"},
			{"deep nesting", strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)},
		}
		for _, name := range functionNames(t) {
			for _, b := range bodies {
				t.Run(name+"/"+b.name, func(t *testing.T) {
					r := a.call(t, http.MethodPost, "/api/"+name, []byte(b.body))
					checkError(t, a, r, name, http.StatusBadRequest, passkey.CodeInvalidRequest)
				})
			}
		}
	})

	t.Run("malformed credentials are refused, never a 500", func(t *testing.T) {
		b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		clientData := func(typ, challenge string) string {
			return b64(`{"type":"` + typ + `","challenge":"` + challenge + `","origin":"` + a.url + `"}`)
		}
		authData := b64(strings.Repeat("\x00", 32) + "\x05\x00\x00\x00\x01")
		credentials := []struct{ name, credential string }{
			{"not JSON", `credential`},
			{"null", `null`},
			{"empty object", `{}`},
			{"an array", `[]`},
			{"no response", `{"id":"AAAA","rawId":"AAAA","type":"public-key"}`},
			{"wrong type", `{"id":"AAAA","rawId":"AAAA","type":"password","response":{}}`},
			{"id not base64url", `{"id":"*","rawId":"*","type":"public-key","response":{"clientDataJSON":"` + clientData("webauthn.get", "AAAA") + `"}}`},
			{"clientDataJSON not JSON", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + b64("{") + `","authenticatorData":"` + authData + `","signature":"AAAA","attestationObject":"AAAA"}}`},
			{"short authenticatorData", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + clientData("webauthn.get", "AAAA") + `","authenticatorData":"AAAA","signature":"AAAA"}}`},
			{"attestationObject not CBOR", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + clientData("webauthn.create", "AAAA") + `","attestationObject":"` + b64("not cbor") + `"}}`},
			{"unknown challenge", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + clientData("webauthn.get", b64("no such challenge")) + `","authenticatorData":"` + authData + `","signature":"AAAA","userHandle":"` + b64(uuid.NewString()) + `"}}`},
			{"field types", `{"id":1,"rawId":[],"type":{},"response":"x"}`},
		}
		refused := []passkey.Code{passkey.CodeCredentialRejected, passkey.CodeChallengeExpired, passkey.CodeInvalidRequest}
		for _, function := range []string{"register-finish", "login-finish"} {
			for _, c := range credentials {
				t.Run(function+"/"+c.name, func(t *testing.T) {
					r := a.post(t, function, map[string]any{"objectId": uuid.NewString(), "credential": c.credential})
					code := passkey.Code(fmt.Sprint(r.body["code"]))
					if r.status >= 500 || !slices.Contains(refused, code) {
						t.Fatalf("%d %s, want 400 or 409 refusing the credential", r.status, r.raw)
					}
					checkError(t, a, r, function, api.Status(code), code)
				})
			}
		}
	})

	t.Run("wrong type names the claim", func(t *testing.T) {
		r := a.call(t, http.MethodPost, "/api/list-devices", []byte(`{"objectId":["x"]}`))
		checkError(t, a, r, "list-devices", http.StatusBadRequest, passkey.CodeInvalidRequest)
		if msg, _ := r.body["developerMessage"].(string); !strings.Contains(msg, "objectId") {
			t.Errorf("developerMessage %q does not name objectId", msg)
		}
	})

	t.Run("missing claims name the claim", func(t *testing.T) {
		tests := []struct {
			function, claim string
			claims          map[string]any
		}{
			{"register-begin", "objectId", map[string]any{"userName": "u"}},
			{"register-begin", "userName", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}},
			{"register-finish", "credential", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}},
			{"login-finish", "credential", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}},
			{"list-devices", "objectId", map[string]any{}},
			{"rename-device", "credentialId", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70", "deviceName": "d"}},
			{"rename-device", "deviceName", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70", "credentialId": "AAAA"}},
			{"delete-device", "credentialId", map[string]any{"objectId": "0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70"}},
		}
		for _, tt := range tests {
			t.Run(tt.function+"/"+tt.claim, func(t *testing.T) {
				r := a.post(t, tt.function, tt.claims)
				checkError(t, a, r, tt.function, http.StatusBadRequest, passkey.CodeInvalidRequest)
				if msg, _ := r.body["developerMessage"].(string); !strings.Contains(msg, tt.claim) {
					t.Errorf("developerMessage %q does not name %s", msg, tt.claim)
				}
			})
		}
	})

	t.Run("body size limit", func(t *testing.T) {
		// padded is a valid register-begin body of exactly n bytes.
		padded := func(n int) []byte {
			head := `{"objectId":"` + uuid.NewString() + `","userName":"carol","padding":"`
			return []byte(head + strings.Repeat("p", n-len(head)-2) + `"}`)
		}
		r := a.call(t, http.MethodPost, "/api/register-begin", padded(api.MaxBodyBytes))
		checkOK(t, a, r, "register-begin")
		r = a.call(t, http.MethodPost, "/api/register-begin", padded(api.MaxBodyBytes+1))
		checkError(t, a, r, "register-begin", http.StatusRequestEntityTooLarge, passkey.CodeRequestTooLarge)
		r = a.call(t, http.MethodPost, "/api/login-finish", bytes.Repeat([]byte(" "), 3*api.MaxBodyBytes))
		checkError(t, a, r, "login-finish", http.StatusRequestEntityTooLarge, passkey.CodeRequestTooLarge)

		// Without Content-Length (chunked), as a proxy may forward it.
		req, err := http.NewRequest(http.MethodPost, a.url+"/api/register-begin", io.MultiReader(bytes.NewReader(padded(2*api.MaxBodyBytes))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body map[string]any
		json.Unmarshal(raw, &body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || body["code"] != string(passkey.CodeRequestTooLarge) {
			t.Errorf("chunked body over the limit: %d %s", resp.StatusCode, raw)
		}
	})

	t.Run("only POST", func(t *testing.T) {
		for _, name := range functionNames(t) {
			for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				r := a.call(t, method, "/api/"+name, nil)
				checkError(t, a, r, name, http.StatusMethodNotAllowed, passkey.CodeMethodNotAllowed)
				if allow := r.header.Get("Allow"); allow != http.MethodPost {
					t.Errorf("%s /api/%s: Allow = %q, want POST", method, name, allow)
				}
			}
		}
	})

	t.Run("readiness and static files", func(t *testing.T) {
		r := a.call(t, http.MethodGet, "/", nil)
		if r.status != http.StatusOK {
			t.Errorf("GET / = %d, want 200 (the host's readiness probe)", r.status)
		}
		r = a.call(t, http.MethodPost, "/", []byte(`{}`))
		if r.status != http.StatusMethodNotAllowed {
			t.Errorf("POST / = %d, want 405", r.status)
		}
	})

	t.Run("every log line", func(t *testing.T) {
		requests := 0
		for _, line := range a.logLines(t) {
			if line["msg"] != "request" {
				continue
			}
			requests++
			for _, field := range []string{"requestId", "function", "status", "durationMs"} {
				if _, ok := line[field]; !ok {
					t.Errorf("request log line without %s: %v", field, line)
				}
			}
			status, _ := line["status"].(float64)
			if _, ok := line["code"]; ok != (status != 200) {
				t.Errorf("request log line with status %v and code %v", status, line["code"])
			}
			if status >= 500 {
				t.Errorf("a 5xx was logged: %v", line)
			}
		}
		if requests == 0 {
			t.Error("no request log lines")
		}
	})

	code := a.terminate(t)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, a.errors())
	}
	if !strings.Contains(a.log(), `"msg":"stopped cleanly"`) {
		t.Errorf("no clean stop logged:\n%s", a.log())
	}
	if info, err := os.Stat(filepath.Join(a.dir, "data")); err != nil || !info.IsDir() {
		t.Errorf("the embedded store is not in ./data of the working directory: %v", err)
	}
	checkNoSecrets(t, a, secrets)
}

// checkNoSecrets fails when a secret, or a distinctive part of one, shows
// up in stdout or stderr.
func checkNoSecrets(t *testing.T, a *app, secrets []string) {
	t.Helper()
	output := a.log() + "\n" + a.errors()
	for _, secret := range secrets {
		for _, part := range secretParts(secret) {
			if strings.Contains(output, part) {
				t.Errorf("the log holds a secret (%.24s...)", part)
			}
		}
	}
}

// secretParts is the secret itself and, for a credential, each of its
// response fields (clientDataJSON, signature, attestation...).
func secretParts(secret string) []string {
	parts := []string{secret}
	var credential struct {
		Response map[string]any `json:"response"`
	}
	if json.Unmarshal([]byte(secret), &credential) == nil {
		for _, v := range credential.Response {
			if s, ok := v.(string); ok && len(s) >= 32 {
				parts = append(parts, s)
			}
		}
	}
	return parts
}

// pageFiles lists the files the handler embeds for the pages function.
func pageFiles(t *testing.T) []string {
	t.Helper()
	h, err := pagesrv.New(pagesrv.Options{Files: pages.Files, PublicURL: "http://localhost:7071"})
	if err != nil {
		t.Fatal(err)
	}
	files := h.Names()
	if len(files) == 0 {
		t.Fatal("no page files")
	}
	return files
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, _ := item.(string)
		out = append(out, s)
	}
	return out
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	// With keys the handler may listen on every interface.
	a := startApp(t, "PASSKEY_LISTEN_ADDR=0.0.0.0", fmt.Sprintf("PASSKEY_API_KEYS= %s , %s ", keyOne, keyTwo))
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"no key", nil, http.StatusUnauthorized},
		{"wrong x-functions-key", []string{"x-functions-key", "wrong-key-0123456789abcdef"}, http.StatusUnauthorized},
		{"wrong x-api-key", []string{"x-api-key", keyOne + "x"}, http.StatusUnauthorized},
		{"key prefix", []string{"x-api-key", keyOne[:16]}, http.StatusUnauthorized},
		{"key in another header", []string{"Authorization", "Bearer " + keyOne}, http.StatusUnauthorized},
		{"x-functions-key", []string{"x-functions-key", keyOne}, http.StatusOK},
		{"x-api-key", []string{"x-api-key", keyTwo}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.post(t, "login-begin", map[string]any{}, tt.headers...)
			if tt.status == http.StatusOK {
				checkOK(t, a, r, "login-begin")
			} else {
				checkError(t, a, r, "login-begin", tt.status, passkey.CodeUnauthorized)
			}
			for _, key := range []string{keyOne, keyTwo} {
				if bytes.Contains(r.raw, []byte(key)) {
					t.Error("the reply holds an API key")
				}
			}
		})
	}
	t.Run("readiness and pages need no key", func(t *testing.T) {
		if r := a.call(t, http.MethodGet, "/", nil); r.status != http.StatusOK {
			t.Errorf("GET / = %d, want 200", r.status)
		}
		if !slices.Contains(functionFolders(t), api.PagesFunction) {
			return
		}
		for _, file := range pageFiles(t) {
			if r := a.call(t, http.MethodGet, "/api/pages/"+file, nil); r.status != http.StatusOK {
				t.Errorf("GET /api/pages/%s = %d, want 200 without a key", file, r.status)
			}
		}
	})
	if code := a.terminate(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	checkNoSecrets(t, a, []string{keyOne, keyTwo})
}

func TestRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      []string
		variable string
	}{
		{"every interface without keys", []string{"PASSKEY_LISTEN_ADDR=0.0.0.0"}, "PASSKEY_API_KEYS"},
		{"short key", []string{"PASSKEY_API_KEYS=" + keyOne[:15]}, "PASSKEY_API_KEYS"},
		{"session ttl", []string{"PASSKEY_SESSION_TTL=forever"}, "PASSKEY_SESSION_TTL"},
		{"origin off the RP ID", []string{"PASSKEY_RP_ORIGINS=https://evil.example"}, "PASSKEY_RP_ORIGINS"},
		{"data dir unusable", []string{"PASSKEY_DATA_DIR=/dev/null/data"}, "PASSKEY_DATA_DIR"},
		{"token metadata over http", []string{"PASSKEY_TOKEN_METADATA_URLS=http://contoso.b2clogin.com/x", "PASSKEY_TOKEN_AUDIENCE=a", "PASSKEY_TOKEN_SCOPE=s"}, "PASSKEY_TOKEN_METADATA_URLS"},
		{"caller tokens without app ids", []string{"PASSKEY_CALLER_METADATA_URL=https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration", "PASSKEY_CALLER_AUDIENCE=a"}, "PASSKEY_CALLER_APP_IDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := launch(t, tt.env...)
			if code := a.wait(t); code == 0 {
				t.Fatalf("the handler exited 0 with %q", tt.env)
			}
			lines := strings.Split(a.Stderr(), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.variable) {
				t.Errorf("stderr = %q, want one line naming %s", lines, tt.variable)
			}
			if strings.Contains(a.log()+a.errors(), keyOne[:15]) {
				t.Error("the output holds the key")
			}
		})
	}
}
