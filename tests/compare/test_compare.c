/* harness/compare: hand-written reports (tests/compare/fixtures) and the
 * values, best marks and threshold verdicts computed from them by hand:
 *   base:      broker p50 2.0 p99 3.0 max 3.0, client 10 detected p99 2.5,
 *              0 false disconnects, 12120 bytes / 180 packets per conn-hour
 *   candidate: broker p50 2.2 p99 3.6 max 3.6, client 9 detected 1 undetected
 *              p99 2.0, 1 false disconnect, 12600 bytes / 186 packets */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "reports/compare.h"

#define FIXTURE(name) FLATLINE_SOURCE_DIR "/tests/compare/fixtures/" name

static void load(fl_cmp_set *s, const char *path, bool prefix)
{
    char err[512];
    cr_assert_eq(fl_cmp_add_file(s, path, prefix, err, sizeof err), 0, "%s", err);
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

Test(compare, values_and_best_marks)
{
    fl_cmp_set s;
    fl_cmp_init(&s);
    load(&s, FIXTURE("base.json"), false);
    load(&s, FIXTURE("candidate.json"), false);
    json_t *j = fl_cmp_to_json(&s);
    json_t *rows = json_object_get(j, "rows");
    /* broker and client of one fault, two reports; the will has neither model nor detections */
    cr_assert_eq(json_array_size(rows), 4);
    json_t *b = row_of(rows, "broker", "base"), *c = row_of(rows, "broker", "candidate");
    cr_expect_float_eq(json_number_value(json_object_get(b, "p50_s")), 2.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(c, "p99_s")), 3.6, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(b, "window_hi_s")), 3.001, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(c, "bytes_per_conn_hour")), 12600, 1e-9);
    /* lower latency, fewer false disconnects, less overhead: base; equal detected: nobody */
    cr_expect(best_has(b, "p50") && best_has(b, "p99") && best_has(b, "max"));
    cr_expect(best_has(b, "false_disc") && best_has(b, "overhead"));
    cr_expect(!best_has(b, "detected") && !best_has(c, "detected"));
    cr_expect_eq(json_array_size(json_object_get(c, "best")), 0);
    /* client: base detected more, candidate has the lower p99 and max; p50 ties */
    json_t *cb = row_of(rows, "client", "base"), *cc = row_of(rows, "client", "candidate");
    cr_expect(best_has(cb, "detected") && best_has(cb, "undetected"));
    cr_expect(best_has(cc, "p99") && best_has(cc, "max"));
    cr_expect(!best_has(cb, "p50") && !best_has(cc, "p50"));
    json_decref(j);
    fl_cmp_free(&s);
}

Test(compare, csv_rows_by_hand)
{
    fl_cmp_set s;
    fl_cmp_init(&s);
    load(&s, FIXTURE("base.json"), false);
    load(&s, FIXTURE("candidate.json"), false);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_eq(fl_cmp_print(&s, FL_CMP_CSV, out, false), 0);
    fclose(out);
    /* reports from before per-connection residuals: their columns are empty */
    const char *expected =
        "fault,kind,target,side,cell,detected,undetected,p50_s,p99_s,max_s,false_disconnects,bytes_per_conn_hour,"
        "window_lo_s,window_hi_s,residual_p99_s,residual_max_s,slack_max_s,unexplained,unpredicted,queued,cpu_waited,"
        "stalled,best\n"
        "0,cable-pull,devices[0],broker,base,10,0,2,3,3,0,12120,1,3.001,,,,,,,,,p50;p99;max;false_disc;overhead\n"
        "0,cable-pull,devices[0],broker,candidate,10,0,2.2,3.6,3.6,1,12600,1,3.001,,,,,,,,,\n"
        "0,cable-pull,devices[0],client,base,10,0,1.5,2.5,2.5,0,12120,1,2.5,,,,,,,,,"
        "detected;undetected;false_disc;overhead\n"
        "0,cable-pull,devices[0],client,candidate,9,1,1.5,2,2,1,12600,1,2.5,,,,,,,,,p99;max\n";
    cr_expect_str_eq(buf, expected);
    free(buf);
    fl_cmp_free(&s);
}

Test(compare, terminal_and_markdown_tables)
{
    fl_cmp_set s;
    fl_cmp_init(&s);
    load(&s, FIXTURE("base.json"), false);
    load(&s, FIXTURE("candidate.json"), false);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_eq(fl_cmp_print(&s, FL_CMP_TEXT, out, false), 0);
    fclose(out);
    /* the side's own columns, its residuals ("-": reports from before them), the run's apart */
    cr_expect(strstr(buf, "faults[0] cable-pull devices[0]: broker detection (s after the fault)\n"
                          "cell       detected  missed  p50      p99      max      model window\n"
                          "base       10        0       2.000 *  3.000 *  3.000 *  1.00 .. 3.00\n"
                          "candidate  10        0       2.200    3.600    3.600    1.00 .. 3.00\n"),
              "%s", buf);
    cr_expect(strstr(buf, "faults[0] cable-pull devices[0]: broker residual (ms, measured - predicted)\n"
                          "cell       p99  max  unexplained\n"
                          "base       -    -    -\n"),
              "%s", buf);
    cr_expect(strstr(buf, "run: false disconnects, heartbeat bytes per connection-hour\n"
                          "cell       false disc.  bytes/conn-h\n"
                          "base       0 *          12120 *\n"),
              "%s", buf);
    cr_expect(!strstr(buf, "will detection"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    cr_assert_eq(fl_cmp_print(&s, FL_CMP_MARKDOWN, out, false), 0);
    fclose(out);
    cr_expect(strstr(buf, "| cell | detected | undetected | p50 s | p99 s | max s | model window s | residual p99 ms | "
                          "residual max ms | slack ms | unexplained | false disc. | bytes/conn-h |\n"
                          "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
                          "| base | 10 | 0 | **2.000** | **3.000** | **3.000** | 1.00 .. 3.00 | - | - | - | - | **0** | "
                          "**12120** |\n"),
              "%s", buf);
    free(buf);
    fl_cmp_free(&s);
}

Test(compare, sweep_cells_are_rows)
{
    fl_cmp_set s;
    fl_cmp_init(&s);
    load(&s, FIXTURE("sweep.json"), false);
    cr_assert_eq(s.n, 2);
    cr_expect_str_eq(s.rows[0].label, "keepalive=2");
    cr_expect_str_eq(s.rows[1].label, "keepalive=4");
    load(&s, FIXTURE("base.json"), true);
    fl_cmp_free(&s);
    fl_cmp_init(&s);
    load(&s, FIXTURE("sweep.json"), true);
    cr_expect_str_eq(s.rows[0].label, "sweep: keepalive=2");
    fl_cmp_free(&s);
}

Test(compare, not_a_report)
{
    fl_cmp_set s;
    fl_cmp_init(&s);
    char err[512];
    json_t *doc = json_pack("{s:i}", "flatline", 1);
    cr_expect_eq(fl_cmp_add_json(&s, "scenario", doc, false, err, sizeof err), -1);
    cr_expect(strstr(err, "not a flatline report"), "%s", err);
    json_decref(doc);
    doc = json_pack("{s:i, s:[{s:{}}]}", "report_version", 1, "cells", "params");
    cr_expect_eq(fl_cmp_add_json(&s, "x", doc, false, err, sizeof err), -1);
    cr_expect(strstr(err, "cells[0].report"), "%s", err);
    json_decref(doc);
    fl_cmp_free(&s);
}

Test(compare, metrics)
{
    json_error_t jerr;
    json_t *r = json_load_file(FIXTURE("candidate.json"), 0, &jerr);
    cr_assert_not_null(r);
    double v;
    bool has;
    char err[256];
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.p99", &v, &has, err, sizeof err), 0);
    cr_expect(has);
    cr_expect_float_eq(v, 3.6, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.p99_ms", &v, &has, err, sizeof err), 0);
    cr_expect_float_eq(v, 3600, 1e-6);
    cr_expect_eq(fl_cmp_metric(r, "undetected", &v, &has, err, sizeof err), 0);
    cr_expect_float_eq(v, 1, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "overhead.packets", &v, &has, err, sizeof err), 0);
    cr_expect_float_eq(v, 186, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].will.p50", &v, &has, err, sizeof err), 0);
    cr_expect(!has, "no samples: no value");
    cr_expect_eq(fl_cmp_metric(r, "faults[1].broker.p50", &v, &has, err, sizeof err), -1);
    cr_expect(strstr(err, "no fault 1"), "%s", err);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.p42", &v, &has, err, sizeof err), -1);
    cr_expect(strstr(err, "faults[0].broker.p42"), "%s", err);
    json_decref(r);
}

/* The per-connection residuals, as the report writes them. */
Test(compare, residual_metrics)
{
    json_t *r = json_pack("{s:[{s:{s:i, s:i, s:i, s:{s:f, s:f}}}]}", "faults", "broker", "detected", 3, "unexplained",
                          1, "survived", 2, "residual_s", "p99", 0.004, "max", 0.1);
    cr_assert_not_null(r);
    double v;
    bool has;
    char err[256];
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.residual.p99_ms", &v, &has, err, sizeof err), 0, "%s", err);
    cr_expect(has);
    cr_expect_float_eq(v, 4, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.unexplained", &v, &has, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(v, 1, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.survived", &v, &has, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(v, 2, 1e-9);
    cr_expect_eq(fl_cmp_metric(r, "faults[0].broker.residual.p42", &v, &has, err, sizeof err), -1);
    json_decref(r);
}

Test(threshold, parse)
{
    fl_cmp_threshold t;
    char err[256];
    cr_assert_eq(fl_cmp_threshold_parse("broker.p99>+10%", &t, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(t.metric, "broker.p99");
    cr_expect_str_eq(t.op, ">");
    cr_expect_eq(t.kind, FL_CMP_PERCENT);
    cr_expect_float_eq(t.value, 10, 1e-12);
    cr_assert_eq(fl_cmp_threshold_parse("client.undetected > 0", &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.kind, FL_CMP_ABSOLUTE);
    cr_assert_eq(fl_cmp_threshold_parse("faults[1].broker.max>=-0.5", &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.kind, FL_CMP_DELTA);
    cr_expect_str_eq(t.op, ">=");
    cr_expect_float_eq(t.value, -0.5, 1e-12);

    static const char *const bad[][2] = {
        { "broker.p99", "expected an operator" },
        { "broker.p99=>1", "expected an operator" },
        { "broker.p99>", "expected a number" },
        { "broker.p99>10%", "with a sign" },
        { "broker.p99>1s", "unexpected 's'" },
        { "broker.p999>1", "unknown metric" },
        { "latency>1", "unknown metric 'latency'" },
        { "overhead.watts>+1%", "unknown metric" },
        { ">1", "expected METRIC OP VALUE" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_expect_eq(fl_cmp_threshold_parse(bad[i][0], &t, err, sizeof err), -1, "%s accepted", bad[i][0]);
        cr_expect(strstr(err, bad[i][0]) && strstr(err, bad[i][1]), "'%s': %s", bad[i][0], err);
    }
}

static int check(const char *expr, bool with_baseline)
{
    fl_cmp_set s, b;
    fl_cmp_init(&s);
    fl_cmp_init(&b);
    load(&s, FIXTURE("candidate.json"), false);
    load(&b, FIXTURE("base.json"), false);
    fl_cmp_threshold t;
    char err[256];
    cr_assert_eq(fl_cmp_threshold_parse(expr, &t, err, sizeof err), 0, "%s", err);
    FILE *out = fopen("/dev/null", "w");
    int rc = fl_cmp_check(&s, with_baseline ? &b : NULL, &t, 1, out, err, sizeof err);
    fclose(out);
    fl_cmp_free(&s);
    fl_cmp_free(&b);
    return rc;
}

Test(threshold, against_the_baseline)
{
    cr_expect_eq(check("broker.p99>+10%", true), 1);     /* 3.6 > 3.0 x 1.10 */
    cr_expect_eq(check("broker.p99>+25%", true), 0);     /* 3.6 <= 3.75 */
    cr_expect_eq(check("overhead.bytes>+5%", true), 0);  /* 12600 <= 12726 */
    cr_expect_eq(check("overhead.bytes>+3%", true), 1);  /* 12600 > 12483.6 */
    cr_expect_eq(check("broker.max>+0.5", true), 1);     /* 3.6 > 3.5 */
    cr_expect_eq(check("broker.max>+0.7", true), 0);     /* 3.6 <= 3.7 */
    cr_expect_eq(check("client.undetected>0", false), 1);
    cr_expect_eq(check("broker.undetected>0", false), 0);
    cr_expect_eq(check("false_disconnects>0", false), 1);
    cr_expect_eq(check("client.p99<-10%", true), 1);     /* 2.0 < 2.25: faster counts too when asked */
    cr_expect_eq(check("broker.p99>+10%", false), -1);   /* relative needs a baseline */
}

Test(threshold, sweep_cells_match_by_params)
{
    fl_cmp_set s, b;
    fl_cmp_init(&s);
    fl_cmp_init(&b);
    load(&s, FIXTURE("sweep-later.json"), false);
    load(&b, FIXTURE("sweep.json"), false);
    fl_cmp_threshold t;
    char err[256];
    /* keepalive=2: p99 3.0 -> 3.5 (+16.7 %); keepalive=4 unchanged */
    cr_assert_eq(fl_cmp_threshold_parse("broker.p99>+10%", &t, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_expect_eq(fl_cmp_check(&s, &b, &t, 1, out, err, sizeof err), 1);
    fclose(out);
    cr_expect(strstr(buf, "keepalive=2: faults[0].broker.p99 = 3.5, baseline 3"), "%s", buf);
    free(buf);
    fl_cmp_free(&s);
    fl_cmp_free(&b);
}
