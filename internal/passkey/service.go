// Package passkey is the domain of the handler: the user, credential and
// session records, the storage interfaces, the error type with its codes
// and localized messages, and the WebAuthn ceremonies on top of go-webauthn.
package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Options tunes the ceremonies.
type Options struct {
	SessionTTL time.Duration
	// ConditionalTTL is the lifetime of a conditional (autofill) sign-in
	// challenge, which waits in a sign-in page the user may leave open;
	// SessionTTL when zero.
	ConditionalTTL time.Duration
	DeviceLimit    int
	Logger         *slog.Logger
	// Policy, when set, judges each new and each signing authenticator.
	Policy AuthenticatorPolicy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service runs the ceremonies and device management against a Store.
type Service struct {
	webauthn *webauthn.WebAuthn
	store    Store
	opts     Options
}

// NewService returns a Service. wa must require user verification; see
// config.Config.WebAuthn.
func NewService(wa *webauthn.WebAuthn, store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{webauthn: wa, store: store, opts: opts}
}

// maxConflictRetries bounds the optimistic-concurrency loop on user records.
const maxConflictRetries = 8

// RegisterBeginRequest starts the registration of a passkey.
type RegisterBeginRequest struct {
	ObjectID, UserName, DisplayName string
	// Mediation is empty, or conditional for the automatic upgrade after a
	// password sign-in (lifecycle.go).
	Mediation string
	// Hints are security-key, client-device or hybrid, in order.
	Hints []string
}

// BeginResult carries the options for the browser and, where a user is
// known, how many passkeys they have.
type BeginResult struct {
	Options     []byte
	DeviceCount int
	Named       bool
}

// RegisterBegin creates registration options for the user, excluding the
// passkeys they already have, and stores the challenge session.
func (s *Service) RegisterBegin(ctx context.Context, req RegisterBeginRequest) (*BeginResult, error) {
	if err := checkObjectID(req.ObjectID); err != nil {
		return nil, err
	}
	if err := checkText("userName", req.UserName, 256); err != nil {
		return nil, err
	}
	if req.DisplayName == "" {
		req.DisplayName = req.UserName
	} else if err := checkText("displayName", req.DisplayName, 256); err != nil {
		return nil, err
	}
	mediation, err := registrationMediation(req.Mediation)
	if err != nil {
		return nil, err
	}
	hints, err := parseHints(req.Hints)
	if err != nil {
		return nil, err
	}
	user, err := s.getUser(ctx, req.ObjectID)
	if err != nil {
		return nil, err
	}
	if len(user.Credentials) >= s.opts.DeviceLimit {
		if mediation == protocol.MediationConditional {
			// A silent upgrade must never stop a sign-in: no options, so the
			// page goes on without a passkey.
			return &BeginResult{DeviceCount: len(user.Credentials), Named: true}, nil
		}
		return nil, Errorf(CodeDeviceLimit, "the user has %d passkeys, the limit is %d", len(user.Credentials), s.opts.DeviceLimit)
	}
	wu := webauthnUser{user: user, name: req.UserName, displayName: req.DisplayName}
	creation, data, err := s.webauthn.BeginMediatedRegistration(wu, mediation, s.registrationOptions(wu, mediation, hints)...)
	if err != nil {
		return nil, fmt.Errorf("beginning registration: %w", err)
	}
	if err := s.saveSession(ctx, Registration, user, data, s.opts.SessionTTL); err != nil {
		return nil, err
	}
	options, err := json.Marshal(creation)
	if err != nil {
		return nil, err
	}
	return &BeginResult{Options: options, DeviceCount: len(user.Credentials), Named: true}, nil
}

// RegisterFinishRequest completes a registration.
type RegisterFinishRequest struct {
	ObjectID, Credential, DeviceName string
}

// RegisterResult describes the passkey just registered.
type RegisterResult struct {
	CredentialID  string
	DeviceName    string
	DeviceCount   int
	PasskeySynced bool
	Signals       Signals
}

// RegisterFinish verifies the attestation against its session and stores
// the new passkey. An identical retry of a completed call returns the same
// success; any other second use of the session is refused.
func (s *Service) RegisterFinish(ctx context.Context, req RegisterFinishRequest) (*RegisterResult, error) {
	if err := checkObjectID(req.ObjectID); err != nil {
		return nil, err
	}
	if req.DeviceName != "" {
		if err := checkDeviceName(req.DeviceName); err != nil {
			return nil, err
		}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(req.Credential))
	if err != nil {
		return nil, rejected("parsing the attestation credential", err)
	}
	session, err := s.claim(ctx, parsed.Response.CollectedClientData.Challenge, Registration,
		digest("register", req.ObjectID, req.DeviceName, req.Credential))
	if err != nil {
		return nil, err
	}
	if session.UserID != req.ObjectID {
		return nil, Errorf(CodeUserMismatch, "the registration was begun for another objectId")
	}
	user, err := s.sessionUser(ctx, session)
	if err != nil {
		return nil, err
	}
	created, err := s.webauthn.CreateCredential(webauthnUser{user: user}, session.Data, parsed)
	if err != nil {
		return nil, rejected("verifying the attestation", err)
	}
	var attested Attestation
	if s.opts.Policy != nil {
		if attested, err = s.opts.Policy.Registration(ctx, parsed, created); err != nil {
			return nil, err
		}
	}
	now := s.opts.Now().UTC()
	var stored Credential
	err = s.updateUser(ctx, user, func(u *User) error {
		if i := u.Find(created.ID); i >= 0 {
			if u.Credentials[i].Challenge == session.Challenge {
				stored = u.Credentials[i]
				return errAlreadyApplied
			}
			return Errorf(CodeCredentialExists, "the credential id is already registered for this user")
		}
		if len(u.Credentials) >= s.opts.DeviceLimit {
			return Errorf(CodeDeviceLimit, "the user has %d passkeys, the limit is %d", len(u.Credentials), s.opts.DeviceLimit)
		}
		stored = Credential{
			WebAuthn:   *created,
			Name:       req.DeviceName,
			CreatedAt:  now,
			LastUsedAt: now,
			Challenge:  session.Challenge,

			AttestationVerified: attested.Verified,
			Description:         attested.Description,
		}
		if stored.Name == "" {
			stored.Name = DefaultDeviceName(created, now)
		}
		u.Credentials = append(u.Credentials, stored)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RegisterResult{
		CredentialID:  encodeID(stored.WebAuthn.ID),
		DeviceName:    stored.Name,
		DeviceCount:   len(user.Credentials),
		PasskeySynced: stored.WebAuthn.Flags.BackupState,
		Signals:       s.signals(user),
	}, nil
}

// LoginBeginRequest starts a login: named when ObjectID is set, else
// usernameless with discoverable credentials.
type LoginBeginRequest struct {
	ObjectID  string
	Mediation string
	// Hints are security-key, client-device or hybrid, in order.
	Hints []string
}

// LoginBegin creates request options and stores the challenge session. A
// named login lists the user's passkeys as allowCredentials.
func (s *Service) LoginBegin(ctx context.Context, req LoginBeginRequest) (*BeginResult, error) {
	mediation := protocol.CredentialMediationRequirement(req.Mediation)
	switch mediation {
	case protocol.MediationDefault, protocol.MediationConditional, protocol.MediationOptional, protocol.MediationRequired:
	default:
		return nil, Errorf(CodeInvalidRequest, "mediation must be empty, conditional, optional or required")
	}
	hints, err := parseHints(req.Hints)
	if err != nil {
		return nil, err
	}
	var (
		assertion *protocol.CredentialAssertion
		data      *webauthn.SessionData
		user      *User
	)
	ttl := s.opts.SessionTTL
	var opts []webauthn.LoginOption
	if mediation == protocol.MediationConditional && s.opts.ConditionalTTL > 0 {
		ttl = s.opts.ConditionalTTL
		opts = append(opts, withTimeout(ttl))
	}
	if req.ObjectID == "" {
		assertion, data, err = s.webauthn.BeginDiscoverableMediatedLogin(mediation, append(loginOptions(hints), opts...)...)
	} else {
		if err = checkObjectID(req.ObjectID); err != nil {
			return nil, err
		}
		if user, err = s.getUser(ctx, req.ObjectID); err != nil {
			return nil, err
		}
		if len(user.Credentials) == 0 {
			return nil, Errorf(CodeNoDevices, "the user has no passkeys")
		}
		assertion, data, err = s.webauthn.BeginMediatedLogin(webauthnUser{user: user}, mediation, append(loginOptions(hints), opts...)...)
	}
	if err != nil {
		return nil, fmt.Errorf("beginning login: %w", err)
	}
	if err := s.saveSession(ctx, Login, user, data, ttl); err != nil {
		return nil, err
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, err
	}
	result := &BeginResult{Options: options, Named: user != nil}
	if user != nil {
		result.DeviceCount = len(user.Credentials)
	}
	return result, nil
}

// LoginFinishRequest completes a login. ObjectID is required when the
// login began with one; when given for a usernameless login it must be the
// owner of the passkey.
type LoginFinishRequest struct {
	ObjectID, Credential string
}

// LoginResult names the signed-in user and the passkey used.
type LoginResult struct {
	ObjectID      string
	CredentialID  string
	DeviceName    string
	UserVerified  bool
	PasskeySynced bool
	Signals       Signals
}

// LoginFinish verifies the assertion against its session and the stored
// passkey, refuses a sign counter that went backwards, and records the use.
func (s *Service) LoginFinish(ctx context.Context, req LoginFinishRequest) (*LoginResult, error) {
	if req.ObjectID != "" {
		if err := checkObjectID(req.ObjectID); err != nil {
			return nil, err
		}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(req.Credential))
	if err != nil {
		return nil, rejected("parsing the assertion credential", err)
	}
	session, err := s.claim(ctx, parsed.Response.CollectedClientData.Challenge, Login,
		digest("login", req.ObjectID, req.Credential))
	if err != nil {
		return nil, err
	}
	owner := session.UserID
	switch {
	case owner != "" && req.ObjectID == "":
		return nil, Errorf(CodeInvalidRequest, "objectId is required: the login was begun for a named user")
	case owner != "" && req.ObjectID != owner:
		return nil, Errorf(CodeUserMismatch, "the login was begun for another objectId")
	case owner == "":
		owner = string(parsed.Response.UserHandle)
		if owner == "" {
			return nil, Errorf(CodeCredentialRejected, "a usernameless assertion must carry the user handle")
		}
		if checkObjectID(owner) != nil {
			return nil, Errorf(CodeCredentialUnknown, "the user handle is not an objectId this service issued")
		}
		if req.ObjectID != "" && req.ObjectID != owner {
			return nil, Errorf(CodeUserMismatch, "the passkey belongs to another objectId")
		}
	}
	var user *User
	if session.UserID != "" {
		user, err = s.sessionUser(ctx, session)
	} else {
		user, err = s.getUser(ctx, owner)
	}
	if err != nil {
		return nil, err
	}
	if user.Find(parsed.RawID) < 0 {
		return nil, Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id")
	}
	wu := webauthnUser{user: user}
	var validated *webauthn.Credential
	if session.UserID != "" {
		validated, err = s.webauthn.ValidateLogin(wu, session.Data, parsed)
	} else {
		_, validated, err = s.webauthn.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, session.Data, parsed)
	}
	if err != nil {
		return nil, rejected("verifying the assertion", err)
	}
	if s.opts.Policy != nil {
		stored := user.Credentials[user.Find(parsed.RawID)]
		stored.WebAuthn.Flags = validated.Flags
		if err := s.opts.Policy.Login(ctx, &stored); err != nil {
			return nil, err
		}
	}
	counter := parsed.Response.AuthenticatorData.Counter
	now := s.opts.Now().UTC()
	var used Credential
	err = s.updateUser(ctx, user, func(u *User) error {
		i := u.Find(parsed.RawID)
		if i < 0 {
			return Errorf(CodeCredentialUnknown, "the passkey was removed during the login")
		}
		c := &u.Credentials[i]
		if c.Challenge == session.Challenge {
			used = *c
			return errAlreadyApplied
		}
		if stored := c.WebAuthn.Authenticator.SignCount; counter <= stored && (counter != 0 || stored != 0) {
			s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "sign counter went backwards; login refused",
				slog.String("objectId", u.ID), slog.String("credentialId", encodeID(c.WebAuthn.ID)),
				slog.Uint64("storedCount", uint64(stored)), slog.Uint64("receivedCount", uint64(counter)))
			// The challenge is not recorded: a retry must be refused again.
			c.WebAuthn.Authenticator.CloneWarning = true
			return errCloneDetected
		}
		c.WebAuthn.Authenticator.SignCount = counter
		c.WebAuthn.Flags = validated.Flags
		c.LastUsedAt = now
		c.Challenge = session.Challenge
		used = *c
		return nil
	})
	if errors.Is(err, errCloneDetected) {
		return nil, Errorf(CodeCredentialRejected, "the sign counter went backwards (%d): the authenticator may be cloned", counter)
	}
	if err != nil {
		return nil, err
	}
	return &LoginResult{
		ObjectID:      user.ID,
		CredentialID:  encodeID(used.WebAuthn.ID),
		DeviceName:    used.Name,
		UserVerified:  parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
		PasskeySynced: parsed.Response.AuthenticatorData.Flags.HasBackupState(),
		Signals:       s.signals(user),
	}, nil
}

// Devices returns the user's passkeys; none when the user is unknown.
func (s *Service) Devices(ctx context.Context, objectID string) ([]Device, error) {
	if err := checkObjectID(objectID); err != nil {
		return nil, err
	}
	user, err := s.getUser(ctx, objectID)
	if err != nil {
		return nil, err
	}
	devices := make([]Device, len(user.Credentials))
	for i, c := range user.Credentials {
		devices[i] = newDevice(c)
	}
	return devices, nil
}

// RenameDevice gives the user's passkey a new name and returns it as stored.
func (s *Service) RenameDevice(ctx context.Context, objectID, credentialID, name string) (string, error) {
	if err := checkObjectID(objectID); err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if err := checkDeviceName(name); err != nil {
		return "", err
	}
	id, err := decodeID(credentialID)
	if err != nil {
		return "", err
	}
	user, err := s.existingUser(ctx, objectID)
	if err != nil {
		return "", err
	}
	err = s.updateUser(ctx, user, func(u *User) error {
		i := u.Find(id)
		if i < 0 {
			return Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id")
		}
		if u.Credentials[i].Name == name {
			return errAlreadyApplied
		}
		u.Credentials[i].Name = name
		return nil
	})
	if err != nil {
		return "", err
	}
	return name, nil
}

// DeleteDevice removes the user's passkey and returns how many remain.
func (s *Service) DeleteDevice(ctx context.Context, objectID, credentialID string) (int, error) {
	if err := checkObjectID(objectID); err != nil {
		return 0, err
	}
	id, err := decodeID(credentialID)
	if err != nil {
		return 0, err
	}
	user, err := s.existingUser(ctx, objectID)
	if err != nil {
		return 0, err
	}
	err = s.updateUser(ctx, user, func(u *User) error {
		i := u.Find(id)
		if i < 0 {
			return Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id")
		}
		u.Credentials = append(u.Credentials[:i], u.Credentials[i+1:]...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(user.Credentials), nil
}

// errAlreadyApplied tells updateUser that the record already holds the
// change (an identical retry), so nothing is written.
var errAlreadyApplied = errors.New("already applied")

// errCloneDetected tells updateUser to write the clone warning and then
// report the refusal.
var errCloneDetected = errors.New("clone detected")

// updateUser applies change to the user and writes it back with optimistic
// concurrency, reading the record afresh after a conflict. user is updated
// in place to what was stored.
func (s *Service) updateUser(ctx context.Context, user *User, change func(*User) error) error {
	for attempt := 0; ; attempt++ {
		working := cloneUser(user)
		err := change(working)
		if errors.Is(err, errAlreadyApplied) {
			*user = *working
			return nil
		}
		if err != nil && !errors.Is(err, errCloneDetected) {
			return err
		}
		var writeErr error
		if working.Version == "" {
			writeErr = s.store.CreateUser(ctx, working)
		} else {
			writeErr = s.store.ReplaceUser(ctx, working)
		}
		switch {
		case writeErr == nil:
			*user = *working
			return err
		case errors.Is(writeErr, ErrConflict) || errors.Is(writeErr, ErrNotFound):
			if attempt >= maxConflictRetries {
				return fmt.Errorf("updating user: too many concurrent changes: %w", writeErr)
			}
			fresh, err := s.getUser(ctx, user.ID)
			if err != nil {
				return err
			}
			*user = *fresh
		default:
			return fmt.Errorf("updating user: %w", writeErr)
		}
	}
}

// getUser returns the stored user, or a new empty one (Version "") when
// there is none.
func (s *Service) getUser(ctx context.Context, id string) (*User, error) {
	user, err := s.store.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return &User{ID: id}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return user, nil
}

// existingUser returns the stored user; credential_unknown when there is
// none, since a user without records has no passkey to manage.
func (s *Service) existingUser(ctx context.Context, id string) (*User, error) {
	user, err := s.getUser(ctx, id)
	if err == nil && user.Version == "" {
		return nil, Errorf(CodeCredentialUnknown, "the user has no passkeys")
	}
	return user, err
}

// sessionUser returns the user as the session saw it at begin, so a finish
// need not read it again; a stale copy fails its version check on write.
func (s *Service) sessionUser(ctx context.Context, session *Session) (*User, error) {
	if session.User == nil {
		return s.getUser(ctx, session.UserID)
	}
	user := cloneUser(session.User)
	user.Version = session.UserVersion
	return user, nil
}

func (s *Service) saveSession(ctx context.Context, ceremony Ceremony, user *User, data *webauthn.SessionData, ttl time.Duration) error {
	session := &Session{
		Challenge: data.Challenge,
		Ceremony:  ceremony,
		Data:      *data,
		ExpiresAt: s.opts.Now().Add(ttl).UTC(),
	}
	if user != nil {
		// The snapshot of a user with no record yet (Version "") tells the
		// finish to create the record without reading it first.
		session.UserID = user.ID
		session.User = user
		session.UserVersion = user.Version
	}
	if err := s.store.CreateSession(ctx, session); err != nil {
		return fmt.Errorf("storing the challenge session: %w", err)
	}
	return nil
}

// withTimeout sets the options' timeout, which the browser and the page
// script read as the challenge's lifetime.
func withTimeout(d time.Duration) webauthn.LoginOption {
	return func(o *protocol.PublicKeyCredentialRequestOptions) error {
		o.Timeout = int(d.Milliseconds())
		return nil
	}
}

// claim finds the session of the challenge and takes it for this request.
// It fails when the session is unknown, expired, for another ceremony, or
// already taken by a different request.
func (s *Service) claim(ctx context.Context, challenge string, ceremony Ceremony, requestDigest string) (*Session, error) {
	if challenge == "" {
		return nil, Errorf(CodeCredentialRejected, "clientDataJSON has no challenge")
	}
	// The claim records when it was made, so that expiry is judged at the
	// first attempt: B2C's retry of a request made in time is answered even
	// when it arrives after the session expired.
	session, won, err := s.store.ClaimSession(ctx, challenge, requestDigest+"@"+s.opts.Now().UTC().Format(time.RFC3339Nano))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeChallengeExpired, "no challenge session for this challenge: unknown or expired")
	}
	if err != nil {
		return nil, fmt.Errorf("claiming the challenge session: %w", err)
	}
	claimDigest, claimedAt, _ := strings.Cut(session.Claim, "@")
	if !won && claimDigest != requestDigest {
		return nil, Errorf(CodeChallengeUsed, "the challenge session was already used by another request")
	}
	if at, err := time.Parse(time.RFC3339Nano, claimedAt); err != nil || at.After(session.ExpiresAt) {
		return nil, Errorf(CodeChallengeExpired, "the challenge session expired at %s", session.ExpiresAt.Format(time.RFC3339))
	}
	if session.Ceremony != ceremony {
		return nil, Errorf(CodeCredentialRejected, "the challenge was issued for %s, not %s", session.Ceremony, ceremony)
	}
	return session, nil
}

// rejected maps a go-webauthn failure to credential_rejected (or
// credential_unknown), keeping its details for the developer message.
func rejected(step string, err error) *Error {
	code := CodeCredentialRejected
	var unknown *protocol.ErrorUnknownCredential
	if errors.As(err, &unknown) {
		code = CodeCredentialUnknown
	}
	msg := step + " failed"
	var perr *protocol.Error
	if errors.As(err, &perr) {
		msg = fmt.Sprintf("%s failed: %s", step, perr.Details)
		if perr.DevInfo != "" {
			msg += ": " + perr.DevInfo
		}
	}
	return &Error{Code: code, Message: msg, Err: err}
}

// digest identifies a finish request, so that an identical retry is told
// apart from a different request on the same session.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cloneUser(u *User) *User {
	c := *u
	c.Credentials = append([]Credential(nil), u.Credentials...)
	return &c
}

func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

func decodeID(s string) ([]byte, error) {
	id, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(id) == 0 || len(id) > 1023 {
		return nil, Errorf(CodeInvalidRequest, "credentialId must be a base64url credential id")
	}
	return id, nil
}

// checkObjectID accepts what B2C puts in objectId: a GUID, or at least a
// short token of letters, digits and -._ (it becomes the WebAuthn user
// handle, which may be at most 64 bytes).
func checkObjectID(id string) error {
	if id == "" {
		return Errorf(CodeInvalidRequest, "objectId is required")
	}
	if len(id) > 64 {
		return Errorf(CodeInvalidRequest, "objectId must be at most 64 characters")
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.')) {
			return Errorf(CodeInvalidRequest, "objectId may hold only letters, digits and -._")
		}
	}
	return nil
}

func checkText(field, value string, max int) error {
	if strings.TrimSpace(value) == "" {
		return Errorf(CodeInvalidRequest, "%s is required", field)
	}
	if utf8.RuneCountInString(value) > max {
		return Errorf(CodeInvalidRequest, "%s must be at most %d characters", field, max)
	}
	if strings.IndexFunc(value, unicode.IsControl) >= 0 || !utf8.ValidString(value) {
		return Errorf(CodeInvalidRequest, "%s must not hold control characters", field)
	}
	return nil
}

func checkDeviceName(name string) error {
	return checkText("deviceName", name, 64)
}
