// Sandbox: reload when the world changed (another party, an API caller, the clock), unless the
// user is typing in a form or a refused form waits to be corrected (that page answers a POST:
// reloading it would post the form again). Polls /sandbox/version every 2 s; no framework, no
// build step.
(function () {
  "use strict";
  var root = document.querySelector("[data-version]");
  if (!root || !window.fetch) return;
  var seen = root.getAttribute("data-version");
  setInterval(function () {
    fetch("/sandbox/version", { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (v) {
        var typing = document.activeElement && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)
          && document.activeElement.value !== document.activeElement.defaultValue;
        var refused = document.querySelector("[data-field-error], [data-form-error]");
        if (v.trim() !== seen && !typing && !refused) location.reload();
      })
      .catch(function () {});
  }, 2000);
})();
