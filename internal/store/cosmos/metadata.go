package cosmos

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// The last good FIDO metadata BLOB lives in UsersContainer, whose ids are
// objectIds: letters, digits and -._ only, so ids with "~" never meet a
// user. The BLOB (several megabytes) is larger than an item may be (2 MB),
// so it is kept in chunks of one generation, "mds~<generation>~<n>", and a
// head item, MetadataHeadID, that names the generation, the chunk count
// and the digest. A write stores the new chunks first and then replaces
// the head in one request, so a reader sees the old BLOB or the new one;
// the old generation's chunks are removed last.
const (
	MetadataHeadID = "mds~head"
	// metadataChunkBytes keeps a chunk, base64 in JSON, well under 2 MB.
	metadataChunkBytes = 1 << 20
)

type metadataHead struct {
	ID         string    `json:"id"`
	Generation string    `json:"generation"`
	Chunks     int       `json:"chunks"`
	SHA256     string    `json:"sha256"`
	FetchedAt  time.Time `json:"fetchedAt"`
}

type metadataChunk struct {
	ID   string `json:"id"`
	Data []byte `json:"data"`
}

var _ passkey.MetadataStore = (*Store)(nil)

func chunkID(generation string, n int) string { return fmt.Sprintf("mds~%s~%d", generation, n) }

// GetMetadataBlob reads the head and its chunks and checks the digest. It
// returns passkey.ErrNotFound when no BLOB was stored.
func (s *Store) GetMetadataBlob(ctx context.Context) (*passkey.MetadataBlob, error) {
	// A writer may remove the chunks of the head just read; the second
	// try reads the new head.
	var err error
	for range 2 {
		var blob *passkey.MetadataBlob
		if blob, err = s.readMetadata(ctx); err == nil || errors.Is(err, passkey.ErrNotFound) {
			return blob, err
		}
	}
	return nil, err
}

func (s *Store) readMetadata(ctx context.Context) (*passkey.MetadataBlob, error) {
	var head metadataHead
	if err := s.readItem(ctx, MetadataHeadID, &head); err != nil {
		return nil, err
	}
	if head.Chunks < 1 || head.Chunks > passkey.MaxMetadataBlobBytes/metadataChunkBytes+1 {
		return nil, fmt.Errorf("cosmos metadata: the head names %d chunks", head.Chunks)
	}
	var data bytes.Buffer
	for n := range head.Chunks {
		var chunk metadataChunk
		if err := s.readItem(ctx, chunkID(head.Generation, n), &chunk); err != nil {
			return nil, fmt.Errorf("cosmos metadata: chunk %d of %d: %w", n, head.Chunks, err)
		}
		data.Write(chunk.Data)
	}
	if sum := sha256.Sum256(data.Bytes()); hex.EncodeToString(sum[:]) != head.SHA256 {
		return nil, fmt.Errorf("cosmos metadata: the chunks of generation %s do not match the head's digest", head.Generation)
	}
	return &passkey.MetadataBlob{Data: data.Bytes(), FetchedAt: head.FetchedAt}, nil
}

// PutMetadataBlob stores the chunks of a new generation, then points the
// head at them, then removes the generation it replaced.
func (s *Store) PutMetadataBlob(ctx context.Context, blob *passkey.MetadataBlob) error {
	if len(blob.Data) == 0 || len(blob.Data) > passkey.MaxMetadataBlobBytes {
		return fmt.Errorf("cosmos metadata: a BLOB of %d bytes", len(blob.Data))
	}
	var old metadataHead
	if err := s.readItem(ctx, MetadataHeadID, &old); err != nil && !errors.Is(err, passkey.ErrNotFound) {
		return err
	}
	gen := make([]byte, 8)
	rand.Read(gen)
	head := metadataHead{ID: MetadataHeadID, Generation: hex.EncodeToString(gen), FetchedAt: blob.FetchedAt.UTC()}
	sum := sha256.Sum256(blob.Data)
	head.SHA256 = hex.EncodeToString(sum[:])
	for rest := blob.Data; len(rest) > 0; head.Chunks++ {
		n := min(len(rest), metadataChunkBytes)
		if err := s.upsertItem(ctx, metadataChunk{ID: chunkID(head.Generation, head.Chunks), Data: rest[:n]}); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if err := s.upsertItem(ctx, head); err != nil {
		return err
	}
	for n := range old.Chunks {
		id := chunkID(old.Generation, n)
		if _, err := s.users.DeleteItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil); err != nil && status(err) != http.StatusNotFound {
			// Left over chunks cost storage only; the next write tries no more.
			break
		}
	}
	return nil
}

func (s *Store) readItem(ctx context.Context, id string, v any) error {
	resp, err := s.users.ReadItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil)
	if status(err) == http.StatusNotFound {
		return passkey.ErrNotFound
	}
	if err != nil {
		return storeError("reading metadata", err)
	}
	if err := json.Unmarshal(resp.Value, v); err != nil {
		return fmt.Errorf("decoding %s: %w", id, err)
	}
	return nil
}

func (s *Store) upsertItem(ctx context.Context, v interface{ itemID() string }) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	id := v.itemID()
	if _, err := s.users.UpsertItem(ctx, azcosmos.NewPartitionKeyString(id), data, nil); err != nil {
		return storeError("writing metadata", err)
	}
	return nil
}

func (h metadataHead) itemID() string  { return h.ID }
func (c metadataChunk) itemID() string { return c.ID }
