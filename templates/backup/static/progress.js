// Backup progress page: drives the backup one engine step per request.
// Each POST to the step endpoint (CSRF token in a header) runs one bounded step and
// answers the engine's report as JSON. A failed request is retried after a visible
// countdown (the profile's retry wait and count); when the retries run out the page
// moves to the error page, which shows the log.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var shownWarnings = 0;
  var lastResponse = Date.now();
  var failures = 0;

  function Final(message) { this.message = message; }

  function el(id) { return document.getElementById(id); }

  function render(report) {
    var list = el("domains");
    list.textContent = "";
    report.domains.forEach(function (domain) {
      var item = document.createElement("li");
      item.textContent = domain.title;
      item.className = domain.status;
      item.setAttribute("data-key", domain.key);
      list.appendChild(item);
    });
    el("last-item").textContent = report.last_item || "\u00a0";
    el("minor").textContent = report.minor || "\u00a0";
    var percent = Math.max(0, Math.min(100, Math.round(report.progress || 0)));
    el("bar-fill").style.width = percent + "%";
    el("percent").textContent = percent + "%";
    el("bar").setAttribute("aria-valuenow", String(percent));
  }

  function addWarnings(warnings) {
    var list = el("warnings");
    warnings.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
      shownWarnings += 1;
    });
    if (shownWarnings > 0) { el("warnings-pane").classList.remove("hidden"); }
  }

  function leave(url) { window.location.assign(url); }

  function giveUp(reason) {
    var why = "The backup could not be resumed: the step request failed " + failures +
      " times in a row (last error: " + reason + ").";
    leave(data.failedUrl + "?why=" + encodeURIComponent(why));
  }

  function retryLater(reason) {
    failures += 1;
    if (failures > data.retryCount) { giveUp(reason); return; }
    var deadline = Date.now() + data.retryWait * 1000;
    el("retry-reason").textContent = reason;
    el("retry-attempt").textContent = String(failures);
    el("retry").classList.remove("hidden");
    (function tick() {
      var left = deadline - Date.now();
      el("countdown").textContent = String(Math.max(0, Math.ceil(left / 1000)));
      if (left <= 0) { step(); } else { setTimeout(tick, Math.min(250, left)); }
    })();
  }

  function answered(report) {
    lastResponse = Date.now();
    failures = 0;
    el("retry").classList.add("hidden");
    render(report);
    addWarnings(report.warnings_since || []);
    if (report.failed) { leave(data.failedUrl); }
    else if (report.finished && report.drill_url) { followDrill(report.drill_url); }
    else if (report.finished) { leave(data.doneUrl); }
    else { step(); }
  }

  // A drill: true profile: the drill runs on the server after the backup, as a phase of
  // its own here; the page only asks how it goes (closing it does not stop the drill).
  function followDrill(url) {
    var item = document.createElement("li");
    item.textContent = "Restore drill";
    item.className = "running";
    item.setAttribute("data-key", "drill");
    el("domains").appendChild(item);
    el("leave-hint").classList.add("hidden");
    el("drill-hint").classList.remove("hidden");
    el("minor").textContent = "\u00a0";
    (function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        }).then(function (drill) {
          lastResponse = Date.now();
          if (drill.running || !drill.summary) {
            el("last-item").textContent = drill.summary || "starting the drill";
            setTimeout(poll, 1000);
            return;
          }
          item.className = drill.failed ? "failed" : "done";
          el("last-item").textContent = "\u00a0";
          var outcome = el("drill-outcome");
          outcome.textContent = "Restore drill: " + drill.summary;
          outcome.classList.add(drill.failed ? "error" : "ok");
          outcome.classList.remove("hidden");
          el("drill-hint").classList.add("hidden");
          el("drill-done").classList.remove("hidden");
        }, function () { setTimeout(poll, 2000); });
    })();
  }

  function step() {
    fetch(data.stepUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ known_warnings: shownWarnings })
    }).then(function (response) {
      if (response.status === 403 || response.status === 404) {
        // Logged out, or the backup cannot be resumed: waiting would not change that.
        return response.json().then(function (body) { throw new Final(body.error); },
                                    function () { throw new Final("HTTP " + response.status); });
      }
      if (!response.ok) { throw new Error("HTTP " + response.status + (response.statusText ? " " + response.statusText : "")); }
      return response.json();
    }).then(answered, function (error) {
      if (error instanceof Final) { leave(data.failedUrl + "?why=" + encodeURIComponent(error.message)); return; }
      retryLater(error && error.message ? error.message : "no answer from the server");
    });
  }

  setInterval(function () {
    el("elapsed").textContent = String(Math.floor((Date.now() - lastResponse) / 1000));
  }, 250);

  render(data.report);
  addWarnings(data.warnings);
  if (data.report.failed) { leave(data.failedUrl); }
  else if (data.report.finished) { leave(data.doneUrl); }
  else { step(); }
})();
