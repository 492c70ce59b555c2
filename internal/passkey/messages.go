package passkey

import (
	"golang.org/x/text/language"
)

// The languages userMessage is supplied in; the first is the fallback.
var supported = []language.Tag{language.English, language.German, language.French, language.Italian}

var matcher = language.NewMatcher(supported)

// messages holds the user-facing text of every code, per language.
var messages = map[Code][4]string{ // en, de, fr, it
	CodeChallengeExpired: {
		"Your sign-in took too long. Please try again.",
		"Die Anmeldung hat zu lange gedauert. Bitte versuchen Sie es erneut.",
		"La connexion a pris trop de temps. Veuillez réessayer.",
		"L'accesso ha richiesto troppo tempo. Riprova.",
	},
	CodeChallengeUsed: {
		"This request was already used. Please start again.",
		"Diese Anfrage wurde bereits verwendet. Bitte beginnen Sie von vorne.",
		"Cette demande a déjà été utilisée. Veuillez recommencer.",
		"Questa richiesta è già stata utilizzata. Ricomincia.",
	},
	CodeCredentialRejected: {
		"Your passkey could not be verified. Please try again.",
		"Ihr Passkey konnte nicht überprüft werden. Bitte versuchen Sie es erneut.",
		"Votre clé d'accès n'a pas pu être vérifiée. Veuillez réessayer.",
		"Non è stato possibile verificare la tua passkey. Riprova.",
	},
	CodeCredentialUnknown: {
		"This passkey is not registered for your account.",
		"Dieser Passkey ist für Ihr Konto nicht registriert.",
		"Cette clé d'accès n'est pas enregistrée pour votre compte.",
		"Questa passkey non è registrata per il tuo account.",
	},
	CodeCredentialExists: {
		"This passkey is already registered.",
		"Dieser Passkey ist bereits registriert.",
		"Cette clé d'accès est déjà enregistrée.",
		"Questa passkey è già registrata.",
	},
	CodeNoDevices: {
		"You have no passkey yet. Please sign in another way and add one.",
		"Sie haben noch keinen Passkey. Bitte melden Sie sich anders an und fügen Sie einen hinzu.",
		"Vous n'avez pas encore de clé d'accès. Connectez-vous autrement et ajoutez-en une.",
		"Non hai ancora una passkey. Accedi in un altro modo e aggiungine una.",
	},
	CodeDeviceLimit: {
		"You have reached the maximum number of passkeys. Remove one to add another.",
		"Sie haben die maximale Anzahl an Passkeys erreicht. Entfernen Sie einen, um einen neuen hinzuzufügen.",
		"Vous avez atteint le nombre maximal de clés d'accès. Supprimez-en une pour en ajouter une autre.",
		"Hai raggiunto il numero massimo di passkey. Rimuovine una per aggiungerne un'altra.",
	},
	CodeUserMismatch: {
		"This passkey belongs to a different account.",
		"Dieser Passkey gehört zu einem anderen Konto.",
		"Cette clé d'accès appartient à un autre compte.",
		"Questa passkey appartiene a un altro account.",
	},
	CodeAuthenticatorNotAllowed: hints[HintBlocked],
	CodeInvalidRequest: {
		"Something went wrong. Please try again.",
		"Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
		"Une erreur s'est produite. Veuillez réessayer.",
		"Si è verificato un errore. Riprova.",
	},
	CodeStorageUnavailable: {
		"The service is busy right now. Please try again in a moment.",
		"Der Dienst ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
		"Le service est momentanément indisponible. Veuillez réessayer dans un instant.",
		"Il servizio è momentaneamente occupato. Riprova tra poco.",
	},
}

// Language picks the supported language for a B2C locale claim (RFC 5646,
// e.g. de-CH) and, failing that, an Accept-Language header; English when
// neither names a supported language.
func Language(locale, acceptLanguage string) language.Tag {
	for _, candidate := range []string{locale, acceptLanguage} {
		if candidate == "" {
			continue
		}
		tags, _, err := language.ParseAcceptLanguage(candidate)
		if err != nil || len(tags) == 0 {
			continue
		}
		_, index, confidence := matcher.Match(tags...)
		if confidence != language.No {
			return supported[index]
		}
	}
	return language.English
}

// UserMessage returns the user-facing text for code in lang. Codes without
// a text of their own (the contract violations, internal errors) share the
// generic "something went wrong".
func UserMessage(code Code, lang language.Tag) string {
	texts, ok := messages[code]
	if !ok {
		texts = messages[CodeInvalidRequest]
	}
	for i, tag := range supported {
		if tag == lang {
			return texts[i]
		}
	}
	return texts[0]
}

// Languages are the languages of the user messages, English first.
func Languages() []language.Tag { return append([]language.Tag(nil), supported...) }
