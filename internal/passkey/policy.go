package passkey

import (
	"context"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/text/language"
)

// AuthenticatorPolicy decides which authenticators may hold a passkey
// (allowed and blocked AAGUIDs, synced or device-bound, verified
// attestation). Service calls it after go-webauthn has verified a
// ceremony and before anything is written; a refusal is an *Error with
// CodeAuthenticatorNotAllowed.
type AuthenticatorPolicy interface {
	// Registration judges a new credential and says what its attestation
	// proved.
	Registration(ctx context.Context, parsed *protocol.ParsedCredentialCreationData, c *webauthn.Credential) (Attestation, error)
	// Login judges a stored passkey that has just signed an assertion.
	Login(ctx context.Context, c *Credential) error
}

// Attestation is what a registration's attestation proved.
type Attestation struct {
	// Verified: the attestation chains to a root the FIDO metadata lists
	// for the authenticator's AAGUID.
	Verified bool
	// Description is the metadata statement's description, where the
	// authenticator is listed.
	Description string
}

// MetadataBlob is the last good FIDO metadata BLOB, kept in the store so
// that a new instance has it before it can fetch a fresh one.
type MetadataBlob struct {
	// Data is the BLOB as fetched: a signed JWT.
	Data []byte
	// FetchedAt is when it was fetched or read.
	FetchedAt time.Time
}

// MaxMetadataBlobBytes bounds the BLOB a store keeps and the fetch reads.
// The FIDO Alliance's BLOB is a few megabytes.
const MaxMetadataBlobBytes = 32 << 20

// MetadataStore keeps the one last good metadata BLOB.
type MetadataStore interface {
	// GetMetadataBlob returns the stored BLOB. It returns ErrNotFound when
	// none was stored.
	GetMetadataBlob(ctx context.Context) (*MetadataBlob, error)
	// PutMetadataBlob replaces the stored BLOB as a whole: a reader sees
	// the old one or the new one, never a mix.
	PutMetadataBlob(ctx context.Context, b *MetadataBlob) error
}

// Hints that say what to use instead when an authenticator is refused.
const (
	HintSyncedNotAllowed   = "synced_not_allowed"
	HintNotOnAllowList     = "not_on_allow_list"
	HintBlocked            = "blocked"
	HintAttestationMissing = "attestation_required"
)

// hints holds the user-facing text of each hint, per language (en, de,
// fr, it).
var hints = map[string][4]string{
	HintSyncedNotAllowed: {
		"Passkeys that sync between devices cannot be used here. Please use a security key or a passkey that stays on this device.",
		"Passkeys, die zwischen Geräten synchronisiert werden, können hier nicht verwendet werden. Bitte verwenden Sie einen Sicherheitsschlüssel oder einen Passkey, der auf diesem Gerät bleibt.",
		"Les clés d'accès synchronisées entre appareils ne peuvent pas être utilisées ici. Utilisez une clé de sécurité ou une clé d'accès qui reste sur cet appareil.",
		"Le passkey sincronizzate tra dispositivi non possono essere usate qui. Usa una chiave di sicurezza o una passkey che resta su questo dispositivo.",
	},
	HintNotOnAllowList: {
		"This kind of passkey is not accepted here. Please use one of the security keys your organization approves.",
		"Diese Art von Passkey wird hier nicht akzeptiert. Bitte verwenden Sie einen der von Ihrer Organisation zugelassenen Sicherheitsschlüssel.",
		"Ce type de clé d'accès n'est pas accepté ici. Utilisez l'une des clés de sécurité approuvées par votre organisation.",
		"Questo tipo di passkey non è accettato qui. Usa una delle chiavi di sicurezza approvate dalla tua organizzazione.",
	},
	HintBlocked: {
		"This passkey provider or security key is not accepted here. Please use another one, for example your device's built-in passkey or a different security key.",
		"Dieser Passkey-Anbieter oder Sicherheitsschlüssel wird hier nicht akzeptiert. Bitte verwenden Sie einen anderen, etwa den integrierten Passkey Ihres Geräts oder einen anderen Sicherheitsschlüssel.",
		"Ce fournisseur de clés d'accès ou cette clé de sécurité n'est pas accepté ici. Utilisez-en un autre, par exemple la clé d'accès intégrée à votre appareil ou une autre clé de sécurité.",
		"Questo provider di passkey o questa chiave di sicurezza non è accettato qui. Usane un altro, ad esempio la passkey integrata del dispositivo o un'altra chiave di sicurezza.",
	},
	HintAttestationMissing: {
		"This passkey could not prove which device it is on. Please use a certified security key; if your browser asks whether to share its make and model, allow it.",
		"Dieser Passkey konnte nicht nachweisen, auf welchem Gerät er gespeichert ist. Bitte verwenden Sie einen zertifizierten Sicherheitsschlüssel und erlauben Sie, falls Ihr Browser fragt, die Weitergabe von Marke und Modell.",
		"Cette clé d'accès n'a pas pu prouver sur quel appareil elle se trouve. Utilisez une clé de sécurité certifiée et, si votre navigateur demande de partager sa marque et son modèle, acceptez.",
		"Questa passkey non ha potuto dimostrare su quale dispositivo si trova. Usa una chiave di sicurezza certificata e, se il browser chiede di condividerne marca e modello, consentilo.",
	},
}

// NotAllowed returns the refusal of an authenticator: the developer
// message names the rule, the hint picks the user message.
func NotAllowed(hint, format string, args ...any) *Error {
	e := Errorf(CodeAuthenticatorNotAllowed, format, args...)
	e.Hint = hint
	return e
}

// ErrorUserMessage returns the user-facing text for err in lang: its
// hint's text where it has one, else its code's.
func ErrorUserMessage(err error, code Code, lang language.Tag) string {
	var e *Error
	if errors.As(err, &e) && e.Code == code {
		if texts, ok := hints[e.Hint]; ok {
			for i, tag := range supported {
				if tag == lang {
					return texts[i]
				}
			}
			return texts[0]
		}
	}
	return UserMessage(code, lang)
}
