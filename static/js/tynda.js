// Progressive enhancements only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Move focus to the first error summary so screen-reader users hear what went wrong.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
  // A table that scrolls sideways (narrow screens) must take keyboard focus to be scrolled.
  document.querySelectorAll("table.data").forEach(function (table) {
    if (table.closest(".scroll-region") || table.hasAttribute("tabindex")) { return; }
    if (table.scrollWidth > table.clientWidth + 1) { table.setAttribute("tabindex", "0"); }
  });
});
