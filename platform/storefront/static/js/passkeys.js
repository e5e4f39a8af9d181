// Passkeys (WebAuthn): the page gives the server's options in the form's data-options
// (the Content-Security-Policy allows no inline script), the browser makes or uses the
// passkey, and the form sends its answer back as Flask-Security expects it (base64url).
(() => {
  const form = document.querySelector("form[data-passkey]");
  if (!form) return;
  const status = form.querySelector("[data-passkey-status]");
  const retry = form.querySelector("[data-passkey-retry]");
  const field = form.querySelector("input[name=credential]");

  const toBytes = (text) =>
    Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const descriptors = (list) => (list || []).map((item) => ({ ...item, id: toBytes(item.id) }));

  const fail = (message) => {
    status.textContent = message;
    status.classList.remove("flash-info");
    status.classList.add("flash-error");
    if (retry) {
      retry.hidden = false;
      retry.focus();
    }
  };

  const create = async (options) => {
    const credential = await navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: toBytes(options.challenge),
        user: { ...options.user, id: toBytes(options.user.id) },
        excludeCredentials: descriptors(options.excludeCredentials),
      },
    });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(response.attestationObject),
        clientDataJSON: toText(response.clientDataJSON),
        transports: response.getTransports ? response.getTransports() : [],
      },
      extensions: JSON.stringify(credential.getClientExtensionResults()),
    };
  };

  const get = async (options) => {
    const credential = await navigator.credentials.get({
      publicKey: {
        ...options,
        challenge: toBytes(options.challenge),
        allowCredentials: descriptors(options.allowCredentials),
      },
    });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(response.authenticatorData),
        clientDataJSON: toText(response.clientDataJSON),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null,
      },
    };
  };

  const run = async () => {
    if (retry) retry.hidden = true;
    if (!window.PublicKeyCredential || !navigator.credentials) {
      fail(form.dataset.unsupported);
      return;
    }
    try {
      const options = JSON.parse(form.dataset.options);
      const answer = form.dataset.passkey === "create" ? await create(options) : await get(options);
      field.value = JSON.stringify(answer);
      form.submit();
    } catch (error) {
      fail(form.dataset.failed);
    }
  };

  if (retry) retry.addEventListener("click", run);
  run();
})();
