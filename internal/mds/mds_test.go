package mds_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/mds"
	"github.com/passkeys-b2c/passkeys/internal/mds/mdstest"
	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// memStore is a passkey.MetadataStore in memory, for the Source's logic;
// the real stores pass storetest.RunMetadata.
type memStore struct {
	mu   sync.Mutex
	blob *passkey.MetadataBlob
}

func (m *memStore) GetMetadataBlob(context.Context) (*passkey.MetadataBlob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blob == nil {
		return nil, passkey.ErrNotFound
	}
	b := *m.blob
	return &b, nil
}

func (m *memStore) PutMetadataBlob(_ context.Context, b *passkey.MetadataBlob) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *b
	m.blob = &c
	return nil
}

// server serves whatever blob holds and counts requests.
type server struct {
	*httptest.Server
	blob     atomic.Pointer[[]byte]
	requests atomic.Int32
}

func serve(t *testing.T, blob []byte) *server {
	s := &server{}
	s.blob.Store(&blob)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		b := *s.blob.Load()
		if b == nil {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

type logBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Buffer.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Buffer.String()
}

var (
	keyA = uuid.MustParse("11111111-2222-3333-4444-555555555555")
	keyB = uuid.MustParse("66666666-7777-8888-9999-000000000000")
)

func TestSource(t *testing.T) {
	t.Parallel()
	root := mdstest.NewCA(t, "Test MDS root")
	vendor := mdstest.NewCA(t, "Vendor attestation root")
	blob1 := root.BLOB(t, 1, mdstest.Entry{AAGUID: keyA, Description: "Key A", Roots: []*x509.Certificate{vendor.Cert}})
	blob2 := root.BLOB(t, 2,
		mdstest.Entry{AAGUID: keyA, Description: "Key A", Roots: []*x509.Certificate{vendor.Cert}},
		mdstest.Entry{AAGUID: keyB, Description: "Key B", Roots: []*x509.Certificate{vendor.Cert}, Status: mdstest.Revoked})
	other := mdstest.NewCA(t, "Not the root")
	forged := other.BLOB(t, 3, mdstest.Entry{AAGUID: keyB, Description: "Forged"})
	ctx := context.Background()

	newSource := func(t *testing.T, opts mds.Options) (*mds.Source, *logBuffer, *time.Time) {
		logs := &logBuffer{}
		now := time.Now()
		if opts.Root == "" {
			opts.Root = root.Base64()
		}
		opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		opts.Now = func() time.Time { return now }
		return mds.New(opts), logs, &now
	}

	t.Run("from a URL, stored as the last good copy", func(t *testing.T) {
		srv := serve(t, blob1)
		store := &memStore{}
		src, _, _ := newSource(t, mds.Options{URL: srv.URL, Store: store})
		if err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if e := src.Entry(keyA); e == nil || e.MetadataStatement.Description != "Key A" {
			t.Fatalf("Entry(keyA) = %+v", e)
		}
		if src.Entry(keyB) != nil || src.Entry(uuid.Nil) != nil {
			t.Error("an unlisted or zero AAGUID has an entry")
		}
		if stored, err := store.GetMetadataBlob(ctx); err != nil || !bytes.Equal(stored.Data, blob1) {
			t.Errorf("the store holds %v, %v; want the BLOB", stored, err)
		}
	})

	t.Run("from a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "blob.jwt")
		os.WriteFile(file, append(blob2, '\n'), 0o600)
		src, _, _ := newSource(t, mds.Options{File: file, URL: "https://unused.invalid/"})
		if err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if src.Current().Number != 2 || src.Entry(keyB) == nil {
			t.Fatalf("Current() = %+v", src.Current())
		}
	})

	t.Run("a file that does not verify stops the start", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "blob.jwt")
		os.WriteFile(file, forged, 0o600)
		src, _, _ := newSource(t, mds.Options{File: file})
		if err := src.Load(ctx); err == nil || !strings.HasPrefix(err.Error(), "PASSKEY_MDS_FILE:") {
			t.Fatalf("Load() = %v; want a PASSKEY_MDS_FILE error", err)
		}
	})

	t.Run("unreachable at start: the stored copy is used", func(t *testing.T) {
		store := &memStore{}
		store.PutMetadataBlob(ctx, &passkey.MetadataBlob{Data: blob1, FetchedAt: time.Now().Add(-48 * time.Hour)})
		srv := serve(t, nil)
		src, logs, _ := newSource(t, mds.Options{URL: srv.URL, Store: store})
		if err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if src.Entry(keyA) == nil || srv.requests.Load() != 0 {
			t.Fatalf("entry %v after %d fetches; want the stored BLOB before any fetch", src.Entry(keyA) != nil, srv.requests.Load())
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { src.Run(runCtx); close(done) }()
		for deadline := time.Now().Add(5 * time.Second); srv.requests.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		if src.Entry(keyA) == nil || srv.requests.Load() != 1 {
			t.Fatalf("entry %v after %d fetches; want the stored BLOB after one failed fetch", src.Entry(keyA) != nil, srv.requests.Load())
		}
		if !strings.Contains(logs.String(), "refresh failed") {
			t.Errorf("the failed fetch was not logged:\n%s", logs)
		}
	})

	t.Run("a fresh stored copy is not fetched again", func(t *testing.T) {
		store := &memStore{}
		store.PutMetadataBlob(ctx, &passkey.MetadataBlob{Data: blob1, FetchedAt: time.Now().Add(-time.Hour)})
		srv := serve(t, blob2)
		src, _, _ := newSource(t, mds.Options{URL: srv.URL, Store: store})
		if err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if srv.requests.Load() != 0 || src.Current().Number != 1 {
			t.Fatalf("%d fetches, number %d; want the stored BLOB and no fetch", srv.requests.Load(), src.Current().Number)
		}
	})

	t.Run("nothing stored and unreachable: no metadata, no error", func(t *testing.T) {
		srv := serve(t, nil)
		src, _, _ := newSource(t, mds.Options{URL: srv.URL, Store: &memStore{}})
		if err := src.Load(ctx); err != nil || src.Current() != nil || src.Entry(keyA) != nil {
			t.Fatalf("Load() = %v, current %v", err, src.Current())
		}
	})

	t.Run("a newer copy another instance stored is used instead of a fetch", func(t *testing.T) {
		store := &memStore{}
		srv := serve(t, blob1)
		src, _, now := newSource(t, mds.Options{URL: srv.URL, Store: store})
		if err := src.Load(ctx); err != nil || srv.requests.Load() != 1 {
			t.Fatalf("Load() = %v after %d fetches", err, srv.requests.Load())
		}
		*now = now.Add(25 * time.Hour)
		store.PutMetadataBlob(ctx, &passkey.MetadataBlob{Data: blob2, FetchedAt: now.Add(-time.Hour)})
		if err := src.Refresh(ctx); err != nil || srv.requests.Load() != 1 || src.Current().Number != 2 {
			t.Fatalf("Refresh() = %v after %d fetches, number %d; want the stored number 2 and no fetch", err, srv.requests.Load(), src.Current().Number)
		}
	})

	t.Run("daily refresh; bad BLOBs keep the last good one", func(t *testing.T) {
		store := &memStore{}
		srv := serve(t, blob1)
		src, logs, now := newSource(t, mds.Options{URL: srv.URL, Store: store})
		if err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name   string
			serve  []byte
			number int
			fails  bool
		}{
			{"newer", blob2, 2, false},
			{"forged", forged, 2, true},
			{"not a JWT", []byte("<html>maintenance</html>"), 2, true},
			{"unreachable", nil, 2, true},
			{"older number", blob1, 2, true},
		}
		for _, step := range steps {
			*now = now.Add(25 * time.Hour)
			srv.blob.Store(&step.serve)
			err := src.Refresh(ctx)
			if (err != nil) != step.fails {
				t.Errorf("%s: Refresh() = %v", step.name, err)
			}
			if got := src.Current().Number; got != step.number {
				t.Errorf("%s: number %d in use, want %d", step.name, got, step.number)
			}
			if stored, _ := store.GetMetadataBlob(ctx); !bytes.Equal(stored.Data, blob2) && step.number == 2 {
				t.Errorf("%s: the store no longer holds the last good BLOB", step.name)
			}
		}
		if n := strings.Count(logs.String(), "refresh failed"); n != 4 {
			t.Errorf("%d failed refreshes logged, want 4:\n%s", n, logs)
		}
	})

	t.Run("size is bounded", func(t *testing.T) {
		huge := bytes.Repeat([]byte("a"), passkey.MaxMetadataBlobBytes+10)
		srv := serve(t, huge)
		src, _, _ := newSource(t, mds.Options{URL: srv.URL})
		src.Load(ctx)
		if err := src.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "larger") {
			t.Fatalf("Refresh() of an oversized BLOB = %v", err)
		}
	})

	t.Run("the production root refuses a test BLOB", func(t *testing.T) {
		srv := serve(t, blob1)
		src := mds.New(mds.Options{URL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err := src.Refresh(ctx); err == nil || src.Current() != nil {
			t.Fatalf("Refresh() = %v with the FIDO root; want a refusal", err)
		}
	})

}
