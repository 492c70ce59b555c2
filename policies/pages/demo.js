/* demo.js: wires the demo page's buttons to the functions and passkey.js. */
/* global Passkeys -- passkey.js */
(function () {
  'use strict';
  const $ = function (id) { return document.getElementById(id); };
  const base = '';
  // action names what the page is doing; seq counts the messages shown.
  // Both are mirrored on #status (data-action, data-seq, data-state
  // busy|ok|error, data-code) so a test can wait for an outcome.
  let action = '', seq = 0;
  // locale is the browser's language, as B2C's {Culture:RFC5646} would be:
  // sent with every call for userMessage and used for passkey.js's own
  // messages, so that one page speaks one language.
  const locale = navigator.language || 'en';

  function show(text, state, data) {
    const status = $('status');
    status.textContent = text;
    status.className = state === 'error' ? 'error' : '';
    status.dataset.state = state || 'ok';
    status.dataset.action = action;
    status.dataset.seq = String(++seq);
    if (data && (data.code || data.kind)) status.dataset.code = data.code || data.kind;
    else delete status.dataset.code;
    if (data !== undefined) $('result').textContent = JSON.stringify(data, null, 2);
  }

  function fail(err) {
    if (err && err.userMessage) return show(`${err.userMessage  } (${  err.code  })`, 'error', err);
    show(Passkeys.message(err && err.kind, locale), 'error', { kind: err && err.kind, detail: String(err && err.message) });
  }

  function api(name, body) {
    body.locale = locale;
    return Passkeys.call(base, name, body, $('apiKey').value);
  }

  function objectId() {
    return $('objectId').value.trim();
  }

  // setObjectId shows the objectId and keeps it for the next visit.
  function setObjectId(id) {
    $('objectId').value = id;
    localStorage.setItem('passkeys-demo-objectId', id);
  }

  function newObjectId() {
    setObjectId(crypto.randomUUID());
  }

  function register() {
    show(Passkeys.message('working', locale), 'busy');
    return api('register-begin', { objectId: objectId(), userName: $('userName').value, displayName: $('userName').value })
      .then((begin) => { return Passkeys.register(begin.options); })
      .then((credential) => {
        const body = { objectId: objectId(), credential };
        if ($('deviceName').value) body.deviceName = $('deviceName').value;
        return api('register-finish', body);
      })
      .then((res) => {
        return listDevices().then(() => {
          show(`Registered "${  res.deviceName  }" (${  res.deviceCount  } in all).`, 'ok', res);
        });
      });
  }

  function login(named, mediation, signal) {
    const begin = {};
    if (named) begin.objectId = objectId();
    if (mediation) begin.mediation = mediation;
    if (!mediation) show(Passkeys.message('working', locale), 'busy');
    return api('login-begin', begin)
      .then((res) => { return Passkeys.signIn(res.options, { signal }); })
      .then((credential) => {
        const finish = { credential };
        if (named) finish.objectId = objectId();
        return api('login-finish', finish);
      })
      .then((res) => {
        setObjectId(res.objectId);
        show(`Signed in as ${  res.objectId  } with "${  res.deviceName  }".`, 'ok', res);
      });
  }

  function listDevices() {
    return api('list-devices', { objectId: objectId() }).then((res) => {
      const rows = $('devices');
      rows.textContent = '';
      JSON.parse(res.devices).forEach((d) => {
        const tr = document.createElement('tr');
        tr.dataset.id = d.id;
        [d.name, d.authenticator || d.aaguid, d.backupState ? 'yes' : 'no', d.lastUsedAt].forEach((text) => {
          const td = document.createElement('td');
          td.textContent = text;
          tr.appendChild(td);
        });
        const actions = document.createElement('td');
        const rename = document.createElement('button');
        rename.textContent = 'Rename';
        rename.className = 'rename';
        rename.onclick = run('rename', () => {
          const name = prompt('New name', d.name);
          if (!name) return Promise.resolve();
          return api('rename-device', { objectId: objectId(), credentialId: d.id, deviceName: name })
            .then((r) => {
              return listDevices().then(() => { show(`Renamed to "${  r.deviceName  }".`, 'ok', r); });
            });
        });
        const remove = document.createElement('button');
        remove.textContent = 'Delete';
        remove.className = 'delete';
        remove.onclick = run('delete', () => {
          return api('delete-device', { objectId: objectId(), credentialId: d.id })
            .then((r) => {
              return listDevices().then(() => { show(`Deleted; ${  r.deviceCount  } left.`, 'ok', r); });
            });
        });
        actions.append(rename, remove);
        tr.appendChild(actions);
        rows.appendChild(tr);
      });
      $('devices').dataset.count = res.deviceCount;
      return res;
    });
  }

  // Autofill: a conditional request waits on the sign-in field until the
  // user picks a passkey; it is restarted after every other ceremony. The
  // page address ?autofill=off turns it off. The field's data-autofill says
  // where it stands: off, unsupported, pending, done or aborted.
  let autofill;
  const autofillOff = /[?&]autofill=off(&|$)/.test(location.search);
  function startAutofill() {
    if (autofill) autofill.abort();
    const field = $('signInName');
    if (autofillOff) {
      field.dataset.autofill = 'off';
      return;
    }
    autofill = new AbortController();
    const signal = autofill.signal;
    Passkeys.conditionalSupported().then((ok) => {
      if (signal.aborted) return;
      if (!ok) {
        field.dataset.autofill = 'unsupported';
        return;
      }
      action = 'autofill';
      field.dataset.autofill = 'pending';
      login(false, 'conditional', signal).then(() => {
        field.dataset.autofill = 'done';
      }, (err) => {
        field.dataset.autofill = signal.aborted ? 'aborted' : 'done';
        if (!signal.aborted) fail(err);
      });
    });
  }

  // run wraps a button's action: it stops autofill, names the action on
  // #status, shows a failure and restarts autofill afterwards.
  function run(name, fn) {
    return function () {
      if (autofill) autofill.abort();
      action = name;
      return fn().catch(fail).then(startAutofill);
    };
  }

  function listAction() {
    return listDevices().then((res) => {
      show(`${res.deviceCount  } passkey(s).`, 'ok', res);
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('objectId').value = localStorage.getItem('passkeys-demo-objectId') || '';
    if (!$('objectId').value) newObjectId();
    $('objectId').onchange = function () { localStorage.setItem('passkeys-demo-objectId', objectId()); };
    $('newUser').onclick = newObjectId;
    $('register').onclick = run('register', register);
    $('loginNamed').onclick = run('login-named', () => { return login(true); });
    $('loginUsernameless').onclick = run('login-usernameless', () => { return login(false); });
    $('listDevices').onclick = run('list', listAction);
    if (!Passkeys.supported()) show(Passkeys.message('unsupported', locale), 'error');
    startAutofill();
  });
})();
