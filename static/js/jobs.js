// Job status page: poll the job's JSON and move the progress bar; reload once it is finished
// (or its worker died) so the page shows the outcome and where to go next. Without
// JavaScript, "Refresh" works.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector(".job-status[data-job-url]");
  if (!box || box.getAttribute("data-finished") === "yes") {
    return;
  }
  var bar = document.getElementById("job-progress");
  var message = document.getElementById("job-message");
  function poll() {
    fetch(box.getAttribute("data-job-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) {
          return;
        }
        if (job.finished || job.interrupted) {
          window.location.reload();
          return;
        }
        if (job.percent !== null) {
          bar.value = job.percent;
          bar.textContent = job.percent + "%";
        }
        message.textContent = job.message || "";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
});
