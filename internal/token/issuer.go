package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// maxDocumentBytes bounds a metadata document or key set.
const maxDocumentBytes = 1 << 20

// issuer is one metadata URL: its issuer names and its signing keys,
// fetched lazily and refetched at most once per RefetchInterval.
type issuer struct {
	metadataURL string
	cfg         Config
	verifier    *oidc.IDTokenVerifier

	mu            sync.Mutex
	names         []string // accepted iss values; nil until the metadata is read
	jwksURL       string
	keys          []jose.JSONWebKey
	lastMetadata  time.Time // last attempt
	lastKeys      time.Time // last attempt
	keysFetchedAt time.Time // last success
	keysFetchedOK bool
}

// keyMaxAge is how long a fetched key set is trusted without a look at
// the issuer: a key the issuer withdraws (compromised, retired) stops
// verifying within this time even if no token names a new key.
const keyMaxAge = time.Hour

func newIssuer(metadataURL string, cfg Config) *issuer {
	is := &issuer{metadataURL: metadataURL, cfg: cfg}
	is.verifier = verifier(is)
	return is
}

// Entra ID names a tenant's issuer differently in v1 and v2 tokens, and
// the metadata of each version names only its own; both are signed by
// the tenant's keys.
var (
	entraV2 = regexp.MustCompile(`^https://login\.microsoftonline\.com/([0-9a-fA-F-]{36})/v2\.0$`)
	entraV1 = regexp.MustCompile(`^https://sts\.windows\.net/([0-9a-fA-F-]{36})/$`)
)

// issuerNames are the iss values a metadata issuer stands for: itself and,
// for an Entra ID tenant, the other token version's form.
func issuerNames(iss string) []string {
	if m := entraV2.FindStringSubmatch(iss); m != nil {
		return []string{iss, "https://sts.windows.net/" + m[1] + "/"}
	}
	if m := entraV1.FindStringSubmatch(iss); m != nil {
		return []string{iss, "https://login.microsoftonline.com/" + m[1] + "/v2.0"}
	}
	return []string{iss}
}

// accepted returns the issuer names, reading the metadata the first time.
// B2C publishes its metadata under the tenant name and policy while its
// tokens name the tenant id, so the metadata's issuer is taken as it is,
// not compared with the metadata URL.
func (is *issuer) accepted(ctx context.Context) ([]string, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.names != nil {
		return is.names, nil
	}
	now := is.cfg.Now()
	if !is.lastMetadata.IsZero() && now.Sub(is.lastMetadata) < is.cfg.RefetchInterval {
		return nil, errors.New("metadata fetch failed recently; waiting before the next attempt")
	}
	is.lastMetadata = now
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := is.fetch(ctx, is.metadataURL, &doc); err != nil {
		return nil, err
	}
	if doc.Issuer == "" || doc.JWKSURI == "" {
		return nil, fmt.Errorf("metadata %s names no issuer or jwks_uri", is.metadataURL)
	}
	if err := CheckURL(doc.JWKSURI); err != nil {
		return nil, fmt.Errorf("metadata %s: jwks_uri: %w", is.metadataURL, err)
	}
	is.names = issuerNames(doc.Issuer)
	is.jwksURL = doc.JWKSURI
	return is.names, nil
}

// fetch GETs a JSON document into v, bounded in size.
func (is *issuer) fetch(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := is.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", u, err)
	}
	if len(data) > maxDocumentBytes {
		return fmt.Errorf("%s is larger than %d bytes", u, maxDocumentBytes)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", u, err)
	}
	return nil
}

// keysFor returns the keys that may have signed a token with key id kid,
// fetching the key set when none has the kid, or the set is older than
// keyMaxAge, and the last fetch is older than RefetchInterval: a rotation
// is picked up at the first token signed with the new key, a withdrawn key
// stops verifying within keyMaxAge, and tokens naming made-up keys cost at
// most one fetch per interval.
func (is *issuer) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	now := is.cfg.Now()
	stale := now.Sub(is.keysFetchedAt) > keyMaxAge
	if match := matching(is.keys, kid); len(match) > 0 && !stale {
		return match, nil
	}
	if !is.lastKeys.IsZero() && now.Sub(is.lastKeys) < is.cfg.RefetchInterval {
		if match := matching(is.keys, kid); len(match) > 0 {
			return match, nil // stale, but refetched moments ago: keep it
		}
		if !is.keysFetchedOK {
			return nil, errKeysUnavailable
		}
		return nil, errUnknownKey
	}
	is.lastKeys = now
	var set jose.JSONWebKeySet
	if err := is.fetch(ctx, is.jwksURL, &set); err != nil {
		// A stale set still verifies while the issuer cannot be reached:
		// an outage of the issuer's key endpoint stops no sign-in.
		if match := matching(is.keys, kid); len(match) > 0 {
			return match, nil
		}
		is.keysFetchedOK = false
		return nil, fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	is.keysFetchedOK = true
	is.keysFetchedAt = now
	is.keys = signingKeys(set.Keys)
	if match := matching(is.keys, kid); len(match) > 0 {
		return match, nil
	}
	return nil, errUnknownKey
}

// signingKeys keeps the RSA public keys meant for signatures with RS256;
// B2C's key sets may omit alg.
func signingKeys(keys []jose.JSONWebKey) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.IsPublic() && (k.Use == "" || k.Use == "sig") && (k.Algorithm == "" || k.Algorithm == string(jose.RS256)) {
			if _, ok := k.Key.(interface{ Size() int }); ok {
				out = append(out, k)
			}
		}
	}
	return out
}

func matching(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if kid == "" || k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

var (
	errUnknownKey      = errors.New("no key of the issuer has the token's kid")
	errKeysUnavailable = errors.New("the issuer's keys could not be fetched")
	errBadSignature    = errors.New("the signature does not verify")
)

// outcomeKey carries a *error through go-oidc to VerifySignature, so that
// the refusal can say why the signature was not accepted.
type outcomeKey struct{}

// VerifySignature implements oidc.KeySet with the issuer's keys.
func (is *issuer) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	err := is.verifySignature(ctx, raw)
	payload, verr := err.payload, err.err
	if out, ok := ctx.Value(outcomeKey{}).(*error); ok {
		*out = verr
	}
	return payload, verr
}

type verified struct {
	payload []byte
	err     error
}

func (is *issuer) verifySignature(ctx context.Context, raw string) verified {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return verified{err: errBadSignature}
	}
	keys, err := is.keysFor(ctx, jws.Signatures[0].Header.KeyID)
	if err != nil {
		return verified{err: err}
	}
	for i := range keys {
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return verified{payload: payload}
		}
	}
	return verified{err: errBadSignature}
}

// verify checks the signature with go-oidc over this issuer's keys and
// returns the verified payload.
func (is *issuer) verify(ctx context.Context, raw string) ([]byte, *Error) {
	var outcome error
	ctx = context.WithValue(ctx, outcomeKey{}, &outcome)
	token, err := is.verifier.Verify(ctx, raw)
	switch {
	case errors.Is(outcome, errUnknownKey):
		return nil, refuse(CheckSignature, "signature: the token's kid is not a key of the issuer", err)
	case errors.Is(outcome, errKeysUnavailable):
		return nil, refuse(CheckKeys, "keys unavailable: the issuer's keys could not be fetched", outcome)
	case outcome != nil:
		return nil, refuse(CheckSignature, "signature: the token's signature does not verify", err)
	case err != nil:
		return nil, refuse(CheckMalformed, "malformed token: the claims cannot be read", err)
	}
	var payload json.RawMessage
	if err := token.Claims(&payload); err != nil {
		return nil, refuse(CheckMalformed, "malformed token: the claims cannot be read", err)
	}
	return payload, nil
}
