/*
 * Small improvements for the dashboard's pages; every page works without them.
 * - [data-copy="#id"] buttons copy the named field's value.
 * - form[data-submit-once] disables its buttons once sent (the server also
 *   refuses a second submission of the create form).
 * - select[data-autosubmit] submits its form when changed.
 */
(function () {
  "use strict";

  function copy(button) {
    var field = document.querySelector(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status]");
    if (!field) {
      return;
    }
    function done(ok) {
      if (status) {
        status.textContent = ok ? "Copied to the clipboard." : "Select the key and copy it by hand.";
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(false); });
    } else {
      field.focus();
      field.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (ignored) {
        ok = false;
      }
      done(ok);
    }
  }

  function wire() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        // After this event the browser has taken the form's data, so disabling is safe.
        window.setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
