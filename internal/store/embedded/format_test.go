package embedded

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// TestRecordFormat: a user record is the JSON encoding of record, so files
// written before and after stay readable by either.
func TestRecordFormat(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	u := &passkey.User{ID: "u1", Credentials: []passkey.Credential{{Name: `Phone "1"`}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(record{Version: 2, User: u})
	s.db.View(func(tx *bolt.Tx) error {
		if got := tx.Bucket(usersBucket).Get([]byte("u1")); string(got) != string(want) {
			t.Errorf("stored\n%s\nwant\n%s", got, want)
		}
		return nil
	})
	// A record whose version is not first is still read.
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(usersBucket).Put([]byte("u2"), []byte(`{"user":{"id":"u2","credentials":[]},"version":7}`))
	})
	if err := s.ReplaceUser(ctx, &passkey.User{ID: "u2", Version: "7"}); err != nil {
		t.Errorf("replace of a record with the version last: %v", err)
	}
}

// TestClaimsExpireWithTheirSessions: a claim is kept beside its session
// and removed with it.
func TestClaimsExpireWithTheirSessions(t *testing.T) {
	s, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Expiry removes each claim with its session.
	if err := s.CreateSession(context.Background(), &passkey.Session{Challenge: "c2", Ceremony: passkey.Login, ExpiresAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, won, err := s.ClaimSession(context.Background(), "c2", passkey.Claim{Digest: "x", At: time.Now()}); err != nil || !won {
		t.Fatalf("claim of c2: %v, %v", won, err)
	}
	if err := s.RemoveExpired(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(claimsBucket).Stats().KeyN + tx.Bucket(sessionsBucket).Stats().KeyN; n != 0 {
			t.Errorf("%d sessions and claims left after expiry", n)
		}
		return nil
	})
}

// TestIndexesExistingFileAtOpen: a file written before the credential
// index existed gets one when it is opened, from its user records.
func TestIndexesExistingFileAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Records as the earlier format kept them: the whole go-webauthn
	// credential under "webauthn", and no index bucket.
	s.db.Update(func(tx *bolt.Tx) error {
		users := tx.Bucket(usersBucket)
		users.Put([]byte("u1"), []byte(`{"version":3,"user":{"id":"u1","credentials":[{"webauthn":{"id":"AQID","publicKey":"pQ==","attestation":{"clientDataJSON":"e30"}},"name":"Phone"}]}}`))
		users.Put([]byte("u2"), []byte(`{"version":1,"user":{"id":"u2","credentials":[{"webauthn":{"id":"BAUG"},"name":"Key"},{"webauthn":{"id":"AQID"},"name":"Copy"}]}}`))
		return tx.DeleteBucket(credentialsBucket)
	})
	s.Close()

	s, err = Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for id, want := range map[string]string{"\x01\x02\x03": "u1", "\x04\x05\x06": "u2"} {
		if owner, err := s.CredentialOwner(ctx, []byte(id)); err != nil || owner != want {
			t.Errorf("CredentialOwner(%x) = %q, %v; want %s", id, owner, err, want)
		}
	}
	u, err := s.GetUser(ctx, "u1")
	if err != nil || len(u.Credentials) != 1 || string(u.Credentials[0].WebAuthn.PublicKey) != "\xa5" {
		t.Fatalf("old record read as %+v, %v", u, err)
	}
}
