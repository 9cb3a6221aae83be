/* KPI dashboard charts (Chart.js from node_modules, served as a static file). */
(function () {
  "use strict";
  var el = document.getElementById("dash-data");
  if (!el) return;
  var d = JSON.parse(el.textContent);
  // Chart texts come translated from the page (data-t-* on #dash-charts, docs/languages.md).
  var box = document.getElementById("dash-charts");
  var tr = box ? box.dataset : {};
  function t(key, fallback) { return tr[key] || fallback; }

  // Show the custom date fields only for a custom range; submit on change.
  var form = document.getElementById("dash-filters");
  if (form) {
    var range = form.querySelector("#id_range");
    var toggle = function () {
      var custom = range && range.value === "custom";
      form.querySelectorAll(".dash-custom").forEach(function (f) { f.hidden = !custom; });
    };
    toggle();
    form.addEventListener("change", function (ev) {
      toggle();
      if (ev.target.id === "id_range" && ev.target.value === "custom") return;
      if (ev.target.id === "id_start" || ev.target.id === "id_end") return;
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  }

  if (typeof Chart === "undefined") {
    document.querySelectorAll(".chart-box").forEach(function (b) {
      b.textContent = t("tNoChartjs", "Charts need Chart.js (run npm install); the tables below have the same data.");
    });
    return;
  }

  // Durations come formatted from the server, in the reader's language
  // (helpdesk/lib/human.py; docs/languages.md): no unit letters here.
  function fmtAt(list, i) { return (list && list[i]) || "—"; }
  // Decimals with the page language's separator (<html lang>).
  var lang = document.documentElement.lang || undefined;
  function fmtDecimal(v) { return v.toLocaleString(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 }); }
  function drillOnClick(urls) {
    return function (evt, elements) {
      if (elements.length && urls && urls[elements[0].index]) window.location.href = urls[elements[0].index];
    };
  }
  var bucketLabel = d.bucket === "week" ? t("tWeekStarting", "Week starting (local)") : t("tDay", "Day (local)");
  var common = {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom" } }
  };
  function axes(yTitle, extra) {
    return Object.assign({
      x: { title: { display: true, text: bucketLabel }, ticks: { maxRotation: 45, autoSkip: true } },
      y: { beginAtZero: true, title: { display: true, text: yTitle } }
    }, extra || {});
  }

  new Chart(document.getElementById("chart-volume"), {
    type: "bar",
    data: { labels: d.labels, datasets: [
      { label: t("tCreated", "Created"), data: d.created, backgroundColor: "#8fb0f0" },
      { label: t("tSolved", "Solved"), data: d.resolved, backgroundColor: "#4caf7d" }
    ] },
    options: Object.assign({}, common, { scales: axes(t("tTickets", "Tickets")), onClick: drillOnClick(d.drill.created) })
  });

  new Chart(document.getElementById("chart-frt"), {
    type: "line",
    data: { labels: d.labels, datasets: [
      { label: t("tFrtMedian", "FRT median") + " (" + t("tHoursUnit", "h") + ")", data: d.frt_median_h, borderColor: "#2357d9", backgroundColor: "#2357d9", spanGaps: true },
      { label: t("tFrtP90", "FRT p90") + " (" + t("tHoursUnit", "h") + ")", data: d.frt_p90_h, borderColor: "#d9822b", backgroundColor: "#d9822b", borderDash: [5, 4], spanGaps: true }
    ] },
    options: Object.assign({}, common, {
      scales: axes(d.clock === "bus" ? t("tBusinessHours", "Business hours") : t("tHours", "Hours")),
      onClick: drillOnClick(d.drill.frt),
      plugins: Object.assign({}, common.plugins, { tooltip: { callbacks: {
        label: function (c) {
          var names = [t("tFrtMedian", "FRT median"), t("tFrtP90", "FRT p90")];
          var texts = [d.frt_median_fmt, d.frt_p90_fmt];
          return names[c.datasetIndex] + ": " + fmtAt(texts[c.datasetIndex], c.dataIndex);
        },
        footer: function (items) { return items.length ? "n = " + d.frt_n[items[0].dataIndex] : ""; }
      } } })
    })
  });

  new Chart(document.getElementById("chart-csat"), {
    type: "line",
    data: { labels: d.labels, datasets: [
      { label: "CSAT %", data: d.csat_pct, borderColor: "#4caf7d", backgroundColor: "#4caf7d", spanGaps: true }
    ] },
    options: Object.assign({}, common, {
      scales: axes(t("tSatisfied", "% satisfied"), { y: { min: 0, max: 100, title: { display: true, text: t("tSatisfied", "% satisfied") } } }),
      plugins: Object.assign({}, common.plugins, { tooltip: { callbacks: {
        label: function (c) { return c.parsed.y === null ? t("tNoRatings", "no ratings") : "CSAT: " + fmtDecimal(c.parsed.y) + "%"; },
        footer: function (items) { return items.length ? t("tResponses", "responses") + ": " + d.csat_n[items[0].dataIndex] : ""; }
      } } })
    })
  });

  new Chart(document.getElementById("chart-backlog"), {
    type: "line",
    data: { labels: d.backlog_labels, datasets: [
      { label: t("tBacklog", "Backlog"), data: d.backlog, borderColor: "#b42318", backgroundColor: "#b42318" },
      { label: t("tActionable", "Actionable (excl. pending)"), data: d.actionable, borderColor: "#667085", backgroundColor: "#667085", borderDash: [4, 3] }
    ] },
    options: Object.assign({}, common, { scales: axes(t("tBacklogAxis", "Open tickets at local midnight"), {
      x: { title: { display: true, text: d.bucket === "week" ? t("tEndWeek", "End of week (local)") : t("tEndDay", "End of day (local)") } }
    }) })
  });

  Object.keys(d.hist).forEach(function (kpi) {
    var canvas = document.getElementById("chart-hist-" + kpi);
    if (!canvas) return;
    new Chart(canvas, {
      type: "bar",
      data: { labels: d.hist_labels, datasets: [{ label: t("tTickets", "Tickets"), data: d.hist[kpi], backgroundColor: "#8fb0f0" }] },
      options: Object.assign({}, common, {
        scales: { x: { title: { display: true, text: d.clock === "bus" ? t("tBusinessTime", "Business time") : t("tCalendarTime", "Calendar time") } },
                  y: { beginAtZero: true, title: { display: true, text: t("tTickets", "Tickets") }, ticks: { precision: 0 } } },
        onClick: drillOnClick(d.hist_drill[kpi])
      })
    });
  });
})();
