package passkey

import (
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// maxPublicKeyBytes bounds a stored COSE key: an RSA-4096 key is about
// 540 bytes, the elliptic-curve keys under 160.
const maxPublicKeyBytes = 1024

// checkPublicKey refuses a COSE key whose algorithm does not fit its key
// type and curve (EC2 P-256 with ES256, and so on). go-webauthn stores such
// a key when the attestation is "none", but no signature could ever be
// verified with it, so the passkey would be registered and unusable.
func checkPublicKey(raw []byte) error {
	if len(raw) > maxPublicKeyBytes {
		return Errorf(CodeCredentialRejected, "the credential public key is %d bytes; at most %d are accepted", len(raw), maxPublicKeyBytes)
	}
	parsed, err := webauthncose.ParsePublicKey(raw)
	if err != nil {
		return Errorf(CodeCredentialRejected, "the credential public key is not a COSE key this service verifies")
	}
	alg := webauthncose.COSEAlgorithmIdentifier(0)
	fits := false
	switch k := parsed.(type) {
	case webauthncose.EC2PublicKeyData:
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
		want := map[webauthncose.COSEAlgorithmIdentifier]int64{
			webauthncose.AlgES256: 1, webauthncose.AlgES384: 2, webauthncose.AlgES512: 3,
		}
		crv, ok := want[alg]
		fits = ok && k.Curve == crv
	case webauthncose.OKPPublicKeyData:
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
		fits = (alg == webauthncose.AlgEdDSA || alg == webauthncose.AlgEd25519) && k.Curve == 6 && len(k.XCoord) == 32
	case webauthncose.RSAPublicKeyData:
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
		switch alg {
		case webauthncose.AlgRS256, webauthncose.AlgRS384, webauthncose.AlgRS512,
			webauthncose.AlgPS256, webauthncose.AlgPS384, webauthncose.AlgPS512:
			fits = len(k.Modulus) >= 256
		}
	}
	if !fits {
		return Errorf(CodeCredentialRejected, "the credential public key's algorithm %d does not fit its key type or curve", alg)
	}
	return nil
}
