package token_test

import (
	"context"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/floor"
	"github.com/passkeys-b2c/passkeys/internal/token"
	"github.com/passkeys-b2c/passkeys/internal/token/tokentest"
)

// BenchmarkValidate is what a token adds to a call once the keys are
// cached: parse, RS256 verify, claims. Compare with BenchmarkFloor.
func BenchmarkValidate(b *testing.B) {
	is := tokentest.New(b, tokentest.Options{})
	v, err := token.New(token.Config{MetadataURLs: []string{is.MetadataURL}, Audience: audience, Scope: scope})
	if err != nil {
		b.Fatal(err)
	}
	raw := is.Sign(b, is.Claims("user-1", audience, scope))
	ctx := context.Background()
	if _, err := v.Validate(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor is the project's unit of speed: one assertion parsed and
// its signature verified (internal/floor).
func BenchmarkFloor(b *testing.B) {
	login, err := floor.New("http://localhost:7071")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := login.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
