// Package cosmos is the production store: users and challenge sessions in
// Azure Cosmos DB (NoSQL API), so that any number of Functions instances
// share one state.
//
// Layout (docs/cosmos.md): container UsersContainer holds one item per
// user, id = the B2C objectId, partition key /id, and one credential index
// item per credential id (id = IndexPrefix + a hash of the credential id,
// naming its owner); container SessionsContainer holds one item per
// challenge session, id = the challenge, partition key /id, TTL on. Every
// operation is a point operation on one item in its own logical
// partition; only the one-shot IndexCredentials queries. A user record is
// replaced with If-Match on its ETag; a session is claimed by one
// conditional patch that returns the stored session.
package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// The names infrastructure must create when the handler runs with a
// managed identity (which cannot create containers).
const (
	// DefaultDatabase is the database used when PASSKEY_COSMOS_DATABASE is unset.
	DefaultDatabase = "passkeys"
	// UsersContainer holds one item per user with all of its passkeys.
	UsersContainer = "users"
	// SessionsContainer holds one item per challenge session; TTL must be on.
	SessionsContainer = "sessions"
	// UsersPartitionKey is the partition key path of UsersContainer: the objectId.
	UsersPartitionKey = "/id"
	// SessionsPartitionKey is the partition key path of SessionsContainer: the challenge.
	SessionsPartitionKey = "/id"
	// SessionsDefaultTTL is the default TTL the store gives SessionsContainer
	// when it creates it: -1 turns TTL on, each session sets its own.
	SessionsDefaultTTL = -1
)

// SessionGrace is how long a session item outlives its expiresAt before
// Cosmos DB removes it, so that an identical retry right at the end of a
// session's life still finds it. Expiry itself is checked on use.
const SessionGrace = time.Minute

// Retry bounds of the SDK. azcosmos retries a connection that fails
// (same region, 1 s apart) and 5xx answers itself; azcore retries 429 and
// transport errors. TryTimeout cuts one try with all of azcosmos's own
// retries, MaxRetries bounds azcore's tries, so a store call on an
// unreachable account gives up after about TryTimeout; the request's
// context (PASSKEY_REQUEST_TIMEOUT, default 8 s) bounds everything, well
// inside the 30 s B2C waits per try.
const (
	MaxRetries    = 3
	RetryDelay    = 100 * time.Millisecond
	MaxRetryDelay = time.Second
	TryTimeout    = 3 * time.Second
)

// Options configures Open.
type Options struct {
	// Endpoint is the account endpoint, such as https://acct.documents.azure.com:443/.
	Endpoint string
	// Key is the account key; empty means Credential (by default
	// azidentity.DefaultAzureCredential: managed identity in Azure, the
	// developer's login locally).
	Key        string
	Credential azcore.TokenCredential
	// Database is the database name; DefaultDatabase when empty.
	Database string
	// Transport replaces the SDK's HTTP transport (tests count round trips with it).
	Transport policy.Transporter
	Logger    *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SessionGrace overrides the package's SessionGrace (tests of TTL
	// expiry set a tiny one); zero means SessionGrace.
	SessionGrace time.Duration
}

// Store keeps users and sessions in two Cosmos DB containers.
type Store struct {
	client   *azcosmos.Client
	users    *azcosmos.ContainerClient
	sessions *azcosmos.ContainerClient
	now      func() time.Time
	grace    time.Duration
	// sessionKey seals challenges; every instance reads the same one from
	// the sessions container at start (marks.go).
	sessionKey []byte

	// betweenWrites, when set (by tests), runs between the index writes
	// and the record write of a user write; an error from it fails the
	// write as a crash there would, leaving what was written.
	betweenWrites func() error
}

var _ passkey.Store = (*Store)(nil)

// Open connects to the account and checks the containers. With a key it
// creates the database and containers that are missing; with a token
// credential (whose data-plane roles cannot create them) it stops with an
// error that names what is missing. ctx bounds the checks.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = DefaultDatabase
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionGrace == 0 {
		opts.SessionGrace = SessionGrace
	}
	clientOpts := &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{
			MaxRetries:    MaxRetries,
			RetryDelay:    RetryDelay,
			MaxRetryDelay: MaxRetryDelay,
			TryTimeout:    TryTimeout,
		},
		Telemetry: policy.TelemetryOptions{ApplicationID: "passkeys"},
		Transport: opts.Transport,
	}}
	var (
		client *azcosmos.Client
		err    error
		auth   string
	)
	if opts.Key != "" {
		auth = "key"
		cred, kerr := azcosmos.NewKeyCredential(opts.Key)
		if kerr != nil {
			return nil, errors.New("PASSKEY_COSMOS_KEY: not an account key (it must be base64)")
		}
		client, err = azcosmos.NewClientWithKey(opts.Endpoint, cred, clientOpts)
	} else {
		auth = "token"
		cred := opts.Credential
		if cred == nil {
			auth = "DefaultAzureCredential"
			if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
				return nil, fmt.Errorf("PASSKEY_COSMOS_KEY is empty and no Azure identity is available: %w", err)
			}
		}
		client, err = azcosmos.NewClient(opts.Endpoint, cred, clientOpts)
	}
	if err != nil {
		return nil, fmt.Errorf("PASSKEY_COSMOS_ENDPOINT: %w", err)
	}
	s := &Store{client: client, now: opts.Now, grace: opts.SessionGrace}
	if s.users, err = client.NewContainer(opts.Database, UsersContainer); err != nil {
		return nil, err
	}
	if s.sessions, err = client.NewContainer(opts.Database, SessionsContainer); err != nil {
		return nil, err
	}
	if opts.Key != "" {
		if err := s.create(ctx, opts.Database); err != nil {
			client.Close()
			return nil, err
		}
	}
	if err := s.check(ctx, opts.Database); err != nil {
		client.Close()
		return nil, err
	}
	if s.sessionKey, err = s.loadSessionKey(ctx); err != nil {
		client.Close()
		return nil, err
	}
	opts.Logger.Info("cosmos store",
		slog.String("endpoint", opts.Endpoint),
		slog.String("database", opts.Database),
		slog.String("auth", auth))
	return s, nil
}

// create makes the database and both containers where they are missing.
func (s *Store) create(ctx context.Context, database string) error {
	_, err := s.client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: database}, nil)
	if err != nil && status(err) != http.StatusConflict {
		return startError("creating database "+database, err)
	}
	db, err := s.client.NewDatabase(database)
	if err != nil {
		return err
	}
	ttl := int32(SessionsDefaultTTL)
	for _, props := range []azcosmos.ContainerProperties{
		{ID: UsersContainer, PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{UsersPartitionKey}}},
		{ID: SessionsContainer, PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{SessionsPartitionKey}}, DefaultTimeToLive: &ttl},
	} {
		_, err := db.CreateContainer(ctx, props, nil)
		if err != nil && status(err) != http.StatusConflict {
			return startError("creating container "+props.ID, err)
		}
	}
	return nil
}

// check reads both containers' properties and names what is missing or
// wrong: a container, its partition key, TTL on the sessions.
func (s *Store) check(ctx context.Context, database string) error {
	for _, c := range []struct {
		client *azcosmos.ContainerClient
		pk     string
		ttl    bool
	}{
		{s.users, UsersPartitionKey, false},
		{s.sessions, SessionsPartitionKey, true},
	} {
		want := fmt.Sprintf("container %q (partition key %s", c.client.ID(), c.pk)
		if c.ttl {
			want += ", TTL on"
		}
		want += ")"
		resp, err := c.client.Read(ctx, nil)
		if status(err) == http.StatusNotFound {
			return fmt.Errorf("Cosmos DB: database %q has no %s (or the database is missing): create it (see docs/cosmos.md); with a managed identity the handler cannot", database, want)
		}
		if err != nil {
			return startError("reading container "+c.client.ID(), err)
		}
		props := resp.ContainerProperties
		if props == nil {
			return fmt.Errorf("Cosmos DB: database %q: reading %s gave no properties", database, want)
		}
		if !slices.Equal(props.PartitionKeyDefinition.Paths, []string{c.pk}) {
			return fmt.Errorf("Cosmos DB: database %q: %s has the wrong partition key %v", database, want, props.PartitionKeyDefinition.Paths)
		}
		if c.ttl && props.DefaultTimeToLive == nil {
			return fmt.Errorf("Cosmos DB: database %q: %s has TTL off: set its default TTL to -1 (on, per item)", database, want)
		}
	}
	return nil
}

// Close releases the client.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

// GetUser reads the user with one point read. It returns
// passkey.ErrNotFound when the user has no record.
func (s *Store) GetUser(ctx context.Context, id string) (*passkey.User, error) {
	resp, err := s.users.ReadItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil)
	if status(err) == http.StatusNotFound {
		return nil, passkey.ErrNotFound
	}
	if err != nil {
		return nil, storeError("reading user", err)
	}
	var u passkey.User
	if err := json.Unmarshal(resp.Value, &u); err != nil {
		return nil, fmt.Errorf("decoding user %s: %w", id, err)
	}
	u.Version = string(resp.ETag)
	u.MarkIndexed()
	return &u, nil
}

// CreateUser stores a new user record after indexing its credential ids.
// It returns passkey.ErrConflict when the user exists and
// passkey.ErrCredentialTaken when another user holds one of its ids.
func (s *Store) CreateUser(ctx context.Context, u *passkey.User) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	u.Indexed = nil
	added, removed := u.IndexChanges()
	if err := s.index(ctx, u.ID, added); err != nil {
		return err
	}
	resp, err := s.users.CreateItem(ctx, azcosmos.NewPartitionKeyString(u.ID), data, nil)
	if status(err) == http.StatusConflict {
		s.unindex(ctx, u.ID, added)
		return passkey.ErrConflict
	}
	if err != nil {
		return userWriteError("creating user", err)
	}
	u.Version = string(resp.ETag)
	u.MarkIndexed()
	return s.unindexAfter(ctx, u.ID, removed)
}

// ReplaceUser overwrites the record if its ETag still equals u.Version
// (If-Match). It returns passkey.ErrConflict when the record changed
// since and passkey.ErrNotFound when it is gone. The replace is one
// request on one item: the user is either fully written or not at all.
func (s *Store) ReplaceUser(ctx context.Context, u *passkey.User) error {
	if u.Version == "" {
		return fmt.Errorf("replacing user %s without a version: %w", u.ID, passkey.ErrConflict)
	}
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	added, removed := u.IndexChanges()
	if err := s.index(ctx, u.ID, added); err != nil {
		return err
	}
	etag := azcore.ETag(u.Version)
	resp, err := s.users.ReplaceItem(ctx, azcosmos.NewPartitionKeyString(u.ID), u.ID, data,
		&azcosmos.ItemOptions{IfMatchEtag: &etag})
	switch {
	case err == nil:
	case status(err) == http.StatusPreconditionFailed:
		s.unindex(ctx, u.ID, added)
		return passkey.ErrConflict
	case status(err) == http.StatusNotFound:
		s.unindex(ctx, u.ID, added)
		return passkey.ErrNotFound
	default:
		return userWriteError("replacing user", err)
	}
	u.Version = string(resp.ETag)
	u.MarkIndexed()
	return s.unindexAfter(ctx, u.ID, removed)
}

// RecordUse is ReplaceUser: a replace is durable when Cosmos DB answers.
func (s *Store) RecordUse(ctx context.Context, u *passkey.User) error {
	return s.ReplaceUser(ctx, u)
}

// userWriteError is storeError, except that a record Cosmos DB refuses as
// too large (413) is passkey.ErrTooLarge, for the domain to answer.
func userWriteError(op string, err error) error {
	if status(err) == http.StatusRequestEntityTooLarge {
		return fmt.Errorf("cosmos %s: %w", op, passkey.ErrTooLarge)
	}
	return storeError(op, err)
}

// status is the HTTP status of a Cosmos DB error; 0 when err is nil or
// carries no response at all (unreachable, deadline).
func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// storeError classifies an error the SDK returned after its retries:
// no answer (unreachable, deadline), throttling (429) and server failures
// (408, 449, 5xx) are passkey.ErrUnavailable; anything else (a request
// Cosmos DB refused: 400, 401, 403, 413) is an internal error. The text
// names the operation and status, never a key.
func storeError(op string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch code := re.StatusCode; {
		case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code == 449, code >= 500:
			return fmt.Errorf("cosmos %s: %d %s: %w", op, code, re.ErrorCode, passkey.ErrUnavailable)
		default:
			return fmt.Errorf("cosmos %s: %d %s", op, code, re.ErrorCode)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("cosmos %s: %w: %w", op, passkey.ErrUnavailable, err)
	}
	return fmt.Errorf("cosmos %s: %w: %v", op, passkey.ErrUnavailable, err)
}

// startError describes a failure while opening the store: the handler
// stops with it.
func startError(op string, err error) error {
	switch code := status(err); code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("Cosmos DB refused %s (%d): check PASSKEY_COSMOS_KEY, or give the identity a Cosmos DB data-plane role (Built-in Data Contributor)", op, code)
	case 0:
		return fmt.Errorf("Cosmos DB at PASSKEY_COSMOS_ENDPOINT: %s failed (unreachable, or no token): %v", op, err)
	default:
		return fmt.Errorf("Cosmos DB %s: status %d", op, code)
	}
}
