/*
 * demo-lifecycle.js: the demo page's automatic upgrade, Signal API calls
 * and hints, with passkey-lifecycle.js.
 *
 * It sees every function call the demo makes (it wraps Passkeys.call) to
 * add the chosen hints to the begin calls and to send the signals a B2C
 * page would: after a registration, a sign-in and a delete the accepted
 * credentials, after a rename the user's details, and after a sign-in
 * refused with credential_unknown the unknown credential. #signals lists
 * each signal and whether the browser has it.
 */
/* global Passkeys -- passkey.js */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const L = window.PasskeyLifecycle;
  let lastRequestOptions = null; // the publicKey of the last login-begin

  function note(name, argument, made) {
    const li = document.createElement('li');
    li.dataset.signal = name;
    li.dataset.made = String(made);
    li.dataset.argument = JSON.stringify(argument);
    li.textContent = `${name + (made ? '' : ' (not supported by this browser)')  }: ${  JSON.stringify(argument)}`;
    $('signals').appendChild(li);
  }

  async function send(name, argument, fn) {
    note(name, argument, await fn());
  }

  function accepted(res) {
    const argument = { rpId: res.rpId, userId: res.userHandle, allAcceptedCredentialIds: res.acceptedCredentialIds || [] };
    return send('signalAllAcceptedCredentials', argument, () => L.signalAllAcceptedCredentials(res));
  }

  function after(name, body, res) {
    switch (name) {
      case 'login-begin':
        try { lastRequestOptions = JSON.parse(res.options).publicKey; } catch (e) { lastRequestOptions = null; }
        break;
      case 'register-finish':
      case 'login-finish':
      case 'delete-device':
        return accepted(res);
      case 'rename-device': {
        const name = $('userName').value;
        const argument = { rpId: res.rpId, userId: res.userHandle, name, displayName: name };
        return send('signalCurrentUserDetails', argument, () => L.signalCurrentUserDetails(res, name, name));
      }
    }
  }

  function afterError(name, body, err) {
    if (name !== 'login-finish' || !err || err.code !== 'credential_unknown') return;
    let credentialId;
    try { credentialId = JSON.parse(body.credential).id; } catch (e) { return; }
    const rpId = (lastRequestOptions && lastRequestOptions.rpId) || location.hostname;
    return send('signalUnknownCredential', { rpId, credentialId },
      () => L.signalUnknownCredential(rpId, credentialId));
  }

  // Every call of the demo goes through here: hints go into the begin
  // calls, signals follow the answers.
  const call = Passkeys.call;
  Passkeys.call = function (base, name, body, apiKey) {
    const hints = $('hints').value;
    if (hints && (name === 'register-begin' || name === 'login-begin') && !body.hints) body.hints = hints;
    return call(base, name, body, apiKey).then(async (res) => {
      await after(name, body, res);
      return res;
    }, async (err) => {
      await afterError(name, body, err);
      throw err;
    });
  };

  // --- automatic upgrade after a (simulated) password sign-in ----------

  function upgradeStatus(state, text) {
    const s = $('upgradeStatus');
    s.dataset.upgrade = state;
    s.textContent = text;
  }

  async function passwordSignIn() {
    $('offer').hidden = true;
    upgradeStatus('busy', 'Signed in with a password; asking the browser for a passkey…');
    const objectId = $('objectId').value.trim();
    const userName = $('userName').value;
    const locale = navigator.language || 'en';
    const apiKey = $('apiKey').value;
    try {
      const begin = await Passkeys.call('', 'register-begin',
        { objectId, userName, displayName: userName, mediation: 'conditional', locale }, apiKey);
      if (!begin.options) return upgradeStatus('none', 'No passkey added: the account has as many passkeys as allowed.');
      if (!(await L.conditionalCreateAvailable())) {
        $('offer').hidden = false;
        return upgradeStatus('offer', 'This browser cannot add a passkey by itself: offering one instead.');
      }
      let credential;
      try {
        credential = await L.upgrade(begin.options);
      } catch (e) {
        return upgradeStatus('declined', `The browser added no passkey (${  e && e.name  }); signed in with the password only.`);
      }
      const res = await Passkeys.call('', 'register-finish', { objectId, credential, locale }, apiKey);
      upgradeStatus('upgraded', `Passkey "${  res.deviceName  }" added without a dialog.`);
      $('listDevices').click();
    } catch (err) {
      upgradeStatus('error', (err && (err.userMessage || err.message)) || 'failed');
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('passwordSignIn').onclick = passwordSignIn;
    $('offerCreate').onclick = () => {
      $('offer').hidden = true;
      $('register').click();
    };
    $('offerSkip').onclick = () => {
      $('offer').hidden = true;
      upgradeStatus('skipped', 'No passkey this time.');
    };
    const caps = await L.capabilities();
    const known = ['conditionalCreate', 'conditionalGet', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails', 'signalUnknownCredential']
      .map((k) => `${k  }: ${  caps[k] === true ? 'yes' : 'no'}`);
    $('capabilities').textContent = known.join(', ');
  });
})();
