package api

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// hintList is the hints claim: a string ("security-key,hybrid", as a B2C
// string claim carries it) or an array of strings (a stringCollection
// claim), kept as one comma-separated string.
type hintList string

// maxHintsClaim bounds the claim before it is split.
const maxHintsClaim = 128

func (h *hintList) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err == nil {
		if len(text) > maxHintsClaim {
			return passkey.Errorf(passkey.CodeInvalidRequest, "hints must be at most %d characters", maxHintsClaim)
		}
		*h = hintList(text)
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: reflect.TypeFor[string](), Field: "hints"}
	}
	joined := strings.Join(list, ",")
	if len(joined) > maxHintsClaim {
		return passkey.Errorf(passkey.CodeInvalidRequest, "hints must be at most %d characters", maxHintsClaim)
	}
	*h = hintList(joined)
	return nil
}

func (h hintList) split() []string { return passkey.SplitHints(string(h)) }

func jsonKind(data []byte) string {
	switch t := strings.TrimSpace(string(data)); {
	case t == "null":
		return "null"
	case t == "true" || t == "false":
		return "bool"
	case strings.HasPrefix(t, "{"):
		return "object"
	case strings.HasPrefix(t, "["):
		return "array"
	}
	return "number"
}

// addSignals adds what the page passes to the browser's Signal API: rpId,
// userHandle and, where known, acceptedCredentialIds (never null).
func addSignals(out response, s passkey.Signals) response {
	out["rpId"] = s.RPID
	out["userHandle"] = s.UserHandle
	if s.AcceptedCredentialIDs != nil {
		out["acceptedCredentialIds"] = s.AcceptedCredentialIDs
	}
	return out
}
