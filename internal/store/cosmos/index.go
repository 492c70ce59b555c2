package cosmos

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// IndexPrefix starts the id of every credential index item in
// UsersContainer. An objectId never holds ':' (the domain accepts only
// letters, digits and -._), so no user record can take such an id.
const IndexPrefix = "credential:"

// IndexGrace is how long an index item whose owner's record does not hold
// the credential is still respected: a user write indexes first and
// writes the record within its request deadline, so a younger item may
// belong to a write under way; an older one was left by a write that
// stopped between the two, and another user may take it over.
const IndexGrace = 2 * time.Minute

// indexItem names the owner of one credential id. Cosmos DB ids are at
// most 255 characters and a credential id may be 1023 bytes, so the item
// is keyed by a hash of the id and keeps the id itself to check against.
type indexItem struct {
	ID           string    `json:"id"`
	Owner        string    `json:"owner"`
	CredentialID []byte    `json:"credentialId"`
	CreatedAt    time.Time `json:"createdAt"`
}

func indexID(credentialID []byte) string {
	sum := sha256.Sum256(credentialID)
	return IndexPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// index makes userID the owner of each credential id before the record
// that holds them is written. An id already owned by userID (left by a
// write that did not finish) is kept; one owned by another user is
// passkey.ErrCredentialTaken unless that owner's record lacks it and the
// item is older than IndexGrace.
func (s *Store) index(ctx context.Context, userID string, ids [][]byte) error {
	for i, id := range ids {
		if err := s.indexOne(ctx, userID, id); err != nil {
			s.unindex(ctx, userID, ids[:i])
			return err
		}
	}
	if s.betweenWrites != nil && len(ids) > 0 {
		return s.betweenWrites()
	}
	return nil
}

func (s *Store) indexOne(ctx context.Context, userID string, id []byte) error {
	item := indexItem{ID: indexID(id), Owner: userID, CredentialID: id, CreatedAt: s.now().UTC()}
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	pk := azcosmos.NewPartitionKeyString(item.ID)
	_, err = s.users.CreateItem(ctx, pk, data, nil)
	if err == nil {
		return nil
	}
	if status(err) != http.StatusConflict {
		return storeError("indexing a credential", err)
	}
	held, etag, err := s.readIndex(ctx, id)
	if errors.Is(err, passkey.ErrNotFound) {
		return s.indexOne(ctx, userID, id) // removed meanwhile
	}
	if err != nil {
		return err
	}
	if held.Owner == userID {
		return nil
	}
	if s.now().Sub(held.CreatedAt) < IndexGrace {
		return passkey.ErrCredentialTaken
	}
	holds, err := s.holds(ctx, held.Owner, id)
	if err != nil {
		return err
	}
	if holds {
		return passkey.ErrCredentialTaken
	}
	// A stale item: take it over, unless it changed since it was read.
	_, err = s.users.ReplaceItem(ctx, pk, item.ID, data, &azcosmos.ItemOptions{IfMatchEtag: &etag})
	switch {
	case err == nil:
		return nil
	case status(err) == http.StatusPreconditionFailed || status(err) == http.StatusNotFound:
		return passkey.ErrCredentialTaken
	default:
		return storeError("taking over a stale credential index item", err)
	}
}

// readIndex reads the index item of a credential id.
func (s *Store) readIndex(ctx context.Context, id []byte) (*indexItem, azcore.ETag, error) {
	key := indexID(id)
	resp, err := s.users.ReadItem(ctx, azcosmos.NewPartitionKeyString(key), key, nil)
	if status(err) == http.StatusNotFound {
		return nil, "", passkey.ErrNotFound
	}
	if err != nil {
		return nil, "", storeError("reading the credential index", err)
	}
	var item indexItem
	if err := json.Unmarshal(resp.Value, &item); err != nil {
		return nil, "", fmt.Errorf("decoding a credential index item: %w", err)
	}
	if string(item.CredentialID) != string(id) {
		return nil, "", passkey.ErrNotFound // a hash collision: not this id
	}
	return &item, resp.ETag, nil
}

// holds reports whether the user's record holds the credential id.
func (s *Store) holds(ctx context.Context, userID string, id []byte) (bool, error) {
	u, err := s.GetUser(ctx, userID)
	if errors.Is(err, passkey.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Find(id) >= 0, nil
}

// unindex removes userID's index items of the ids, after a write that
// indexed them was refused. It is best effort: an item left behind is
// stale and is taken over after IndexGrace.
func (s *Store) unindex(ctx context.Context, userID string, ids [][]byte) {
	for _, id := range ids {
		s.deleteIndex(ctx, userID, id)
	}
}

// unindexAfter removes the index items of the ids a written record no
// longer holds. Should it fail, the record is written all the same and the
// items are stale: CredentialOwner checks the record, and another user
// takes them over after IndexGrace.
func (s *Store) unindexAfter(ctx context.Context, userID string, ids [][]byte) error {
	if s.betweenWrites != nil && len(ids) > 0 {
		if err := s.betweenWrites(); err != nil {
			return err
		}
	}
	for _, id := range ids {
		s.deleteIndex(ctx, userID, id)
	}
	return nil
}

func (s *Store) deleteIndex(ctx context.Context, userID string, id []byte) {
	held, etag, err := s.readIndex(ctx, id)
	if err != nil || held.Owner != userID {
		return
	}
	_, _ = s.users.DeleteItem(ctx, azcosmos.NewPartitionKeyString(held.ID), held.ID, &azcosmos.ItemOptions{IfMatchEtag: &etag})
}

// CredentialOwner reads the index item and confirms it against the
// owner's record. It returns passkey.ErrNotFound when no record holds
// the credential id.
func (s *Store) CredentialOwner(ctx context.Context, credentialID []byte) (string, error) {
	held, _, err := s.readIndex(ctx, credentialID)
	if err != nil {
		return "", err
	}
	holds, err := s.holds(ctx, held.Owner, credentialID)
	if err != nil {
		return "", err
	}
	if !holds {
		return "", passkey.ErrNotFound
	}
	return held.Owner, nil
}

// IndexReport is what IndexCredentials did.
type IndexReport struct {
	Users, Credentials, Indexed int
	// Conflicts lists the credential ids (base64url) that more than one
	// user's record holds, with the users: the index keeps the owner it
	// already had, or the first user read; someone must decide.
	Conflicts []string
}

// IndexCredentials indexes the credential ids of every user record, for a
// database written before the store kept an index; it is safe to run
// again, and while handlers serve (a write that adds a credential indexes
// it itself). It is the one operation that queries across partitions.
func (s *Store) IndexCredentials(ctx context.Context) (*IndexReport, error) {
	var report IndexReport
	// Users are the items with credentials (index and metadata items have
	// none); the prefixes are checked again below.
	pager := s.users.NewQueryItemsPager("SELECT c.id, c.credentials FROM c WHERE IS_DEFINED(c.credentials)", azcosmos.NewPartitionKey(), nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return &report, storeError("reading the users", err)
		}
		for _, raw := range page.Items {
			var u passkey.User
			if err := json.Unmarshal(raw, &u); err != nil {
				return &report, fmt.Errorf("decoding a user: %w", err)
			}
			if strings.HasPrefix(u.ID, IndexPrefix) || strings.HasPrefix(u.ID, "mds~") {
				continue
			}
			report.Users++
			for _, c := range u.Credentials {
				if len(c.WebAuthn.ID) == 0 {
					continue
				}
				report.Credentials++
				err := s.indexOne(ctx, u.ID, c.WebAuthn.ID)
				switch {
				case errors.Is(err, passkey.ErrCredentialTaken):
					held, _, _ := s.readIndex(ctx, c.WebAuthn.ID)
					owner := "?"
					if held != nil {
						owner = held.Owner
					}
					report.Conflicts = append(report.Conflicts, fmt.Sprintf("%s held by %s and %s",
						base64.RawURLEncoding.EncodeToString(c.WebAuthn.ID), owner, u.ID))
				case err != nil:
					return &report, err
				default:
					report.Indexed++
				}
			}
		}
	}
	return &report, nil
}
