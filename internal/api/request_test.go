package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		want      request      // compared when code is empty
		code      passkey.Code // the error code, or empty for success
		developer string       // a part developerMessage must hold
	}{
		{
			name: "every claim",
			body: `{"objectId":"o","userName":"u","displayName":"d","credential":"c","deviceName":"n","mediation":"conditional","credentialId":"i","locale":"de"}`,
			want: request{ObjectID: "o", UserName: "u", DisplayName: "d", Credential: "c", DeviceName: "n", Mediation: "conditional", CredentialID: "i", Locale: "de"},
		},
		{name: "empty object", body: `{}`},
		{name: "white space around", body: " \r\n\t{\"objectId\":\"o\"} \n", want: request{ObjectID: "o"}},
		{
			name: "unknown claims ignored",
			body: `{"objectId":"o","tenantId":"t","extension_age":42,"roles":["a"],"nested":{"a":null},"flag":true}`,
			want: request{ObjectID: "o"},
		},
		{name: "null claim left empty", body: `{"objectId":null}`},
		{name: "escaped text", body: `{"userName":"caf\u00e9 \"x\""}`, want: request{UserName: `café "x"`}},
		{name: "empty body", body: ``, code: passkey.CodeInvalidRequest, developer: "JSON"},
		{name: "null body", body: `null`, code: passkey.CodeInvalidRequest, developer: "object"},
		{name: "array body", body: `[{"objectId":"o"}]`, code: passkey.CodeInvalidRequest, developer: "object"},
		{name: "string body", body: `"o"`, code: passkey.CodeInvalidRequest, developer: "object"},
		{name: "number body", body: `1`, code: passkey.CodeInvalidRequest, developer: "object"},
		{name: "truncated", body: `{"objectId":"o"`, code: passkey.CodeInvalidRequest, developer: "JSON"},
		{name: "syntax error", body: `{objectId:"o"}`, code: passkey.CodeInvalidRequest, developer: "byte"},
		{name: "trailing data", body: `{"objectId":"o"} {}`, code: passkey.CodeInvalidRequest, developer: "JSON"},
		{name: "objectId a number", body: `{"objectId":7}`, code: passkey.CodeInvalidRequest, developer: "objectId"},
		{name: "credential an object", body: `{"credential":{"id":"x"}}`, code: passkey.CodeInvalidRequest, developer: "credential"},
		{name: "deviceName an array", body: `{"deviceName":["a"]}`, code: passkey.CodeInvalidRequest, developer: "deviceName"},
		{name: "mediation a boolean", body: `{"mediation":true}`, code: passkey.CodeInvalidRequest, developer: "mediation"},
		{name: "locale a number", body: `{"locale":1}`, code: passkey.CodeInvalidRequest, developer: "locale"},
		{name: "body of exactly the limit", body: `{"p":"` + strings.Repeat("x", MaxBodyBytes-8) + `"}`},
		{name: "body over the limit", body: `{"p":"` + strings.Repeat("x", MaxBodyBytes-7) + `"}`, code: passkey.CodeRequestTooLarge, developer: "1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r request
			w := httptest.NewRecorder()
			err := r.decode(http.MaxBytesReader(w, httptest.NewRequest("POST", "/", strings.NewReader(tt.body)).Body, MaxBodyBytes))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("decode() = %v", err)
				}
				r.lang = language.Tag{}
				if r != tt.want {
					t.Errorf("decoded %+v, want %+v", r, tt.want)
				}
				return
			}
			if got := passkey.ErrorCode(err); got != tt.code {
				t.Fatalf("decode() = %v, want code %s", err, tt.code)
			}
			msg := err.(*passkey.Error).Message
			if !strings.Contains(msg, tt.developer) {
				t.Errorf("developer message %q does not hold %q", msg, tt.developer)
			}
			if len(tt.body) > 64 && strings.Contains(msg, tt.body[:64]) {
				t.Errorf("developer message quotes the body: %q", msg)
			}
		})
	}
}

func TestDecodeLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, acceptLanguage, body string
		want                       language.Tag
	}{
		{name: "nothing", body: `{}`, want: language.English},
		{name: "Accept-Language", acceptLanguage: "fr-CH, fr;q=0.9", body: `{}`, want: language.French},
		{name: "locale", body: `{"locale":"de-CH"}`, want: language.German},
		{name: "locale before Accept-Language", acceptLanguage: "fr", body: `{"locale":"it-CH"}`, want: language.Italian},
		{name: "unsupported locale", acceptLanguage: "de", body: `{"locale":"ja"}`, want: language.German},
		{name: "malformed locale", acceptLanguage: "it", body: `{"locale":"!!"}`, want: language.Italian},
		{name: "empty locale", acceptLanguage: "fr", body: `{"locale":""}`, want: language.French},
		{name: "locale of a body with a type error", body: `{"locale":"de","objectId":1}`, want: language.German},
		{name: "locale a number", acceptLanguage: "it", body: `{"locale":5}`, want: language.Italian},
		{name: "invalid JSON", acceptLanguage: "fr", body: `{"locale":"de"`, want: language.French},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request{lang: passkey.Language("", tt.acceptLanguage)}
			r.decode(strings.NewReader(tt.body))
			if r.lang != tt.want {
				t.Errorf("language %s, want %s", r.lang, tt.want)
			}
		})
	}
}
