package cosmos_test

import (
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
	"github.com/passkeys-b2c/passkeys/internal/store/storetest"
	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

func TestMetadataContract(t *testing.T) {
	c := testenv.StartCosmos(t)
	storetest.RunMetadata(t, func(t *testing.T) passkey.MetadataStore { return open(t, c, cosmos.Options{}) })
}
