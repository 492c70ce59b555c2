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

  // The strings of both scripts, one table per language (the languages of
  // the handler's messages and of the policies' localization: a Go test
  // checks that they agree).
  const strings = {
    en: {
      // The handler's credential_unknown message (a Go test keeps them equal).
      credentialUnknown: 'This passkey is not registered for your account.',
      changeAdded: 'Passkey added.',
      changeRenamed: 'Passkey renamed to "{0}".',
      changeRemoved: 'Passkey removed.',
      lastChange: 'This is the last change of this visit. To make more, open your passkeys again.',
      upgrading: 'Signing you in…',
      signinNamedFor: 'Use a passkey of {0}.',
      keep: 'Keep',
      unsupported: 'This browser does not support passkeys. Please use another way to sign in.',
      cancelled: 'No passkey was used. If this device has none, use one on another device or sign in another way.',
      exists: 'A passkey for this account is already on this device.',
      security: 'Passkeys cannot be used on this page (the address is not allowed).',
      failed: 'The passkey could not be used. Please try again.',
      network: 'The service could not be reached. Please try again.',
      working: 'Follow the instructions of your browser or device…',
      retry: 'Try again',
      back: 'Use another way',
      registerTitle: 'Sign in faster with a passkey',
      registerIntro: 'A passkey lets you sign in with your fingerprint, face or screen lock instead of a password.',
      create: 'Create a passkey',
      skip: 'Not now',
      signinTitle: 'Sign in with a passkey',
      signinIntro: 'Sign in with the passkey on this device, or enter your email address to use a passkey on another device.',
      signinNamedIntro: 'Use the passkey of your account.',
      enterEmail: 'Please enter your email address.',
      usernameless: 'Sign in with a passkey',
      named: 'Use my passkey',
      manageTitle: 'Your passkeys',
      none: 'You have no passkeys yet.',
      add: 'Add a passkey',
      rename: 'Rename',
      save: 'Save',
      remove: 'Remove',
      confirmRemove: 'Remove the passkey "{0}"? You can no longer sign in with it.',
      done: 'Done',
      name: 'Name',
      authenticator: 'Authenticator',
      created: 'Created',
      lastUsed: 'Last used',
      synced: 'Synced',
      yes: 'yes',
      no: 'no'
    },
    de: {
      credentialUnknown: 'Dieser Passkey ist für Ihr Konto nicht registriert.',
      changeAdded: 'Passkey hinzugefügt.',
      changeRenamed: 'Passkey umbenannt in „{0}“.',
      changeRemoved: 'Passkey entfernt.',
      lastChange: 'Dies ist die letzte Änderung bei diesem Besuch. Für weitere öffnen Sie Ihre Passkeys erneut.',
      upgrading: 'Sie werden angemeldet…',
      signinNamedFor: 'Verwenden Sie einen Passkey von {0}.',
      keep: 'Behalten',
      unsupported: 'Dieser Browser unterstützt keine Passkeys. Bitte melden Sie sich anders an.',
      cancelled: 'Es wurde kein Passkey verwendet. Hat dieses Gerät keinen, nutzen Sie einen auf einem anderen Gerät oder melden Sie sich anders an.',
      exists: 'Auf diesem Gerät gibt es bereits einen Passkey für dieses Konto.',
      security: 'Passkeys können auf dieser Seite nicht verwendet werden (die Adresse ist nicht zugelassen).',
      failed: 'Der Passkey konnte nicht verwendet werden. Bitte versuchen Sie es erneut.',
      network: 'Der Dienst ist nicht erreichbar. Bitte versuchen Sie es erneut.',
      working: 'Folgen Sie den Anweisungen Ihres Browsers oder Geräts…',
      retry: 'Erneut versuchen',
      back: 'Anders anmelden',
      registerTitle: 'Schneller anmelden mit einem Passkey',
      registerIntro: 'Mit einem Passkey melden Sie sich per Fingerabdruck, Gesicht oder Bildschirmsperre an statt mit einem Passwort.',
      create: 'Passkey erstellen',
      skip: 'Jetzt nicht',
      signinTitle: 'Mit einem Passkey anmelden',
      signinIntro: 'Melden Sie sich mit dem Passkey auf diesem Gerät an oder geben Sie Ihre E-Mail-Adresse ein, um einen Passkey auf einem anderen Gerät zu verwenden.',
      signinNamedIntro: 'Verwenden Sie den Passkey Ihres Kontos.',
      enterEmail: 'Bitte geben Sie Ihre E-Mail-Adresse ein.',
      usernameless: 'Mit einem Passkey anmelden',
      named: 'Meinen Passkey verwenden',
      manageTitle: 'Ihre Passkeys',
      none: 'Sie haben noch keine Passkeys.',
      add: 'Passkey hinzufügen',
      rename: 'Umbenennen',
      save: 'Speichern',
      remove: 'Entfernen',
      confirmRemove: 'Den Passkey „{0}“ entfernen? Sie können sich damit nicht mehr anmelden.',
      done: 'Fertig',
      name: 'Name',
      authenticator: 'Authenticator',
      created: 'Erstellt',
      lastUsed: 'Zuletzt verwendet',
      synced: 'Synchronisiert',
      yes: 'ja',
      no: 'nein'
    },
    fr: {
      credentialUnknown: 'Cette clé d\'accès n\'est pas enregistrée pour votre compte.',
      changeAdded: 'Clé d\'accès ajoutée.',
      changeRenamed: 'Clé d\'accès renommée en « {0} ».',
      changeRemoved: 'Clé d\'accès supprimée.',
      lastChange: 'C\'est la dernière modification de cette visite. Pour en faire d\'autres, rouvrez vos clés d\'accès.',
      upgrading: 'Connexion en cours…',
      signinNamedFor: 'Utilisez une clé d\'accès de {0}.',
      keep: 'Conserver',
      unsupported: 'Ce navigateur ne prend pas en charge les clés d\'accès. Veuillez vous connecter autrement.',
      cancelled: 'Aucune clé d\'accès n\'a été utilisée. Si cet appareil n\'en a pas, utilisez-en une sur un autre appareil ou connectez-vous autrement.',
      exists: 'Une clé d\'accès pour ce compte existe déjà sur cet appareil.',
      security: 'Les clés d\'accès ne peuvent pas être utilisées sur cette page (adresse non autorisée).',
      failed: 'La clé d\'accès n\'a pas pu être utilisée. Veuillez réessayer.',
      network: 'Le service est injoignable. Veuillez réessayer.',
      working: 'Suivez les instructions de votre navigateur ou appareil…',
      retry: 'Réessayer',
      back: 'Se connecter autrement',
      registerTitle: 'Connectez-vous plus vite avec une clé d\'accès',
      registerIntro: 'Une clé d\'accès vous permet de vous connecter avec votre empreinte, votre visage ou le verrouillage de l\'écran au lieu d\'un mot de passe.',
      create: 'Créer une clé d\'accès',
      skip: 'Pas maintenant',
      signinTitle: 'Se connecter avec une clé d\'accès',
      signinIntro: 'Connectez-vous avec la clé d\'accès de cet appareil, ou saisissez votre adresse e-mail pour utiliser une clé d\'accès d\'un autre appareil.',
      signinNamedIntro: 'Utilisez la clé d\'accès de votre compte.',
      enterEmail: 'Veuillez saisir votre adresse e-mail.',
      usernameless: 'Se connecter avec une clé d\'accès',
      named: 'Utiliser ma clé d\'accès',
      manageTitle: 'Vos clés d\'accès',
      none: 'Vous n\'avez pas encore de clé d\'accès.',
      add: 'Ajouter une clé d\'accès',
      rename: 'Renommer',
      save: 'Enregistrer',
      remove: 'Supprimer',
      confirmRemove: 'Supprimer la clé d\'accès « {0} » ? Vous ne pourrez plus vous connecter avec elle.',
      done: 'Terminé',
      name: 'Nom',
      authenticator: 'Authentificateur',
      created: 'Créée',
      lastUsed: 'Dernière utilisation',
      synced: 'Synchronisée',
      yes: 'oui',
      no: 'non'
    },
    it: {
      credentialUnknown: 'Questa passkey non è registrata per il tuo account.',
      changeAdded: 'Passkey aggiunta.',
      changeRenamed: 'Passkey rinominata in «{0}».',
      changeRemoved: 'Passkey rimossa.',
      lastChange: 'Questa è l\'ultima modifica di questa visita. Per farne altre, riapri le tue passkey.',
      upgrading: 'Accesso in corso…',
      signinNamedFor: 'Usa una passkey di {0}.',
      keep: 'Mantieni',
      unsupported: 'Questo browser non supporta le passkey. Accedi in un altro modo.',
      cancelled: 'Non è stata usata nessuna passkey. Se questo dispositivo non ne ha, usane una su un altro dispositivo o accedi in un altro modo.',
      exists: 'Su questo dispositivo esiste già una passkey per questo account.',
      security: 'Le passkey non possono essere usate su questa pagina (indirizzo non consentito).',
      failed: 'Non è stato possibile usare la passkey. Riprova.',
      network: 'Il servizio non è raggiungibile. Riprova.',
      working: 'Segui le istruzioni del browser o del dispositivo…',
      retry: 'Riprova',
      back: 'Accedi in un altro modo',
      registerTitle: 'Accedi più velocemente con una passkey',
      registerIntro: 'Una passkey ti permette di accedere con impronta, volto o blocco schermo invece che con una password.',
      create: 'Crea una passkey',
      skip: 'Non ora',
      signinTitle: 'Accedi con una passkey',
      signinIntro: 'Accedi con la passkey di questo dispositivo oppure inserisci il tuo indirizzo e-mail per usare una passkey su un altro dispositivo.',
      signinNamedIntro: 'Usa la passkey del tuo account.',
      enterEmail: 'Inserisci il tuo indirizzo e-mail.',
      usernameless: 'Accedi con una passkey',
      named: 'Usa la mia passkey',
      manageTitle: 'Le tue passkey',
      none: 'Non hai ancora passkey.',
      add: 'Aggiungi una passkey',
      rename: 'Rinomina',
      save: 'Salva',
      remove: 'Rimuovi',
      confirmRemove: 'Rimuovere la passkey «{0}»? Non potrai più accedere con essa.',
      done: 'Fatto',
      name: 'Nome',
      authenticator: 'Autenticatore',
      created: 'Creata',
      lastUsed: 'Ultimo uso',
      synced: 'Sincronizzata',
      yes: 'sì',
      no: 'no'
    }
  };

  // language picks en, de, fr or it from a tag such as de-CH, else the
  // page's lang, else the browser's.
  function language(tag) {
    const candidates = [tag, document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    for (let i = 0; i < candidates.length; i++) {
      const base = String(candidates[i] || '').toLowerCase().split(/[-_]/)[0];
      if (strings[base]) return base;
    }
    return 'en';
  }

  // text is the string key in the language of tag (see language).
  function text(key, tag) {
    return strings[language(tag)][key] ?? strings.en[key];
  }

  // texts is the string key in every language.
  function texts(key) {
    return Object.keys(strings).map((lang) => strings[lang][key]).filter((s) => s != null);
  }

  // message is the text of an error kind, the generic one for others.
  function message(kind, tag) {
    return text(kind, tag) ?? text('failed', tag);
  }


  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromBase64url(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  function withIds(list) {
    return (list || []).map((d) => {
      return Object.assign({}, d, { id: fromBase64url(d.id) });
    });
  }

  // Browsers without parse*OptionsFromJSON get the binary fields decoded here.
  function creationOptions(publicKey) {
    const P = global.PublicKeyCredential;
    if (P && P.parseCreationOptionsFromJSON) return P.parseCreationOptionsFromJSON(publicKey);
    const o = Object.assign({}, publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return o;
  }

  function requestOptions(publicKey) {
    const P = global.PublicKeyCredential;
    if (P && P.parseRequestOptionsFromJSON) return P.parseRequestOptionsFromJSON(publicKey);
    const o = Object.assign({}, publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') return JSON.stringify(cred.toJSON());
    const r = cred.response, response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type, response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  // PasskeyError carries a kind (unsupported, cancelled, exists, security,
  // failed) that message() turns into text.
  class PasskeyError extends Error {
    constructor(kind, cause) {
      super(kind + (cause?.message ? `: ${cause.message}` : ''), { cause });
      this.name = 'PasskeyError';
      this.kind = kind;
    }
  }

  function classify(err) {
    if (err instanceof PasskeyError) return err;
    const kinds = {
      NotAllowedError: 'cancelled', AbortError: 'cancelled', InvalidStateError: 'exists',
      NotSupportedError: 'unsupported', SecurityError: 'security'
    };
    return new PasskeyError(kinds[err && err.name] || 'failed', err);
  }

  function supported() {
    return !!(global.PublicKeyCredential && navigator.credentials && navigator.credentials.create);
  }

  function conditionalSupported() {
    const P = global.PublicKeyCredential;
    if (!P || !P.isConditionalMediationAvailable) return Promise.resolve(false);
    return P.isConditionalMediationAvailable().catch(() => { return false; });
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
    return Promise.resolve().then(() => {
      const options = parseOptions(optionsJSON);
      return navigator.credentials.create({
        publicKey: creationOptions(options.publicKey),
        signal: opts && opts.signal
      });
    }).then(credentialJSON, (err) => { throw classify(err); });
  }

  // signIn runs navigator.credentials.get; the options' mediation
  // ("conditional" for autofill) is passed on.
  function signIn(optionsJSON, opts) {
    if (!supported()) return Promise.reject(new PasskeyError('unsupported'));
    return Promise.resolve().then(() => {
      const options = parseOptions(optionsJSON);
      const request = { publicKey: requestOptions(options.publicKey), signal: opts && opts.signal };
      if (options.mediation) request.mediation = options.mediation;
      return navigator.credentials.get(request);
    }).then((cred) => {
      if (!cred) throw new PasskeyError('cancelled');
      return credentialJSON(cred);
    }, (err) => { throw classify(err); });
  }

  // call POSTs a JSON body to /api/<name> (the demo page; in B2C the policy
  // makes these calls) and resolves to the response body, or rejects with
  // the contract's error body (or a network PasskeyError).
  function call(base, name, body, apiKey) {
    const headers = { 'Content-Type': 'application/json' };
    if (apiKey) headers['x-functions-key'] = apiKey;
    return fetch(`${base  }/api/${  name}`, { method: 'POST', headers, body: JSON.stringify(body) })
      .catch((e) => { throw new PasskeyError('network', e); })
      .then((res) => {
        return res.json().then((data) => {
          if (!res.ok) throw data;
          return data;
        });
      });
  }

  global.Passkeys = {
    register,
    signIn,
    supported,
    conditionalSupported,
    call,
    message,
    text,
    texts,
    language,
    PasskeyError
  };
  // passkey-b2c.js may have run first: tell it Passkeys is here.
  global.dispatchEvent(new Event('passkeys-ready'));
})(window);
