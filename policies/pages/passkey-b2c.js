/*
 * passkey-b2c.js: the B2C side of the passkey page templates
 * (passkey-register.html, passkey-signin.html, passkey-manage.html).
 *
 * B2C renders the technical profile's claims as inputs inside <div id="api">
 * and submits them with #continue. This script hides the claim inputs that
 * carry JSON, reads the options claim (#passkeyOptions), runs the ceremony
 * with window.Passkeys (passkey.js, the one ceremony script), writes the
 * credential claim (#passkeyCredential) and clicks #continue. When WebAuthn
 * is missing, the user cancels or the authenticator refuses, it says so in
 * the user's language and offers to try again or to go back.
 *
 * A change (a passkey added, renamed or removed) is confirmed on the next
 * page, and after any error the focus goes to what the user can do next.
 * When B2C refuses a posted passkey with the service's credential_unknown
 * message, the sign-in page tells the browser (signalUnknownCredential).
 */
(function (global) {
  'use strict';


  // passkey.js may run after this script (B2C inserts the template's
  // scripts into its page, where defer keeps no order): Passkeys is looked
  // up when the page starts, and the start waits for it.
  let P = null;
  const hidden = ['passkeyOptions', 'passkeyCredential', 'passkeyAction', 'passkeyCredentialId',
    'passkeyDeviceName', 'passkeyDevices', 'passkeyLastRound', 'passkeyLocale'];

  function $(id) { return document.getElementById(id); }

  function locale() {
    const el = $('passkeyLocale');
    return (el && el.value) || document.documentElement.lang || '';
  }

  function t(key) { return P.text(key, locale()); }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  function button(id, label, onClick, primary, extra) {
    const cls = `${primary ? 'passkey-primary' : 'passkey-secondary'}${extra ? ` ${extra}` : ''}`;
    const b = el('button', { id, type: 'button', 'class': cls }, label);
    b.addEventListener('click', onClick);
    return b;
  }


  // setClaim writes a claim input the way typing would, so B2C's own
  // script sees the value.
  function setClaim(id, value) {
    const input = $(id);
    if (!input) return;
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function submit() { $('continue').click(); }

  // --- what the last change did, said on the next page -----------------
  // B2C runs a change's validation profile when the page submits: when it
  // succeeds the next page comes; when it fails the same page stays (same
  // DOM, no reload) and shows B2C's error. So the page notes the change in
  // sessionStorage (this tab, this origin) before it submits, forgets it
  // when B2C's error shows, and the next page says it, once, if it is
  // recent. No claim of the policy is involved.
  const changeKey = 'passkey-change';
  const changeFresh = 120000;
  const changeTexts = { added: 'changeAdded', renamed: 'changeRenamed', removed: 'changeRemoved' };

  function noteChange(kind, name) {
    try {
      global.sessionStorage.setItem(changeKey, JSON.stringify({ kind, name: name || '', at: Date.now() }));
    } catch (e) { /* no storage (private mode): no confirmation */ }
  }

  function forgetChange() {
    try { global.sessionStorage.removeItem(changeKey); } catch (e) { /* no storage */ }
  }

  // takeChange returns the noted change if it is recent, and forgets it.
  function takeChange() {
    let change = null;
    try { change = JSON.parse(global.sessionStorage.getItem(changeKey)); } catch (e) { change = null; }
    forgetChange();
    if (!change || !changeTexts[change.kind] || typeof change.at !== 'number') return null;
    const age = Date.now() - change.at;
    return age >= 0 && age < changeFresh ? change : null;
  }

  // onB2CError calls back with the text whenever B2C shows its page-level
  // error: a validation profile failed and the page stays.
  function onB2CError(callback) {
    const error = document.querySelector('#api .error.pageLevel');
    if (!error) return;
    new MutationObserver(() => {
      const text = error.textContent.replace(/\s+/g, ' ').trim();
      const shown = error.style.display !== 'none' && error.getAttribute('aria-hidden') !== 'true' && text;
      if (shown) callback(text);
    }).observe(error, { attributes: true, childList: true, characterData: true, subtree: true });
  }

  // --- the Signal API after a refused passkey ---------------------------
  // login-finish is a validation profile: when it refuses the passkey the
  // page posted, B2C keeps the page and shows the service's userMessage;
  // the page sees that text, not the error code. When the text is the
  // handler's credential_unknown message (passkey.js holds it in every
  // language, a Go test keeps it equal to the handler's), the service does
  // not know the passkey (removed there, or never saved): the page tells
  // the browser, whose password manager may then hide or remove it
  // (PublicKeyCredential.signalUnknownCredential, Chrome 132+, Safari 26+).
  // Where the browser lacks it, nothing happens; any other refusal (an
  // expired challenge, a wrong signature) signals nothing.
  function unknownCredentialSignal(optionsJSON) {
    let rpId = '';
    // Without an rpId in the options the browser used the page's host.
    try { rpId = JSON.parse(optionsJSON).publicKey.rpId || ''; } catch (e) { rpId = ''; }
    rpId = rpId || global.location.hostname;
    let posted = '';
    return {
      // posted notes the credential id of the credential claim just written.
      posted(credentialJSON) {
        try { posted = JSON.parse(credentialJSON).id || ''; } catch (e) { posted = ''; }
      },
      // forget: the next submit posts no passkey.
      forget() { posted = ''; },
      // refused takes the text B2C shows; once per posted passkey.
      refused(text) {
        const credentialId = posted;
        posted = '';
        if (!credentialId || !P.texts('credentialUnknown').includes(text)) return;
        const PKC = global.PublicKeyCredential;
        if (!PKC || typeof PKC.signalUnknownCredential !== 'function') {
          ui.setAttribute('data-signal', 'unsupported');
          return;
        }
        ui.setAttribute('data-signal', 'made');
        // Advice to the password manager: a refusal changes nothing here.
        try {
          Promise.resolve(PKC.signalUnknownCredential({ rpId, credentialId })).catch(() => {});
        } catch (e) { /* the browser refused the call */ }
      }
    };
  }

  // focusOn moves the focus to the first of the elements that is there.
  function focusOn(...elements) {
    const target = elements.find((e) => e && e.isConnected && !e.disabled);
    if (target) target.focus();
  }

  // hideClaim hides a claim's row (B2C wraps each claim in an li).
  function hideClaim(id) {
    const input = $(id);
    if (!input) return;
    const row = input.closest('li') || input.parentNode;
    row.style.display = 'none';
    row.setAttribute('aria-hidden', 'true');
  }

  let ui, status, actions;

  function say(text, isError) {
    status.textContent = text || '';
    status.className = isError ? 'passkey-status passkey-error' : 'passkey-status';
  }

  function setActions(list) {
    actions.textContent = '';
    list.forEach((b) => { actions.appendChild(b); });
  }

  // goBack leaves the page the B2C way: its cancel button returns to the
  // application; without one, the browser's history.
  function goBack() {
    const cancel = $('cancel');
    if (cancel) cancel.click(); else global.history.back();
  }

  // fail shows why a ceremony did not complete and what the user can do.
  function fail(err, retry, other) {
    const kind = (err && err.kind) || 'failed';
    say(P.message(kind, locale()), true);
    const list = [];
    if (retry && kind !== 'unsupported') list.push(button('passkey-retry', P.message('retry', locale()), retry, true));
    list.push(other || button('passkey-back', P.message('back', locale()), goBack));
    setActions(list);
    list[0].focus();
  }

  function header(title, intro) {
    ui.insertBefore(el('p', { 'class': 'passkey-intro' }, intro), ui.firstChild);
    ui.insertBefore(el('h2', { 'class': 'passkey-title' }, title), ui.firstChild);
  }

  // --- passkey-register.html: offer (no options yet) and create ---------

  function registerPage() {
    header(t('registerTitle'), t('registerIntro'));
    const skip = button('passkey-skip', t('skip'), () => {
      if ($('passkeyAction')) setClaim('passkeyAction', 'skip');
      setClaim('passkeyCredential', '');
      submit();
    });
    if (!$('passkeyOptions')) {
      // Offer: the policy asks the service for options when the action is add.
      if (!P.supported()) return fail(new P.PasskeyError('unsupported'), null, skip);
      setActions([button('passkey-create', t('create'), () => {
        setClaim('passkeyAction', 'add');
        submit();
      }, true), skip]);
      // The service could not start (B2C shows why): the button tries again.
      onB2CError(() => focusOn($('passkey-create'), skip));
      return;
    }
    const run = function () {
      say(P.message('working', locale()));
      setActions([]);
      P.register($('passkeyOptions').value).then((credential) => {
        setClaim('passkeyCredential', credential);
        noteChange('added');
        submit();
        // Should the service refuse it, B2C shows why above; a challenge is
        // used once, so the way on is without a passkey.
        say('');
        setActions([skip]);
      }, (err) => { fail(err, run, skip); });
    };
    if (!P.supported()) return fail(new P.PasskeyError('unsupported'), null, skip);
    // The service refused the passkey (B2C shows why): the way on is skip.
    onB2CError(() => focusOn(skip));
    setActions([button('passkey-create', t('create'), run, true), skip]);
    run();
  }

  // --- passkey-signin.html: autofill, usernameless, named -------------

  function withoutMediation(optionsJSON) {
    const o = JSON.parse(optionsJSON);
    delete o.mediation;
    return JSON.stringify(o);
  }

  function signinPage() {
    const options = $('passkeyOptions').value;
    const name = $('signInName');
    if (!$('passkeyAction')) {
      // The named flow's second page: the options list the user's passkeys;
      // it says which account they are for.
      const account = $('passkeyReadOnlyEmail');
      hideClaim('passkeyReadOnlyEmail');
      header(t('signinTitle'), account?.value ? t('signinNamedFor').replace('{0}', account.value) : t('signinNamedIntro'));
      const signal = unknownCredentialSignal(options);
      const runNamed = function () {
        say(P.message('working', locale()));
        setActions([]);
        P.signIn(options).then((credential) => {
          setClaim('passkeyCredential', credential);
          signal.posted(credential);
          submit();
          say('');
          setActions([button('passkey-back', P.message('back', locale()), goBack)]);
        }, (err) => { fail(err, runNamed); });
      };
      if (!P.supported()) return fail(new P.PasskeyError('unsupported'));
      // The service refused the passkey (B2C shows why): the challenge is
      // spent, the way on is another way to sign in.
      onB2CError((text) => {
        signal.refused(text);
        focusOn($('passkey-back'));
      });
      runNamed();
      return;
    }
    header(t('signinTitle'), t('signinIntro'));
    name.setAttribute('autocomplete', 'username webauthn');
    if (!P.supported()) {
      say(P.message('unsupported', locale()), true);
      return;
    }
    let conditional = null;
    // passkeyAction tells the policy which way this submit goes: a
    // credential ("passkey"), the sign-in name alone ("name") or a fresh
    // challenge ("renew"). B2C keeps a refused credential in its claims,
    // so the action decides; it is written on every submit, also by B2C's
    // own Continue.
    let next = 'name';
    const signal = unknownCredentialSignal(options);
    $('continue').addEventListener('click', (e) => {
      if (next === 'name' && !name.value.trim()) {
        // Nothing to go on: say so here instead of B2C's generic error.
        e.preventDefault();
        e.stopImmediatePropagation();
        say(t('enterEmail'), true);
        name.focus();
        return;
      }
      setClaim('passkeyAction', next);
      if (next !== 'passkey') signal.forget();
      next = 'name';
    }, true);
    const send = function (action) {
      next = action;
      submit();
    };
    // A challenge is used once and lives as long as the options' timeout:
    // after B2C showed an error for a posted passkey (the service refused
    // it), or once the page was left open longer, the button asks the
    // policy for a fresh one instead of failing again.
    const loadedAt = Date.now();
    let lifetime = 300000;
    try { lifetime = JSON.parse(options).publicKey.timeout || lifetime; } catch (e) { /* keep the default */ }
    let spent = false;
    // One ceremony at a time: a second click while the system dialog is
    // open, or while the page is being submitted, does nothing.
    let busy = false;
    const expired = function () { return Date.now() - loadedAt > lifetime - 5000; };
    const watchRefusal = function () {
      onB2CError((text) => {
        signal.refused(text);
        spent = true;
        busy = false;
        say('');
        focusOn($('passkey-usernameless'), $('passkey-retry'));
      });
    };
    const done = function (credential) {
      setClaim('passkeyCredential', credential);
      signal.posted(credential);
      send('passkey');
    };
    // Autofill waits quietly in the field's suggestions; when it ends
    // without a passkey (none for this site, aborted by the button, or
    // the challenge expired) the button and the named flow remain.
    const startAutofill = function () {
      P.conditionalSupported().then((ok) => {
        if (!ok) return name.setAttribute('data-autofill', 'off');
        conditional = new AbortController();
        name.setAttribute('data-autofill', 'waiting');
        setTimeout(() => { if (conditional) conditional.abort(); }, Math.max(lifetime - 5000, 0));
        P.signIn(options, { signal: conditional.signal }).then(done, () => {
          name.setAttribute('data-autofill', 'done');
        });
      });
    };
    const usernameless = () => {
      if (busy) return;
      if (conditional) conditional.abort();
      conditional = null;
      if (spent || expired()) return send('renew');
      busy = true;
      say(P.message('working', locale()));
      P.signIn(withoutMediation(options)).then(done, (err) => {
        busy = false;
        fail(err, usernameless);
      });
    };
    setActions([button('passkey-usernameless', t('usernameless'), usernameless, true)]);
    name.setAttribute('type', 'email');
    name.setAttribute('inputmode', 'email');
    watchRefusal();
    startAutofill();
  }

  // --- passkey-manage.html: list, add, rename, remove ------------------

  function when(value) {
    if (!value) return '';
    const d = new Date(value);
    return isNaN(d) ? value : d.toLocaleDateString(locale() || undefined);
  }

  function managePage(change) {
    header(t('manageTitle'), $('passkeyLastRound')?.value === 'true' ? t('lastChange') : '');
    if (change) {
      // A polite status, not an alert; its text comes a moment after the
      // region, so screen readers announce it.
      const said = el('p', { id: 'passkey-confirmation', 'class': 'passkey-confirmation', role: 'status' });
      ui.insertBefore(said, status);
      setTimeout(() => { said.textContent = t(changeTexts[change.kind]).replace('{0}', change.name); }, 100);
    }
    let devices = [];
    try { devices = JSON.parse($('passkeyDevices').value || '[]') || []; } catch (e) { devices = []; }
    const list = el('ul', { id: 'passkey-devices', 'class': 'passkey-cards' });
    if (!devices.length) list.appendChild(el('li', { 'class': 'passkey-none' }, t('none')));
    // One card per passkey: its name, its provider, its dates, and what
    // can be done with it.
    devices.forEach((d, i) => {
      const card = el('li', { 'class': 'passkey-card', 'data-id': d.id });
      card.appendChild(el('h3', { 'class': 'passkey-name' }, d.name));
      const facts = [d.authenticator, d.backupState ? t('synced') : ''].filter(Boolean).join(' · ');
      if (facts) card.appendChild(el('p', { 'class': 'passkey-facts' }, facts));
      const dates = [`${t('created')}: ${when(d.createdAt)}`];
      if (d.lastUsedAt) dates.push(`${t('lastUsed')}: ${when(d.lastUsedAt)}`);
      card.appendChild(el('p', { 'class': 'passkey-dates' }, dates.join(' · ')));
      const row = el('div', { 'class': 'passkey-card-actions' });
      const actionsOf = () => [
        button(`passkey-rename-${i}`, t('rename'), () => renameCard(card, d)),
        button(`passkey-remove-${i}`, t('remove'), () => confirmRemove(card, d, row, actionsOf), false, 'passkey-danger')
      ];
      actionsOf().forEach((b) => row.appendChild(b));
      card.appendChild(row);
      list.appendChild(card);
    });
    ui.insertBefore(list, status);
    const add = button('passkey-add', t('add'), () => {
      setClaim('passkeyAction', 'add');
      submit();
    }, true);
    if (!P.supported()) add.disabled = true;
    const done = button('passkey-done', t('done'), () => {
      setClaim('passkeyAction', 'done');
      submit();
    });
    setActions([add, done]);
    // B2C refused the change and shows why: the focus goes back where the
    // user was, ready for the next try: the name being edited, the card
    // whose removal was refused (its question withdrawn), else the add.
    onB2CError(() => {
      const editing = list.querySelector('.passkey-rename-input');
      if (editing) {
        editing.focus();
        editing.select();
        return;
      }
      const asked = list.querySelector('.passkey-confirm');
      if (asked) {
        asked.closest('.passkey-card').querySelector('#passkey-keep').click();
        return;
      }
      focusOn(add, done);
    });
  }

  // confirmRemove asks on the card itself (no browser dialog).
  function confirmRemove(card, d, row, actionsOf) {
    row.textContent = '';
    const question = el('p', { 'class': 'passkey-confirm', role: 'alert' }, t('confirmRemove').replace('{0}', d.name));
    row.appendChild(question);
    const yes = button('passkey-remove-confirm', t('remove'), () => {
      setClaim('passkeyAction', 'delete');
      setClaim('passkeyCredentialId', d.id);
      noteChange('removed', d.name);
      submit();
    }, false, 'passkey-danger');
    const keep = button('passkey-keep', t('keep'), () => {
      row.textContent = '';
      const again = actionsOf();
      again.forEach((b) => row.appendChild(b));
      again[1].focus();
    });
    row.appendChild(yes);
    row.appendChild(keep);
    yes.focus();
  }

  function renameCard(card, d) {
    const name = card.querySelector('.passkey-name');
    if (card.querySelector('.passkey-rename-input')) return;
    const input = el('input', { type: 'text', maxlength: '64', 'class': 'passkey-rename-input', 'aria-label': t('name') });
    input.value = d.name;
    name.textContent = '';
    name.appendChild(input);
    card.querySelector('.passkey-card-actions').prepend(button('passkey-save', t('save'), () => {
      const value = input.value.trim();
      if (!value) return input.focus();
      setClaim('passkeyAction', 'rename');
      setClaim('passkeyCredentialId', d.id);
      setClaim('passkeyDeviceName', value);
      noteChange('renamed', value);
      submit();
    }, true));
    input.focus();
  }

  // --- start once B2C has rendered the claims into #api ----------------

  function ready() {
    return global.Passkeys && $('continue') && $('passkeyLocale');
  }

  function start() {
    P = global.Passkeys;
    ui = $('passkey-ui');
    status = el('p', { id: 'passkey-status', 'class': 'passkey-status', role: 'alert', 'aria-live': 'polite' });
    actions = el('div', { id: 'passkey-actions', 'class': 'passkey-actions' });
    ui.appendChild(status);
    ui.appendChild(actions);
    hidden.forEach(hideClaim);
    const page = ui.getAttribute('data-page');
    // A change noted by the page before is said on the device page, the
    // one that follows a change; any other page forgets it. A change B2C
    // refused is forgotten when its error shows.
    const change = takeChange();
    onB2CError(forgetChange);
    // The page speaks the user's language, also to screen readers and in
    // the tab's title.
    document.documentElement.lang = P.language(locale());
    document.title = t({ register: 'registerTitle', signin: 'signinTitle', manage: 'manageTitle' }[page] || 'signinTitle');
    // B2C's own "User Details / Please provide the following details."
    // says nothing here: the page has its own heading.
    document.querySelectorAll('#api .heading, #api .intro').forEach((e) => { e.style.display = 'none'; });
    // One primary action: on the sign-in page the passkey button; B2C's
    // Continue (the named way) is the secondary one.
    $('continue').classList.add('passkey-secondary');
    // B2C's Continue is the named way on the first sign-in page only;
    // elsewhere the page's own buttons act.
    if (page !== 'signin' || !$('passkeyAction')) $('continue').style.display = 'none';
    try {
      if (page === 'register') registerPage();
      else if (page === 'signin') signinPage();
      else if (page === 'manage') managePage(change);
    } catch (e) {
      fail(e && e.kind ? e : new P.PasskeyError('failed', e));
    }
  }

  let started = false;
  function tryStart() {
    if (started || !ready()) return;
    started = true;
    start();
  }

  function whenReady() {
    tryStart();
    if (started) return;
    const observer = new MutationObserver(() => {
      tryStart();
      if (started) observer.disconnect();
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
    // passkey.js announces itself when it loads after this script.
    global.addEventListener('passkeys-ready', tryStart);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', whenReady);
  else whenReady();
})(window);
