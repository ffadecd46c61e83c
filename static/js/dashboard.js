/* Project dashboard charts (Chart.js, vendored). Data comes from the page's json_script "dashboard-data". */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  var el = document.getElementById("dashboard-data");
  if (!el) return;
  var data = JSON.parse(el.textContent);
  var ENT = "#2563eb", REL = "#d97706", OK = "#16a34a", BAD = "#dc2626", GREY = "#9ca3af";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function canvas(id) { return document.getElementById(id); }
  function pct(axisTitle) {
    return { min: 0, max: 100, title: { display: !!axisTitle, text: axisTitle } };
  }

  // F1 per version; point style marks the status.
  var h = data.history || [];
  if (canvas("chart-history") && h.length) {
    var style = function (s) { return s === "rejected" ? "crossRot" : s === "failed" ? "triangle" : "circle"; };
    var colour = function (s, base) { return s === "rejected" ? BAD : s === "failed" ? GREY : base; };
    var ds = function (label, key, base) {
      return {
        label: label, borderColor: base, backgroundColor: base, spanGaps: true,
        data: h.map(function (v) { return v[key]; }),
        pointStyle: h.map(function (v) { return style(v.status); }),
        pointRadius: h.map(function (v) { return v.status === "active" ? 8 : 5; }),
        pointBorderWidth: h.map(function (v) { return v.status === "rejected" || v.status === "failed" ? 2.5 : 1.5; }),
        pointBorderColor: h.map(function (v) { return colour(v.status, base); }),
        pointBackgroundColor: h.map(function (v) { return v.status === "retired" ? "#fff" : colour(v.status, base); }),
      };
    };
    // Failed versions have no figures: a grey triangle on the axis marks them, the lines skip them.
    var failed = {
      label: "Failed", data: h.map(function (v) { return v.status === "failed" ? 0 : null; }),
      showLine: false, pointStyle: "triangle", pointRadius: 8, borderColor: GREY, backgroundColor: GREY, clip: false,
    };
    new Chart(canvas("chart-history"), {
      type: "line",
      data: {
        labels: h.map(function (v) { return "v" + v.number + " · " + v.date; }),
        datasets: [ds("Entity F1", "entity_f1", ENT), ds("Relation F1", "relation_f1", REL)].concat(
          h.some(function (v) { return v.status === "failed"; }) ? [failed] : []),
      },
      options: {
        scales: { y: pct("strict F1 (%)") },
        plugins: { tooltip: { callbacks: { afterLabel: function (ctx) { return h[ctx.dataIndex].status; } } } },
      },
    });
  }

  // Learning curve: F1 against train-split gold sentences, evaluated versions only.
  var lc = h.filter(function (v) { return v.entity_f1 !== null && v.trained_on !== null; });
  if (canvas("chart-learning") && lc.length) {
    var pts = function (key) { return lc.map(function (v) { return { x: v.trained_on, y: v[key], n: v.number }; }); };
    new Chart(canvas("chart-learning"), {
      type: "scatter",
      data: { datasets: [
        { label: "Entity F1", data: pts("entity_f1"), borderColor: ENT, backgroundColor: ENT, showLine: true },
        { label: "Relation F1", data: pts("relation_f1"), borderColor: REL, backgroundColor: REL, showLine: true },
      ] },
      options: {
        scales: { x: { title: { display: true, text: "gold sentences trained on" }, beginAtZero: true }, y: pct("strict F1 (%)") },
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          return ctx.dataset.label + " v" + ctx.raw.n + ": " + ctx.raw.y + " (" + ctx.raw.x + " sentences)"; } } } },
      },
    });
  }

  // Per-type P/R/F1 of the chosen version: entities then relations on one horizontal bar chart.
  var pt = data.per_type;
  if (canvas("chart-per-type") && pt) {
    var rows = (pt.entities || []).map(function (r) { return Object.assign({ label: r.type }, r); })
      .concat((pt.relations || []).map(function (r) { return Object.assign({ label: "↔ " + r.type }, r); }));
    var box = canvas("chart-per-type").parentNode;
    box.style.height = Math.max(240, 26 * rows.length + 70) + "px";
    var bars = function (label, key, c) {
      return { label: label, data: rows.map(function (r) { return r[key]; }), backgroundColor: c };
    };
    new Chart(canvas("chart-per-type"), {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.label + " (" + r.support + ")"; }),
              datasets: [bars("Precision", "precision", "#93c5fd"), bars("Recall", "recall", "#fcd34d"), bars("F1", "f1", "#1d4ed8")] },
      options: { indexAxis: "y", scales: { x: pct("%") } },
    });
  }

  // Reliability diagram of the active model.
  var cal = data.calibration;
  if (canvas("chart-reliability") && cal && cal.entity_bins) {
    var mids = cal.entity_bins.map(function (b) { return ((b.lo + b.hi) / 2).toFixed(2); });
    var acc = function (bins) { return (bins || []).map(function (b) { return b.count ? 100 * b.accuracy : null; }); };
    new Chart(canvas("chart-reliability"), {
      data: { labels: mids, datasets: [
        { type: "bar", label: "Entity accuracy", data: acc(cal.entity_bins), backgroundColor: "rgba(37,99,235,.6)" },
        { type: "bar", label: "Relation accuracy", data: acc(cal.relation_bins), backgroundColor: "rgba(217,119,6,.6)" },
        { type: "line", label: "Perfect calibration", data: mids.map(function (m) { return 100 * m; }),
          borderColor: GREY, borderDash: [5, 4], pointRadius: 0, fill: false },
      ] },
      options: {
        scales: { x: { title: { display: true, text: "confidence (bin centre)" } }, y: pct("accuracy (%)") },
        plugins: { tooltip: { callbacks: { afterLabel: function (ctx) {
          var bins = ctx.datasetIndex === 0 ? cal.entity_bins : cal.relation_bins;
          return bins && bins[ctx.dataIndex] ? bins[ctx.dataIndex].count + " predictions" : ""; } } } },
      },
    });
  }

  // Suggestion outcomes per version and type (stacked shares).
  var sg = data.suggestions || [];
  if (canvas("chart-suggestions") && sg.length) {
    var part = function (label, key, c) {
      return { label: label, data: sg.map(function (r) { return r[key + "_pct"]; }), backgroundColor: c, stack: "s" };
    };
    new Chart(canvas("chart-suggestions"), {
      type: "bar",
      data: { labels: sg.map(function (r) { return "v" + r.version + " " + r.type; }),
              datasets: [part("Accepted", "accepted", OK), part("Edited", "edited", "#f59e0b"), part("Rejected", "rejected", BAD)] },
      options: { scales: { y: { stacked: true, max: 100, title: { display: true, text: "% of suggestions" } }, x: { stacked: true } } },
    });
  }

  // Throughput per annotator.
  var tp = (data.throughput || []);
  if (canvas("chart-throughput") && tp.length) {
    new Chart(canvas("chart-throughput"), {
      type: "bar",
      data: { labels: tp.map(function (a) { return a.annotator; }),
              datasets: [{ label: "Sentences per hour", data: tp.map(function (a) { return a.per_hour; }), backgroundColor: ENT }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, title: { display: true, text: "sentences per hour" } } } },
    });
  }
  document.body.setAttribute("data-charts-ready", "1");
})();
