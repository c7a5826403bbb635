/* Reports side by side: rows are runs (a single report, or each cell of a
 * sweep's combined report), per fault and side the detection statistics, the
 * model's window and the per-connection residuals (measured - predicted,
 * unexplained, unpredicted, queued, cpu_waited), and each run's false
 * disconnects and heartbeat overhead; the best row of each column is marked. Thresholds against a baseline turn
 * the comparison into a regression gate (docs/compare.md). Works on the
 * reports' JSON (docs/report-format.md), so it compares files from any run. */
#ifndef FLATLINE_HARNESS_COMPARE_H
#define FLATLINE_HARNESS_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct fl_cmp_row {
    char *label;    /* "quickstart" (a file), "keepalive=2 grace=1.5" (a cell) */
    json_t *report; /* one single-run report */
    json_t *params; /* the cell's {path: value}; NULL for a single report */
} fl_cmp_row;

typedef struct fl_cmp_set {
    fl_cmp_row *rows;
    size_t n, cap;
} fl_cmp_set;

void fl_cmp_init(fl_cmp_set *s);
void fl_cmp_free(fl_cmp_set *s);
/* Adds a report document (single or combined; borrowed, referenced). name
 * labels a single report and prefixes cells when prefix is true. Returns 0, or
 * -1 with err naming what is missing ("cells[2].report: not an object"). */
int fl_cmp_add_json(fl_cmp_set *s, const char *name, json_t *doc, bool prefix, char *err, size_t errlen);
/* Reads path and adds it; name = the file's base name without ".json". */
int fl_cmp_add_file(fl_cmp_set *s, const char *path, bool prefix, char *err, size_t errlen);

typedef enum fl_cmp_format { FL_CMP_TEXT, FL_CMP_MARKDOWN, FL_CMP_CSV, FL_CMP_JSON } fl_cmp_format;
/* "table", "md", "csv", "json" -> format; -1 if unknown. */
int fl_cmp_format_parse(const char *name);
/* The comparison in format fmt (colour: terminal only). The terminal gives
 * each fault side a detection table and a residual table and the runs' own
 * columns a third, so that each reads at 80 columns with cell names of about
 * 20 characters; Markdown has one wide table per fault side. Returns 0, -1 on
 * write error. */
int fl_cmp_print(const fl_cmp_set *s, fl_cmp_format fmt, FILE *out, bool colour);
/* The same as JSON: {"rows": [{fault, kind, target, side, cell, params, detected, undetected,
 * p50_s, p99_s, max_s, false_disconnects, bytes_per_conn_hour, window_lo_s, window_hi_s,
 * residual_p99_s, residual_max_s, slack_max_s, unexplained, unpredicted, queued, cpu_waited,
 * best}]}; null where a report has no value (the residual fields of an older report). */
json_t *fl_cmp_to_json(const fl_cmp_set *s);

/* A metric of one single-run report JSON: fl_metric_get() (reports/metric.h, the
 * grammar expectations use too). *has is false when the metric exists but has
 * no value (no samples). Returns 0, or -1 with err naming the path. */
int fl_cmp_metric(const json_t *report, const char *path, double *v, bool *has, char *err, size_t errlen);

/* A regression threshold: 'broker.p99>+10%', 'client.undetected>0',
 * 'overhead.bytes>=+5%', 'faults[1].broker.max>+0.5'. A signed value is
 * relative to the baseline (+N: baseline + N; +N%: baseline x (1 + N/100)),
 * an unsigned one absolute. A metric without "faults[i]." applies to every
 * fault. The gate is crossed when `value OP limit` holds. */
typedef enum fl_cmp_kind { FL_CMP_ABSOLUTE, FL_CMP_DELTA, FL_CMP_PERCENT } fl_cmp_kind;
typedef struct fl_cmp_threshold {
    char text[160];
    char metric[96];
    char op[3];
    double value;
    fl_cmp_kind kind;
} fl_cmp_threshold;

/* Returns 0, or -1 with err naming the expression and what is wrong with it. */
int fl_cmp_threshold_parse(const char *expr, fl_cmp_threshold *t, char *err, size_t errlen);

/* Checks every row of s against the thresholds (relative ones against the
 * baseline's row with the same cell label, or its only row). Prints each
 * crossing (and, when verbose, each check) to out. Returns how many were
 * crossed, or -1 with err (a relative threshold without a baseline, a
 * metric no report has). */
int fl_cmp_check(const fl_cmp_set *s, const fl_cmp_set *baseline, const fl_cmp_threshold *t, size_t nt, FILE *out,
                 char *err, size_t errlen);

#endif
