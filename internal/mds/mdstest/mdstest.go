// Package mdstest makes the parts of a FIDO metadata service for tests: a
// root of its own, a metadata BLOB signed under it, and attestation
// certificate authorities whose packed attestation certificates the BLOB
// lists.
package mdstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// CA is a certificate authority with its key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA returns a self-signed root named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"US"}, Organization: []string{"Test"}, CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	return &CA{Cert: issue(t, tmpl, nil, key), Key: key}
}

// Base64 is the root in the form the metadata decoder takes: base64 DER.
func (ca *CA) Base64() string { return base64.StdEncoding.EncodeToString(ca.Cert.Raw) }

// idFidoGenCeAAGUID is the certificate extension that names the AAGUID of
// an attestation certificate (WebAuthn §8.2.1).
var idFidoGenCeAAGUID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}

// Attestation issues a packed attestation certificate for aaguid, as
// WebAuthn §8.2.1 requires it, and returns its key and the x5c chain
// (the certificate alone: the CA is the metadata's attestation root).
func (ca *CA) Attestation(t testing.TB, aaguid uuid.UUID) (*ecdsa.PrivateKey, [][]byte) {
	t.Helper()
	key := newKey(t)
	ext, err := asn1.Marshal(aaguid[:])
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			Country: []string{"US"}, Organization: []string{"Test Vendor"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Test Key " + aaguid.String()[:8],
		},
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: idFidoGenCeAAGUID, Value: ext}},
	}
	return key, [][]byte{issue(t, tmpl, ca, key).Raw}
}

// Status values of a status report.
const (
	Certified = "FIDO_CERTIFIED"
	Revoked   = "REVOKED"
	// Compromised is one of the compromise statuses.
	Compromised = "ATTESTATION_KEY_COMPROMISE"
)

// Entry is one authenticator the BLOB lists.
type Entry struct {
	AAGUID      uuid.UUID
	Description string
	// Roots are its attestation root certificates.
	Roots []*x509.Certificate
	// Status of its one status report; Certified when empty.
	Status string
	// MultiDevice is its multiDeviceCredentialSupport ("" for device-bound).
	MultiDevice string
}

// BLOB returns a metadata BLOB with the entries, numbered number, signed
// by a signing certificate root issues (x5c: signer, root).
func (root *CA) BLOB(t testing.TB, number int, entries ...Entry) []byte {
	t.Helper()
	signerKey := newKey(t)
	signer := issue(t, &x509.Certificate{
		Subject:  pkix.Name{Country: []string{"US"}, Organization: []string{"Test"}, CommonName: "Test MDS BLOB signer"},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, root, signerKey)
	list := make([]any, len(entries))
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	for i, e := range entries {
		status := e.Status
		if status == "" {
			status = Certified
		}
		roots := make([]string, len(e.Roots))
		for j, r := range e.Roots {
			roots[j] = base64.StdEncoding.EncodeToString(r.Raw)
		}
		statement := map[string]any{
			"legalHeader":                 "test",
			"aaguid":                      e.AAGUID.String(),
			"description":                 e.Description,
			"authenticatorVersion":        1,
			"protocolFamily":              "fido2",
			"schema":                      3,
			"upv":                         []any{map[string]any{"major": 1, "minor": 0}},
			"authenticationAlgorithms":    []string{"secp256r1_ecdsa_sha256_raw"},
			"publicKeyAlgAndEncodings":    []string{"cose"},
			"attestationTypes":            []string{"basic_full"},
			"userVerificationDetails":     []any{[]any{map[string]any{"userVerificationMethod": "presence_internal"}}},
			"keyProtection":               []string{"hardware", "secure_element"},
			"matcherProtection":           []string{"on_chip"},
			"attachmentHint":              []string{"external", "wired"},
			"tcDisplay":                   []string{},
			"attestationRootCertificates": roots,
		}
		if e.MultiDevice != "" {
			statement["multiDeviceCredentialSupport"] = e.MultiDevice
		}
		list[i] = map[string]any{
			"aaguid":                 e.AAGUID.String(),
			"metadataStatement":      statement,
			"statusReports":          []any{map[string]any{"status": status, "effectiveDate": day}},
			"timeOfLastStatusChange": day,
		}
	}
	token := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"legalHeader": "test",
		"no":          number,
		"nextUpdate":  time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly),
		"entries":     list,
	})
	token.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(signer.Raw), root.Base64()}
	signed, err := token.SignedString(signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(signed)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issue signs tmpl with parent (itself when nil), valid from an hour ago
// for a year.
func issue(t testing.TB, tmpl *x509.Certificate, parent *CA, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(1, 0, 0)
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
