package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// errFault is the crash the faulty stores simulate.
var errFault = errors.New("storetest: injected fault between the index and the record")

// runIndex is the credential index part of the contract.
func runIndex(t *testing.T, engine Engine, store passkey.Store, prefix string) {
	ctx := context.Background()

	t.Run("index: a credential id has one owner", func(t *testing.T) {
		alice := &passkey.User{ID: prefix + "ix-alice", Credentials: []passkey.Credential{credential(prefix+"ix-1", "A")}}
		if err := store.CreateUser(ctx, alice); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		agrees(t, store, prefix+"ix-1", alice.ID)

		// Another user may neither create nor replace with alice's id.
		bob := &passkey.User{ID: prefix + "ix-bob", Credentials: []passkey.Credential{credential(prefix+"ix-1", "B")}}
		if err := store.CreateUser(ctx, bob); !errors.Is(err, passkey.ErrCredentialTaken) {
			t.Fatalf("CreateUser with alice's id = %v; want ErrCredentialTaken", err)
		}
		if _, err := store.GetUser(ctx, bob.ID); !errors.Is(err, passkey.ErrNotFound) {
			t.Fatalf("refused CreateUser left a record: %v", err)
		}
		bob = &passkey.User{ID: prefix + "ix-bob"}
		if err := store.CreateUser(ctx, bob); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		bob.Credentials = []passkey.Credential{credential(prefix+"ix-1", "B")}
		if err := store.ReplaceUser(ctx, bob); !errors.Is(err, passkey.ErrCredentialTaken) {
			t.Fatalf("ReplaceUser with alice's id = %v; want ErrCredentialTaken", err)
		}
		agrees(t, store, prefix+"ix-1", alice.ID)

		// Once alice removes it, bob may have it.
		alice.Credentials = nil
		if err := store.ReplaceUser(ctx, alice); err != nil {
			t.Fatalf("ReplaceUser removing the credential: %v", err)
		}
		agrees(t, store, prefix+"ix-1", "")
		fresh, err := store.GetUser(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		fresh.Credentials = []passkey.Credential{credential(prefix+"ix-1", "B")}
		if err := store.ReplaceUser(ctx, fresh); err != nil {
			t.Fatalf("ReplaceUser with the freed id: %v", err)
		}
		agrees(t, store, prefix+"ix-1", bob.ID)

		// Keeping a credential (a login) leaves the index alone.
		fresh.Credentials[0].Name = "renamed"
		if err := store.ReplaceUser(ctx, fresh); err != nil {
			t.Fatalf("ReplaceUser keeping the credential: %v", err)
		}
		agrees(t, store, prefix+"ix-1", bob.ID)
	})

	t.Run("index: concurrent users with one credential id, one wins", func(t *testing.T) {
		id := prefix + "ix-race"
		wins := race(t, 6, passkey.ErrCredentialTaken, func(i int) error {
			u := &passkey.User{ID: prefix + "ix-racer-" + string(rune('a'+i)), Credentials: []passkey.Credential{credential(id, "R")}}
			return store.CreateUser(ctx, u)
		})
		if wins != 1 {
			t.Fatalf("%d users got the credential id; want exactly 1", wins)
		}
		owner, err := store.CredentialOwner(ctx, []byte(id))
		if err != nil {
			t.Fatalf("CredentialOwner: %v", err)
		}
		agrees(t, store, id, owner)
	})

	t.Run("index: CredentialOwner of an unknown id is ErrNotFound", func(t *testing.T) {
		if owner, err := store.CredentialOwner(ctx, []byte(prefix+"ix-none")); !errors.Is(err, passkey.ErrNotFound) {
			t.Fatalf("CredentialOwner = %q, %v; want ErrNotFound", owner, err)
		}
	})

	t.Run("index: a fault between the index and the record", func(t *testing.T) {
		var (
			mu    sync.Mutex
			armed bool
		)
		faulty := engine.OpenFaulty(t, func() error {
			mu.Lock()
			defer mu.Unlock()
			if armed {
				return errFault
			}
			return nil
		})
		arm := func(on bool) { mu.Lock(); armed = on; mu.Unlock() }

		// A new user with a credential: the fault leaves neither a record
		// nor an owner, and the write can be made again.
		carol := &passkey.User{ID: prefix + "ix-carol", Credentials: []passkey.Credential{credential(prefix+"ix-c1", "C")}}
		arm(true)
		if err := faulty.CreateUser(ctx, carol); err == nil {
			t.Fatal("CreateUser succeeded through the fault")
		}
		arm(false)
		agrees(t, store, prefix+"ix-c1", "")
		carol = &passkey.User{ID: carol.ID, Credentials: []passkey.Credential{credential(prefix+"ix-c1", "C")}}
		if err := faulty.CreateUser(ctx, carol); err != nil {
			t.Fatalf("CreateUser after the fault: %v", err)
		}
		agrees(t, store, prefix+"ix-c1", carol.ID)

		// Adding a second credential: the fault leaves the record as it
		// was, and the index agrees with it.
		read, err := faulty.GetUser(ctx, carol.ID)
		if err != nil {
			t.Fatal(err)
		}
		read.Credentials = append(read.Credentials, credential(prefix+"ix-c2", "C2"))
		arm(true)
		if err := faulty.ReplaceUser(ctx, read); err == nil {
			t.Fatal("ReplaceUser succeeded through the fault")
		}
		arm(false)
		agrees(t, store, prefix+"ix-c1", carol.ID)
		agrees(t, store, prefix+"ix-c2", "")
		read, err = faulty.GetUser(ctx, carol.ID)
		if err != nil {
			t.Fatal(err)
		}
		read.Credentials = append(read.Credentials, credential(prefix+"ix-c2", "C2"))
		if err := faulty.ReplaceUser(ctx, read); err != nil {
			t.Fatalf("ReplaceUser after the fault: %v", err)
		}
		agrees(t, store, prefix+"ix-c2", carol.ID)

		// Removing one: whether or not the record was written before the
		// fault, index and record agree.
		read, err = faulty.GetUser(ctx, carol.ID)
		if err != nil {
			t.Fatal(err)
		}
		read.Credentials = read.Credentials[:1]
		arm(true)
		faulty.ReplaceUser(ctx, read)
		arm(false)
		agrees(t, store, prefix+"ix-c1", carol.ID)
		agrees(t, store, prefix+"ix-c2", holder(t, store, carol.ID, prefix+"ix-c2"))
	})
}

// holder returns userID when the user's record holds the credential id,
// else "".
func holder(t *testing.T, store passkey.Store, userID, id string) string {
	t.Helper()
	u, err := store.GetUser(context.Background(), userID)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", userID, err)
	}
	if u.Find([]byte(id)) >= 0 {
		return userID
	}
	return ""
}

// agrees checks that the index names owner for the credential id (none
// when owner is ""), and that the owner's record holds it.
func agrees(t *testing.T, store passkey.Store, id, owner string) {
	t.Helper()
	got, err := store.CredentialOwner(context.Background(), []byte(id))
	switch {
	case owner == "" && !errors.Is(err, passkey.ErrNotFound):
		t.Fatalf("CredentialOwner(%s) = %q, %v; want ErrNotFound", id, got, err)
	case owner != "" && (err != nil || got != owner):
		t.Fatalf("CredentialOwner(%s) = %q, %v; want %s", id, got, err, owner)
	case owner != "" && holder(t, store, owner, id) != owner:
		t.Fatalf("the index names %s for %s, whose record does not hold it", owner, id)
	}
}
