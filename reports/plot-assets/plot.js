/* flatline plot: draws the charts from the JSON that the C side wrote into
 * #flatline-data (reports/plot.h describes it). After rendering, each chart's
 * element carries data-series (curves drawn) and data-colors, and <html>
 * carries data-rendered="ok" (or the error), so that a headless browser's
 * --dump-dom can check what was drawn. */
(function () {
  "use strict";
  var root = document.documentElement;
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  var SIDE_COLOR = { broker: "#1f77b4", client: "#d62728", will: "#2ca02c" };
  var SIDE_TITLE = {
    broker: "Broker side: the broker closes the dead connection",
    client: "Client side: the client notices its connection is dead",
    will: "Will: a watcher receives the dead client's will"
  };
  var WIDTH = Math.max(600, Math.min(1400, (document.body.clientWidth || 1150) - 8));

  function fail(msg) {
    root.setAttribute("data-rendered", "error: " + msg);
    document.getElementById("error").textContent = "flatline plot: " + msg;
  }
  window.addEventListener("error", function (e) { fail(String(e.message)); });

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function rgba(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  function finite(v) { return typeof v === "number" && isFinite(v); }

  function sortedLatencies(side) {
    return (side && side.latencies || []).filter(finite).sort(function (a, b) { return a - b; });
  }

  function fmt(s) {
    if (!finite(s)) return "never";
    return s < 10 ? s.toFixed(3) + " s" : s.toFixed(1) + " s";
  }

  function nearestRank(sorted, p) {
    if (!sorted.length) return null;
    return sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)];
  }

  function tolerance(cfg, hi) {
    var t = cfg.tolerance || { abs_s: 0.25, rel: 0.02 };
    return t.abs_s + t.rel * (finite(hi) ? hi : 0);
  }

  /* The empirical CDF of each configuration on one shared x axis (uPlot
   * aligns series on x): every latency of every configuration is a step. The
   * fraction is of the affected connections, so undetected ones keep the
   * curve below 1. */
  function cdfData(configs, side) {
    var xs = [0], per = [];
    configs.forEach(function (c) {
      var lat = sortedLatencies(c.sides[side]);
      per.push(lat);
      xs = xs.concat(lat);
    });
    xs = xs.sort(function (a, b) { return a - b; }).filter(function (x, i, a) { return i === 0 || x !== a[i - 1]; });
    /* The curves run on to the right edge rather than stop at the last step. */
    if (xMax(configs, side) > xs[xs.length - 1]) xs.push(xMax(configs, side));
    var data = [xs];
    configs.forEach(function (c, i) {
      var lat = per[i], s = c.sides[side] || {};
      var total = Math.max(1, lat.length + (s.undetected || 0));
      var ys = new Array(xs.length), k = 0;
      for (var j = 0; j < xs.length; j++) {
        while (k < lat.length && lat[k] <= xs[j]) k++;
        ys[j] = k / total;
      }
      data.push(ys);
    });
    return data;
  }

  function xMax(configs, side) {
    var m = 0;
    configs.forEach(function (c) {
      var s = c.sides[side] || {}, lat = sortedLatencies(s), w = s.window;
      if (lat.length) m = Math.max(m, lat[lat.length - 1]);
      if (w && finite(w.hi_s)) m = Math.max(m, w.hi_s + tolerance(c, w.hi_s));
      else if (w && finite(w.lo_s)) m = Math.max(m, w.lo_s);
    });
    return m > 0 ? m * 1.08 : 1;
  }

  /* Model windows under the curves: the band [lo, hi] and, dashed, the band
   * widened by the tolerance the verdict uses. */
  function drawWindows(configs, side, colors) {
    return function (u) {
      var ctx = u.ctx, b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      configs.forEach(function (c, i) {
        var w = (c.sides[side] || {}).window;
        if (!w || !finite(w.lo_s)) return;
        var lo = u.valToPos(w.lo_s, "x", true);
        var hi = finite(w.hi_s) ? u.valToPos(w.hi_s, "x", true) : b.left + b.width;
        ctx.fillStyle = rgba(colors[i], 0.13);
        ctx.fillRect(lo, b.top, Math.max(1, hi - lo), b.height);
        var tol = tolerance(c, w.hi_s);
        ctx.strokeStyle = rgba(colors[i], 0.6);
        ctx.lineWidth = 1;
        ctx.setLineDash([6, 4]);
        [w.lo_s - tol, finite(w.hi_s) ? w.hi_s + tol : null].forEach(function (v) {
          if (v === null) return;
          var x = Math.round(u.valToPos(v, "x", true)) + 0.5;
          ctx.beginPath();
          ctx.moveTo(x, b.top);
          ctx.lineTo(x, b.top + b.height);
          ctx.stroke();
        });
      });
      ctx.restore();
    };
  }

  /* A configuration has a curve on a side when that side detected something,
   * missed something, or the model says it should. */
  function relevant(c, side) {
    var s = c.sides[side];
    return !!s && (sortedLatencies(s).length > 0 || s.undetected > 0 || !!(s.window && s.window.applicable));
  }

  function summaryTable(configs, side, colors) {
    var t = el("table");
    var head = el("tr");
    ["configuration", "detected", "undetected", "survived", "p50", "p99", "max", "residual p99 (unexplained)",
     "model window (prediction)", "detector (prediction)", "verdict"]
      .forEach(function (h) { head.appendChild(el("th", {}, h)); });
    t.appendChild(head);
    configs.forEach(function (c, i) {
      var s = c.sides[side] || {}, lat = sortedLatencies(s), w = s.window, tr = el("tr");
      var name = el("td");
      name.appendChild(el("span", { "class": "swatch", style: "background:" + colors[i] }));
      name.appendChild(document.createTextNode(c.label));
      if (w && w.why) name.title = w.why;
      tr.appendChild(name);
      /* measured - predicted from each connection's own history (model/instant.h) */
      var res = s.residual_s && finite(s.residual_s.p99)
        ? (s.residual_s.p99 * 1000).toFixed(1) + " ms (" + (s.unexplained || 0) + ")" : "-";
      [String(lat.length), String(s.undetected || 0), String(s.survived || 0), fmt(nearestRank(lat, 50)),
       fmt(nearestRank(lat, 99)), fmt(lat.length ? lat[lat.length - 1] : null), res,
       w && finite(w.lo_s) ? fmt(w.lo_s) + " \u2013 " + fmt(w.hi_s) : "no model",
       w && w.detector ? w.detector : "-"].forEach(function (v, k) {
        if (k >= 3 && k < 6 && !lat.length && v === "never") v = "-";
        tr.appendChild(el("td", k === 8 ? { "class": "text" } : {}, v));
      });
      tr.appendChild(el("td", { "class": "text " + (s.verdict || "") }, s.verdict || "-"));
      t.appendChild(tr);
    });
    return t;
  }

  /* flatline plot --metric: one row per configuration, one column per path
   * (reports/metric.h's grammar, read by flatline plot). */
  function metricTable(host, configs, paths) {
    host.appendChild(el("h2", {}, "Metrics"));
    var t = el("table", { "data-table": "metrics" }), head = el("tr");
    ["configuration"].concat(paths).forEach(function (h) { head.appendChild(el("th", {}, h)); });
    t.appendChild(head);
    configs.forEach(function (c, i) {
      var tr = el("tr"), name = el("td");
      name.appendChild(el("span", { "class": "swatch", style: "background:" + PALETTE[i % PALETTE.length] }));
      name.appendChild(document.createTextNode(c.label));
      tr.appendChild(name);
      paths.forEach(function (p) {
        var v = c.metrics ? c.metrics[p] : null;
        tr.appendChild(el("td", {}, typeof v === "number" ? String(+v.toPrecision(6)) : "-"));
      });
      t.appendChild(tr);
    });
    host.appendChild(t);
  }

  function cdfChart(host, all, side) {
    /* A configuration keeps its colour in every chart. */
    var configs = [], colors = [];
    all.forEach(function (c, i) {
      if (!relevant(c, side)) return;
      configs.push(c);
      colors.push(PALETTE[i % PALETTE.length]);
    });
    if (!configs.length) return 0;
    var box = el("div", { "class": "chart", "data-chart": "cdf-" + side });
    host.appendChild(el("h2", {}, SIDE_TITLE[side] || side));
    host.appendChild(box);
    var series = [{ label: "latency (s)" }];
    configs.forEach(function (c, i) {
      series.push({
        label: c.label, stroke: colors[i], width: 2.5,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: function (u, v) { return v === null || v === undefined ? "-" : (100 * v).toFixed(1) + " %"; }
      });
    });
    new uPlot({
      width: WIDTH, height: 330,
      legend: { show: false }, /* the table under the chart names the curves */
      scales: { x: { time: false, range: [0, xMax(configs, side)] }, y: { range: [0, 1.02] } },
      axes: [
        { label: "seconds after the fault's inject" },
        { label: "fraction detected", size: 60, values: function (u, vals) {
          return vals.map(function (v) { return Math.round(v * 100) + " %"; });
        } }
      ],
      series: series,
      hooks: { drawClear: [drawWindows(configs, side, colors)] }
    }, cdfData(configs, side), box);
    box.setAttribute("data-series", String(configs.length));
    box.setAttribute("data-colors", colors.join(","));
    host.appendChild(summaryTable(configs, side, colors));
    return configs.length;
  }

  /* One row per configuration: the fault from inject to heal, each side's
   * detections as points (seconds after the report's first inject, so the
   * faults of one report keep their order). */
  function timeline(host, configs, sides) {
    var n = configs.length, rows = [], t0 = 0, tEnd = 0;
    /* The first configuration on top, as in the tables. */
    function rowOf(r) { return n - r; }
    var longest = configs.reduce(function (m, c) { return Math.max(m, c.label.length); }, 0);
    var labelWidth = Math.min(380, 24 + 7 * longest), maxChars = Math.floor((labelWidth - 24) / 7);
    function shortLabel(l) { return l.length <= maxChars ? l : "\u2026" + l.slice(l.length - maxChars + 1); }
    var offset = { broker: 0.2, will: 0, client: -0.2 };
    var xs = [];
    configs.forEach(function (c) {
      sides.forEach(function (side) {
        sortedLatencies(c.sides[side]).forEach(function (l) { xs.push(c.inject_s + l); });
      });
      tEnd = Math.max(tEnd, finite(c.heal_s) ? c.heal_s : c.inject_s);
    });
    xs = xs.sort(function (a, b) { return a - b; }).filter(function (x, i, a) { return i === 0 || x !== a[i - 1]; });
    if (!xs.length) xs = [0];
    tEnd = Math.max(tEnd, xs[xs.length - 1]);
    var data = [xs], series = [{ label: "time (s)" }], index = {};
    xs.forEach(function (x, i) { index[x] = i; });
    sides.forEach(function (side) {
      var ys = new Array(xs.length).fill(null), any = false;
      configs.forEach(function (c, r) {
        sortedLatencies(c.sides[side]).forEach(function (l) { ys[index[c.inject_s + l]] = rowOf(r) + offset[side]; any = true; });
      });
      if (!any) return;
      rows.push(side);
      data.push(ys);
      series.push({
        label: side + " detections", stroke: SIDE_COLOR[side], width: 0, paths: function () { return null; },
        points: { show: true, size: 6, width: 1, stroke: SIDE_COLOR[side], fill: rgba(SIDE_COLOR[side], 0.6) },
        value: function (u, v) { return v === null || v === undefined ? "-" : configs[n - Math.round(v)].label; }
      });
    });
    var box = el("div", { "class": "chart", "data-chart": "timeline" });
    host.appendChild(el("h2", {}, "Timeline: faults and detections"));
    host.appendChild(el("p", { "class": "note" },
      "Grey: the fault from its inject to its heal; points: detections, " +
      "broker above the row, client below it, wills on it; tinted: the broker's model window."));
    host.appendChild(box);
    new uPlot({
      width: WIDTH, height: 90 + 60 * n,
      scales: { x: { time: false, range: [Math.min(t0, xs[0]) - 0.5, tEnd * 1.05 + 0.5] },
                y: { range: [0.4, n + 0.6] } },
      axes: [
        { label: "seconds after the report's first fault" },
        { size: labelWidth, splits: function () { return configs.map(function (c, i) { return i + 1; }); },
          values: function (u, vals) {
            return vals.map(function (v) { var c = configs[n - v]; return c ? shortLabel(c.label) : ""; });
          } }
      ],
      series: series,
      hooks: { drawClear: [function (u) {
        var ctx = u.ctx, b = u.bbox;
        ctx.save();
        ctx.beginPath();
        ctx.rect(b.left, b.top, b.width, b.height);
        ctx.clip();
        configs.forEach(function (c, r) {
          var y0 = u.valToPos(rowOf(r) + 0.3, "y", true), y1 = u.valToPos(rowOf(r) - 0.3, "y", true);
          var x0 = u.valToPos(c.inject_s, "x", true);
          var x1 = finite(c.heal_s) ? u.valToPos(c.heal_s, "x", true) : b.left + b.width;
          ctx.fillStyle = "rgba(0,0,0,0.08)";
          ctx.fillRect(x0, y0, Math.max(2, x1 - x0), y1 - y0);
          var w = (c.sides.broker || {}).window;
          if (w && finite(w.lo_s)) {
            var w0 = u.valToPos(c.inject_s + w.lo_s, "x", true);
            var w1 = finite(w.hi_s) ? u.valToPos(c.inject_s + w.hi_s, "x", true) : b.left + b.width;
            ctx.fillStyle = rgba(SIDE_COLOR.broker, 0.12);
            ctx.fillRect(w0, y0, Math.max(1, w1 - w0), (y1 - y0) / 2);
          }
          ctx.fillStyle = "#555";
          ctx.fillRect(Math.round(x0) - 1, y0, 2, y1 - y0);
        });
        ctx.restore();
      }] }
    }, data, box);
    box.setAttribute("data-series", String(rows.length));
    box.setAttribute("data-rows", String(n));
  }

  try {
    var data = JSON.parse(document.getElementById("flatline-data").textContent);
    var configs = data.configs || [];
    if (!configs.length) throw new Error("no configuration to draw");
    var host = document.getElementById("charts"), drawn = [];
    (data.sides || ["broker", "client", "will"]).forEach(function (side) {
      var n = cdfChart(host, configs, side);
      if (n) drawn.push(side + "=" + n);
    });
    timeline(host, configs, data.sides || ["broker", "client", "will"]);
    if (data.metrics && data.metrics.length) metricTable(host, configs, data.metrics);
    /* uPlot lays a chart out in a microtask; this one runs after those. */
    Promise.resolve().then(function () {
      /* Where each chart's plotting area is on the page, for pixel checks of a
       * screenshot. */
      Array.prototype.forEach.call(document.querySelectorAll(".chart .u-over"), function (over) {
        var r = over.getBoundingClientRect();
        over.closest(".chart").setAttribute("data-plot-box", [r.left + window.scrollX, r.top + window.scrollY,
          r.width, r.height].map(Math.round).join(","));
      });
      root.setAttribute("data-configurations", String(configs.length));
      root.setAttribute("data-charts", drawn.join(" "));
      document.title = document.title + " (" + configs.length + " configurations)";
      if (!root.hasAttribute("data-rendered")) root.setAttribute("data-rendered", "ok");
    }).catch(function (e) { fail(e && e.message ? e.message : String(e)); });
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
})();
