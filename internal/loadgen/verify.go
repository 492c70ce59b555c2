package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// Verify checks what the handlers hold against what the runner was told:
// every user lists exactly the passkeys whose registration was confirmed,
// none twice, and every one of them signs in (a named login with that
// passkey). It returns every discrepancy found.
func (r *Runner) Verify(ctx context.Context) []error {
	var problems []error
	for _, u := range r.users {
		u.mu.Lock()
		problems = append(problems, r.verifyUser(ctx, u)...)
		u.mu.Unlock()
	}
	return problems
}

func (r *Runner) verifyUser(ctx context.Context, u *User) []error {
	var problems []error
	out, err := r.Post(ctx, "list-devices", map[string]string{"objectId": u.ObjectID})
	if err != nil {
		return []error{fmt.Errorf("%s: %w", u.ObjectID, err)}
	}
	var devices []struct {
		ID string `json:"id"`
	}
	if s, _ := out["devices"].(string); s != "" {
		if err := json.Unmarshal([]byte(s), &devices); err != nil {
			return []error{fmt.Errorf("%s: devices is not a JSON array: %v", u.ObjectID, err)}
		}
	}
	var listed []string
	for _, d := range devices {
		listed = append(listed, d.ID)
	}
	want := slices.Clone(u.Credentials)
	slices.Sort(listed)
	slices.Sort(want)
	if n := number(out["deviceCount"]); n != len(want) || !slices.Equal(listed, want) {
		problems = append(problems, fmt.Errorf("%s: the handler lists %d passkeys %v (deviceCount %d), the runner registered %d %v",
			u.ObjectID, len(listed), listed, n, len(want), want))
	}
	for i, id := range u.Credentials {
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: credentialId %q is not base64url", u.ObjectID, id))
			continue
		}
		if err := r.login(ctx, u, true, u.Devices[i], []softauthn.CeremonyOption{softauthn.WithCredentialID(raw)}); err != nil {
			problems = append(problems, fmt.Errorf("%s: passkey %s does not sign in: %w", u.ObjectID, id, err))
		}
	}
	return problems
}

// VerifySessionsUsed finishes again, with a new credential for the same
// options, up to limit of the ceremonies the runner completed (chosen at
// random; 0 means all). Each must be refused as challenge_used or
// challenge_expired: no session stays usable after its ceremony. Run it
// last: the extra registrations leave keys on fresh authenticators only,
// but the extra logins move the devices' sign counters on.
func (r *Runner) VerifySessionsUsed(ctx context.Context, limit int) (checked int, problems []error) {
	r.mu.Lock()
	sessions := slices.Clone(r.sessions)
	r.mu.Unlock()
	rand.Shuffle(len(sessions), func(i, j int) { sessions[i], sessions[j] = sessions[j], sessions[i] })
	if limit > 0 && len(sessions) > limit {
		sessions = sessions[:limit]
	}
	for _, s := range sessions {
		var (
			function string
			claims   = map[string]string{}
			cred     string
			err      error
		)
		switch s.kind {
		case Register:
			function = "register-finish"
			claims["objectId"] = s.user.ObjectID
			fresh, ferr := softauthn.New(r.cfg.Origin)
			if ferr != nil {
				return checked, append(problems, ferr)
			}
			cred, err = fresh.Register(s.options)
		default:
			function = "login-finish"
			if s.kind == Login {
				claims["objectId"] = s.user.ObjectID
			}
			s.user.mu.Lock()
			cred, err = s.device.Login(s.options)
			s.user.mu.Unlock()
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("%s %s: authenticator: %w", s.kind, s.user.ObjectID, err))
			continue
		}
		claims["credential"] = cred
		checked++
		_, err = r.Post(ctx, function, claims)
		var se *StatusError
		switch {
		case err == nil:
			problems = append(problems, fmt.Errorf("%s %s: a second %s on a used session succeeded", s.kind, s.user.ObjectID, function))
		case errors.As(err, &se) && se.Status == 409 && (se.Code == "challenge_used" || se.Code == "challenge_expired"):
		default:
			problems = append(problems, fmt.Errorf("%s %s: a second %s on a used session: %v, want 409 challenge_used", s.kind, s.user.ObjectID, function, err))
		}
	}
	return checked, problems
}
