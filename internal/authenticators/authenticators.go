// Package authenticators names authenticators by their AAGUID, as users
// know them ("Apple Passwords", "Google Password Manager", "YubiKey 5
// Series"), for device names and the device list. The names are for
// display only: they are not an attestation or a trust decision.
package authenticators

//go:generate go run ../../cmd/aaguid-names -in $AAGUID_NAMES -out community_names.go

// Name returns the human name of the authenticator with the given AAGUID
// (lower-case, hyphenated), or "" when it is not known. The community list
// of passkey providers (community_names.go, generated) comes first; the
// hardware keys it does not carry come from this package's own table.
func Name(aaguid string) string {
	if name, ok := communityNames[aaguid]; ok {
		return name
	}
	return securityKeys[aaguid]
}

// Count is the number of AAGUIDs with a name.
func Count() int {
	n := len(communityNames)
	for id := range securityKeys {
		if _, ok := communityNames[id]; !ok {
			n++
		}
	}
	return n
}

// securityKeys names hardware security keys (from their vendors' FIDO
// metadata statements) and the test authenticators, which the community
// list of passkey providers leaves out.
var securityKeys = map[string]string{
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series with NFC",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC",
	"c5ef55ff-ad9a-4b9f-b580-adebafe026d0": "YubiKey 5Ci",
	"73bb0cd4-e502-49b8-9c6f-b59445bf720b": "YubiKey 5 FIPS Series",
	"149a2021-8ef6-4133-96b8-81f8d5b7f1f5": "Security Key by Yubico",
	"b92c3f9a-c014-4056-887f-140a2501163b": "Security Key by Yubico",
	"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73": "Security Key NFC by Yubico",
	"0bb43545-fd2c-4185-87dd-feb0b2916ace": "Security Key NFC by Yubico",
	"01020304-0506-0708-0102-030405060708": "Chromium virtual authenticator",
}
