// Passkeys app API from a single-page app: the calls an app makes with the
// user's B2C access token (MSAL's acquireTokenSilent, say). apiBase is the
// Function App's /api URL, e.g. https://func-passkeys.azurewebsites.net/api.
// The app's origin must be in PASSKEY_APP_ORIGINS and, to add passkeys, in
// PASSKEY_RP_ORIGINS on the RP ID's domain.

async function passkeysCall(apiBase, accessToken, method, path, body) {
  const res = await fetch(apiBase + '/me/passkeys' + path, {
    method,
    headers: {
      Authorization: 'Bearer ' + accessToken,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json();
  if (!res.ok) {
    // 401: WWW-Authenticate names the failed check; an
    // insufficient_user_authentication challenge asks for a fresh sign-in
    // (MSAL: acquireTokenRedirect with { maxAge: 0 } or prompt: 'login').
    const err = new Error(data.userMessage || 'request failed');
    Object.assign(err, { status: res.status, code: data.code, challenge: res.headers.get('WWW-Authenticate') });
    throw err;
  }
  return data;
}

// listPasskeys returns { deviceCount, devices: [{ id, name, createdAt, ... }] }.
function listPasskeys(apiBase, accessToken) {
  return passkeysCall(apiBase, accessToken, 'GET', '');
}

function renamePasskey(apiBase, accessToken, id, name) {
  return passkeysCall(apiBase, accessToken, 'PATCH', '/' + encodeURIComponent(id), { name });
}

function deletePasskey(apiBase, accessToken, id) {
  return passkeysCall(apiBase, accessToken, 'DELETE', '/' + encodeURIComponent(id));
}

// addPasskey needs a token from a sign-in within PASSKEY_TOKEN_MAX_AUTH_AGE.
async function addPasskey(apiBase, accessToken, name) {
  const { options } = await passkeysCall(apiBase, accessToken, 'POST', '/register-begin', {});
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
  });
  return passkeysCall(apiBase, accessToken, 'POST', '/register-finish', { credential: credential.toJSON(), name });
}
