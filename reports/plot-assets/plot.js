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
  /* A side's latency CDF and its residuals side by side when there is room,
   * one above the other when not. */
  var LAT_WIDTH = WIDTH >= 1000 ? Math.round(WIDTH * 0.56) : WIDTH;
  /* (less the room of a scrollbar that the page's length brings later) */
  var RES_WIDTH = WIDTH >= 1000 ? WIDTH - LAT_WIDTH - 16 - 24 : WIDTH;
  /* A residual this early is still the detector's: the round trip and the
   * timestamps the model leaves out (reports/report.h, FL_RESIDUAL_EARLY_S). */
  var EARLY_MS = 1;

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

  function ascending(a, b) { return a - b; }

  function sortedLatencies(side) {
    return (side && side.latencies || []).filter(finite).sort(ascending);
  }

  /* Each connection's measured - predicted latency (against the instant the
   * model predicts from its own last exchange, model/instant.h), in ms. */
  function sortedResiduals(side) {
    return (side && side.residuals || []).filter(finite).map(function (v) { return v * 1000; }).sort(ascending);
  }

  function ms(v) { return finite(v) ? (v * 1000).toFixed(1) + " ms" : "-"; }

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

  /* Empirical CDFs on one shared x axis (uPlot aligns series on x): every
   * value of every list is a step; list i climbs to lists[i].length /
   * totals[i]. The curves start at x0 and run on to xEnd rather than stop at
   * their last step. */
  function stepData(lists, totals, x0, xEnd) {
    var xs = [x0];
    lists.forEach(function (l) { xs = xs.concat(l); });
    xs = xs.sort(ascending).filter(function (x, i, a) { return i === 0 || x !== a[i - 1]; });
    if (xEnd > xs[xs.length - 1]) xs.push(xEnd);
    var data = [xs];
    lists.forEach(function (l, i) {
      var total = Math.max(1, totals[i]), ys = new Array(xs.length), k = 0;
      for (var j = 0; j < xs.length; j++) {
        while (k < l.length && l[k] <= xs[j]) k++;
        ys[j] = k / total;
      }
      data.push(ys);
    });
    return data;
  }

  /* The latency CDFs: the fraction is of the affected connections, so
   * undetected ones keep a curve below 1. */
  function cdfData(configs, side) {
    var lists = configs.map(function (c) { return sortedLatencies(c.sides[side]); });
    var totals = configs.map(function (c, i) { return lists[i].length + ((c.sides[side] || {}).undetected || 0); });
    return stepData(lists, totals, 0, xMax(configs, side));
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

  /* draw(ctx, bbox) on the chart's canvas, inside its plotting area only. */
  function clipped(u, draw) {
    var ctx = u.ctx, b = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    draw(ctx, b);
    ctx.restore();
  }

  function percentAxis(label) {
    return { label: label, size: 60, values: function (u, vals) {
      return vals.map(function (v) { return Math.round(v * 100) + " %"; });
    } };
  }

  /* Model windows under the curves: the band [lo, hi] and, dashed, the band
   * widened by the tolerance the verdict uses. */
  function drawWindows(configs, side, colors) {
    return function (u) { clipped(u, function (ctx, b) {
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
    }); };
  }

  /* Where a residual is the detector's own: from EARLY_MS early to the slack
   * its timers state (slack_max_s), shaded grey (configurations of one sweep
   * mostly share it) with a dashed line in each configuration's colour at its
   * slack. Outside it a detection is unexplained, unless the process's own
   * work (queued), its wait for a CPU (cpu-waited) or a stall of the
   * machine's timers (stalled) made it late. */
  function drawSlack(configs, side, colors) {
    return function (u) { clipped(u, function (ctx, b) {
      var lo = u.valToPos(-EARLY_MS, "x", true), shaded = {};
      configs.forEach(function (c, i) {
        var slack = (c.sides[side] || {}).slack_max_s;
        if (!finite(slack)) return;
        var hi = u.valToPos(slack * 1000, "x", true), x = Math.round(hi) + 0.5;
        if (!shaded[slack]) {
          ctx.fillStyle = "rgba(0,0,0,0.07)";
          ctx.fillRect(lo, b.top, Math.max(1, hi - lo), b.height);
          shaded[slack] = true;
        }
        ctx.strokeStyle = rgba(colors[i], 0.6);
        ctx.lineWidth = 1;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
      });
    }); };
  }

  /* The residual axis: the explained band and every residual, with room. */
  function residualRange(lists, configs, side) {
    var lo = -2 * EARLY_MS, hi = 2 * EARLY_MS;
    lists.forEach(function (l) { lo = Math.min(lo, l[0] * 1.2); hi = Math.max(hi, l[l.length - 1] * 1.2); });
    configs.forEach(function (c) {
      var slack = (c.sides[side] || {}).slack_max_s;
      if (finite(slack)) hi = Math.max(hi, slack * 1000 * 1.5);
    });
    return [lo, hi];
  }

  /* Beside a side's latency CDF: each configuration's residuals as a CDF, in
   * ms. When they spread over more than 50 ms the axis is asinh (linear within
   * a millisecond of 0, logarithmic beyond), so that one timer late by a
   * second does not flatten hundreds within a millisecond. Reports from
   * before residuals draw a note. */
  function residualChart(row, all, side, allColors) {
    var box = el("div", { "class": "chart", "data-chart": "residual-" + side });
    row.appendChild(box);
    var configs = [], colors = [], lists = [];
    all.forEach(function (c, i) {
      var l = sortedResiduals(c.sides[side]);
      if (!l.length) return;
      configs.push(c);
      colors.push(allColors[i]);
      lists.push(l);
    });
    box.setAttribute("data-series", String(configs.length));
    box.setAttribute("data-colors", colors.join(","));
    if (!configs.length) {
      box.appendChild(el("p", { "class": "note", style: "width:" + RES_WIDTH + "px" },
        "No per-connection residuals here: the report predates them, or no detection had a prediction."));
      return;
    }
    var range = residualRange(lists, configs, side), series = [{ label: "residual (ms)" }];
    configs.forEach(function (c, i) {
      series.push({ label: c.label, stroke: colors[i], width: 2.5, paths: uPlot.paths.stepped({ align: 1 }),
                    points: { show: false } });
    });
    new uPlot({
      width: RES_WIDTH, height: 330, legend: { show: false },
      scales: { x: range[1] - range[0] > 50 ? { time: false, distr: 4, asinh: EARLY_MS, range: range }
                                             : { time: false, range: range },
                y: { range: [0, 1.02] } },
      axes: [{ label: "residual, ms (measured \u2212 predicted)" }, percentAxis("fraction of the predicted")],
      series: series,
      hooks: { drawClear: [drawSlack(configs, side, colors)] }
    }, stepData(lists, lists.map(function (l) { return l.length; }), range[0], range[1]), box);
  }

  /* A configuration has a curve on a side when that side detected something,
   * missed something, or the model says it should. */
  function relevant(c, side) {
    var s = c.sides[side];
    return !!s && (sortedLatencies(s).length > 0 || s.undetected > 0 || !!(s.window && s.window.applicable));
  }

  /* "2 of 25", with what explains late ones or that some had no prediction. */
  function unexplainedText(s) {
    if (!finite(s.unexplained)) return "-";
    var n = sortedResiduals(s).length, notes = [];
    if (s.queued) notes.push(s.queued + " queued");
    if (s.cpu_waited) notes.push(s.cpu_waited + " cpu-waited");
    if (s.stalled) notes.push(s.stalled + " stalled");
    if (s.unpredicted) notes.push(s.unpredicted + " unpredicted");
    return s.unexplained + (n ? " of " + n : "") + (notes.length ? " (" + notes.join(", ") + ")" : "");
  }

  function summaryTable(configs, side, colors) {
    var t = el("table", { "data-table": "summary-" + side });
    var head = el("tr");
    ["configuration", "detected", "undetected", "survived", "p50", "p99", "max", "model window (prediction)",
     "detector (prediction)", "residual p99 / max", "unexplained", "verdict"]
      .forEach(function (h) { head.appendChild(el("th", {}, h)); });
    t.appendChild(head);
    configs.forEach(function (c, i) {
      var s = c.sides[side] || {}, lat = sortedLatencies(s), w = s.window, r = s.residual_s || {}, tr = el("tr");
      var name = el("td");
      name.appendChild(el("span", { "class": "swatch", style: "background:" + colors[i] }));
      name.appendChild(document.createTextNode(c.label));
      if (w && w.why) name.title = w.why;
      tr.appendChild(name);
      var measured = [nearestRank(lat, 50), nearestRank(lat, 99), lat.length ? lat[lat.length - 1] : null];
      [String(lat.length), String(s.undetected || 0), String(s.survived || 0)]
        .concat(measured.map(function (v) { return lat.length ? fmt(v) : "-"; }))
        .concat([w && finite(w.lo_s) ? fmt(w.lo_s) + " \u2013 " + fmt(w.hi_s) : "no model",
                 w && w.detector ? w.detector : "-",
                 finite(r.p99) ? (r.p99 * 1000).toFixed(1) + " / " + ms(r.max) : "-", unexplainedText(s)])
        .forEach(function (v, k) { tr.appendChild(el("td", k === 7 || k === 9 ? { "class": "text" } : {}, v)); });
      if (finite(s.slack_max_s))
        tr.lastChild.title = "beyond [\u2212" + EARLY_MS + " ms, slack " + ms(s.slack_max_s) + "] and not " +
          "explained by the process's own work (queued), its wait for a CPU (cpu-waited) or a stall of the " +
          "machine's timers (stalled)";
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
    var row = el("div", { "class": "pair" }), box = el("div", { "class": "chart", "data-chart": "cdf-" + side });
    host.appendChild(el("h2", {}, SIDE_TITLE[side] || side));
    host.appendChild(row);
    row.appendChild(box);
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
      width: LAT_WIDTH, height: 330,
      legend: { show: false }, /* the table under the chart names the curves */
      scales: { x: { time: false, range: [0, xMax(configs, side)] }, y: { range: [0, 1.02] } },
      axes: [{ label: "seconds after the fault's inject" }, percentAxis("fraction detected")],
      series: series,
      hooks: { drawClear: [drawWindows(configs, side, colors)] }
    }, cdfData(configs, side), box);
    box.setAttribute("data-series", String(configs.length));
    box.setAttribute("data-colors", colors.join(","));
    residualChart(row, configs, side, colors);
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
