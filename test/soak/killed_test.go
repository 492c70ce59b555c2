package soak_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/loadgen"
	"github.com/passkeys-b2c/passkeys/internal/softauthn"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TestKilledMidLoad kills a handler on the embedded store with SIGKILL in
// the middle of mixed ceremonies and starts it again on the same file:
// every passkey whose registration it acknowledged is there and signs in
// (sign counters it had not yet committed are behind, which the genuine
// authenticators' higher counters pass), and no challenge it issued
// before the kill, used or not, works after it.
func TestKilledMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	h := testenv.StartHandler(t, "", "PASSKEY_RP_ORIGINS="+origin)
	target := fmt.Sprintf("http://127.0.0.1:%d", h.Port)
	r, err := loadgen.New(loadgen.Config{
		Targets: []string{target}, Origin: origin, Concurrency: 8, Users: 32,
		Duration: time.Minute, Mix: map[string]int{"register": 1, "login": 6, "usernameless": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	// A login begun before the kill and finished after it.
	u := r.Users()[0]
	begun, err := r.Post(ctx, "login-begin", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := u.Devices[0].Login(begun["options"].(string))
	if err != nil {
		t.Fatal(err)
	}

	load, cancel := context.WithCancel(ctx)
	done := make(chan *loadgen.Result)
	go func() { done <- r.Run(load) }()
	time.Sleep(1500 * time.Millisecond) // well past a flush of the uses
	if err := h.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	res := <-done
	t.Logf("before the kill: %d ceremonies, %v", res.Total(), res.Ceremonies)
	h.Restart(t)

	if _, err := r.Post(ctx, "login-finish", map[string]string{"credential": pending}); err == nil {
		t.Error("a login begun before the kill finished after it")
	}
	passkeys := 0
	for _, u := range r.Users() {
		out, err := r.Post(ctx, "list-devices", map[string]string{"objectId": u.ObjectID})
		if err != nil {
			t.Fatal(err)
		}
		var devices []struct {
			ID string `json:"id"`
		}
		if s, _ := out["devices"].(string); s != "" {
			if err := json.Unmarshal([]byte(s), &devices); err != nil {
				t.Fatal(err)
			}
		}
		var listed []string
		for _, d := range devices {
			listed = append(listed, d.ID)
		}
		for i, id := range u.Credentials {
			passkeys++
			if !slices.Contains(listed, id) {
				t.Errorf("%s: acknowledged passkey %s is gone after the kill (listed %v)", u.ObjectID, id, listed)
				continue
			}
			raw, _ := base64.RawURLEncoding.DecodeString(id)
			options, err := r.Post(ctx, "login-begin", map[string]string{"objectId": u.ObjectID})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := u.Devices[i].Login(options["options"].(string), softauthn.WithCredentialID(raw))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Post(ctx, "login-finish", map[string]string{"objectId": u.ObjectID, "credential": cred}); err != nil {
				t.Errorf("%s: passkey %s does not sign in after the kill: %v", u.ObjectID, id, err)
			}
		}
	}
	n, problems := r.VerifySessionsUsed(ctx, 200)
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("checked %d acknowledged passkeys of %d users, and %d sessions from before the kill", passkeys, len(r.Users()), n)
}
