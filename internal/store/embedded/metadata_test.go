package embedded

import (
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/storetest"
)

func TestMetadataContract(t *testing.T) {
	storetest.RunMetadata(t, func(t *testing.T) passkey.MetadataStore {
		s, err := Open(t.TempDir(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
