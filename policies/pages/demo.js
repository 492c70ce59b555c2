/* demo.js: wires the demo page's buttons to the functions and passkey.js. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var base = '';

  function show(text, isError, data) {
    var status = $('status');
    status.textContent = text;
    status.className = isError ? 'error' : '';
    status.dataset.state = isError ? 'error' : 'ok';
    if (data !== undefined) $('result').textContent = JSON.stringify(data, null, 2);
  }

  function fail(err) {
    if (err && err.userMessage) return show(err.userMessage + ' (' + err.code + ')', true, err);
    show(Passkeys.message(err && err.kind), true, { kind: err && err.kind, detail: String(err && err.message) });
  }

  function api(name, body) {
    return Passkeys.call(base, name, body, $('apiKey').value);
  }

  function objectId() {
    return $('objectId').value.trim();
  }

  function newObjectId() {
    $('objectId').value = crypto.randomUUID();
    localStorage.setItem('passkeys-demo-objectId', $('objectId').value);
  }

  function register() {
    show(Passkeys.message('working'));
    return api('register-begin', { objectId: objectId(), userName: $('userName').value, displayName: $('userName').value })
      .then(function (begin) { return Passkeys.register(begin.options); })
      .then(function (credential) {
        var body = { objectId: objectId(), credential: credential };
        if ($('deviceName').value) body.deviceName = $('deviceName').value;
        return api('register-finish', body);
      })
      .then(function (res) { show('Registered "' + res.deviceName + '" (' + res.deviceCount + ' in all).', false, res); return listDevices(); })
      .catch(fail);
  }

  function login(named, mediation, signal) {
    var begin = {};
    if (named) begin.objectId = objectId();
    if (mediation) begin.mediation = mediation;
    if (!mediation) show(Passkeys.message('working'));
    return api('login-begin', begin)
      .then(function (res) { return Passkeys.signIn(res.options, { signal: signal }); })
      .then(function (credential) {
        var finish = { credential: credential };
        if (named) finish.objectId = objectId();
        return api('login-finish', finish);
      })
      .then(function (res) {
        $('objectId').value = res.objectId;
        show('Signed in as ' + res.objectId + ' with "' + res.deviceName + '".', false, res);
      });
  }

  function listDevices() {
    return api('list-devices', { objectId: objectId() }).then(function (res) {
      var rows = $('devices');
      rows.textContent = '';
      JSON.parse(res.devices).forEach(function (d) {
        var tr = document.createElement('tr');
        tr.dataset.id = d.id;
        [d.name, d.authenticator || d.aaguid, d.backupState ? 'yes' : 'no', d.lastUsedAt].forEach(function (text) {
          var td = document.createElement('td');
          td.textContent = text;
          tr.appendChild(td);
        });
        var actions = document.createElement('td');
        var rename = document.createElement('button');
        rename.textContent = 'Rename';
        rename.className = 'rename';
        rename.onclick = function () {
          var name = prompt('New name', d.name);
          if (name) api('rename-device', { objectId: objectId(), credentialId: d.id, deviceName: name }).then(listDevices).catch(fail);
        };
        var remove = document.createElement('button');
        remove.textContent = 'Delete';
        remove.className = 'delete';
        remove.onclick = function () {
          api('delete-device', { objectId: objectId(), credentialId: d.id })
            .then(function (r) { show('Deleted; ' + r.deviceCount + ' left.', false, r); return listDevices(); })
            .catch(fail);
        };
        actions.append(rename, remove);
        tr.appendChild(actions);
        rows.appendChild(tr);
      });
      $('devices').dataset.count = res.deviceCount;
      $('result').textContent = JSON.stringify(res, null, 2);
    }).catch(fail);
  }

  // Autofill: a conditional request waits on the sign-in field until the
  // user picks a passkey; it is restarted after every other ceremony.
  var autofill;
  function startAutofill() {
    if (autofill) autofill.abort();
    autofill = new AbortController();
    var signal = autofill.signal;
    Passkeys.conditionalSupported().then(function (ok) {
      if (!ok || signal.aborted) return;
      login(false, 'conditional', signal).catch(function (err) {
        if (!signal.aborted) fail(err);
      });
    });
  }

  function run(action) {
    return function () {
      if (autofill) autofill.abort();
      return action().catch(fail).then(startAutofill);
    };
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('objectId').value = localStorage.getItem('passkeys-demo-objectId') || '';
    if (!$('objectId').value) newObjectId();
    $('objectId').onchange = function () { localStorage.setItem('passkeys-demo-objectId', objectId()); };
    $('newUser').onclick = newObjectId;
    $('register').onclick = run(register);
    $('loginNamed').onclick = run(function () { return login(true); });
    $('loginUsernameless').onclick = run(function () { return login(false); });
    $('listDevices').onclick = listDevices;
    if (!Passkeys.supported()) show(Passkeys.message('unsupported'), true);
    startAutofill();
  });
})();
