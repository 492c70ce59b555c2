// Package passkey is the domain of the handler: the user, credential and
// session records, the storage interfaces, the error type with its codes
// and localized messages, and the WebAuthn ceremonies on top of go-webauthn.
package passkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

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
	// RetryWindow is how long after the first finish call on a session an
	// identical one is answered with the first one's result; RetryWindow
	// (the constant) when zero.
	RetryWindow time.Duration
	Logger      *slog.Logger
	// Policy, when set, judges each new and each signing authenticator.
	Policy AuthenticatorPolicy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RetryWindow covers B2C's retries of a finish call: it waits up to 30 s
// for an answer and tries three times, so the last try starts at most
// about 60 s after the first; the rest is margin for its own delays.
const RetryWindow = 90 * time.Second

// Service runs the ceremonies and device management against a Store.
type Service struct {
	webauthn *webauthn.WebAuthn
	store    Store
	opts     Options

	// marksInRecords: a named login's mark goes into the user's record
	// (the store implements MarksInRecords).
	marksInRecords bool

	once       sync.Once // prepare
	prepareErr error
	sealer     *sealer
	templates  map[templateKey]webauthn.SessionData
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
	if opts.RetryWindow == 0 {
		opts.RetryWindow = RetryWindow
	}
	svc := &Service{webauthn: wa, store: store, opts: opts}
	if m, ok := store.(MarksInRecords); ok {
		svc.marksInRecords = m.MarksInRecords()
	}
	return svc
}

// RegisterBeginRequest starts the registration of a passkey.
type RegisterBeginRequest struct {
	ObjectID, UserName, DisplayName string
	// Mediation is empty, or conditional for the automatic upgrade after a
	// password sign-in (lifecycle.go).
	Mediation string
	// Hints are security-key, client-device or hybrid, in order.
	Hints []string
	// CorrelationID is the B2C journey; the finish must carry the same.
	CorrelationID string
}

// BeginResult carries the options for the browser and, where the ceremony
// was begun for a user (ForUser), how many passkeys they have.
type BeginResult struct {
	Options     []byte
	DeviceCount int
	ForUser     bool
}

// RegisterBegin creates registration options for the user, excluding the
// passkeys they already have, and stores the challenge session.
func (s *Service) RegisterBegin(ctx context.Context, req RegisterBeginRequest) (*BeginResult, error) {
	if err := checkObjectID(req.ObjectID); err != nil {
		return nil, err
	}
	userName, err := cleanText("userName", req.UserName, 256)
	if err != nil {
		return nil, err
	}
	displayName := userName
	if strings.TrimSpace(req.DisplayName) != "" {
		if displayName, err = cleanText("displayName", req.DisplayName, 256); err != nil {
			return nil, err
		}
	}
	correlationID, err := checkCorrelationID(req.CorrelationID)
	if err != nil {
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
			return &BeginResult{DeviceCount: len(user.Credentials), ForUser: true}, nil
		}
		return nil, Errorf(CodeDeviceLimit, "the user has %d passkeys, the limit is %d", len(user.Credentials), s.opts.DeviceLimit)
	}
	// The session is sealed into the challenge: nothing is written.
	challenge, err := s.newChallenge(&Session{Ceremony: Registration, UserID: user.ID, CorrelationID: correlationID,
		Conditional: mediation == protocol.MediationConditional}, s.opts.SessionTTL)
	if err != nil {
		return nil, err
	}
	wu := webauthnUser{user: user, name: userName, displayName: displayName}
	creation, _, err := s.webauthn.BeginMediatedRegistration(wu, mediation, append(s.registrationOptions(wu, mediation, hints),
		func(o *protocol.PublicKeyCredentialCreationOptions) error { o.Challenge = challenge; return nil })...)
	if err != nil {
		return nil, fmt.Errorf("beginning registration: %w", err)
	}
	options, err := json.Marshal(creation)
	if err != nil {
		return nil, err
	}
	return &BeginResult{Options: options, DeviceCount: len(user.Credentials), ForUser: true}, nil
}

// RegisterFinishRequest completes a registration.
type RegisterFinishRequest struct {
	ObjectID, Credential, DeviceName string
	// CorrelationID must be the one the registration was begun with.
	CorrelationID string
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
// the new passkey. An identical retry within the retry window gets the
// first call's result again, read from the record without verifying or
// writing; any other second use of the session is refused.
func (s *Service) RegisterFinish(ctx context.Context, req RegisterFinishRequest) (res *RegisterResult, err error) {
	defer func() { s.refused(ctx, "registration", req.ObjectID, err) }()
	if err := checkObjectID(req.ObjectID); err != nil {
		return nil, err
	}
	deviceName := strings.TrimSpace(req.DeviceName)
	if deviceName != "" {
		if err := checkDeviceName(deviceName); err != nil {
			return nil, err
		}
	}
	if err := checkCredentialClaim(req.Credential, maxAttestationBytes); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(req.Credential))
	if err != nil {
		return nil, rejected("parsing the attestation credential", err)
	}
	session, err := s.openSession(parsed.Response.CollectedClientData.Challenge, Registration, req.CorrelationID)
	if err != nil {
		return nil, err
	}
	if session.UserID != req.ObjectID {
		return nil, Errorf(CodeUserMismatch, "the registration was begun for another objectId")
	}
	// A registration is claimed before it is verified: any other request
	// on its session is refused.
	first, retry, err := s.claim(ctx, session, Claim{
		Digest: digest("register", req.ObjectID, req.DeviceName, req.CorrelationID, req.Credential),
		At:     s.opts.Now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	if retry && first.Result != nil {
		result, err := s.storedResult(ctx, first.Result, session.UserID, parsed.Response.AttestationObject.AuthData.AttData.CredentialID, nil)
		if err != nil {
			return nil, err
		}
		return registerResult(result, s.currentSignals(ctx, result.ObjectID)), nil
	}
	user, err := s.getUser(ctx, session.UserID)
	if err != nil {
		return nil, err
	}
	created, err := s.webauthn.CreateCredential(webauthnUser{user: user}, s.sessionData(session, user.ID), parsed)
	if err != nil {
		return nil, rejected("verifying the attestation", err)
	}
	if err := checkPublicKey(created.PublicKey); err != nil {
		return nil, err
	}
	var attested Attestation
	if s.opts.Policy != nil {
		if attested, err = s.opts.Policy.Registration(ctx, parsed, created); err != nil {
			return nil, err
		}
	}
	now := s.opts.Now().UTC()
	key := Key{
		ID:                created.ID,
		PublicKey:         created.PublicKey,
		AttestationFormat: created.AttestationFormat,
		Transport:         cleanTransports(created.Transport),
		Flags:             created.Flags,
		Authenticator: webauthn.Authenticator{
			AAGUID:     created.Authenticator.AAGUID,
			SignCount:  created.Authenticator.SignCount,
			Attachment: created.Authenticator.Attachment,
		},
		Extensions: KeyExtensions{RK: created.Extensions.RK},
	}
	stored := Credential{
		WebAuthn: key, Name: deviceName, CreatedAt: now, LastUsedAt: now, Challenge: challengeTag(session.Challenge),
		AttestationVerified: attested.Verified, Description: attested.Description,
	}
	if stored.Name == "" {
		stored.Name = DefaultDeviceName(key, now)
	}
	written := false
	err = s.updateUser(ctx, user, func(u *User) outcome {
		if i := u.Find(key.ID); i >= 0 {
			if u.Credentials[i].Challenge == challengeTag(session.Challenge) {
				// A retry whose first call stored the passkey but did not
				// get to record its result.
				stored = u.Credentials[i]
				return keep
			}
			return refuse(Errorf(CodeCredentialExists, "the credential id is already registered for this user"))
		}
		if len(u.Credentials) >= s.opts.DeviceLimit {
			return refuse(Errorf(CodeDeviceLimit, "the user has %d passkeys, the limit is %d", len(u.Credentials), s.opts.DeviceLimit))
		}
		u.Credentials = append(u.Credentials, stored)
		written = true
		return write
	})
	if err != nil {
		return nil, err
	}
	if written {
		s.event(ctx, EventRegistered, user.ID, stored)
	}
	result := &Result{
		ObjectID:      user.ID,
		CredentialID:  stored.WebAuthn.ID,
		DeviceName:    stored.Name,
		DeviceCount:   len(user.Credentials),
		PasskeySynced: stored.WebAuthn.Flags.BackupState,
	}
	s.setResult(ctx, session, result)
	return registerResult(result, s.signals(user)), nil
}

// registerResult is the answer of a registration with the user's signals
// as they are now.
func registerResult(r *Result, signals Signals) *RegisterResult {
	return &RegisterResult{
		CredentialID:  encodeID(r.CredentialID),
		DeviceName:    r.DeviceName,
		DeviceCount:   r.DeviceCount,
		PasskeySynced: r.PasskeySynced,
		Signals:       signals,
	}
}

// LoginBeginRequest starts a login: for a user when ObjectID is set, else
// usernameless with discoverable credentials.
type LoginBeginRequest struct {
	ObjectID  string
	Mediation string
	// Hints are security-key, client-device or hybrid, in order.
	Hints []string
	// CorrelationID is the B2C journey; the finish must carry the same.
	CorrelationID string
}

// LoginBegin creates request options and stores the challenge session. A
// login for a user lists the user's passkeys as allowCredentials.
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
	correlationID, err := checkCorrelationID(req.CorrelationID)
	if err != nil {
		return nil, err
	}
	var (
		assertion *protocol.CredentialAssertion
		user      *User
	)
	ttl := s.opts.SessionTTL
	var opts []webauthn.LoginOption
	if mediation == protocol.MediationConditional && s.opts.ConditionalTTL > 0 {
		ttl = s.opts.ConditionalTTL
		opts = append(opts, withTimeout(ttl))
	}
	if req.ObjectID != "" {
		if err = checkObjectID(req.ObjectID); err != nil {
			return nil, err
		}
		if user, err = s.getUser(ctx, req.ObjectID); err != nil {
			return nil, err
		}
		if len(user.Credentials) == 0 {
			return nil, Errorf(CodeNoDevices, "the user has no passkeys")
		}
	}
	// The session is sealed into the challenge: nothing is written, so a
	// page load (every visit to the sign-in page, bots included) costs no
	// storage at all.
	challenge, err := s.newChallenge(&Session{Ceremony: Login, UserID: req.ObjectID, CorrelationID: correlationID}, ttl)
	if err != nil {
		return nil, err
	}
	opts = append(append(loginOptions(hints), opts...), webauthn.WithChallenge(challenge))
	if user == nil {
		assertion, _, err = s.webauthn.BeginDiscoverableMediatedLogin(mediation, opts...)
	} else {
		assertion, _, err = s.webauthn.BeginMediatedLogin(webauthnUser{user: user}, mediation, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("beginning login: %w", err)
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, err
	}
	result := &BeginResult{Options: options, ForUser: user != nil}
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
	// CorrelationID must be the one the login was begun with.
	CorrelationID string
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

// LastUsedGranularity is how stale a passkey's last-used time may get
// before a login writes it: a login whose sign counter and flags are
// unchanged (synced passkeys report a counter of 0) writes nothing to the
// user's record unless the stored time is older than this.
const LastUsedGranularity = time.Hour

// LoginFinish verifies the assertion against its session and the stored
// passkey, refuses a sign counter that did not increase, marks the
// session used with its result, and writes the user's record only when
// something it keeps changed (sign counter, flags, a last use older than
// LastUsedGranularity). An identical retry within the retry window gets
// the first call's result again, with nothing verified or written.
//
// A login is verified before its session is marked, so that the mark
// carries the result from the start: a retry is answered from it even
// when the record was not written. A request refused before the mark (a
// bad signature, an unknown passkey, a cloned authenticator) does not
// use the session up, and its retry runs the ceremony again.
func (s *Service) LoginFinish(ctx context.Context, req LoginFinishRequest) (res *LoginResult, err error) {
	defer func() { s.refused(ctx, "login", req.ObjectID, err) }()
	if req.ObjectID != "" {
		if err := checkObjectID(req.ObjectID); err != nil {
			return nil, err
		}
	}
	if err := checkCredentialClaim(req.Credential, maxAssertionBytes); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(req.Credential))
	if err != nil {
		return nil, rejected("parsing the assertion credential", err)
	}
	session, err := s.openSession(parsed.Response.CollectedClientData.Challenge, Login, req.CorrelationID)
	if err != nil {
		return nil, err
	}
	mark := Claim{Digest: digest("login", req.ObjectID, req.CorrelationID, req.Credential), At: s.opts.Now().UTC()}
	owner, err := s.owner(ctx, session, req.ObjectID, parsed)
	if err != nil {
		return nil, err
	}
	if s.marksInRecords && session.UserID != "" {
		return s.namedLoginMarkedInRecord(ctx, session, owner, parsed, mark)
	}
	if s.expired(session, mark.At) {
		// Only the retry of a first attempt made in time is answered: the
		// claim finds its mark, or marks this one expired.
		first, _, err := s.claim(ctx, session, mark)
		if err != nil {
			return nil, err
		}
		if first.Result != nil {
			return s.loginRetryAnswer(ctx, first.Result, owner, parsed)
		}
		// The first attempt, in time, did not succeed: run it again.
	}
	user, err := s.getUser(ctx, owner)
	if err != nil {
		return nil, err
	}
	v, err := s.verifyAssertion(ctx, session, user, parsed)
	if err != nil {
		return nil, err
	}
	var first Claim
	if !v.cloned {
		// Mark the session used, with the result a retry is answered
		// with. A cloned authenticator's login is refused below without a
		// mark, so its retry is refused again.
		mark.Result = v.result(user)
		var retry bool
		if first, retry, err = s.claim(ctx, session, mark); err != nil {
			return nil, err
		}
		if retry && first.Result != nil {
			return s.loginRetryAnswer(ctx, first.Result, owner, parsed)
		}
		// This call won the mark, or retries a first call that did not
		// succeed: it records the use.
	}
	var used Credential
	written := false
	err = s.updateUser(ctx, user, func(u *User) outcome {
		decided := s.recordLogin(u, parsed.RawID, session, v, mark.At, &used)
		written = decided.write && decided.refusal == nil
		return decided
	})
	switch {
	case v.cloned:
	case err != nil:
		// The mark promised a result the write did not make: a retry
		// runs the ceremony again.
		s.setResult(ctx, session, nil)
	case first.Result == nil:
		// A retry of a first call that did not succeed: its result now.
		s.setResult(ctx, session, mark.Result)
	}
	return s.loginAnswer(ctx, user, used, v, written, mark.Result, err)
}

// loginRetryAnswer answers B2C's identical retry of a login that
// succeeded.
func (s *Service) loginRetryAnswer(ctx context.Context, first *Result, owner string, parsed *protocol.ParsedCredentialAssertionData) (*LoginResult, error) {
	result, err := s.storedResult(ctx, first, owner, parsed.RawID, &parsed.Response.AuthenticatorData.Flags)
	if err != nil {
		return nil, err
	}
	return loginResult(result, s.currentSignals(ctx, result.ObjectID)), nil
}

// storedResult is the result a mark kept of a finish that succeeded. A
// store that keeps only that it succeeded (the embedded store: its marks
// are in memory) gives an empty one; it is then rebuilt from the record
// and the request, which is the first one's (an identical retry): its
// credential, with the flags it asserted for a login (flags nil: a
// registration, with the passkey count).
func (s *Service) storedResult(ctx context.Context, first *Result, owner string, credentialID []byte, flags *protocol.AuthenticatorFlags) (*Result, error) {
	if first.ObjectID != "" {
		return first, nil
	}
	user, err := s.getUser(ctx, owner)
	if err != nil {
		return nil, err
	}
	i := user.Find(credentialID)
	if i < 0 {
		return nil, Errorf(CodeCredentialUnknown, "the passkey was removed since the first call")
	}
	c := user.Credentials[i]
	result := &Result{ObjectID: user.ID, CredentialID: c.WebAuthn.ID, DeviceName: c.Name, PasskeySynced: c.WebAuthn.Flags.BackupState}
	if flags == nil {
		result.DeviceCount = len(user.Credentials)
	} else {
		result.UserVerified, result.PasskeySynced = flags.HasUserVerified(), flags.HasBackupState()
	}
	return result, nil
}

// namedLoginMarkedInRecord finishes a login begun for a user on a store
// that keeps a named login's mark in the user's record (MarksInRecords):
// the mark is written by the replace that records the use, so the finish
// is one read and one write. Every request on the session is for that
// one record, whose version makes the mark single-use.
func (s *Service) namedLoginMarkedInRecord(ctx context.Context, session *Session, owner string, parsed *protocol.ParsedCredentialAssertionData, mark Claim) (*LoginResult, error) {
	tag := challengeTag(session.Challenge)
	user, err := s.getUser(ctx, owner)
	if err != nil {
		return nil, err
	}
	answerMarked := func(m *Mark) (*LoginResult, error) {
		switch {
		case m.Digest != mark.Digest:
			return nil, Errorf(CodeChallengeUsed, "the challenge session was already used by another request")
		case mark.At.Sub(m.At) > s.opts.RetryWindow:
			return nil, Errorf(CodeChallengeUsed, "the challenge session was used %s ago; a retry is answered for %s",
				mark.At.Sub(m.At).Round(time.Second), s.opts.RetryWindow)
		case m.Result == nil:
			return nil, Errorf(CodeCredentialRejected, "the first call on this challenge session was refused; so is its retry")
		}
		return loginResult(m.Result, s.signals(user)), nil
	}
	if m := user.findMark(tag); m != nil {
		return answerMarked(m)
	}
	if s.expired(session, mark.At) {
		return nil, Errorf(CodeChallengeExpired, "the challenge session expired at %s", session.ExpiresAt.Format(time.RFC3339))
	}
	v, err := s.verifyAssertion(ctx, session, user, parsed)
	if err != nil {
		return nil, err
	}
	var (
		used    Credential
		marked  *Mark
		written bool
	)
	result := v.result(user)
	err = s.updateUser(ctx, user, func(u *User) outcome {
		if m := u.findMark(tag); m != nil {
			marked = m // another request on this session wrote first
			return keep
		}
		decided := s.recordLogin(u, parsed.RawID, session, v, mark.At, &used)
		if !decided.write && decided.refusal != nil {
			return decided // nothing to mark: the passkey is gone
		}
		m := Mark{Tag: tag, Digest: mark.Digest, At: mark.At, Until: session.ExpiresAt.Add(s.opts.RetryWindow)}
		if decided.refusal == nil {
			m.Result = result
		}
		u.addMark(m, mark.At)
		written = decided.refusal == nil
		return outcome{write: true, refusal: decided.refusal} // the mark is durable
	})
	if marked != nil {
		return answerMarked(marked)
	}
	return s.loginAnswer(ctx, user, used, v, written, result, err)
}

// verified is what verifying an assertion found.
type verified struct {
	validated  *webauthn.Credential
	counter    uint32
	flipped    bool // the backup-eligible flag differs from the stored one
	cloned     bool // the counter did not increase over the record read
	uv, synced bool
	id         []byte
}

// result is the answer of the verified login for the user.
func (v verified) result(user *User) *Result {
	r := &Result{ObjectID: user.ID, CredentialID: v.id, UserVerified: v.uv, PasskeySynced: v.synced}
	if i := user.Find(v.id); i >= 0 {
		r.DeviceName = user.Credentials[i].Name
	}
	return r
}

// verifyAssertion checks the assertion against the session and the
// user's passkey, and the authenticator policy.
func (s *Service) verifyAssertion(ctx context.Context, session *Session, user *User, parsed *protocol.ParsedCredentialAssertionData) (verified, error) {
	i := user.Find(parsed.RawID)
	if i < 0 {
		return verified{}, Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id")
	}
	// A synced passkey may change its backup-eligible flag (iCloud
	// Keychain, KeePassXC), which go-webauthn refuses as inconsistent:
	// verify against the flag the authenticator now reports, and record
	// the change.
	asserted := parsed.Response.AuthenticatorData.Flags.HasBackupEligible()
	verifying := cloneUser(user)
	flipped := verifying.Credentials[i].WebAuthn.Flags.BackupEligible != asserted
	verifying.Credentials[i].WebAuthn.Flags.BackupEligible = asserted
	// A usernameless session names no user; the owner found from the
	// user handle (which go-webauthn still checks when present) or the
	// index is the one the assertion is verified for.
	validated, err := s.webauthn.ValidateLogin(webauthnUser{user: verifying}, s.sessionData(session, user.ID), parsed)
	if err != nil {
		return verified{}, rejected("verifying the assertion", err)
	}
	if s.opts.Policy != nil {
		stored := user.Credentials[i]
		stored.WebAuthn.Flags = validated.Flags
		if err := s.opts.Policy.Login(ctx, &stored); err != nil {
			return verified{}, err
		}
	}
	flags := parsed.Response.AuthenticatorData.Flags
	counter := parsed.Response.AuthenticatorData.Counter
	return verified{
		validated: validated, counter: counter, flipped: flipped,
		// A counter this session's first call recorded is no clone.
		cloned: cloned(counter, user.Credentials[i].WebAuthn.Authenticator.SignCount) &&
			user.Credentials[i].Challenge != challengeTag(session.Challenge),
		uv: flags.HasUserVerified(), synced: flags.HasBackupState(), id: parsed.RawID,
	}, nil
}

// cloned reports a sign counter that did not increase over the stored
// one; a counter of 0 on both sides means the authenticator keeps none.
func cloned(counter, stored uint32) bool {
	return counter <= stored && (counter != 0 || stored != 0)
}

// recordLogin applies a verified login to the record: a counter that did
// not increase is refused and the clone warning kept (durably); otherwise
// the counter, flags and last use are recorded as a use, with the
// session's tag so that a retry finds it done, or nothing is written when
// none of them changed enough. used is the credential as the login left
// it.
func (s *Service) recordLogin(u *User, credentialID []byte, session *Session, v verified, now time.Time, used *Credential) outcome {
	i := u.Find(credentialID)
	if i < 0 {
		return refuse(Errorf(CodeCredentialUnknown, "the passkey was removed during the login"))
	}
	c := &u.Credentials[i]
	tag := challengeTag(session.Challenge)
	if c.Challenge == tag {
		// A retry whose first call recorded the use but did not get to
		// record its result.
		*used = *c
		return keep
	}
	if stored := c.WebAuthn.Authenticator.SignCount; cloned(v.counter, stored) {
		c.WebAuthn.Authenticator.CloneWarning = true
		*used = *c
		return writeThenRefuse(Errorf(CodeCredentialRejected,
			"the sign counter did not increase (%d, stored %d): the authenticator may be cloned", v.counter, stored))
	}
	before := *c
	c.WebAuthn.Authenticator.SignCount = v.counter
	c.WebAuthn.Flags = v.validated.Flags
	c.BackupEligibleChanged = c.BackupEligibleChanged || v.flipped
	*used = *c
	if c.WebAuthn.Authenticator.SignCount == before.WebAuthn.Authenticator.SignCount && c.WebAuthn.Flags == before.WebAuthn.Flags &&
		c.BackupEligibleChanged == before.BackupEligibleChanged && now.Sub(c.LastUsedAt) < LastUsedGranularity {
		return keep
	}
	c.LastUsedAt = now
	c.Challenge = tag
	*used = *c
	return recordUse
}

// loginAnswer logs the login's security events and answers it.
func (s *Service) loginAnswer(ctx context.Context, user *User, used Credential, v verified, written bool, result *Result, err error) (*LoginResult, error) {
	if v.cloned && ErrorCode(err) == CodeCredentialRejected {
		s.event(ctx, EventCloneWarning, user.ID, used, slog.Uint64("receivedCount", uint64(v.counter)))
	}
	if err != nil {
		return nil, err
	}
	if v.flipped && written {
		s.event(ctx, EventBackupFlagChanged, user.ID, used)
	}
	s.event(ctx, EventSignedIn, user.ID, used)
	return loginResult(result, s.signals(user)), nil
}

// expired reports whether the session's time ran out before now.
func (s *Service) expired(session *Session, now time.Time) bool {
	return now.After(session.ExpiresAt)
}

// loginResult is the answer of a login with the user's signals as they
// are now.
func loginResult(r *Result, signals Signals) *LoginResult {
	return &LoginResult{
		ObjectID:      r.ObjectID,
		CredentialID:  encodeID(r.CredentialID),
		DeviceName:    r.DeviceName,
		UserVerified:  r.UserVerified,
		PasskeySynced: r.PasskeySynced,
		Signals:       signals,
	}
}

// owner decides whose passkey signs in: the session's user, or for a
// usernameless login the user handle, else the credential index.
func (s *Service) owner(ctx context.Context, session *Session, objectID string, parsed *protocol.ParsedCredentialAssertionData) (string, error) {
	if owner := session.UserID; owner != "" {
		switch {
		case objectID == "":
			return "", Errorf(CodeInvalidRequest, "objectId is required: the login was begun for a user")
		case objectID != owner:
			return "", Errorf(CodeUserMismatch, "the login was begun for another objectId")
		}
		return owner, nil
	}
	owner := string(parsed.Response.UserHandle)
	if owner == "" {
		// Some authenticators leave the user handle out; the credential
		// index knows whose the id is.
		found, err := s.store.CredentialOwner(ctx, parsed.RawID)
		if errors.Is(err, ErrNotFound) {
			return "", Errorf(CodeCredentialUnknown, "no user holds this credential id")
		}
		if err != nil {
			return "", fmt.Errorf("looking up the credential's owner: %w", err)
		}
		owner = found
	} else if checkObjectID(owner) != nil {
		return "", Errorf(CodeCredentialUnknown, "the user handle is not an objectId this service issued")
	}
	if objectID != "" && objectID != owner {
		return "", Errorf(CodeUserMismatch, "the passkey belongs to another objectId")
	}
	return owner, nil
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
	id, err := decodeID(credentialID)
	if err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if err := checkDeviceName(name); err != nil {
		return "", err
	}
	user, err := s.existingUser(ctx, objectID)
	if err != nil {
		return "", err
	}
	var renamed Credential
	err = s.updateUser(ctx, user, func(u *User) outcome {
		i := u.Find(id)
		if i < 0 {
			return refuse(Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id"))
		}
		renamed = u.Credentials[i]
		if u.Credentials[i].Name == name {
			return keep
		}
		u.Credentials[i].Name = name
		return write
	})
	if err != nil {
		return "", err
	}
	s.event(ctx, EventRenamed, objectID, renamed, slog.String("newName", name))
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
	var deleted Credential
	err = s.updateUser(ctx, user, func(u *User) outcome {
		i := u.Find(id)
		if i < 0 {
			return refuse(Errorf(CodeCredentialUnknown, "the user has no passkey with this credential id"))
		}
		deleted = u.Credentials[i]
		u.Credentials = append(u.Credentials[:i], u.Credentials[i+1:]...)
		return write
	})
	if err != nil {
		return 0, err
	}
	s.event(ctx, EventDeleted, objectID, deleted)
	return len(user.Credentials), nil
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

// withTimeout sets the options' timeout, which the browser and the page
// script read as the challenge's lifetime.
func withTimeout(d time.Duration) webauthn.LoginOption {
	return func(o *protocol.PublicKeyCredentialRequestOptions) error {
		o.Timeout = int(d.Milliseconds())
		return nil
	}
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

func cloneUser(u *User) *User {
	c := *u
	c.Credentials = append([]Credential(nil), u.Credentials...)
	return &c
}

func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// jitter returns a random duration in [d/2, d], so that writers that
// collided do not collide again in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
