// Ballot running total and budget bar: progressive enhancement only; the server checks every
// ballot. Chosen projects on other pages are hidden inputs (always counted); the ticked boxes
// of this page count when ticked.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var set = document.querySelector("fieldset.ballot");
  var out = document.getElementById("running-total");
  if (!set || !out) { return; }
  var form = set.form || set.closest("form") || document;
  var bar = document.getElementById("budget-bar");
  var rule = set.getAttribute("data-rule");
  var budget = parseInt(set.getAttribute("data-budget"), 10);
  var max = parseInt(set.getAttribute("data-max"), 10);
  // The server names the page language's digit-group separator (Babel), so the running total
  // groups digits like the rest of the page even where the browser lacks Kazakh locale data.
  var group = set.getAttribute("data-group") || "\u00a0";
  function money(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, group) + "\u00a0₸"; }
  function update() {
    var total = 0, count = 0;
    form.querySelectorAll("input[name=project]").forEach(function (box) {
      if (box.type === "hidden" || box.checked) {
        total += parseInt(box.getAttribute("data-cost"), 10);
        count += 1;
      }
    });
    var over = rule === "knapsack" ? total > budget : count > max;
    var text = rule === "knapsack"
      ? out.getAttribute("data-label-budget").replace("%(total)s", money(total)).replace("%(budget)s", money(budget))
      : out.getAttribute("data-label-count").replace("%(count)s", count).replace("%(max)s", max);
    if (over) { text += " " + out.getAttribute("data-over"); }
    out.textContent = text;
    out.classList.toggle("over", over);
    if (bar) {
      bar.value = Math.min(total, budget);
      bar.textContent = text;
      bar.classList.toggle("over", over);
    }
  }
  set.addEventListener("change", update);
  update();
});
