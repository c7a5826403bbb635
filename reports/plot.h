/* flatline plot: reports in, one self-contained HTML page out.
 *
 * A configuration is what one curve shows: a fault of a report (a report with
 * one fault is one configuration), or a fault of one cell of a combined
 * report. fl_plot_add_report() checks a parsed report (docs/report-format.md)
 * and keeps, per configuration and side (broker, client, will), the
 * per-connection latencies and residuals (measured - predicted), the
 * undetected and unexplained counts, the verdict and the model's window;
 * fl_plot_write_html() inlines the charting library, the page's script
 * (reports/plot-assets/) and that data into one file.
 *
 * The data written into the page (#flatline-data, read by plot.js):
 *   {"title": s, "sides": ["broker", "client", "will"],
 *    "configs": [{"label", "source", "fault", "kind", "target",
 *                 "inject_s", "heal_s" (s after the report's first inject; heal null: never),
 *                 "affected", "tolerance": {"abs_s", "rel"},
 *                 "sides": {"broker": {"latencies": [s...], "undetected", "verdict",
 *                                      "window": {"applicable", "expect", "lo_s", "hi_s", "detector", "why"} | null,
 *                                      and, when the report has them (not before per-connection residuals):
 *                                      "residuals": [s...], "residual_s": {stats}, "slack_max_s", "survived",
 *                                      "unexplained", "unpredicted", "queued", "cpu_waited"},
 *                           "client": ..., "will": ...},
 *                 "metrics": {"<path>": number | null}}],
 *    "metrics": ["<path>", ...]} */
#ifndef FLATLINE_REPORTS_PLOT_H
#define FLATLINE_REPORTS_PLOT_H

#include <jansson.h>
#include <stddef.h>

typedef struct fl_plot fl_plot;

fl_plot *fl_plot_new(const char *title);
void fl_plot_free(fl_plot *p);

/* Adds the configurations of one report. label names its curves (a fault
 * index is appended when the report has several faults); source is the file
 * it came from. Returns how many configurations it added, or -1 with err
 * naming the field at fault ("faults[0].broker.latencies: missing ..."). */
int fl_plot_add_report(fl_plot *p, const json_t *report, const char *label, const char *source, char *err,
                       size_t errlen);
size_t fl_plot_count(const fl_plot *p);
/* A metric of the grammar in reports/metric.h to show for every
 * configuration (a table on the page); call before adding reports. A path
 * that starts with a side ("broker.p99") is read for the configuration's own
 * fault (faults[<its index>].broker.p99), any other path as written. Returns
 * 0, or -1 with err naming the path and what is wrong with it. */
int fl_plot_add_metric(fl_plot *p, const char *path, char *err, size_t errlen);
/* The page's data, as above (borrowed: owned by p). */
const json_t *fl_plot_data(const fl_plot *p);

/* JSON text that is safe inside a <script> element: '<', '>' and '&' (which
 * JSON allows only inside strings) become \u003c, \u003e, \u0026, so no
 * "</script>" or "<!--" can end or confuse the element. Caller frees. */
char *fl_plot_script_json(const json_t *data);

/* The files the page is made of, in one directory: plot.html.in (the
 * template), plot.js (the page's script), uPlot.iife.min.js and
 * uPlot.min.css (the charting library, from npm). */
#define FL_PLOT_TEMPLATE "plot.html.in"
#define FL_PLOT_SCRIPT "plot.js"
#define FL_PLOT_LIB_JS "uPlot.iife.min.js"
#define FL_PLOT_LIB_CSS "uPlot.min.css"

enum fl_plot_error {
    FL_PLOT_OK = 0,
    FL_PLOT_ASSETS = -1, /* an asset is missing or cannot be inlined */
    FL_PLOT_WRITE = -2,  /* the output could not be written */
};

/* Writes the page to path (atomically, reports/report.h) from the assets in
 * asset_dir. Returns FL_PLOT_OK, or an fl_plot_error with err. */
int fl_plot_write_html(const fl_plot *p, const char *asset_dir, const char *path, char *err, size_t errlen);

#endif
