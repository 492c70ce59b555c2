package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// metadataBucket holds the last good FIDO metadata BLOB under blobKey,
// with its fetch time (Unix nanoseconds, big-endian) under fetchedKey. It
// is made at the first write, so files written before it existed open as
// they are.
var (
	metadataBucket = []byte("metadata")
	blobKey        = []byte("blob")
	fetchedKey     = []byte("fetchedAt")
)

var _ passkey.MetadataStore = (*Store)(nil)

// GetMetadataBlob returns passkey.ErrNotFound when no BLOB was stored.
func (s *Store) GetMetadataBlob(_ context.Context) (*passkey.MetadataBlob, error) {
	var blob *passkey.MetadataBlob
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(metadataBucket)
		if b == nil || b.Get(blobKey) == nil {
			return passkey.ErrNotFound
		}
		at := b.Get(fetchedKey)
		if len(at) != 8 {
			return fmt.Errorf("embedded store: the metadata fetch time is %d bytes, not 8", len(at))
		}
		blob = &passkey.MetadataBlob{
			Data:      append([]byte(nil), b.Get(blobKey)...),
			FetchedAt: time.Unix(0, int64(binary.BigEndian.Uint64(at))).UTC(),
		}
		return nil
	})
	return blob, err
}

// PutMetadataBlob replaces the BLOB and its fetch time in one transaction.
func (s *Store) PutMetadataBlob(_ context.Context, blob *passkey.MetadataBlob) error {
	if len(blob.Data) == 0 || len(blob.Data) > passkey.MaxMetadataBlobBytes {
		return fmt.Errorf("embedded store: a metadata BLOB of %d bytes", len(blob.Data))
	}
	data := append([]byte(nil), blob.Data...)
	at := binary.BigEndian.AppendUint64(nil, uint64(blob.FetchedAt.UnixNano()))
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metadataBucket)
		if err != nil {
			return err
		}
		if err := b.Put(blobKey, data); err != nil {
			return err
		}
		return b.Put(fetchedKey, at)
	})
}
