// Package token validates the bearer tokens the handler accepts: B2C access
// tokens of the app API and Entra ID app tokens of B2C's own calls. Keys
// come from the OIDC metadata of each allowed issuer and are refetched,
// at a bounded rate, when a token names a key not seen yet; signatures
// are checked by go-oidc (RS256 only), the claims here.
package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Config says which tokens a Validator accepts.
type Config struct {
	// MetadataURLs are the OIDC metadata documents of the allowed issuers
	// (one per B2C policy, or the Entra ID tenant): https, or http on a
	// loopback host for tests.
	MetadataURLs []string
	// Audience must be one of the token's aud values.
	Audience string
	// Scope, when set, must be one of the space-separated scp values.
	Scope string
	// AppIDs, when set, must contain the token's appid (Entra v1) or azp
	// (v2): the application that asked for the token.
	AppIDs []string
	// Skew is the clock difference tolerated on exp and nbf; 1 minute
	// when zero.
	Skew time.Duration
	// RefetchInterval is the shortest time between two fetches of one
	// issuer's metadata or keys, so that tokens naming unknown keys cannot
	// make the handler hammer the issuer; 1 minute when zero.
	RefetchInterval time.Duration
	// HTTPClient fetches metadata and keys; a client with a 5 s timeout
	// when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Claims are what a valid token says about its subject and caller.
type Claims struct {
	// Subject is the user: the token's oid, else its sub.
	Subject string
	Issuer  string
	// AppID is the calling application: appid (v1) or azp (v2).
	AppID string
	// AuthTime is when the user last signed in (auth_time); zero when the
	// token does not say.
	AuthTime time.Time
	// Name, Emails and PreferredUsername describe the user where the
	// issuer put them in the token.
	Name              string
	Emails            []string
	PreferredUsername string
}

// Validator checks tokens against a Config. It is safe for concurrent use.
type Validator struct {
	cfg     Config
	issuers []*issuer
}

// New checks the configuration and returns a Validator. Nothing is fetched
// until the first token arrives, so that a start never waits for an issuer.
func New(cfg Config) (*Validator, error) {
	if len(cfg.MetadataURLs) == 0 {
		return nil, errors.New("no metadata URL")
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return nil, errors.New("no audience")
	}
	if cfg.Skew == 0 {
		cfg.Skew = time.Minute
	}
	if cfg.RefetchInterval == 0 {
		cfg.RefetchInterval = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Validator{cfg: cfg}
	for _, u := range cfg.MetadataURLs {
		if err := CheckURL(u); err != nil {
			return nil, err
		}
		v.issuers = append(v.issuers, newIssuer(u, cfg))
	}
	return v, nil
}

// CheckURL accepts an https URL, or an http one on a loopback host (tests,
// a local issuer).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%q must use https (http only on a loopback host)", raw)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The checks a refusal names, first word of its description.
const (
	CheckMissing   = "missing"
	CheckMalformed = "malformed"
	CheckAlgorithm = "algorithm"
	CheckSignature = "signature"
	CheckIssuer    = "issuer"
	CheckAudience  = "audience"
	CheckExpired   = "expired"
	CheckNotBefore = "not yet valid"
	CheckScope     = "scope"
	CheckApp       = "app"
	CheckSubject   = "subject"
	CheckKeys      = "keys unavailable"
)

// Error is a refused token. Description is safe to send to the caller in
// WWW-Authenticate's error_description: it names the failed check and
// never holds the token or a key.
type Error struct {
	Check       string
	Description string
	// Err is the cause, for the log only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Description + ": " + e.Err.Error()
	}
	return e.Description
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(check, description string, cause error) *Error {
	return &Error{Check: check, Description: description, Err: cause}
}

// acceptedAlgs are the algorithms a token may name in its header to be
// parsed at all; only RS256 is verified, the others are parsed so that
// the refusal can say which algorithm was refused.
var acceptedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
}

// maxTokenBytes bounds what is parsed; B2C and Entra tokens are a few KB.
const maxTokenBytes = 16 << 10

// FromHeader returns the token of an "Authorization: Bearer <token>"
// header value, or an *Error naming what is wrong with it.
func FromHeader(authorization string) (string, error) {
	if strings.TrimSpace(authorization) == "" {
		return "", refuse(CheckMissing, "missing bearer token (Authorization: Bearer <token>)", nil)
	}
	scheme, raw, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return "", refuse(CheckMissing, "missing bearer token (Authorization: Bearer <token>)", nil)
	}
	return strings.TrimSpace(raw), nil
}

// tokenClaims are the claims read from a token.
type tokenClaims struct {
	Issuer            string          `json:"iss"`
	Audience          audience        `json:"aud"`
	Expiry            *json.Number    `json:"exp"`
	NotBefore         *json.Number    `json:"nbf"`
	AuthTime          *json.Number    `json:"auth_time"`
	Scope             string          `json:"scp"`
	AppID             string          `json:"appid"`
	AuthorizedParty   string          `json:"azp"`
	ObjectID          string          `json:"oid"`
	Subject           string          `json:"sub"`
	Name              string          `json:"name"`
	Emails            []string        `json:"emails"`
	PreferredUsername string          `json:"preferred_username"`
	Extra             json.RawMessage `json:"-"`
}

// audience is aud as a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Validate checks the token and returns its claims, or an *Error.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, refuse(CheckMissing, "missing bearer token (Authorization: Bearer <token>)", nil)
	}
	if len(raw) > maxTokenBytes {
		return nil, refuse(CheckMalformed, "malformed token: longer than 16 KiB", nil)
	}
	jws, err := jose.ParseSigned(raw, acceptedAlgs)
	if err != nil {
		if strings.Count(raw, ".") == 2 && strings.Contains(err.Error(), "algorithm") {
			return nil, refuse(CheckAlgorithm, "algorithm: only RS256 is accepted", err)
		}
		return nil, refuse(CheckMalformed, "malformed token: not a signed JWT", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, refuse(CheckMalformed, "malformed token: not exactly one signature", nil)
	}
	if alg := jws.Signatures[0].Header.Algorithm; alg != string(jose.RS256) {
		return nil, refuse(CheckAlgorithm, "algorithm: "+safeAlg(alg)+" is refused, only RS256 is accepted", nil)
	}
	// The issuer picks the keys, so it is read before the signature is
	// checked; nothing else of the payload is trusted until then.
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return nil, refuse(CheckMalformed, "malformed token: the payload is not a JSON object", err)
	}
	candidates, err := v.issuersOf(ctx, unverified.Issuer)
	if err != nil {
		return nil, err
	}
	var payload []byte
	var lastErr *Error
	for _, is := range candidates {
		payload, lastErr = is.verify(ctx, raw)
		if lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return v.checkClaims(payload)
}

// safeAlg keeps an attacker's algorithm name short and printable.
func safeAlg(alg string) string {
	if len(alg) > 16 || strings.ContainsFunc(alg, func(r rune) bool { return r < '!' || r > '~' || r == '"' || r == '\\' }) {
		return "the algorithm"
	}
	return alg
}

// issuersOf returns the configured issuers whose metadata names iss,
// fetching metadata not fetched yet.
func (v *Validator) issuersOf(ctx context.Context, iss string) ([]*issuer, error) {
	var out []*issuer
	var fetchErr error
	for _, is := range v.issuers {
		accepted, err := is.accepted(ctx)
		if err != nil {
			fetchErr = err
			continue
		}
		if iss != "" && slices.Contains(accepted, iss) {
			out = append(out, is)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if fetchErr != nil {
		return nil, refuse(CheckKeys, "keys unavailable: the issuer's metadata could not be fetched", fetchErr)
	}
	return nil, refuse(CheckIssuer, "issuer: the token's iss is not an accepted issuer", nil)
}

func (v *Validator) checkClaims(payload []byte) (*Claims, error) {
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, refuse(CheckMalformed, "malformed token: the claims cannot be read", err)
	}
	now := v.cfg.Now()
	if !slices.Contains(c.Audience, v.cfg.Audience) {
		return nil, refuse(CheckAudience, "audience: the token is not for this API (aud)", nil)
	}
	exp, ok := unixTime(c.Expiry)
	if !ok {
		return nil, refuse(CheckExpired, "expired: the token has no valid exp", nil)
	}
	if now.After(exp.Add(v.cfg.Skew)) {
		return nil, refuse(CheckExpired, "expired: the token's exp has passed", nil)
	}
	if c.NotBefore != nil {
		nbf, ok := unixTime(c.NotBefore)
		if !ok || now.Add(v.cfg.Skew).Before(nbf) {
			return nil, refuse(CheckNotBefore, "not yet valid: the token's nbf is in the future", nil)
		}
	}
	if v.cfg.Scope != "" && !slices.Contains(strings.Fields(c.Scope), v.cfg.Scope) {
		return nil, refuse(CheckScope, "scope: the token's scp lacks "+v.cfg.Scope, nil)
	}
	app := c.AppID
	if app == "" {
		app = c.AuthorizedParty
	}
	if len(v.cfg.AppIDs) > 0 && !slices.Contains(v.cfg.AppIDs, app) {
		return nil, refuse(CheckApp, "app: the calling application (appid/azp) is not allowed", nil)
	}
	subject := c.ObjectID
	if subject == "" {
		subject = c.Subject
	}
	if subject == "" {
		return nil, refuse(CheckSubject, "subject: the token has neither oid nor sub", nil)
	}
	out := &Claims{
		Subject:           subject,
		Issuer:            c.Issuer,
		AppID:             app,
		Name:              c.Name,
		Emails:            c.Emails,
		PreferredUsername: c.PreferredUsername,
	}
	if at, ok := unixTime(c.AuthTime); ok {
		out.AuthTime = at
	}
	return out, nil
}

// unixTime reads a NumericDate (seconds, possibly fractional).
func unixTime(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || f > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// verifier returns go-oidc's verifier over the issuer's keys: RS256 only;
// issuer, audience and times are checked by checkClaims, which knows the
// B2C and Entra variants.
func verifier(keys oidc.KeySet) *oidc.IDTokenVerifier {
	return oidc.NewVerifier("", keys, &oidc.Config{
		SupportedSigningAlgs: []string{oidc.RS256},
		SkipClientIDCheck:    true,
		SkipExpiryCheck:      true,
		SkipIssuerCheck:      true,
	})
}
