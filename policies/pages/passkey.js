/*
 * passkey.js: the browser side of the passkey ceremonies, shared by the
 * handler's demo page and the B2C page templates.
 *
 * It turns the handler's options claim (a JSON string) into a WebAuthn call
 * and the resulting credential into the credential claim (a JSON string),
 * and says in the user's language why a ceremony did not complete.
 */
(function (global) {
  'use strict';

  var messages = {
    en: {
      unsupported: 'This browser does not support passkeys. Please use another way to sign in.',
      cancelled: 'The passkey request was cancelled or timed out.',
      exists: 'A passkey for this account is already on this device.',
      security: 'Passkeys cannot be used on this page (the address is not allowed).',
      failed: 'The passkey could not be used. Please try again.',
      network: 'The service could not be reached. Please try again.',
      working: 'Follow the instructions of your browser or device…',
      retry: 'Try again',
      back: 'Use another way'
    },
    de: {
      unsupported: 'Dieser Browser unterstützt keine Passkeys. Bitte melden Sie sich anders an.',
      cancelled: 'Die Passkey-Anfrage wurde abgebrochen oder ist abgelaufen.',
      exists: 'Auf diesem Gerät gibt es bereits einen Passkey für dieses Konto.',
      security: 'Passkeys können auf dieser Seite nicht verwendet werden (die Adresse ist nicht zugelassen).',
      failed: 'Der Passkey konnte nicht verwendet werden. Bitte versuchen Sie es erneut.',
      network: 'Der Dienst ist nicht erreichbar. Bitte versuchen Sie es erneut.',
      working: 'Folgen Sie den Anweisungen Ihres Browsers oder Geräts…',
      retry: 'Erneut versuchen',
      back: 'Anders anmelden'
    },
    fr: {
      unsupported: 'Ce navigateur ne prend pas en charge les clés d\'accès. Veuillez vous connecter autrement.',
      cancelled: 'La demande de clé d\'accès a été annulée ou a expiré.',
      exists: 'Une clé d\'accès pour ce compte existe déjà sur cet appareil.',
      security: 'Les clés d\'accès ne peuvent pas être utilisées sur cette page (adresse non autorisée).',
      failed: 'La clé d\'accès n\'a pas pu être utilisée. Veuillez réessayer.',
      network: 'Le service est injoignable. Veuillez réessayer.',
      working: 'Suivez les instructions de votre navigateur ou appareil…',
      retry: 'Réessayer',
      back: 'Se connecter autrement'
    },
    it: {
      unsupported: 'Questo browser non supporta le passkey. Accedi in un altro modo.',
      cancelled: 'La richiesta della passkey è stata annullata o è scaduta.',
      exists: 'Su questo dispositivo esiste già una passkey per questo account.',
      security: 'Le passkey non possono essere usate su questa pagina (indirizzo non consentito).',
      failed: 'Non è stato possibile usare la passkey. Riprova.',
      network: 'Il servizio non è raggiungibile. Riprova.',
      working: 'Segui le istruzioni del browser o del dispositivo…',
      retry: 'Riprova',
      back: 'Accedi in un altro modo'
    }
  };

  // language picks en, de, fr or it from a tag such as de-CH, else the
  // page's lang, else the browser's.
  function language(tag) {
    var candidates = [tag, document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < candidates.length; i++) {
      var base = String(candidates[i] || '').toLowerCase().split(/[-_]/)[0];
      if (messages[base]) return base;
    }
    return 'en';
  }

  function message(kind, tag) {
    var texts = messages[language(tag)];
    return texts[kind] || texts.failed;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromBase64url(text) {
    var s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    var bytes = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  function withIds(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: fromBase64url(d.id) });
    });
  }

  // Browsers without parse*OptionsFromJSON get the binary fields decoded here.
  function creationOptions(publicKey) {
    var P = global.PublicKeyCredential;
    if (P && P.parseCreationOptionsFromJSON) return P.parseCreationOptionsFromJSON(publicKey);
    var o = Object.assign({}, publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return o;
  }

  function requestOptions(publicKey) {
    var P = global.PublicKeyCredential;
    if (P && P.parseRequestOptionsFromJSON) return P.parseRequestOptionsFromJSON(publicKey);
    var o = Object.assign({}, publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') return JSON.stringify(cred.toJSON());
    var r = cred.response, response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  // PasskeyError carries a kind (unsupported, cancelled, exists, security,
  // failed) that message() turns into text.
  function PasskeyError(kind, cause) {
    this.name = 'PasskeyError';
    this.kind = kind;
    this.cause = cause;
    this.message = kind + (cause && cause.message ? ': ' + cause.message : '');
  }
  PasskeyError.prototype = Object.create(Error.prototype);

  function classify(err) {
    if (err instanceof PasskeyError) return err;
    var kinds = {
      NotAllowedError: 'cancelled', AbortError: 'cancelled', InvalidStateError: 'exists',
      NotSupportedError: 'unsupported', SecurityError: 'security'
    };
    return new PasskeyError(kinds[err && err.name] || 'failed', err);
  }

  function supported() {
    return !!(global.PublicKeyCredential && navigator.credentials && navigator.credentials.create);
  }

  function conditionalSupported() {
    var P = global.PublicKeyCredential;
    if (!P || !P.isConditionalMediationAvailable) return Promise.resolve(false);
    return P.isConditionalMediationAvailable().catch(function () { return false; });
  }

  function parseOptions(optionsJSON) {
    try {
      return JSON.parse(optionsJSON);
    } catch (e) {
      throw new PasskeyError('failed', e);
    }
  }

  // register runs navigator.credentials.create with the options claim and
  // resolves to the credential claim.
  function register(optionsJSON, opts) {
    if (!supported()) return Promise.reject(new PasskeyError('unsupported'));
    return Promise.resolve().then(function () {
      var options = parseOptions(optionsJSON);
      return navigator.credentials.create({
        publicKey: creationOptions(options.publicKey),
        signal: opts && opts.signal
      });
    }).then(credentialJSON, function (err) { throw classify(err); });
  }

  // signIn runs navigator.credentials.get; the options' mediation
  // ("conditional" for autofill) is passed on.
  function signIn(optionsJSON, opts) {
    if (!supported()) return Promise.reject(new PasskeyError('unsupported'));
    return Promise.resolve().then(function () {
      var options = parseOptions(optionsJSON);
      var request = { publicKey: requestOptions(options.publicKey), signal: opts && opts.signal };
      if (options.mediation) request.mediation = options.mediation;
      return navigator.credentials.get(request);
    }).then(function (cred) {
      if (!cred) throw new PasskeyError('cancelled');
      return credentialJSON(cred);
    }, function (err) { throw classify(err); });
  }

  // call POSTs a JSON body to /api/<name> (the demo page; in B2C the policy
  // makes these calls) and resolves to the response body, or rejects with
  // the contract's error body (or a network PasskeyError).
  function call(base, name, body, apiKey) {
    var headers = { 'Content-Type': 'application/json' };
    if (apiKey) headers['x-functions-key'] = apiKey;
    return fetch(base + '/api/' + name, { method: 'POST', headers: headers, body: JSON.stringify(body) })
      .catch(function (e) { throw new PasskeyError('network', e); })
      .then(function (res) {
        return res.json().then(function (data) {
          if (!res.ok) throw data;
          return data;
        });
      });
  }

  global.Passkeys = {
    register: register,
    signIn: signIn,
    supported: supported,
    conditionalSupported: conditionalSupported,
    call: call,
    message: message,
    language: language,
    PasskeyError: PasskeyError
  };
  // passkey-b2c.js may have run first: tell it Passkeys is here.
  global.dispatchEvent(new Event('passkeys-ready'));
})(window);
