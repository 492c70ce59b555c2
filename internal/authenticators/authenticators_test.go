package authenticators

import "testing"

func TestName(t *testing.T) {
	t.Parallel()
	cases := []struct{ aaguid, want string }{
		{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "Apple Passwords"}, // no longer "iCloud Keychain"
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"},
		{"50726f74-6f6e-5061-7373-50726f746f6e", "Proton Pass"},
		{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"}, // from this package's own table
		{"00000000-0000-0000-0000-000000000000", ""},
		{"FBFC3007-154E-4ECC-8C0B-6E020557D7BD", ""}, // callers pass the canonical lower-case form
	}
	for _, c := range cases {
		if got := Name(c.aaguid); got != c.want {
			t.Errorf("Name(%s) = %q, want %q", c.aaguid, got, c.want)
		}
	}
	if Count() < 60 {
		t.Errorf("Count() = %d, want the community list and the security keys", Count())
	}
}
