/*
 * "Sign in with Ethereum" for the dashboard (EIP-4361), with no framework.
 *
 * Flow: ask the browser wallet (EIP-1193 `window.ethereum`) for an account,
 * fetch a nonce (that response also sets the csrftoken cookie), build the
 * EIP-4361 message from what the nonce response says the server expects,
 * have the wallet sign it with `personal_sign`, and post it to
 * /api/auth/siwe/login with the CSRF token. The server logs the browser into a
 * dashboard session; we then go to "/".
 *
 * Any element with a `data-siwe-login` attribute starts the flow when clicked;
 * errors are written into the element marked `data-siwe-error` (else alert()).
 * `window.GatehouseSiwe` exposes signIn() and buildMessage() for other pages.
 */
(function () {
  "use strict";

  var NONCE_URL = "/api/auth/siwe/nonce";
  var LOGIN_URL = "/api/auth/siwe/login";
  // The message need not outlive its nonce, which the server keeps 5 minutes.
  var MESSAGE_LIFETIME_MS = 5 * 60 * 1000;

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].trim();
      if (pair.slice(0, name.length + 1) === name + "=") {
        return decodeURIComponent(pair.slice(name.length + 1));
      }
    }
    return "";
  }

  /*
   * The EIP-4361 text, line for line as the grammar has it:
   * header, address, blank, [statement], blank, then the fields.
   */
  function buildMessage(fields) {
    var lines = [
      fields.domain + " wants you to sign in with your Ethereum account:",
      fields.address,
      "",
    ];
    if (fields.statement) {
      lines.push(fields.statement);
    }
    lines.push(
      "",
      "URI: " + fields.uri,
      "Version: " + fields.version,
      "Chain ID: " + fields.chainId,
      "Nonce: " + fields.nonce,
      "Issued At: " + fields.issuedAt
    );
    if (fields.expirationTime) {
      lines.push("Expiration Time: " + fields.expirationTime);
    }
    return lines.join("\n");
  }

  // personal_sign takes the message as 0x-prefixed hex of its UTF-8 bytes.
  function toHex(text) {
    var bytes = new TextEncoder().encode(text);
    var hex = "0x";
    for (var i = 0; i < bytes.length; i++) {
      hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return hex;
  }

  async function errorMessage(response) {
    try {
      var body = await response.json();
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (ignored) {
      // Not JSON: fall through to the status line.
    }
    return "Sign-in failed (HTTP " + response.status + ").";
  }

  async function signIn(options) {
    options = options || {};
    var provider = options.provider || window.ethereum;
    if (!provider || typeof provider.request !== "function") {
      throw new Error("No Ethereum wallet found in this browser.");
    }
    var accounts = await provider.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) {
      throw new Error("The wallet shared no account.");
    }
    var address = accounts[0];

    var nonceResponse = await fetch(NONCE_URL, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!nonceResponse.ok) {
      throw new Error(await errorMessage(nonceResponse));
    }
    var server = await nonceResponse.json();

    var now = new Date();
    var message = buildMessage({
      domain: server.domain,
      address: address,
      statement: server.statement,
      uri: server.uri,
      version: server.version,
      chainId: server.chainId,
      nonce: server.nonce,
      issuedAt: now.toISOString(),
      expirationTime: new Date(now.getTime() + MESSAGE_LIFETIME_MS).toISOString(),
    });

    var signature;
    try {
      signature = await provider.request({
        method: "personal_sign",
        params: [toHex(message), address],
      });
    } catch (err) {
      if (err && err.code === 4001) {
        throw new Error("The signature request was rejected in the wallet.");
      }
      throw err;
    }

    var loginResponse = await fetch(LOGIN_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        // Set by the nonce response above (Django's csrftoken cookie).
        "X-CSRFToken": readCookie("csrftoken"),
      },
      body: JSON.stringify({ message: message, signature: signature }),
    });
    if (!loginResponse.ok) {
      throw new Error(await errorMessage(loginResponse));
    }
    var account = await loginResponse.json();
    if (options.redirect !== false) {
      window.location.assign(options.next || "/");
    }
    return account;
  }

  function showError(err) {
    var text = (err && err.message) || String(err);
    var target = document.querySelector("[data-siwe-error]");
    if (target) {
      target.textContent = text;
    } else {
      window.alert(text);
    }
  }

  function wire() {
    var buttons = document.querySelectorAll("[data-siwe-login]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        event.preventDefault();
        var button = event.currentTarget;
        button.disabled = true;
        signIn().catch(function (err) {
          showError(err);
          button.disabled = false;
        });
      });
    }
  }

  window.GatehouseSiwe = { signIn: signIn, buildMessage: buildMessage };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
