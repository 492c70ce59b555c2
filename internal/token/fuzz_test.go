package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/token"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

// FuzzValidate: whatever an attacker sends as a token is refused with a
// *token.Error whose description never holds the input, and nothing
// panics; only the issuer's own token passes (or an encoding of it that
// decodes to the same signed bytes, which base64url's spare bits allow).
func FuzzValidate(f *testing.F) {
	is := tokentest.New(f, tokentest.Options{})
	v, err := token.New(token.Config{MetadataURLs: []string{is.MetadataURL}, Audience: audience, Scope: scope})
	if err != nil {
		f.Fatal(err)
	}
	good := is.Claims("user-1", audience, scope)
	valid := is.Sign(f, good)
	f.Add(valid)
	f.Add(is.Unsigned(f, good))
	f.Add(is.SignHS256WithPublicKey(f, good))
	f.Add(tokentest.Tamper(f, valid, tokentest.With(good, "oid", "user-2")))
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Repeat("e", 17<<10))
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Validate(context.Background(), raw)
		if err == nil {
			if claims.Subject != "user-1" {
				t.Fatalf("accepted %q", raw)
			}
			return
		}
		var terr *token.Error
		if !errors.As(err, &terr) {
			t.Fatalf("error %v is not a *token.Error", err)
		}
		if len(raw) > 8 && strings.Contains(terr.Description, raw) {
			t.Fatal("the description holds the token")
		}
	})
}
