package e2e

import (
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/browsertest"
)

// chromiumAAGUID is the AAGUID Chromium's virtual CTAP2 authenticator puts
// in its attested credential data.
const chromiumAAGUID = "01020304-0506-0708-0102-030405060708"

func TestRegistration(t *testing.T) {
	d := openDemo(t)
	auth := d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")

	o := d.click("#loginNamed", "login-named")
	if o.State != "error" || o.Code != "no_devices" {
		t.Errorf("named sign-in before registering: page shows %s %q (code %q), want no_devices", o.State, o.Text, o.Code)
	}

	o = d.register()
	res := result(t, o)
	if res["deviceCount"] != float64(1) || res["credentialId"] == "" {
		t.Fatalf("register-finish answered %v, want deviceCount 1 and a credentialId", res)
	}
	if !strings.HasPrefix(o.Text, `Registered "Chromium virtual authenticator (`) {
		t.Errorf("#status is %q, want the default name of the virtual authenticator", o.Text)
	}
	creds := auth.Credentials(t)
	if len(creds) != 1 || encodeID(creds[0].CredentialID) != res["credentialId"] {
		t.Fatalf("the authenticator holds %d credentials, want the one registered (%v)", len(creds), res["credentialId"])
	}
	if !creds[0].IsResidentCredential || string(creds[0].UserHandle) != objectID {
		t.Errorf("credential: resident %v, user handle %q; want a discoverable credential for %q",
			creds[0].IsResidentCredential, creds[0].UserHandle, objectID)
	}
	rows, count := d.devices()
	if count != "1" || len(rows) != 1 || rows[0].ID != res["credentialId"] {
		t.Fatalf("#devices shows %v (data-count %q), want the new passkey", rows, count)
	}
	if got := rows[0].Cells[1]; got != "Chromium virtual authenticator" {
		t.Errorf("authenticator column is %q, want the name of AAGUID %s", got, chromiumAAGUID)
	}

	// The list response names the AAGUID the authenticator reported; with
	// the default PASSKEY_ATTESTATION none no attestation is asked for.
	list := result(t, d.mustOK("#listDevices", "list"))
	devices := decodeDevices(t, list)
	if len(devices) != 1 || devices[0].AAGUID != chromiumAAGUID || devices[0].AttestationFormat != "none" {
		t.Errorf("list-devices gives %+v, want one credential without attestation, with AAGUID %s", devices, chromiumAAGUID)
	}
	if tr := devices[0].Transports; len(tr) != 1 || tr[0] != "internal" {
		t.Errorf("transports %v, want [internal]", tr)
	}
}

func TestSignIn(t *testing.T) {
	d := openDemo(t)
	auth := d.authenticator(browsertest.Platform())
	objectID := d.value("objectId")
	credentialID := result(t, d.register())["credentialId"].(string)

	var last uint32
	for i, tc := range []struct {
		name   string
		signIn func(*demo) outcome
		named  bool
	}{
		{name: "named", signIn: (*demo).signInNamed, named: true},
		{name: "usernameless", signIn: (*demo).signInUsernameless},
		{name: "named again", signIn: (*demo).signInNamed, named: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d.in(t)
			if !tc.named {
				// A usernameless sign-in must find the user from the passkey.
				d.set("objectId", "")
			}
			res := result(t, tc.signIn(d))
			if res["objectId"] != objectID || res["credentialId"] != credentialID || res["userVerified"] != true {
				t.Fatalf("login-finish answered %v, want objectId %s, credential %s, user verified", res, objectID, credentialID)
			}
			if got := d.value("objectId"); got != objectID {
				t.Errorf("the page shows objectId %q after sign-in, want %q", got, objectID)
			}
			begin := d.lastCall("login-begin")
			if strings.Contains(begin.Request, "objectId") != tc.named {
				t.Errorf("login-begin request %s: objectId sent %v, want %v", begin.Request, !tc.named, tc.named)
			}
			counter := assertionCounter(t, d.lastCall("login-finish"))
			if held := authenticatorCounter(t, auth, credentialID); counter != held {
				t.Errorf("the assertion carries sign counter %d, the authenticator holds %d", counter, held)
			}
			if counter <= last {
				t.Errorf("sign counter %d did not increase (sign-in %d, previous %d)", counter, i, last)
			}
			last = counter
		})
	}

	// The page keeps the signed-in user's objectId across a reload.
	d.load("?autofill=off")
	if got := d.value("objectId"); got != objectID {
		t.Errorf("after a reload the page shows objectId %q, want the signed-in %q", got, objectID)
	}
}

// TestSyncedPasskey uses an authenticator whose passkeys are backed up, as
// a password manager's are: the handler reports them as synced.
func TestSyncedPasskey(t *testing.T) {
	d := openDemo(t)
	opts := browsertest.Platform()
	opts.DefaultBackupEligibility = true
	opts.DefaultBackupState = true
	d.authenticator(opts)

	if res := result(t, d.register()); res["passkeySynced"] != true {
		t.Errorf("register-finish answered %v, want passkeySynced true", res)
	}
	rows, _ := d.devices()
	if len(rows) != 1 || rows[0].Cells[2] != "yes" {
		t.Errorf("#devices shows %v, want one synced passkey", rows)
	}
	if res := result(t, d.signInUsernameless()); res["passkeySynced"] != true {
		t.Errorf("login-finish answered %v, want passkeySynced true", res)
	}
	devices := decodeDevices(t, result(t, d.mustOK("#listDevices", "list")))
	if len(devices) != 1 || !devices[0].BackupEligible || !devices[0].BackupState {
		t.Errorf("list-devices gives %+v, want backupEligible and backupState", devices)
	}
}

// TestAPIKey runs the page against a handler that checks API keys, as it
// does when it listens beyond loopback: the page sends the key it is given.
func TestAPIKey(t *testing.T) {
	const key = "e2e-api-key-0123456789"
	d := openDemo(t, "PASSKEY_API_KEYS="+key)
	d.authenticator(browsertest.Platform())

	o := d.click("#register", "register")
	if o.State != "error" || o.Code != "unauthorized" {
		t.Fatalf("registering without the key: page shows %s %q (code %q), want unauthorized", o.State, o.Text, o.Code)
	}
	if c := d.lastCall("register-begin"); c.Status != 401 {
		t.Errorf("register-begin without the key answered %d, want 401", c.Status)
	}
	d.set("apiKey", key)
	d.register()
	d.signInUsernameless()
}
