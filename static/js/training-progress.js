// Project overview: a live progress bar of the project's training, polled from the models API
// (GET /api/projects/<id>/models/: status and progress of each version). Without JavaScript the page
// shows the state at load time.
(function () {
  "use strict";
  var card = document.getElementById("model");
  if (!card) return;
  var box = document.getElementById("training");
  var url = card.getAttribute("data-models-api");
  var RUNNING = ["queued", "training", "evaluating"];
  var wasRunning = card.hasAttribute("data-training");
  var INTERVAL_MS = 3000;

  function field(name) { return box.querySelector('[data-f="' + name + '"]'); }
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 90) return s + " s";
    var m = Math.round(s / 60);
    return m < 90 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function show(v) {
    var p = v.progress || {};
    var pct = typeof p.percent === "number" ? p.percent : 0;
    box.hidden = false;
    field("number").textContent = v.number;
    field("status").textContent = v.status.charAt(0).toUpperCase() + v.status.slice(1);
    box.querySelector(".bar.train").style.width = pct + "%";
    box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(pct));
    field("percent").textContent = pct.toFixed(1) + "%";
    field("epoch").textContent = p.epoch ? "epoch " + p.epoch + " of " + p.epochs
      : (v.status === "queued" ? "waiting for a worker" : "");
    field("eta").textContent = p.eta_s ? "about " + duration(p.eta_s) + " left" : (p.phase === "evaluate" ? "evaluating" : "");
    field("loss").textContent = typeof p.loss === "number" ? "loss " + p.loss.toFixed(3) : "";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        var versions = Array.isArray(data) ? data : (data.results || []);
        var running = versions.filter(function (v) { return RUNNING.indexOf(v.status) >= 0; })[0];
        if (running) {
          wasRunning = true;
          show(running);
        } else if (wasRunning) {
          // The training ended: reload to show the (possibly new) active model and figures.
          window.location.reload();
          return;
        }
        // Poll often while a training runs, seldom while none does (one may be started by beat).
        window.setTimeout(poll, running ? INTERVAL_MS : INTERVAL_MS * 4);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 3); });
  }
  window.setTimeout(poll, wasRunning ? 1000 : INTERVAL_MS);
})();
