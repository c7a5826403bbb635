/* flatline compare's per-connection columns (residual p99 and max,
 * unexplained, unpredicted, queued, cpu_waited) in every format, reports from
 * before residuals existed, gates on them, and the terminal's 80 columns. The
 * reports are built here the way reports/report_json.c writes them, with
 * numbers chosen so that every expected cell can be worked out by hand. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/compare.h"

typedef struct side_spec {
    int detected, undetected;
    double p50, p99, max; /* latency, s */
    double lo, hi;        /* the model's window, s */
    int residuals;        /* per-connection residuals written: 0 none (an older report) */
    double rp99, rmax;    /* residual, s */
    int unexplained, unpredicted, queued, cpu_waited;
    bool no_late; /* queued, cpu_waited and stalled absent (written before they were) */
    int stalled;
} side_spec;

static json_t *stats(double p50, double p99, double max)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "min", p50 < 0 ? p50 * 2 : p50 / 2, "p50", p50, "p90", p99,
                     "p99", p99, "max", max, "mean", p50);
}

static json_t *side_json(const side_spec *s)
{
    json_t *lat = json_array();
    for (int i = 0; i < s->detected; i++)
        json_array_append_new(lat, json_real(i + 1 < s->detected ? s->p50 : s->max));
    json_t *j = json_pack("{s:i, s:i, s:i, s:o, s:o, s:{}, s:{s:b, s:s, s:f, s:f, s:s, s:s}, s:i, s:s}", "detected",
                          s->detected, "undetected", s->undetected, "survived", 0, "latency_s",
                          s->detected ? stats(s->p50, s->p99, s->max) : json_null(), "latencies", lat, "reasons",
                          "model", "applicable", 1, "expect", "all", "lo_s", s->lo, "hi_s", s->hi, "detector",
                          "keepalive_timeout", "why", "test", "outside", 0, "verdict", "inside");
    cr_assert_not_null(j);
    if (!s->residuals)
        return j;
    json_t *res = json_array();
    for (int i = 0; i < s->residuals; i++)
        json_array_append_new(res, json_real(i + 1 < s->residuals ? s->rp99 : s->rmax));
    json_object_set_new(j, "residual_s", stats(s->rp99, s->rp99, s->rmax));
    json_object_set_new(j, "residuals", res);
    json_object_set_new(j, "slack_max_s", json_real(0.001));
    json_object_set_new(j, "unexplained", json_integer(s->unexplained));
    json_object_set_new(j, "unpredicted", json_integer(s->unpredicted));
    if (!s->no_late) {
        json_object_set_new(j, "queued", json_integer(s->queued));
        json_object_set_new(j, "cpu_waited", json_integer(s->cpu_waited));
        json_object_set_new(j, "stalled", json_integer(s->stalled));
    }
    return j;
}

/* A single-run report of one cable pull; the will has no model and saw nothing. */
static json_t *report(const side_spec *broker, const side_spec *client, int false_disc, double bytes)
{
    const side_spec none = { 0 };
    json_t *will = side_json(&none);
    json_object_set_new(will, "model", json_null());
    json_t *r = json_pack("{s:i, s:{s:b, s:n}, s:{s:s}, s:[{s:i, s:s, s:s, s:I, s:n, s:i, s:o, s:o, s:o}],"
                          " s:{s:i, s:[]}, s:{s:f}, s:[], s:b}",
                          "report_version", 1, "run", "complete", 1, "broken", "scenario", "name", "t", "faults",
                          "index", 0, "kind", "cable-pull", "target", "devices[0]", "inject_ns", (json_int_t)1000,
                          "heal_ns", "affected", broker->detected + broker->undetected, "broker", side_json(broker),
                          "client", side_json(client), "will", will, "false_disconnects", "count", false_disc,
                          "connections", "overhead", "bytes_per_conn_hour", bytes, "expectations", "passed", 1);
    cr_assert_not_null(r);
    return r;
}

static const side_spec base_broker = { 10, 0, 2.0, 3.0, 3.0, 1.0, 3.001, 10, 0.0004, 0.0009, 0, 0, 0, 0, false, 0 };
static const side_spec cand_broker = { 10, 0, 2.2, 3.6, 3.6, 1.0, 3.001, 9, 0.012, 0.040, 2, 1, 3, 0, false, 0 };
static const side_spec any_client = { 10, 0, 1.5, 2.5, 2.5, 1.0, 2.5, 10, 0.001, 0.002, 0, 0, 0, 0, false, 0 };

static void add(fl_cmp_set *s, const char *name, json_t *doc)
{
    char err[512];
    cr_assert_eq(fl_cmp_add_json(s, name, doc, false, err, sizeof err), 0, "%s", err);
    json_decref(doc);
}

static char *print(const fl_cmp_set *s, fl_cmp_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_eq(fl_cmp_print(s, fmt, out, false), 0);
    fclose(out);
    return buf;
}

static json_t *row_of(json_t *rows, const char *side, const char *cell)
{
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(r, "side")), side) == 0 &&
            strcmp(json_string_value(json_object_get(r, "cell")), cell) == 0)
            return r;
    }
    cr_assert_fail("no row %s/%s", side, cell);
    return NULL;
}

static bool best_has(json_t *row, const char *col)
{
    json_t *best = json_object_get(row, "best");
    for (size_t i = 0; i < json_array_size(best); i++)
        if (strcmp(json_string_value(json_array_get(best, i)), col) == 0)
            return true;
    return false;
}

static void two_reports(fl_cmp_set *s)
{
    fl_cmp_init(s);
    add(s, "base", report(&base_broker, &any_client, 0, 12120));
    add(s, "candidate", report(&cand_broker, &any_client, 1, 12600));
}

Test(compare_residual, json_rows)
{
    fl_cmp_set s;
    two_reports(&s);
    json_t *j = fl_cmp_to_json(&s), *rows = json_object_get(j, "rows");
    json_t *b = row_of(rows, "broker", "base"), *c = row_of(rows, "broker", "candidate");
    cr_expect_float_eq(json_number_value(json_object_get(c, "residual_p99_s")), 0.012, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "residual_max_s")), 0.040, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "slack_max_s")), 0.001, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "unexplained")), 2, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "unpredicted")), 1, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "queued")), 3, 1e-12);
    cr_expect_float_eq(json_number_value(json_object_get(c, "cpu_waited")), 0, 1e-12);
    /* the residual nearer 0 and fewer unexplained: base; unpredicted and queued are no merit */
    cr_expect(best_has(b, "residual_p99") && best_has(b, "residual_max") && best_has(b, "unexplained"));
    cr_expect(!best_has(c, "residual_p99") && !best_has(b, "unpredicted") && !best_has(b, "queued"));
    /* the client's residuals tie: nobody is marked */
    cr_expect(!best_has(row_of(rows, "client", "base"), "residual_p99"));
    json_decref(j);
    fl_cmp_free(&s);
}

Test(compare_residual, csv_columns)
{
    fl_cmp_set s;
    two_reports(&s);
    char *out = print(&s, FL_CMP_CSV);
    cr_expect(strstr(out, "fault,kind,target,side,cell,detected,undetected,p50_s,p99_s,max_s,false_disconnects,"
                          "bytes_per_conn_hour,window_lo_s,window_hi_s,residual_p99_s,residual_max_s,slack_max_s,"
                          "unexplained,unpredicted,queued,cpu_waited,stalled,best\n") == out,
              "%s", out);
    cr_expect(strstr(out, "\n0,cable-pull,devices[0],broker,candidate,10,0,2.2,3.6,3.6,1,12600,1,3.001,"
                          "0.012,0.04,0.001,2,1,3,0,0,\n"),
              "%s", out);
    cr_expect(strstr(out, "\n0,cable-pull,devices[0],broker,base,10,0,2,3,3,0,12120,1,3.001,0.0004,0.0009,0.001,"
                          "0,0,0,0,0,p50;p99;max;false_disc;overhead;residual_p99;residual_max;unexplained\n"),
              "%s", out);
    free(out);
    fl_cmp_free(&s);
}

/* Every cell worked out by hand: the residual in ms, "unexplained N of the
 * residuals", the columns of all-zero counts (cpu-waited) left out. */
Test(compare_residual, terminal_table)
{
    fl_cmp_set s;
    two_reports(&s);
    char *out = print(&s, FL_CMP_TEXT);
    cr_expect(strstr(out, "faults[0] cable-pull devices[0]: broker residual (ms, measured - predicted)\n"
                          "cell       p99    max    unexplained  unpred.  queued\n"
                          "base       0.4 *  0.9 *  0 of 10 *    0        0\n"
                          "candidate  12.0   40.0   2 of 9       1        3\n"),
              "%s", out);
    cr_expect(strstr(out, "faults[0] cable-pull devices[0]: client residual (ms, measured - predicted)\n"
                          "cell       p99  max  unexplained\n"
                          "base       1.0  2.0  0 of 10\n"),
              "%s", out);
    cr_expect(strstr(out, "run: false disconnects, heartbeat bytes per connection-hour\n"
                          "cell       false disc.  bytes/conn-h\n"
                          "base       0 *          12120 *\n"
                          "candidate  1            12600\n"),
              "%s", out);
    cr_expect(!strstr(out, "cpu-waited"), "%s", out);
    free(out);
    fl_cmp_free(&s);
}

Test(compare_residual, markdown_has_one_wide_table_per_side)
{
    fl_cmp_set s;
    two_reports(&s);
    char *out = print(&s, FL_CMP_MARKDOWN);
    cr_expect(strstr(out, "| cell | detected | undetected | p50 s | p99 s | max s | model window s | residual p99 ms "
                          "| residual max ms | slack ms | unexplained | unpredicted | queued | false disc. "
                          "| bytes/conn-h |\n"),
              "%s", out);
    cr_expect(strstr(out, "| candidate | 10 | 0 | 2.200 | 3.600 | 3.600 | 1.00 .. 3.00 | 12.0 | 40.0 | 1.0 | 2 of 9 "
                          "| 1 | 3 | 1 | 12600 |\n"),
              "%s", out);
    cr_expect(strstr(out, "| **0.4** | **0.9** | 1.0 | **0 of 10** |"), "%s", out);
    free(out);
    fl_cmp_free(&s);
}

/* A report from before per-connection residuals (and one from before queued
 * and cpu_waited) still compares: "-", null, an empty CSV field. */
Test(compare_residual, older_reports_show_a_dash)
{
    side_spec old = base_broker, older_client = any_client, mid = cand_broker;
    old.residuals = 0;
    older_client.residuals = 0;
    mid.no_late = true;
    fl_cmp_set s;
    fl_cmp_init(&s);
    add(&s, "old", report(&old, &older_client, 0, 12120));
    add(&s, "mid", report(&mid, &any_client, 0, 12120));
    add(&s, "new", report(&cand_broker, &any_client, 0, 12120));
    char *out = print(&s, FL_CMP_TEXT);
    cr_expect(strstr(out, "cell  p99   max   unexplained  unpred.  queued\n"
                          "old   -     -     -            -        -\n"
                          "mid   12.0  40.0  2 of 9       1        -\n"
                          "new   12.0  40.0  2 of 9       1        3\n"),
              "%s", out);
    free(out);
    json_t *j = fl_cmp_to_json(&s), *rows = json_object_get(j, "rows");
    cr_expect(json_is_null(json_object_get(row_of(rows, "broker", "old"), "residual_p99_s")));
    cr_expect(json_is_null(json_object_get(row_of(rows, "broker", "old"), "unexplained")));
    cr_expect(json_is_null(json_object_get(row_of(rows, "broker", "mid"), "queued")));
    json_decref(j);
    out = print(&s, FL_CMP_CSV);
    cr_expect(strstr(out, "\n0,cable-pull,devices[0],broker,old,10,0,2,3,3,0,12120,1,3.001,,,,,,,,,p50;p99;max\n"),
              "%s", out);
    free(out);
    fl_cmp_free(&s);
}

/* Nearest 0 is the best residual, early (negative) or late alike. */
Test(compare_residual, best_residual_is_nearest_zero)
{
    double p99[] = { -0.003, 0.0015, 0.002 };
    const char *names[] = { "early", "near", "late" };
    fl_cmp_set s;
    fl_cmp_init(&s);
    for (int i = 0; i < 3; i++) {
        side_spec b = base_broker;
        b.rp99 = b.rmax = p99[i];
        add(&s, names[i], report(&b, &any_client, 0, 12120));
    }
    json_t *j = fl_cmp_to_json(&s), *rows = json_object_get(j, "rows");
    cr_expect(best_has(row_of(rows, "broker", "near"), "residual_p99"));
    cr_expect(!best_has(row_of(rows, "broker", "early"), "residual_p99"));
    cr_expect(!best_has(row_of(rows, "broker", "late"), "residual_p99"));
    json_decref(j);
    fl_cmp_free(&s);
}

/* A sweep like scenarios/matrix-keepalive-grace.json (cell labels of 21
 * characters, bytes/conn-h in six figures), with every optional count shown
 * somewhere: each line of the terminal output fits in 80 columns. */
Test(compare_residual, sweep_tables_read_at_80_columns)
{
    json_t *cells = json_array();
    for (int k = 0; k < 6; k++) {
        int ka = 1 + k / 2;
        double grace = k % 2 ? 2.0 : 1.5, at = ka * grace - 0.2;
        side_spec b = { 20, 0, at, at + 0.001, at + 0.001, ka * (grace - 1), ka * grace, 20, 0.0006, 0.0123,
                        k == 1 ? 12 : 0, k == 2, k == 3 ? 19 : 0, k == 4 ? 128 : 0, false, 0 };
        side_spec c = b;
        c.rp99 = -0.0004;
        json_array_append_new(cells, json_pack("{s:{s:i, s:f}, s:o}", "params", "groups[0].keepalive", ka,
                                               "broker.options.grace", grace, "report",
                                               report(&b, &c, k == 5, 716661.0 / ka)));
    }
    fl_cmp_set s;
    fl_cmp_init(&s);
    add(&s, "sweep", json_pack("{s:i, s:o}", "report_version", 1, "cells", cells));
    cr_assert_eq(s.n, 6);
    cr_assert_str_eq(s.rows[1].label, "keepalive=1 grace=2.0");
    char *out = print(&s, FL_CMP_TEXT), *save = NULL;
    size_t widest = 0, lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
        cr_expect_leq(strlen(line), 80, "%zu columns: '%s'", strlen(line), line);
        widest = strlen(line) > widest ? strlen(line) : widest;
    }
    /* the tables are all there: 2 sides x (detection, residual) + the run's, a title, a header and 6 rows each */
    cr_expect_geq(lines, 5 * 8, "%zu lines", lines);
    cr_expect_geq(widest, 70, "the residual table shows unpred., queued and cpu-waited");
    free(out);
    fl_cmp_free(&s);
}

static int gate(const char *expr, json_t *candidate, json_t *baseline, char **log)
{
    fl_cmp_set s, b;
    fl_cmp_init(&s);
    fl_cmp_init(&b);
    add(&s, "candidate", candidate);
    if (baseline)
        add(&b, "base", baseline);
    fl_cmp_threshold t;
    char err[256];
    cr_assert_eq(fl_cmp_threshold_parse(expr, &t, err, sizeof err), 0, "%s", err);
    size_t len;
    FILE *out = open_memstream(log, &len);
    int rc = fl_cmp_check(&s, baseline ? &b : NULL, &t, 1, out, err, sizeof err);
    fclose(out);
    fl_cmp_free(&s);
    fl_cmp_free(&b);
    return rc;
}

/* Gates on the per-connection numbers, absolute and against a baseline; a
 * baseline from before them is noted, not held against the candidate. */
Test(compare_residual, gates_on_unexplained_and_residual)
{
    side_spec old = base_broker;
    old.residuals = 0;
    char *log;
    cr_expect_eq(gate("broker.unexplained>0", report(&cand_broker, &any_client, 0, 1), NULL, &log), 1, "%s", log);
    cr_expect(strstr(log, "CROSSED broker.unexplained>0: candidate: faults[0].broker.unexplained = 2"), "%s", log);
    free(log);
    cr_expect_eq(gate("broker.unexplained>0", report(&base_broker, &any_client, 0, 1), NULL, &log), 0, "%s", log);
    free(log);
    cr_expect_eq(gate("broker.unexplained>+0", report(&cand_broker, &any_client, 0, 1),
                      report(&base_broker, &any_client, 0, 1), &log),
                 1, "%s", log);
    free(log);
    /* 40 ms against 0.9 ms + 5 */
    cr_expect_eq(gate("broker.residual.max_ms>+5", report(&cand_broker, &any_client, 0, 1),
                      report(&base_broker, &any_client, 0, 1), &log),
                 1, "%s", log);
    cr_expect(strstr(log, "faults[0].broker.residual.max_ms = 40, baseline 0.9, limit 5.9"), "%s", log);
    free(log);
    cr_expect_eq(gate("broker.unexplained>+0", report(&cand_broker, &any_client, 0, 1),
                      report(&old, &any_client, 0, 1), &log),
                 0, "%s", log);
    cr_expect(strstr(log, "the baseline has no value; not checked"), "%s", log);
    free(log);
}
