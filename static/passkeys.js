/* alertnet: passkeys (WebAuthn). The hub sends the ceremony's options (its
   challenge is kept on the server for this session), the browser asks the
   authenticator, and the answer goes back as JSON with the page's CSRF token. */
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, body, csrf) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      if (response.redirected) {
        // Sent elsewhere first (to confirm it is you): go there.
        window.location.assign(response.url);
        return new Promise(function () {});
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || data.detail || "The hub refused this passkey."); }
        return data;
      });
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) { out.response.transports = response.getTransports(); }
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return out;
  }

  function wire(box, ceremony) {
    var button = box.querySelector("[data-passkey-button]");
    var error = box.querySelector("[data-passkey-error]");
    var csrf = box.getAttribute("data-csrf");
    if (!button) { return; }
    if (!window.PublicKeyCredential) {
      button.disabled = true;
      error.textContent = "This browser cannot use passkeys.";
      error.hidden = false;
      return;
    }
    button.addEventListener("click", function () {
      error.hidden = true;
      button.disabled = true;
      post(box.getAttribute("data-options"), {}, csrf).then(function (options) {
        options.challenge = toBytes(options.challenge);
        if (ceremony === "create") {
          options.user.id = toBytes(options.user.id);
          (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
          return navigator.credentials.create({ publicKey: options });
        }
        (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        var next = box.getAttribute("data-next");
        var url = box.getAttribute("data-verify") + (next ? "?next=" + encodeURIComponent(next) : "");
        var body = { credential: credentialJSON(credential), name: "Passkey" };
        var passwordField = box.getAttribute("data-password");
        if (passwordField) { body.password = document.getElementById(passwordField).value; }
        return post(url, body, csrf);
      }).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (failure) {
        error.textContent = failure.message || "The passkey did not answer.";
        error.hidden = false;
        button.disabled = false;
      });
    });
  }

  document.querySelectorAll("[data-passkey-register]").forEach(function (box) { wire(box, "create"); });
  document.querySelectorAll("[data-passkey-sign-in]").forEach(function (box) { wire(box, "get"); });
  document.querySelectorAll("[data-passkey-confirm]").forEach(function (box) { wire(box, "get"); });
}());
