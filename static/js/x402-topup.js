/*
 * Billing -> Top up with the browser wallet (x402 v2, EIP-3009), no framework.
 *
 * Flow: POST /api/v1/topup/<amount> without payment -> 402 whose
 * PAYMENT-REQUIRED header (base64 JSON) says what to pay; the wallet signs an
 * EIP-3009 TransferWithAuthorization for exactly that (`eth_signTypedData_v4`);
 * the same POST again with the payload in PAYMENT-SIGNATURE -> 200 with the new
 * balance (202 while the transaction is still pending). Sent with the dashboard
 * session's CSRF token, so the signed-in organization is credited.
 *
 * Any element with `data-x402-topup="10"` starts it when clicked (the
 * dashboard's Billing page): the new balance goes into the element marked
 * `data-x402-balance`, a line saying what was paid into `data-x402-status`,
 * errors into `data-x402-error` (else alert()). Reloading the page lists the
 * payment. `window.GatehouseTopUp.topUp(amount)` returns a promise of the JSON
 * answer for other pages.
 */
(function () {
  "use strict";

  var TOPUP_URL = "/api/v1/topup/";
  var NO_WALLET =
    "No browser wallet found: install or unlock an Ethereum wallet (such as MetaMask) " +
    "holding USDC, then try again.";
  var DECLINED = "The payment was declined in the wallet; nothing was paid.";

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

  function post(amount, headers) {
    var all = { "Content-Type": "application/json", "X-CSRFToken": readCookie("csrftoken") };
    for (var name in headers || {}) all[name] = headers[name];
    return fetch(TOPUP_URL + amount, {
      method: "POST",
      credentials: "same-origin",
      headers: all,
      body: "{}",
    });
  }

  function randomNonce() {
    var bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    return "0x" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* The EIP-712 document the wallet signs for one set of requirements. */
  function typedData(from, accepted, nonce, validBefore) {
    return {
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        TransferWithAuthorization: [
          { name: "from", type: "address" },
          { name: "to", type: "address" },
          { name: "value", type: "uint256" },
          { name: "validAfter", type: "uint256" },
          { name: "validBefore", type: "uint256" },
          { name: "nonce", type: "bytes32" },
        ],
      },
      primaryType: "TransferWithAuthorization",
      domain: {
        name: accepted.extra.name,
        version: accepted.extra.version,
        chainId: Number(accepted.network.split(":")[1]),
        verifyingContract: accepted.asset,
      },
      message: {
        from: from,
        to: accepted.payTo,
        value: accepted.amount,
        validAfter: "0",
        validBefore: String(validBefore),
        nonce: nonce,
      },
    };
  }

  /* One EIP-1193 request; a refusal in the wallet (code 4001) reads as such. */
  async function wallet(request) {
    try {
      return await window.ethereum.request(request);
    } catch (error) {
      if (error && error.code === 4001) throw new Error(DECLINED);
      throw new Error("The wallet failed: " + ((error && error.message) || String(error)));
    }
  }

  async function topUp(amount) {
    if (!window.ethereum) throw new Error(NO_WALLET);
    var asked = await post(amount);
    if (asked.status !== 402) {
      var refused = await asked.json().catch(function () { return {}; });
      throw new Error((refused.error && refused.error.message) || "Expected a 402, got " + asked.status + ".");
    }
    var required = JSON.parse(atob(asked.headers.get("PAYMENT-REQUIRED")));
    var accepted = required.accepts[0];
    var accounts = await wallet({ method: "eth_requestAccounts" });
    var from = accounts && accounts[0];
    if (!from) throw new Error("The wallet shared no account.");
    var nonce = randomNonce();
    var validBefore = Math.floor(Date.now() / 1000) + accepted.maxTimeoutSeconds;
    var typed = typedData(from, accepted, nonce, validBefore);
    var signature = await wallet({
      method: "eth_signTypedData_v4",
      params: [from, JSON.stringify(typed)],
    });
    var payload = {
      x402Version: 2,
      resource: required.resource,
      accepted: accepted,
      payload: { authorization: typed.message, signature: signature },
    };
    var paid = await post(amount, { "PAYMENT-SIGNATURE": btoa(JSON.stringify(payload)) });
    var body = await paid.json();
    if (paid.status !== 200 && paid.status !== 202) {
      throw new Error((body.error && body.error.message) || "Top-up failed (" + paid.status + ").");
    }
    return body;
  }

  function show(selector, text) {
    var el = document.querySelector(selector);
    if (el) el.textContent = text;
    return el;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-x402-topup]") : null;
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    var amount = button.getAttribute("data-x402-topup");
    show("[data-x402-error]", "");
    show("[data-x402-status]", "Waiting for the wallet to sign " + amount + " USD…");
    topUp(amount)
      .then(function (body) {
        if (body.balance !== null) {
          show("[data-x402-balance]", body.balance);
          show("[data-x402-status]", "Paid " + amount + " USD — balance " + body.balance +
            " USD. Reload the page to see the payment listed.");
        } else {
          show("[data-x402-status]", "Paid " + amount + " USD; the transaction is pending " +
            "on chain and the credits arrive when it confirms.");
        }
      })
      .catch(function (error) {
        show("[data-x402-status]", "");
        if (!show("[data-x402-error]", error.message)) alert(error.message);
      })
      .finally(function () {
        button.disabled = false;
      });
  });

  window.GatehouseTopUp = { topUp: topUp, typedData: typedData };
})();
