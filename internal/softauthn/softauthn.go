// Package softauthn is a software WebAuthn authenticator together with the
// part of the client (browser) that builds clientDataJSON, written against
// the WebAuthn Level 3 specification. It takes the JSON creation and
// request options a relying party sends and returns the
// PublicKeyCredential.toJSON() form a browser would post back, so tests and
// load tools can run real ceremonies without a browser.
//
// Keys are ES256 (P-256 ECDSA). Attestation is "none", "packed" self
// attestation, or "packed" with an x5c certificate chain (full basic
// attestation, as security keys send it). Ceremony options make the authenticator lie in the ways a
// relying party must catch: no user verification, a bad signature, a sign
// counter that goes backwards, a foreign origin, chosen backup flags.
package softauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Attestation statement formats the authenticator can produce.
const (
	AttestationNone   = "none"
	AttestationPacked = "packed"
)

// Errors a ceremony returns where a browser would reject the call.
var (
	// ErrExcluded: the authenticator holds a credential listed in
	// excludeCredentials (the browser's InvalidStateError).
	ErrExcluded = errors.New("softauthn: a credential in excludeCredentials is already on this authenticator")
	// ErrNoCredential: no credential on the authenticator matches the
	// request (the browser's NotAllowedError).
	ErrNoCredential = errors.New("softauthn: no matching credential on this authenticator")
	// ErrNotSupported: the relying party accepts no algorithm the
	// authenticator has (the browser's NotSupportedError).
	ErrNotSupported = errors.New("softauthn: ES256 is not among pubKeyCredParams")
)

// Authenticator holds credentials and runs ceremonies for one origin. It
// is safe for concurrent use.
type Authenticator struct {
	origin      string
	host        string
	aaguid      [16]byte
	attestation string
	transports  []string
	attachment  string
	backupElig  bool
	backupState bool
	counterStep uint32
	// attKey and attChain, when set, sign packed attestations with x5c.
	attKey   *ecdsa.PrivateKey
	attChain [][]byte

	mu    sync.Mutex
	creds []*credential
}

// credential is one key pair the authenticator made.
type credential struct {
	id         []byte
	rpID       string
	userHandle []byte
	key        *ecdsa.PrivateKey
	counter    uint32
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithAAGUID sets the AAGUID written into attested credential data; the
// default is all zeros, as a privacy-preserving authenticator sends.
func WithAAGUID(aaguid [16]byte) Option { return func(a *Authenticator) { a.aaguid = aaguid } }

// WithAttestation picks the attestation statement format: AttestationNone
// (the default) or AttestationPacked (self attestation).
func WithAttestation(format string) Option { return func(a *Authenticator) { a.attestation = format } }

// WithAttestationCertificate makes attestations packed with an x5c chain:
// key signs them and chain (leaf first, DER) is sent, as a security key
// with a vendor attestation certificate does.
func WithAttestationCertificate(key *ecdsa.PrivateKey, chain [][]byte) Option {
	return func(a *Authenticator) {
		a.attestation, a.attKey, a.attChain = AttestationPacked, key, chain
	}
}

// WithBackup sets the backup eligible (BE) and backup state (BS) flags of
// every ceremony; the default is a synced passkey: both set.
func WithBackup(eligible, state bool) Option {
	return func(a *Authenticator) { a.backupElig, a.backupState = eligible, state }
}

// WithTransports sets the transports reported at registration; the
// default is internal and hybrid.
func WithTransports(transports ...string) Option {
	return func(a *Authenticator) { a.transports = transports }
}

// WithAttachment sets authenticatorAttachment ("platform", the default,
// or "cross-platform").
func WithAttachment(attachment string) Option {
	return func(a *Authenticator) { a.attachment = attachment }
}

// WithCounterStep sets how much the sign counter grows with each
// signature; 0 keeps it at zero, as many synced passkey providers do. The
// default is 1.
func WithCounterStep(step uint32) Option { return func(a *Authenticator) { a.counterStep = step } }

// New returns an authenticator whose client runs on origin (for example
// "https://login.contoso.com" or "http://localhost:7071").
func New(origin string, opts ...Option) (*Authenticator, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("softauthn: %q is not an origin", origin)
	}
	a := &Authenticator{
		origin:      origin,
		host:        u.Hostname(),
		attestation: AttestationNone,
		transports:  []string{"hybrid", "internal"},
		attachment:  "platform",
		backupElig:  true,
		backupState: true,
		counterStep: 1,
	}
	for _, opt := range opts {
		opt(a)
	}
	if a.attestation != AttestationNone && a.attestation != AttestationPacked {
		return nil, fmt.Errorf("softauthn: attestation format %q is not supported", a.attestation)
	}
	return a, nil
}

// CeremonyOption changes one ceremony, mostly to produce output a relying
// party must refuse.
type CeremonyOption func(*ceremony)

type ceremony struct {
	noUV, noUP, badSignature, noUserHandle bool
	counter                                *uint32
	origin                                 string
	backup                                 *[2]bool
	credentialID                           []byte
	// credProps is the credProps extension output of a registration:
	// nil means rk true when the options request it; see WithCredProps.
	credProps *protocol.CredentialPropertiesOutput
}

// WithCredProps sets what a registration reports for the credProps
// extension when the options request it: rk false (a credential that is
// not discoverable), or nothing at all (a browser that does not report it:
// WithCredProps(nil)). Without it, rk is true, as for a passkey.
func WithCredProps(rk *bool) CeremonyOption {
	return func(c *ceremony) { c.credProps = &protocol.CredentialPropertiesOutput{RK: rk} }
}

// WithoutUV clears the user verified (UV) flag.
func WithoutUV() CeremonyOption { return func(c *ceremony) { c.noUV = true } }

// WithoutUP clears the user present (UP) flag.
func WithoutUP() CeremonyOption { return func(c *ceremony) { c.noUP = true } }

// WithBadSignature corrupts the signature (of the assertion, or of a
// packed attestation statement).
func WithBadSignature() CeremonyOption { return func(c *ceremony) { c.badSignature = true } }

// WithCounter sets the sign counter of this ceremony, and stores it as the
// credential's counter: a value at or below the last one rewinds it.
func WithCounter(n uint32) CeremonyOption { return func(c *ceremony) { c.counter = &n } }

// WithOrigin writes origin into clientDataJSON instead of the
// authenticator's own (a phishing page, or a misconfigured relying party).
func WithOrigin(origin string) CeremonyOption { return func(c *ceremony) { c.origin = origin } }

// WithBackupFlags overrides the BE and BS flags of this ceremony.
func WithBackupFlags(eligible, state bool) CeremonyOption {
	return func(c *ceremony) { c.backup = &[2]bool{eligible, state} }
}

// WithCredentialID picks the credential a login uses, where several match;
// by default the most recently created matching one signs.
func WithCredentialID(id []byte) CeremonyOption {
	return func(c *ceremony) { c.credentialID = append([]byte(nil), id...) }
}

// WithoutUserHandle leaves userHandle out of the assertion.
func WithoutUserHandle() CeremonyOption { return func(c *ceremony) { c.noUserHandle = true } }

// Register runs navigator.credentials.create() with optionsJSON, either
// {"publicKey": {...}} or the bare publicKey object, and returns the new
// credential in its PublicKeyCredential.toJSON() form.
func (a *Authenticator) Register(optionsJSON string, opts ...CeremonyOption) (string, error) {
	var c ceremony
	for _, opt := range opts {
		opt(&c)
	}
	var options protocol.PublicKeyCredentialCreationOptions
	if err := decodeOptions(optionsJSON, &options); err != nil {
		return "", err
	}
	if !acceptsES256(options.Parameters) {
		return "", ErrNotSupported
	}
	rpID := options.RelyingParty.ID
	if rpID == "" {
		rpID = a.host
	}
	if err := a.checkRPID(rpID); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	userHandle, err := userID(options.User.ID)
	if err != nil {
		return "", err
	}
	cred := &credential{id: make([]byte, 32), rpID: rpID, userHandle: userHandle, key: key}
	if _, err := rand.Read(cred.id); err != nil {
		return "", err
	}

	a.mu.Lock()
	for _, excluded := range options.CredentialExcludeList {
		if a.find(rpID, excluded.CredentialID) != nil {
			a.mu.Unlock()
			return "", ErrExcluded
		}
	}
	cred.counter = a.nextCounter(cred, &c)
	// A new credential replaces one for the same user and RP, as a
	// passkey provider does.
	kept := a.creds[:0]
	for _, old := range a.creds {
		if old.rpID != rpID || !bytes.Equal(old.userHandle, cred.userHandle) {
			kept = append(kept, old)
		}
	}
	a.creds = append(kept, cred)
	a.mu.Unlock()

	coseKey, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{
			KeyType:   int64(webauthncose.EllipticKey),
			Algorithm: int64(webauthncose.AlgES256),
		},
		Curve:  int64(webauthncose.P256),
		XCoord: key.X.FillBytes(make([]byte, 32)),
		YCoord: key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		return "", fmt.Errorf("softauthn: encoding the COSE key: %w", err)
	}
	flags := a.flags(&c) | protocol.FlagAttestedCredentialData
	authData := authenticatorData(rpID, flags, cred.counter)
	authData = append(authData, a.aaguid[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(cred.id)))
	authData = append(authData, cred.id...)
	authData = append(authData, coseKey...)

	clientData, err := a.clientData(protocol.CreateCeremony, options.Challenge, &c)
	if err != nil {
		return "", err
	}
	statement := map[string]any{}
	if a.attestation == AttestationPacked {
		signer := key
		if a.attKey != nil {
			signer = a.attKey
		}
		sig, err := sign(signer, authData, clientData, c.badSignature)
		if err != nil {
			return "", err
		}
		statement = map[string]any{"alg": int64(webauthncose.AlgES256), "sig": sig}
		if a.attKey != nil {
			x5c := make([]any, len(a.attChain))
			for i, der := range a.attChain {
				x5c[i] = der
			}
			statement["x5c"] = x5c
		}
	}
	attObj, err := webauthncbor.Marshal(attestationObject{Format: a.attestation, AttStatement: statement, AuthData: authData})
	if err != nil {
		return "", fmt.Errorf("softauthn: encoding the attestation object: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	out := protocol.CredentialCreationResponse{
		PublicKeyCredential: a.publicKeyCredential(cred.id),
		AttestationResponse: protocol.AuthenticatorAttestationResponse{
			AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientData},
			Transports:            a.transports,
			AuthenticatorData:     authData,
			PublicKey:             spki,
			PublicKeyAlgorithm:    int64(webauthncose.AlgES256),
			AttestationObject:     attObj,
		},
	}
	if options.Extensions.CredProps {
		rk := true
		props := &protocol.CredentialPropertiesOutput{RK: &rk}
		if c.credProps != nil {
			props = c.credProps
		}
		if props.RK != nil {
			out.ClientExtensionResults.CredProps = props
		}
	}
	return marshal(out)
}

// Login runs navigator.credentials.get() with optionsJSON, either
// {"publicKey": {...}, "mediation": ...} or the bare publicKey object, and
// returns the assertion in its PublicKeyCredential.toJSON() form. An empty
// allowCredentials asks for a discoverable credential; its user handle is
// returned.
func (a *Authenticator) Login(optionsJSON string, opts ...CeremonyOption) (string, error) {
	var c ceremony
	for _, opt := range opts {
		opt(&c)
	}
	var options protocol.PublicKeyCredentialRequestOptions
	if err := decodeOptions(optionsJSON, &options); err != nil {
		return "", err
	}
	rpID := options.RelyingPartyID
	if rpID == "" {
		rpID = a.host
	}
	if err := a.checkRPID(rpID); err != nil {
		return "", err
	}

	a.mu.Lock()
	cred := a.pick(rpID, options.AllowedCredentials, c.credentialID)
	var counter uint32
	if cred != nil {
		counter = a.nextCounter(cred, &c)
	}
	a.mu.Unlock()
	if cred == nil {
		return "", ErrNoCredential
	}

	authData := authenticatorData(rpID, a.flags(&c), counter)
	clientData, err := a.clientData(protocol.AssertCeremony, options.Challenge, &c)
	if err != nil {
		return "", err
	}
	sig, err := sign(cred.key, authData, clientData, c.badSignature)
	if err != nil {
		return "", err
	}
	response := protocol.AuthenticatorAssertionResponse{
		AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientData},
		AuthenticatorData:     authData,
		Signature:             sig,
	}
	if !c.noUserHandle {
		response.UserHandle = cred.userHandle
	}
	return marshal(protocol.CredentialAssertionResponse{
		PublicKeyCredential: a.publicKeyCredential(cred.id),
		AssertionResponse:   response,
	})
}

// Credentials returns the ids of the credentials held, oldest first.
func (a *Authenticator) Credentials() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([][]byte, len(a.creds))
	for i, c := range a.creds {
		ids[i] = append([]byte(nil), c.id...)
	}
	return ids
}

// Counter returns the sign counter of the credential with the given id and
// whether the authenticator holds it.
func (a *Authenticator) Counter(id []byte) (uint32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c.counter, true
		}
	}
	return 0, false
}

// attestationObject is the CBOR map of §6.5.4; the encoder writes its keys
// in CTAP2 canonical order.
type attestationObject struct {
	Format       string         `cbor:"fmt"`
	AttStatement map[string]any `cbor:"attStmt"`
	AuthData     []byte         `cbor:"authData"`
}

// checkRPID applies the client's rule: the RP ID must be the origin's
// host or a registrable suffix of it.
func (a *Authenticator) checkRPID(rpID string) error {
	if a.host != rpID && !strings.HasSuffix(a.host, "."+rpID) {
		return fmt.Errorf("softauthn: RP ID %q is not valid for origin %s", rpID, a.origin)
	}
	return nil
}

// find returns the credential with the id for the RP; a.mu must be held.
func (a *Authenticator) find(rpID string, id []byte) *credential {
	for _, c := range a.creds {
		if c.rpID == rpID && bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

// pick chooses the credential that signs: the one asked for by id, else
// the newest of those allowed (any of the RP's when none are listed);
// a.mu must be held.
func (a *Authenticator) pick(rpID string, allowed []protocol.CredentialDescriptor, want []byte) *credential {
	for i := len(a.creds) - 1; i >= 0; i-- {
		c := a.creds[i]
		if c.rpID != rpID || (want != nil && !bytes.Equal(c.id, want)) {
			continue
		}
		if len(allowed) == 0 {
			return c
		}
		for _, d := range allowed {
			if bytes.Equal(d.CredentialID, c.id) {
				return c
			}
		}
	}
	return nil
}

// nextCounter returns the counter of this signature and stores it; a.mu
// must be held.
func (a *Authenticator) nextCounter(cred *credential, c *ceremony) uint32 {
	if c.counter != nil {
		cred.counter = *c.counter
	} else {
		cred.counter += a.counterStep
	}
	return cred.counter
}

func (a *Authenticator) flags(c *ceremony) protocol.AuthenticatorFlags {
	var f protocol.AuthenticatorFlags
	if !c.noUP {
		f |= protocol.FlagUserPresent
	}
	if !c.noUV {
		f |= protocol.FlagUserVerified
	}
	be, bs := a.backupElig, a.backupState
	if c.backup != nil {
		be, bs = c.backup[0], c.backup[1]
	}
	if be {
		f |= protocol.FlagBackupEligible
	}
	if bs {
		f |= protocol.FlagBackupState
	}
	return f
}

func (a *Authenticator) clientData(typ protocol.CeremonyType, challenge []byte, c *ceremony) ([]byte, error) {
	if len(challenge) == 0 {
		return nil, errors.New("softauthn: the options have no challenge")
	}
	origin := a.origin
	if c.origin != "" {
		origin = c.origin
	}
	return json.Marshal(protocol.CollectedClientData{
		Type:      typ,
		Challenge: base64.RawURLEncoding.EncodeToString(challenge),
		Origin:    origin,
	})
}

func (a *Authenticator) publicKeyCredential(id []byte) protocol.PublicKeyCredential {
	return protocol.PublicKeyCredential{
		Credential:              protocol.Credential{ID: base64.RawURLEncoding.EncodeToString(id), Type: string(protocol.PublicKeyCredentialType)},
		RawID:                   id,
		AuthenticatorAttachment: a.attachment,
	}
}

// authenticatorData writes the fixed part of §6.1: rpIdHash, flags and the
// big-endian sign counter.
func authenticatorData(rpID string, flags protocol.AuthenticatorFlags, counter uint32) []byte {
	hash := sha256.Sum256([]byte(rpID))
	data := make([]byte, 0, 37+16+2+32+80)
	data = append(data, hash[:]...)
	data = append(data, byte(flags))
	return binary.BigEndian.AppendUint32(data, counter)
}

// sign makes the ES256 signature (ASN.1 DER) over authData and the hash of
// clientDataJSON, as §6.3.3 and §8.2 define it.
func sign(key *ecdsa.PrivateKey, authData, clientData []byte, corrupt bool) ([]byte, error) {
	clientHash := sha256.Sum256(clientData)
	h := sha256.New()
	h.Write(authData)
	h.Write(clientHash[:])
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	if corrupt {
		sig[len(sig)-1] ^= 0x01
	}
	return sig, nil
}

// userID reads user.id, which JSON options carry as base64url.
func userID(id any) ([]byte, error) {
	switch v := id.(type) {
	case string:
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
		if err != nil || len(b) == 0 || len(b) > 64 {
			return nil, errors.New("softauthn: user.id must be 1 to 64 bytes in base64url")
		}
		return b, nil
	case []byte:
		return append([]byte(nil), v...), nil
	case protocol.URLEncodedBase64:
		return append([]byte(nil), v...), nil
	default:
		return nil, fmt.Errorf("softauthn: user.id has the unexpected type %T", id)
	}
}

func acceptsES256(params []protocol.CredentialParameter) bool {
	if len(params) == 0 {
		return true // the spec's default list starts with ES256
	}
	for _, p := range params {
		if p.Algorithm == webauthncose.AlgES256 {
			return true
		}
	}
	return false
}

// decodeOptions reads {"publicKey": {...}} or the bare publicKey object.
func decodeOptions(optionsJSON string, publicKey any) error {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(optionsJSON), &wrapped); err != nil {
		return fmt.Errorf("softauthn: options are not a JSON object: %w", err)
	}
	raw := []byte(optionsJSON)
	if len(wrapped.PublicKey) > 0 {
		raw = wrapped.PublicKey
	}
	if err := json.Unmarshal(raw, publicKey); err != nil {
		return fmt.Errorf("softauthn: decoding the options: %w", err)
	}
	return nil
}

func marshal(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
