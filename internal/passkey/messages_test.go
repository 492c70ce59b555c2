package passkey

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/text/language"
)

// conflictCodes are the 409 codes of the contract: outcomes a user reads.
var conflictCodes = []Code{
	CodeChallengeExpired, CodeChallengeUsed, CodeCredentialRejected, CodeCredentialUnknown,
	CodeCredentialExists, CodeNoDevices, CodeDeviceLimit, CodeUserMismatch,
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, locale, acceptLanguage string
		want                         language.Tag
	}{
		{name: "Swiss German locale", locale: "de-CH", want: language.German},
		{name: "German locale beats Accept-Language", locale: "de", acceptLanguage: "fr-FR", want: language.German},
		{name: "French from Accept-Language", acceptLanguage: "fr-CA,fr;q=0.9,en;q=0.5", want: language.French},
		{name: "Italian from Accept-Language q-values", acceptLanguage: "ja;q=0.9,it;q=0.8", want: language.Italian},
		{name: "unsupported locale falls to Accept-Language", locale: "ja-JP", acceptLanguage: "it-CH", want: language.Italian},
		{name: "malformed locale falls to Accept-Language", locale: "!!", acceptLanguage: "fr", want: language.French},
		{name: "nothing", want: language.English},
		{name: "only unsupported", locale: "ja", acceptLanguage: "zh-CN", want: language.English},
		{name: "British English", locale: "en-GB", want: language.English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Language(tt.locale, tt.acceptLanguage); got != tt.want {
				t.Errorf("Language(%q, %q) = %v, want %v", tt.locale, tt.acceptLanguage, got, tt.want)
			}
		})
	}
}

func TestEveryConflictCodeIsTranslated(t *testing.T) {
	t.Parallel()
	generic := messages[CodeInvalidRequest]
	for _, code := range conflictCodes {
		t.Run(string(code), func(t *testing.T) {
			texts, ok := messages[code]
			if !ok {
				t.Fatal("no messages")
			}
			seen := map[string]bool{}
			for i, text := range texts {
				if text == "" {
					t.Errorf("no %v text", supported[i])
				}
				if seen[text] {
					t.Errorf("%v text %q repeats another language", supported[i], text)
				}
				seen[text] = true
				if text == generic[i] {
					t.Errorf("%v text is the generic one", supported[i])
				}
				if got := UserMessage(code, supported[i]); got != text {
					t.Errorf("UserMessage(%s, %v) = %q, want %q", code, supported[i], got, text)
				}
			}
		})
	}
}

func TestUserMessageFallbacks(t *testing.T) {
	t.Parallel()
	if got, want := UserMessage(CodeChallengeExpired, language.Japanese), messages[CodeChallengeExpired][0]; got != want {
		t.Errorf("unsupported language: %q, want the English %q", got, want)
	}
	if got, want := UserMessage(CodeInternal, language.German), messages[CodeInvalidRequest][1]; got != want {
		t.Errorf("internal error in German: %q, want the generic %q", got, want)
	}
	if got := UserMessage(CodeChallengeExpired, Language("de-CH", "")); got != messages[CodeChallengeExpired][1] {
		t.Errorf("de-CH: %q, want the German text", got)
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{name: "nil", err: nil, want: ""},
		{name: "domain error", err: Errorf(CodeDeviceLimit, "limit"), want: CodeDeviceLimit},
		{name: "wrapped domain error", err: fmt.Errorf("context: %w", Errorf(CodeUserMismatch, "x")), want: CodeUserMismatch},
		{name: "storage unavailable", err: fmt.Errorf("reading user: %w", ErrUnavailable), want: CodeStorageUnavailable},
		{name: "anything else", err: errors.New("boom"), want: CodeInternal},
		{name: "not found from the store", err: ErrNotFound, want: CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorKeepsCauseOutOfMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause detail")
	err := &Error{Code: CodeCredentialRejected, Message: "verifying the assertion failed", Err: cause}
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
	if err.Message != "verifying the assertion failed" {
		t.Errorf("message %q", err.Message)
	}
	if got := err.Error(); got != "credential_rejected: verifying the assertion failed: cause detail" {
		t.Errorf("Error() = %q", got)
	}
}
