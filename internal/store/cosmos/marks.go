package cosmos

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// SessionKeyItem is the id (and partition key) of the item in
// SessionsContainer that holds the key sealing challenges. It has no TTL.
// The first instance to start creates it; every other one reads it, so a
// challenge one instance issued opens on any other.
const SessionKeyItem = "session-key"

// markPrefix starts the id of a session's single-use mark.
const markPrefix = "m:"

// markItem is the single-use mark of a challenge session: its first
// claim, how many later claims lost, and its TTL in seconds.
type markItem struct {
	ID         string        `json:"id"`
	Claim      passkey.Claim `json:"claim"`
	LostClaims int           `json:"lostClaims,omitempty"`
	TTL        int           `json:"ttl"`
}

// markID is the item id of a challenge's mark: a digest, so that an id
// has one size whatever the challenge's.
func markID(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return markPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// SessionKey returns the key read (or created) at Open.
func (s *Store) SessionKey() []byte { return s.sessionKey }

// ClaimSession creates the mark (one round trip). A call that loses
// (409) fetches the first claim with a patch that counts the lost claim:
// unlike a point read, which another instance's session consistency may
// serve from a replica that has not seen the winning create yet, a patch
// is answered by the item's write replica. Cosmos DB removes the mark
// SessionGrace after keepUntil.
func (s *Store) ClaimSession(ctx context.Context, challenge string, claim passkey.Claim, keepUntil time.Time) (passkey.Claim, bool, error) {
	id := markID(challenge)
	pk := azcosmos.NewPartitionKeyString(id)
	ttl := int(math.Ceil(keepUntil.Add(s.grace).Sub(s.now()).Seconds()))
	data, err := json.Marshal(markItem{ID: id, Claim: claim, TTL: max(ttl, 1)})
	if err != nil {
		return passkey.Claim{}, false, err
	}
	_, err = s.sessions.CreateItem(ctx, pk, data, nil)
	if err == nil {
		return claim, true, nil
	}
	if status(err) != http.StatusConflict {
		return passkey.Claim{}, false, storeError("claiming session", err)
	}
	var lost azcosmos.PatchOperations
	lost.AppendIncrement("/lostClaims", 1)
	resp, err := s.sessions.PatchItem(ctx, pk, id, lost, &azcosmos.ItemOptions{EnableContentResponseOnWrite: true})
	if err != nil {
		return passkey.Claim{}, false, storeError("reading the claimed session", err)
	}
	var item markItem
	if err := json.Unmarshal(resp.Value, &item); err != nil {
		return passkey.Claim{}, false, fmt.Errorf("decoding the claimed session: %w", err)
	}
	return item.Claim, false, nil
}

// SetResult patches the result of the challenge's claim. It returns
// passkey.ErrNotFound when the challenge has none.
func (s *Store) SetResult(ctx context.Context, challenge string, result *passkey.Result) error {
	id := markID(challenge)
	var set azcosmos.PatchOperations
	set.AppendSet("/claim/result", result)
	_, err := s.sessions.PatchItem(ctx, azcosmos.NewPartitionKeyString(id), id, set, nil)
	if status(err) == http.StatusNotFound {
		return passkey.ErrNotFound
	}
	if err != nil {
		return storeError("recording the result of a session", err)
	}
	return nil
}

// sessionKeyItem holds the key that seals challenges.
type sessionKeyItem struct {
	ID  string `json:"id"`
	Key []byte `json:"key"`
}

// loadSessionKey reads the session key, creating it when no instance has
// yet; two instances that start at once both end with the one created
// first.
func (s *Store) loadSessionKey(ctx context.Context) ([]byte, error) {
	pk := azcosmos.NewPartitionKeyString(SessionKeyItem)
	for range 2 {
		resp, err := s.sessions.ReadItem(ctx, pk, SessionKeyItem, nil)
		if err == nil {
			var item sessionKeyItem
			if err := json.Unmarshal(resp.Value, &item); err != nil || len(item.Key) != passkey.SessionKeySize {
				return nil, fmt.Errorf("Cosmos DB: the item %q in container %q is not a session key (%d bytes); delete it to make a new one", SessionKeyItem, SessionsContainer, len(item.Key))
			}
			return item.Key, nil
		}
		if status(err) != http.StatusNotFound {
			return nil, startError("reading the session key", err)
		}
		data, err := json.Marshal(sessionKeyItem{ID: SessionKeyItem, Key: passkey.NewSessionKey()})
		if err != nil {
			return nil, err
		}
		_, err = s.sessions.CreateItem(ctx, pk, data, nil)
		if err != nil && status(err) != http.StatusConflict {
			return nil, startError("creating the session key", err)
		}
		// Created, or another instance was first: read what is stored.
	}
	return nil, fmt.Errorf("Cosmos DB: the session key item %q could neither be read nor created", SessionKeyItem)
}

// MarksInRecords: a named login's mark goes into the user's record, in the
// replace that records the use, so that the ceremony takes three round
// trips rather than four.
func (s *Store) MarksInRecords() bool { return true }
