package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TestIndexesExistingDatabase writes user items as a handler without the
// index left them, runs the command, and finds each credential's owner;
// two users holding one id are reported, and a second run changes nothing.
func TestIndexesExistingDatabase(t *testing.T) {
	c := testenv.StartCosmos(t)
	database := c.Database(t)
	for _, kv := range c.HandlerEnv(database) {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	ctx := context.Background()
	// Opening the store creates the database and containers.
	store, err := cosmos.Open(ctx, cosmos.Options{Endpoint: c.Endpoint, Key: c.Key, Database: database})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	client := c.Client(t)
	users, err := client.NewContainer(database, cosmos.UsersContainer)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{
		`{"id":"u1","credentials":[{"webauthn":{"id":"AQID","attestation":{"clientDataJSON":"e30="}},"name":"Phone"}]}`,
		`{"id":"u2","credentials":[{"webauthn":{"id":"BAUG"},"name":"Key"}]}`,
		`{"id":"u3","credentials":[{"webauthn":{"id":"AQID"},"name":"Copy"}]}`,
	} {
		var head struct{ ID string }
		json.Unmarshal([]byte(item), &head)
		if _, err := users.CreateItem(ctx, azcosmos.NewPartitionKeyString(head.ID), []byte(item), nil); err != nil {
			t.Fatal(err)
		}
	}

	var out bytes.Buffer
	err = run(ctx, &out)
	if err == nil || !strings.Contains(out.String(), "users 3, credentials 3, indexed 2, conflicts 1") ||
		!strings.Contains(out.String(), "conflict: AQID held by u1 and u3") {
		t.Fatalf("first run: %v\n%s", err, out.String())
	}
	for id, want := range map[string]string{"\x01\x02\x03": "u1", "\x04\x05\x06": "u2"} {
		if owner, err := store.CredentialOwner(ctx, []byte(id)); err != nil || owner != want {
			t.Errorf("CredentialOwner(%x) = %q, %v; want %s", id, owner, err, want)
		}
	}
	out.Reset()
	if err := run(ctx, &out); err == nil || !strings.Contains(out.String(), "users 3, credentials 3, indexed 2, conflicts 1") {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
}
