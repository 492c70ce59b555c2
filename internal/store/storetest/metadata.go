package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// RunMetadata runs the contract of passkey.MetadataStore against a store
// of its own from open: none stored is ErrNotFound; a BLOB larger than a
// Cosmos DB item reads back whole; a second write replaces the first.
func RunMetadata(t *testing.T, open func(t *testing.T) passkey.MetadataStore) {
	store := open(t)
	ctx := context.Background()

	if b, err := store.GetMetadataBlob(ctx); !errors.Is(err, passkey.ErrNotFound) || b != nil {
		t.Fatalf("GetMetadataBlob of an empty store = %v, %v; want nil, ErrNotFound", b, err)
	}
	big := make([]byte, 5<<20+123)
	rand.Read(big)
	first := &passkey.MetadataBlob{Data: big, FetchedAt: time.Date(2026, 11, 30, 10, 0, 0, 123000000, time.UTC)}
	if err := store.PutMetadataBlob(ctx, first); err != nil {
		t.Fatalf("PutMetadataBlob(5 MiB): %v", err)
	}
	got, err := store.GetMetadataBlob(ctx)
	if err != nil {
		t.Fatalf("GetMetadataBlob: %v", err)
	}
	if !bytes.Equal(got.Data, first.Data) || !got.FetchedAt.Equal(first.FetchedAt) {
		t.Fatalf("GetMetadataBlob = %d bytes fetched %s; want the %d bytes fetched %s", len(got.Data), got.FetchedAt, len(first.Data), first.FetchedAt)
	}
	second := &passkey.MetadataBlob{Data: []byte("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"), FetchedAt: first.FetchedAt.Add(24 * time.Hour)}
	if err := store.PutMetadataBlob(ctx, second); err != nil {
		t.Fatalf("PutMetadataBlob(small): %v", err)
	}
	got, err = store.GetMetadataBlob(ctx)
	if err != nil || !bytes.Equal(got.Data, second.Data) || !got.FetchedAt.Equal(second.FetchedAt) {
		t.Fatalf("after the second write GetMetadataBlob = %+v, %v; want the second BLOB", got, err)
	}
	if err := store.PutMetadataBlob(ctx, &passkey.MetadataBlob{FetchedAt: time.Now()}); err == nil {
		t.Error("PutMetadataBlob accepted an empty BLOB")
	}
	if got, err := store.GetMetadataBlob(ctx); err != nil || !bytes.Equal(got.Data, second.Data) {
		t.Errorf("a refused write changed the BLOB: %+v, %v", got, err)
	}
}
