/*
 * passkey-lifecycle.js: what today's browsers add to passkeys, shared by
 * the demo page and the B2C page templates.
 *
 * - Automatic passkey upgrade (conditional create): right after a password
 *   sign-in, ask the password manager to add a passkey without a dialog
 *   (Chrome 136+, Safari 18+). Feature-detected with
 *   PublicKeyCredential.getClientCapabilities(); where it is missing the
 *   caller falls back to the offer page.
 * - The Signal API (Chrome 132+, Safari 26+): tell the password manager
 *   which passkeys the service still accepts, which one it does not know,
 *   and the user's current names. Where a browser lacks a signal, nothing
 *   happens.
 * - The B2C upgrade page (passkey-upgrade.html, data-page="upgrade") and
 *   the signal of the B2C manage page (passkey-manage.html).
 *
 * It needs passkey.js (window.Passkeys) for the user's language and its
 * strings, and waits for it: B2C inserts the scripts in no order.
 */
(function (global) {
  'use strict';

  const P = () => global.PublicKeyCredential;

  // How long a silent upgrade may take before the page goes on without it:
  // a browser that does not create (no saved password, the user's setting)
  // should refuse at once, but some never answer.
  const upgradeTimeoutMs = 4000;

  // capabilities resolves to the browser's client capabilities, {} where
  // getClientCapabilities is missing or fails.
  async function capabilities() {
    const PKC = P();
    if (!PKC || typeof PKC.getClientCapabilities !== 'function') return {};
    try {
      return (await PKC.getClientCapabilities()) || {};
    } catch (e) {
      return {};
    }
  }

  async function conditionalCreateAvailable() {
    return (await capabilities()).conditionalCreate === true;
  }

  function fromBase64url(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(s, (c) => c.charCodeAt(0)).buffer;
  }

  function toBase64url(buffer) {
    let s = '';
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function creationOptions(publicKey) {
    const PKC = P();
    if (PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(publicKey);
    return Object.assign({}, publicKey, {
      challenge: fromBase64url(publicKey.challenge),
      user: Object.assign({}, publicKey.user, { id: fromBase64url(publicKey.user.id) }),
      excludeCredentials: (publicKey.excludeCredentials || []).map((d) => Object.assign({}, d, { id: fromBase64url(d.id) }))
    });
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') return JSON.stringify(cred.toJSON());
    const r = cred.response;
    return JSON.stringify({
      id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type,
      response: {
        clientDataJSON: toBase64url(r.clientDataJSON),
        attestationObject: toBase64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  // upgrade runs navigator.credentials.create with mediation "conditional"
  // and the options of a register-begin called with mediation conditional.
  // It resolves to the credential claim, or rejects: the browser did not
  // create one (no recent password sign-in, the user's setting, timeout).
  async function upgrade(optionsJSON, timeoutMs) {
    const options = JSON.parse(optionsJSON);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs || upgradeTimeoutMs);
    try {
      const cred = await navigator.credentials.create({
        publicKey: creationOptions(options.publicKey),
        mediation: 'conditional',
        signal: abort.signal
      });
      if (!cred) throw new Error('no credential');
      return credentialJSON(cred);
    } finally {
      clearTimeout(timer);
    }
  }

  // signal calls PublicKeyCredential[name](argument) where the browser has
  // it; it resolves to true when the call was made. A signal is advice to
  // the password manager: its failure changes nothing for the user.
  async function signal(name, argument) {
    const PKC = P();
    if (!PKC || typeof PKC[name] !== 'function') return false;
    try {
      await PKC[name](argument);
    } catch (e) {
      // The browser may refuse (e.g. an rpId it does not accept); nothing to do.
    }
    return true;
  }

  // The three signals, from the claims the functions return (rpId,
  // userHandle, acceptedCredentialIds) and what the page knows.
  function signalUnknownCredential(rpId, credentialId) {
    return signal('signalUnknownCredential', { rpId, credentialId });
  }

  function signalAllAcceptedCredentials(claims) {
    return signal('signalAllAcceptedCredentials', {
      rpId: claims.rpId, userId: claims.userHandle, allAcceptedCredentialIds: claims.acceptedCredentialIds || []
    });
  }

  function signalCurrentUserDetails(claims, name, displayName) {
    return signal('signalCurrentUserDetails', {
      rpId: claims.rpId, userId: claims.userHandle, name, displayName: displayName || name
    });
  }

  global.PasskeyLifecycle = {
    capabilities,
    conditionalCreateAvailable,
    upgrade,
    signalUnknownCredential,
    signalAllAcceptedCredentials,
    signalCurrentUserDetails
  };

  // --- passkey-upgrade.html: the silent step after a password sign-in --
  //
  // B2C renders passkeyOptions (from register-begin with mediation
  // conditional), passkeyCredential, passkeyAction and passkeyLocale into
  // #api. The page shows only "Signing you in…" and posts at once:
  //   passkeyAction "upgraded" with the credential (register-finish runs),
  //   "declined" when the browser did not create one (the journey goes on),
  //   "offer" when the browser cannot upgrade (the journey shows the offer).

  const $ = (id) => document.getElementById(id);

  function setClaim(id, value) {
    const input = $(id);
    if (!input) return;
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function hideClaims() {
    for (const input of document.querySelectorAll('#api input, #api textarea')) {
      const row = input.closest('li') || input.parentNode;
      row.style.display = 'none';
      row.setAttribute('aria-hidden', 'true');
    }
  }

  async function upgradePage(ui) {
    hideClaims();
    const next = $('continue');
    next.style.display = 'none';
    const cancel = $('cancel');
    if (cancel) cancel.style.display = 'none';
    const locale = ($('passkeyLocale') || {}).value;
    document.documentElement.lang = global.Passkeys.language(locale);
    const status = document.createElement('p');
    status.id = 'passkey-status';
    status.className = 'passkey-status';
    status.setAttribute('role', 'status');
    status.textContent = global.Passkeys.text('upgrading', locale);
    document.title = status.textContent;
    ui.appendChild(status);

    const options = ($('passkeyOptions') || {}).value;
    let action = 'declined';
    let credential = '';
    if (!(await conditionalCreateAvailable())) {
      action = 'offer';
    } else if (options) {
      try {
        credential = await upgrade(options);
        action = 'upgraded';
      } catch (e) {
        action = 'declined';
      }
    }
    ui.setAttribute('data-upgrade', action);
    setClaim('passkeyAction', action);
    setClaim('passkeyCredential', credential);
    next.click();
    if (action === 'upgraded') goOnIfRefused(next);
  }

  // goOnIfRefused: should the service refuse the new passkey, B2C shows
  // its message on this page and keeps it; the sign-in then goes on
  // without a passkey ("declined" skips register-finish).
  function goOnIfRefused(next) {
    const error = document.querySelector('.error.pageLevel');
    if (!error) return;
    const observer = new MutationObserver(() => {
      if (getComputedStyle(error).display === 'none' || !error.textContent.trim()) return;
      observer.disconnect();
      setClaim('passkeyAction', 'declined');
      setClaim('passkeyCredential', '');
      next.click();
    });
    observer.observe(error, { attributes: true, childList: true, characterData: true, subtree: true });
  }

  // start runs the upgrade page once B2C rendered the claims and
  // passkey.js (the strings) is there: B2C inserts the scripts in no
  // particular order.
  let started = false;
  function start() {
    const ui = $('passkey-ui');
    if (started || !ui || ui.getAttribute('data-page') !== 'upgrade') return started;
    if (!$('continue') || !$('passkeyLocale') || !global.Passkeys) return false;
    started = true;
    upgradePage(ui);
    return true;
  }

  // --- passkey-manage.html: keep the password manager in step ----------
  //
  // The manage page follows every list-devices (after a sign-in, an add, a
  // rename or a delete): it tells the browser which of the user's passkeys
  // the service still accepts. ui's data-signal says "made" or
  // "unsupported".

  async function managePage(ui) {
    for (const id of ['passkeyRpId', 'passkeyUserHandle']) {
      const row = $(id) && ($(id).closest('li') || $(id).parentNode);
      if (row) {
        row.style.display = 'none';
        row.setAttribute('aria-hidden', 'true');
      }
    }
    const rpId = $('passkeyRpId').value;
    const userHandle = $('passkeyUserHandle').value;
    if (!rpId || !userHandle) return;
    let devices = [];
    try { devices = JSON.parse(($('passkeyDevices') || {}).value || '[]') || []; } catch (e) { return; }
    const made = await signalAllAcceptedCredentials({ rpId, userHandle, acceptedCredentialIds: devices.map((d) => d.id) });
    ui.setAttribute('data-signal', made ? 'made' : 'unsupported');
  }

  function whenManageReady(ui) {
    const ready = () => $('passkeyRpId') && $('passkeyUserHandle') && $('passkeyDevices');
    if (ready()) return managePage(ui);
    const observer = new MutationObserver(() => {
      if (!ready()) return;
      observer.disconnect();
      managePage(ui);
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
  }

  function whenReady() {
    const ui = $('passkey-ui');
    if (ui && ui.getAttribute('data-page') === 'manage') return whenManageReady(ui);
    if (!ui || ui.getAttribute('data-page') !== 'upgrade') return;
    if (start()) return;
    const observer = new MutationObserver(() => {
      if (start()) observer.disconnect();
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
    global.addEventListener('passkeys-ready', () => {
      if (start()) observer.disconnect();
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', whenReady);
  else whenReady();
})(window);
