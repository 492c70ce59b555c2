package hostcontract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetadataAtStart: an operator's PASSKEY_MDS_FILE that does not verify
// stops the start with a message naming it; an unreachable PASSKEY_MDS_URL
// does not (the host must get its answer) and is logged.
func TestMetadataAtStart(t *testing.T) {
	t.Parallel()
	t.Run("bad file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "blob.jwt")
		os.WriteFile(file, []byte("eyJhbGciOiJub25lIn0.e30."), 0o600)
		a := launch(t, "PASSKEY_ATTESTATION=required", "PASSKEY_MDS_FILE="+file)
		if code := a.wait(t); code == 0 {
			t.Fatalf("the handler started with a BLOB that does not verify\nstdout:\n%s", a.log())
		}
		if !strings.Contains(a.errors(), "PASSKEY_MDS_FILE:") {
			t.Errorf("stderr does not name PASSKEY_MDS_FILE:\n%s", a.errors())
		}
	})
	t.Run("unreachable URL", func(t *testing.T) {
		t.Parallel()
		a := startApp(t, "PASSKEY_ATTESTATION=direct", "PASSKEY_MDS_URL=https://127.0.0.1:1/")
		defer a.terminate(t)
		if !strings.Contains(a.log(), "metadata: refresh failed") {
			t.Errorf("the failed fetch is not in the log:\n%s", a.log())
		}
	})
}
