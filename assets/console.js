// cpu-gateway console: the little script the pages need (no framework, no build step).
// - buttons with data-open-dialog open their <dialog> as a modal (the browser traps focus
//   inside it and closes it on Escape); data-close-dialog closes it;
// - a dialog rendered with data-open (a form shown again after an error) opens on load;
// - "Test connection" posts the form in the background and shows the terminal's answer in
//   the dialog, so nothing typed is lost (without script it posts the form normally);
// - a region with data-poll reloads itself while something is in progress (verifying, syncing)
//   unless a dialog is open.
(function () {
  "use strict";
  function open(d) {
    if (d && !d.open) { d.showModal(); var f = d.querySelector("input:not([type=hidden]), button"); if (f) f.focus(); }
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-open-dialog]");
    if (t) { open(document.getElementById(t.getAttribute("data-open-dialog"))); return; }
    var c = e.target.closest("[data-close-dialog]");
    if (c) { var d = c.closest("dialog"); if (d) d.close(); }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var submitter = e.submitter;
    if (!submitter || !submitter.hasAttribute("data-test") || !window.fetch) return;
    e.preventDefault();
    var out = form.querySelector("[data-test-result]");
    out.textContent = "Testing…";
    submitter.disabled = true;
    fetch(submitter.getAttribute("formaction"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Console-Fragment": "1" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) { return r.text(); })
      .then(function (html) { out.innerHTML = html; })
      .catch(function () { out.textContent = "The console could not be reached."; })
      .finally(function () { submitter.disabled = false; });
  });
  window.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open]").forEach(open);
    var poll = document.querySelector("[data-poll]");
    if (poll) {
      setTimeout(function () {
        if (!document.querySelector("dialog[open]")) location.reload();
      }, parseInt(poll.getAttribute("data-poll"), 10) || 2000);
    }
  });
})();
