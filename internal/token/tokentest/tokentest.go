// Package tokentest is a local OIDC issuer for tests: a discovery document
// and a key set served on loopback, RSA keys made by the test and rotated
// on demand, and tokens signed with them, well-formed or broken on
// purpose.
package tokentest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// Issuer is a running local issuer.
type Issuer struct {
	// Issuer is the iss its metadata names and its tokens carry.
	Issuer string
	// MetadataURL is where its discovery document is served.
	MetadataURL string

	server     *httptest.Server
	mu         sync.Mutex
	keys       []signingKey // the last one signs
	clients    map[string]string
	keyFetches atomic.Int64
	tokens     atomic.Int64
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// Options shape an issuer.
type Options struct {
	// Issuer is the iss to publish; the server's own URL when empty. A
	// B2C-like issuer ("https://tenant.b2clogin.com/<tenant id>/v2.0/")
	// shows that the issuer need not be the metadata URL's prefix.
	Issuer string
	// MetadataPath is the path of the discovery document; B2C's form
	// /<tenant>.onmicrosoft.com/<policy>/v2.0/.well-known/openid-configuration
	// when empty.
	MetadataPath string
	// OmitAlg leaves alg out of the published keys, as B2C may.
	OmitAlg bool
}

// New starts an issuer with one key; it stops when the test ends.
func New(t testing.TB, opts Options) *Issuer {
	t.Helper()
	if opts.MetadataPath == "" {
		opts.MetadataPath = "/contoso.onmicrosoft.com/B2C_1A_signin/v2.0/.well-known/openid-configuration"
	}
	is := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+opts.MetadataPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                is.Issuer,
			"jwks_uri":                              is.server.URL + "/discovery/v2.0/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token"},
			"subject_types_supported":               []string{"pairwise"},
			"authorization_endpoint":                is.server.URL + "/oauth2/v2.0/authorize",
			"token_endpoint":                        is.server.URL + "/oauth2/v2.0/token",
		})
	})
	mux.HandleFunc("GET /discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		is.keyFetches.Add(1)
		is.mu.Lock()
		var set jose.JSONWebKeySet
		for _, k := range is.keys {
			jwk := jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Use: "sig"}
			if !opts.OmitAlg {
				jwk.Algorithm = string(jose.RS256)
			}
			set.Keys = append(set.Keys, jwk)
		}
		is.mu.Unlock()
		writeJSON(w, set)
	})
	mux.HandleFunc("POST /oauth2/v2.0/token", is.token)
	is.server = httptest.NewServer(mux)
	t.Cleanup(is.server.Close)
	is.Issuer = opts.Issuer
	if is.Issuer == "" {
		is.Issuer = is.server.URL + "/tenant-id/v2.0/"
	}
	is.MetadataURL = is.server.URL + opts.MetadataPath
	is.Rotate(t, false)
	return is
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Rotate makes a new signing key. With retire the old keys leave the key
// set at once; otherwise they stay published, as issuers do while tokens
// signed by them are still valid.
func (is *Issuer) Rotate(t testing.TB, retire bool) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if retire {
		is.keys = nil
	}
	is.keys = append(is.keys, signingKey{kid: uuid.NewString(), key: key})
}

// KeyFetches counts the requests for the key set so far.
func (is *Issuer) KeyFetches() int64 { return is.keyFetches.Load() }

// Claims returns valid claims for subject oid: this issuer, audience aud,
// issued now, valid for an hour, signed in now, with scope scp.
func (is *Issuer) Claims(oid, aud, scp string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": is.Issuer, "aud": aud, "sub": oid, "oid": oid,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"auth_time": now.Unix(), "scp": scp, "azp": "app-client-id", "ver": "2.0",
		"name": "Test User", "emails": []string{oid + "@example.com"},
	}
}

func (is *Issuer) current() signingKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[len(is.keys)-1]
}

// Sign returns the claims as a JWT signed with RS256 by the current key.
func (is *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	k := is.current()
	return signWith(t, jose.RS256, k.key, k.kid, claims)
}

// SignWithKid signs with the current key but names another kid.
func (is *Issuer) SignWithKid(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	return signWith(t, jose.RS256, is.current().key, kid, claims)
}

// SignWithUnknownKey signs with a key the issuer never published, under a
// kid it never used.
func SignWithUnknownKey(t testing.TB, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, jose.RS256, key, uuid.NewString(), claims)
}

// SignHS256WithPublicKey is the algorithm confusion attack: an HMAC over
// the token keyed with the issuer's public key (PEM), which a verifier
// that trusted the header's alg would accept.
func (is *Issuer) SignHS256WithPublicKey(t testing.TB, claims map[string]any) string {
	t.Helper()
	k := is.current()
	der, err := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return signWith(t, jose.HS256, secret, k.kid, claims)
}

// Unsigned returns the claims as a token with alg "none" and no signature.
func (is *Issuer) Unsigned(t testing.TB, claims map[string]any) string {
	t.Helper()
	header := segment(t, map[string]any{"alg": "none", "typ": "JWT", "kid": is.current().kid})
	return header + "." + segment(t, claims) + "."
}

// Tamper replaces the payload of a signed token with other claims, keeping
// the header and the signature.
func Tamper(t testing.TB, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %d parts", len(parts))
	}
	return parts[0] + "." + segment(t, claims) + "." + parts[2]
}

func segment(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// With returns a copy of claims with the given changes; a nil value
// removes the claim.
func With(claims map[string]any, changes ...any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(changes); i += 2 {
		name := fmt.Sprint(changes[i])
		if changes[i+1] == nil {
			delete(out, name)
		} else {
			out[name] = changes[i+1]
		}
	}
	return out
}

// TokenEndpoint is where the issuer hands out app tokens (client
// credentials flow) to the clients added with AddClient.
func (is *Issuer) TokenEndpoint() string { return is.server.URL + "/oauth2/v2.0/token" }

// AddClient registers an app (client id and secret) for the token
// endpoint.
func (is *Issuer) AddClient(id, secret string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.clients == nil {
		is.clients = map[string]string{}
	}
	is.clients[id] = secret
}

// TokensIssued counts the tokens the token endpoint handed out.
func (is *Issuer) TokensIssued() int64 { return is.tokens.Load() }

// token is the client credentials grant as Entra ID answers it: HTTP Basic
// client authentication, grant_type and a scope "<resource>/.default"; the
// token's aud is the resource and azp the client.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	is.mu.Lock()
	want, known := is.clients[id]
	is.mu.Unlock()
	if !ok || !known || secret != want {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]any{"error": "invalid_client"})
		return
	}
	resource, isDefault := strings.CutSuffix(r.PostFormValue("scope"), "/.default")
	if r.PostFormValue("grant_type") != "client_credentials" || !isDefault || resource == "" {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]any{"error": "invalid_request"})
		return
	}
	now := time.Now()
	k := is.current()
	claims := map[string]any{
		"iss": is.Issuer, "aud": resource, "sub": "sp-" + id, "oid": "sp-" + id, "azp": id, "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	payload, _ := json.Marshal(claims)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	token, _ := jws.CompactSerialize()
	is.tokens.Add(1)
	writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": token})
}
