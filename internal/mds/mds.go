// Package mds keeps the FIDO Metadata Service (MDS3) BLOB: it reads it from
// a URL or a file, checks its signature chain to the FIDO root with
// go-webauthn's decoder, keeps the last good copy in the store (the disk of
// a Flex Consumption instance does not last) and refreshes it daily. An
// unreachable or invalid BLOB never replaces the last good one.
package mds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/google/uuid"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// DefaultURL is the FIDO Alliance's MDS3 endpoint.
const DefaultURL = "https://mds3.fidoalliance.org/"

// Options configures a Source.
type Options struct {
	// URL is fetched when File is empty; DefaultURL when both are empty.
	URL string
	// File is read instead of URL when set.
	File string
	// Root is the trust anchor of the BLOB's signature chain, base64 DER;
	// the FIDO Alliance's production root when empty.
	Root string
	// Store keeps the last good BLOB; nil keeps it in memory only.
	Store passkey.MetadataStore
	// Client fetches URL; a client with a one-minute timeout when nil.
	Client *http.Client
	// RefreshEvery is how old the BLOB may grow before it is fetched
	// again; 24h when zero.
	RefreshEvery time.Duration
	Logger       *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Source holds the current metadata and refreshes it.
type Source struct {
	opts    Options
	current atomic.Pointer[Snapshot]
	// refreshing lets one refresh run at a time.
	refreshing sync.Mutex
}

// Snapshot is one verified BLOB, parsed.
type Snapshot struct {
	// Number is the BLOB's serial number; a refresh never goes back.
	Number     int
	NextUpdate time.Time
	FetchedAt  time.Time
	entries    map[uuid.UUID]*metadata.Entry
}

// Entry returns the metadata of the AAGUID, or nil when it is not listed.
func (s *Snapshot) Entry(aaguid uuid.UUID) *metadata.Entry {
	if s == nil || aaguid == uuid.Nil {
		return nil
	}
	return s.entries[aaguid]
}

// Len is the number of authenticators listed.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// New returns a Source with no metadata yet; Load gives it some.
func New(opts Options) *Source {
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	if opts.Root == "" {
		opts.Root = metadata.ProductionMDSRoot
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: time.Minute}
	}
	if opts.RefreshEvery == 0 {
		opts.RefreshEvery = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{opts: opts}
}

// Current returns the metadata in use; nil before any BLOB was loaded.
func (s *Source) Current() *Snapshot { return s.current.Load() }

// Entry returns the current metadata of the AAGUID, or nil.
func (s *Source) Entry(aaguid uuid.UUID) *metadata.Entry {
	if s == nil {
		return nil
	}
	return s.Current().Entry(aaguid)
}

// Load installs the stored BLOB, if there is a good one, and otherwise
// (and always for a File) reads the BLOB now. A read that fails is
// logged and the stored copy kept; only a File that cannot be used is an
// error, since it is the operator's own.
func (s *Source) Load(ctx context.Context) error {
	if s.opts.Store != nil {
		stored, err := s.opts.Store.GetMetadataBlob(ctx)
		switch {
		case errors.Is(err, passkey.ErrNotFound):
		case err != nil:
			s.opts.Logger.Warn("metadata: reading the stored BLOB failed", slog.String("error", err.Error()))
		default:
			if err := s.install(stored.Data, stored.FetchedAt); err != nil {
				s.opts.Logger.Warn("metadata: the stored BLOB is not usable", slog.String("error", err.Error()))
			}
		}
	}
	if s.Current() != nil && s.opts.File == "" {
		// A stale stored copy serves until Run refreshes it, so a cold
		// start does not wait for the download.
		return nil
	}
	err := s.Refresh(ctx)
	if err != nil && s.opts.File != "" {
		return fmt.Errorf("PASSKEY_MDS_FILE: %w", err)
	}
	return nil
}

// Run refreshes the metadata whenever it is older than RefreshEvery
// (or missing), checking at once and then every hour, until ctx ends.
func (s *Source) Run(ctx context.Context) {
	ticker := time.NewTicker(min(time.Hour, s.opts.RefreshEvery))
	defer ticker.Stop()
	for {
		if s.stale() {
			s.Refresh(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (s *Source) stale() bool {
	cur := s.Current()
	return cur == nil || s.opts.Now().Sub(cur.FetchedAt) >= s.opts.RefreshEvery
}

// Refresh reads the BLOB afresh. When another instance stored a fresh one
// meanwhile, that one is used; otherwise the BLOB is fetched, verified,
// installed and stored. On failure the current metadata stays and the
// error is logged and returned.
func (s *Source) Refresh(ctx context.Context) error {
	s.refreshing.Lock()
	defer s.refreshing.Unlock()
	now := s.opts.Now().UTC()
	if s.opts.Store != nil {
		stored, err := s.opts.Store.GetMetadataBlob(ctx)
		if cur := s.Current(); err == nil && now.Sub(stored.FetchedAt) < s.opts.RefreshEvery &&
			(cur == nil || stored.FetchedAt.After(cur.FetchedAt)) && s.install(stored.Data, stored.FetchedAt) == nil {
			return nil
		}
	}
	data, err := s.read(ctx)
	if err == nil {
		err = s.install(data, now)
	}
	if err != nil {
		s.opts.Logger.Error("metadata: refresh failed; the last good BLOB stays in use",
			slog.String("source", s.source()), slog.String("error", err.Error()))
		return err
	}
	cur := s.Current()
	s.opts.Logger.Info("metadata: BLOB loaded", slog.String("source", s.source()),
		slog.Int("number", cur.Number), slog.Int("authenticators", cur.Len()),
		slog.String("nextUpdate", cur.NextUpdate.Format(time.DateOnly)))
	if s.opts.Store != nil {
		if err := s.opts.Store.PutMetadataBlob(ctx, &passkey.MetadataBlob{Data: data, FetchedAt: now}); err != nil {
			s.opts.Logger.Warn("metadata: storing the BLOB failed", slog.String("error", err.Error()))
		}
	}
	return nil
}

func (s *Source) source() string {
	if s.opts.File != "" {
		return s.opts.File
	}
	return s.opts.URL
}

// read returns the BLOB's bytes, at most passkey.MaxMetadataBlobBytes.
func (s *Source) read(ctx context.Context) ([]byte, error) {
	var body io.ReadCloser
	if s.opts.File != "" {
		f, err := os.Open(s.opts.File)
		if err != nil {
			return nil, err
		}
		body = f
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.URL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.opts.Client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", s.opts.URL, resp.Status)
		}
		body = resp.Body
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, passkey.MaxMetadataBlobBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > passkey.MaxMetadataBlobBytes {
		return nil, fmt.Errorf("the BLOB is larger than %d bytes", passkey.MaxMetadataBlobBytes)
	}
	return bytes.TrimSpace(data), nil
}

// install verifies data and makes it current, unless it is older (by its
// serial number) than the BLOB in use.
func (s *Source) install(data []byte, fetchedAt time.Time) error {
	snap, err := s.verify(data)
	if err != nil {
		return err
	}
	snap.FetchedAt = fetchedAt
	for {
		cur := s.Current()
		if cur != nil && snap.Number < cur.Number {
			return fmt.Errorf("the BLOB's number %d is older than the one in use (%d)", snap.Number, cur.Number)
		}
		if s.current.CompareAndSwap(cur, snap) {
			return nil
		}
	}
}

// verify checks the BLOB's signature chain to the root and parses it.
// Entries that cannot be parsed are left out and logged: one vendor's
// malformed statement must not cost every other authenticator.
func (s *Source) verify(data []byte) (*Snapshot, error) {
	decoder, err := metadata.NewDecoder(metadata.WithRootCertificate(s.opts.Root), metadata.WithIgnoreEntryParsingErrors())
	if err != nil {
		return nil, err
	}
	payload, err := decoder.DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("verifying the BLOB: %w", err)
	}
	parsed, err := decoder.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("parsing the BLOB: %w", err)
	}
	if n := len(parsed.Unparsed); n > 0 {
		s.opts.Logger.Warn("metadata: entries left out", slog.Int("count", n), slog.String("first", parsed.Unparsed[0].Error.Error()))
	}
	return &Snapshot{
		Number:     parsed.Parsed.Number,
		NextUpdate: parsed.Parsed.NextUpdate,
		entries:    parsed.ToMap(),
	}, nil
}
