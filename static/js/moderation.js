// Keyboard triage of the moderation queue: j/k move, a publishes, r rejects with the row's
// chosen reason. Progressive enhancement: without this file every button is a plain form.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("queue");
  if (!table) { return; }
  var status = document.getElementById("queue-status");
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr.queue-row"));
  var current = -1;

  function say(message) { if (status) { status.textContent = message; } }

  function focusRow(index) {
    if (index < 0 || index >= rows.length) {
      if (index >= rows.length) {
        var next = document.getElementById("queue-next");
        if (next) { window.location.href = next.href; }
      }
      return;
    }
    if (current >= 0) { rows[current].classList.remove("is-current"); }
    current = index;
    rows[current].classList.add("is-current");
    rows[current].focus();
  }

  function send(form) {
    var data = new FormData(form);
    return fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok && body.ok, body: body }; });
    });
  }

  function act(kind) {
    if (current < 0) { return; }
    var row = rows[current];
    var form = row.querySelector(kind === "a" ? "form.js-publish" : "form.js-reject");
    if (!form) { return; }
    if (kind === "r") {
      var select = form.querySelector("select[name=reason]");
      if (!select.value) { select.focus(); say(select.labels[0] ? select.labels[0].textContent : ""); return; }
    }
    send(form).then(function (result) {
      say(result.body.message);
      if (result.ok) {
        row.classList.add("is-done");
        var cell = row.querySelector(".js-status");
        if (cell && result.body.status_label) { cell.textContent = result.body.status_label; }
        row.querySelectorAll("form.js-publish, form.js-reject").forEach(function (f) { f.remove(); });
        focusRow(current + 1);
      }
    }).catch(function () { form.submit(); });
  }

  // Submitting a row's form with a button also stays on the page.
  table.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("js-publish") && !form.classList.contains("js-reject")) { return; }
    event.preventDefault();
    var row = form.closest("tr.queue-row");
    current = rows.indexOf(row);
    act(form.classList.contains("js-publish") ? "a" : "r");
  });

  document.addEventListener("keydown", function (event) {
    // The moderator may switch single-key shortcuts off (WCAG 2.1.4); buttons still work.
    if (table.getAttribute("data-shortcuts") === "off") { return; }
    var tag = event.target.tagName;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(Math.max(current - 1, 0)); event.preventDefault(); }
    else if (event.key === "a" || event.key === "r") { act(event.key); event.preventDefault(); }
  });
  // Tells tests (and styles) that the keys work now, not only after the page has loaded.
  table.setAttribute("data-keys", "ready");
});
