/* flatline plot's data and page without a browser: what a report becomes,
 * errors that name the field, escaping for <script>, the page's assets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot_fixture.h"
#include "reports/plot.h"

static const json_t *config(const fl_plot *p, size_t i)
{
    return json_array_get(json_object_get(fl_plot_data(p), "configs"), i);
}

static const json_t *side(const fl_plot *p, size_t i, const char *name)
{
    return json_object_get(json_object_get(config(p, i), "sides"), name);
}

static json_t *fault0(json_t *report) { return json_array_get(json_object_get(report, "faults"), 0); }

Test(plot_data, one_configuration_per_fault_with_every_latency)
{
    const double first[] = { 1.0, 2.0 };
    json_t *one = plot_report_json("one", first, 1, 4, 0.25, 2);
    json_t *two = plot_report_json("two", first, 2, 3, 0.5, 3);
    fl_plot *p = fl_plot_new("t");
    char err[512];
    cr_assert_eq(fl_plot_add_report(p, one, "one", "one.json", err, sizeof err), 1, "%s", err);
    cr_assert_eq(fl_plot_add_report(p, two, "two", "two.json", err, sizeof err), 2, "%s", err);
    cr_assert_eq(fl_plot_count(p), 3);

    cr_assert_str_eq(json_string_value(json_object_get(config(p, 0), "label")), "one");
    cr_assert_str_eq(json_string_value(json_object_get(config(p, 1), "label")), "two #0 cable-pull");
    cr_assert_str_eq(json_string_value(json_object_get(config(p, 2), "label")), "two #1 cable-pull");
    cr_assert_str_eq(json_string_value(json_object_get(config(p, 2), "source")), "two.json");

    const json_t *lat = json_object_get(side(p, 0, "broker"), "latencies");
    cr_assert_eq(json_array_size(lat), 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_float_eq(json_real_value(json_array_get(lat, i)), 1.0 + 0.25 * (double)i, 1e-9);
    cr_assert_eq(json_array_size(json_object_get(side(p, 0, "client"), "latencies")), 3);
    cr_assert_eq(json_integer_value(json_object_get(side(p, 0, "client"), "undetected")), 1);
    cr_assert_eq(json_integer_value(json_object_get(config(p, 0), "affected")), 4);

    /* Times count from the report's first inject; heal 8 s later. */
    cr_assert_float_eq(json_real_value(json_object_get(config(p, 1), "inject_s")), 0.0, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(config(p, 2), "inject_s")), 10.0, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(config(p, 2), "heal_s")), 18.0, 1e-9);

    /* KA 2 s: the broker's window is the model's, with the report's tolerance. */
    const json_t *w = json_object_get(side(p, 0, "broker"), "window");
    cr_assert_str_eq(json_string_value(json_object_get(w, "detector")), "keepalive_timeout");
    cr_assert_float_eq(json_real_value(json_object_get(w, "lo_s")), 1.0, 1e-9);
    cr_assert(json_is_true(json_object_get(w, "applicable")));
    cr_assert_str_eq(json_string_value(json_object_get(side(p, 0, "broker"), "verdict")), "inside");
    cr_assert_float_eq(json_real_value(json_object_get(json_object_get(config(p, 0), "tolerance"), "abs_s")), 0.25,
                       1e-9);
    /* No will configured: the model says the side cannot see anything. */
    cr_assert(json_is_false(json_object_get(json_object_get(side(p, 0, "will"), "window"), "applicable")));

    fl_plot_free(p);
    json_decref(one);
    json_decref(two);
}

Test(plot_data, a_sweep_gives_a_configuration_per_cell)
{
    const double first[] = { 1.0 };
    json_t *a = plot_report_json("sweep", first, 1, 2, 0.1, 2);
    json_t *b = plot_report_json("sweep", first, 1, 2, 0.1, 4);
    json_t *sweep = json_pack("{s:[{s:{s:i}, s:o}, {s:{s:i}, s:o}]}", "cells", "params", "groups[0].keepalive", 2,
                              "report", a, "params", "groups[0].keepalive", 4, "report", b);
    fl_plot *p = fl_plot_new(NULL);
    char err[512];
    cr_assert_eq(fl_plot_add_report(p, sweep, "sweep", "sweep.json", err, sizeof err), 2, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(config(p, 0), "label")), "sweep: keepalive=2");
    /* each cell's residuals, as a single report's */
    cr_assert_eq(json_array_size(json_object_get(side(p, 1, "broker"), "residuals")), 2);
    cr_assert_float_eq(json_real_value(json_array_get(json_object_get(side(p, 1, "broker"), "residuals"), 1)),
                       PLOT_RESIDUAL(1.0, 0.1, 1), 1e-12);
    cr_assert_str_eq(json_string_value(json_object_get(config(p, 1), "label")), "sweep: keepalive=4");

    /* A broken cell is named by its place, and nothing of the sweep stays. */
    json_t *f0 = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(sweep, "cells"), 1), "report"), "faults"), 0);
    json_object_del(json_object_get(f0, "client"), "undetected");
    cr_assert_eq(fl_plot_add_report(p, sweep, "sweep", "sweep.json", err, sizeof err), -1);
    cr_assert_str_eq(err, "cells[1].report.faults[0].client.undetected: missing");
    cr_assert_eq(fl_plot_count(p), 2);
    fl_plot_free(p);
    json_decref(sweep);
}

/* Each detection's residual (measured - predicted) reaches the page with the
 * counts that judge it. One fault, 4 connections, step 0.25 s: the broker's
 * residuals are -0.8 + 2.5 i ms, the client's 1.5 ms later for 3 of them;
 * beyond [-1 ms, the 1 ms slack]: 3 and 2 unexplained. */
Test(plot_data, residuals_per_connection)
{
    const double first[] = { 1.0 };
    json_t *r = plot_report_json("r", first, 1, 4, 0.25, 2);
    fl_plot *p = fl_plot_new(NULL);
    char err[512];
    cr_assert_eq(fl_plot_add_report(p, r, "r", "r.json", err, sizeof err), 1, "%s", err);
    const json_t *b = side(p, 0, "broker"), *c = side(p, 0, "client");
    const json_t *res = json_object_get(b, "residuals");
    cr_assert_eq(json_array_size(res), 4);
    for (size_t i = 0; i < 4; i++)
        cr_expect_float_eq(json_real_value(json_array_get(res, i)), PLOT_RESIDUAL(1.0, 0.25, i), 1e-12);
    cr_expect_eq(json_array_size(json_object_get(c, "residuals")), 3);
    cr_expect_eq(json_integer_value(json_object_get(b, "unexplained")), 3);
    cr_expect_eq(json_integer_value(json_object_get(c, "unexplained")), 2);
    cr_expect_float_eq(json_real_value(json_object_get(b, "slack_max_s")), PLOT_SLACK_S, 1e-12);
    cr_expect_float_eq(json_real_value(json_object_get(json_object_get(b, "residual_s"), "max")), 0.0067, 1e-12);
    cr_expect_eq(json_integer_value(json_object_get(b, "queued")), 0);
    cr_expect(json_is_integer(json_object_get(b, "cpu_waited")));
    fl_plot_free(p);
    json_decref(r);
}

/* A report from before per-connection residuals still plots, without them. */
Test(plot_data, a_report_without_residuals_plots)
{
    const double first[] = { 1.0 };
    json_t *r = plot_report_json("old", first, 1, 3, 0.1, 2);
    static const char *const fields[] = { "residual_s", "residuals", "slack_max_s", "unexplained", "unpredicted",
                                          "queued", "cpu_waited" };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        json_object_del(json_object_get(fault0(r), "broker"), fields[k]);
    fl_plot *p = fl_plot_new(NULL);
    char err[512];
    cr_assert_eq(fl_plot_add_report(p, r, "old", "old.json", err, sizeof err), 1, "%s", err);
    cr_expect_null(json_object_get(side(p, 0, "broker"), "residuals"));
    cr_expect_null(json_object_get(side(p, 0, "broker"), "unexplained"));
    cr_expect_eq(json_array_size(json_object_get(side(p, 0, "client"), "residuals")), 2);
    fl_plot_free(p);
    json_decref(r);
}

/* Each broken report gives -1 with exactly this message. */
static void expect_error(json_t *report, const char *message)
{
    fl_plot *p = fl_plot_new(NULL);
    char err[512] = "";
    cr_assert_eq(fl_plot_add_report(p, report, "r", "r.json", err, sizeof err), -1, "accepted; wanted: %s", message);
    cr_assert_str_eq(err, message);
    cr_assert_eq(fl_plot_count(p), 0);
    fl_plot_free(p);
    json_decref(report);
}

Test(plot_data, errors_name_the_field)
{
    const double first[] = { 1.0, 2.0 };
    json_t *r;

    r = plot_report_json("x", first, 2, 3, 0.1, 2);
    json_object_del(json_object_get(json_array_get(json_object_get(r, "faults"), 1), "broker"), "latencies");
    expect_error(r, "faults[1].broker.latencies: missing: the report has only summary statistics (written before "
                    "flatline plot); run it again");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_array_set_new(json_object_get(json_object_get(fault0(r), "client"), "latencies"), 1, json_string("1.5"));
    expect_error(r, "faults[0].client.latencies[1]: not a latency (seconds >= 0)");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_array_set_new(json_object_get(json_object_get(fault0(r), "client"), "latencies"), 0, json_real(-1));
    expect_error(r, "faults[0].client.latencies[0]: not a latency (seconds >= 0)");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_array_set_new(json_object_get(json_object_get(fault0(r), "broker"), "residuals"), 1, json_string("late"));
    expect_error(r, "faults[0].broker.residuals[1]: not a residual (seconds)");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_object_set_new(json_object_get(fault0(r), "client"), "residuals", json_integer(3));
    expect_error(r, "faults[0].client.residuals: not an array");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_object_set_new(r, "report_version", json_integer(2));
    expect_error(r, "report_version: not 1 (this flatline reads version 1)");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_object_set_new(fault0(r), "inject_ns", json_string("soon"));
    expect_error(r, "faults[0].inject_ns: not monotonic nanoseconds");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_object_set_new(json_object_get(json_object_get(fault0(r), "will"), "model"), "lo_s", json_true());
    expect_error(r, "faults[0].will.model.lo_s: not seconds or null");

    r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_object_del(fault0(r), "will");
    expect_error(r, "faults[0].will: missing");

    expect_error(json_pack("{s:i}", "report_version", 1), "faults: missing");
    expect_error(json_array(), ": not a flatline report (a JSON object)");
    expect_error(json_pack("{s:i}", "cells", 3), "cells: not an array");
}

Test(plot_data, null_latencies_are_skipped)
{
    const double first[] = { 1.0 };
    json_t *r = plot_report_json("x", first, 1, 3, 0.1, 2);
    json_array_append_new(json_object_get(json_object_get(fault0(r), "broker"), "latencies"), json_null());
    fl_plot *p = fl_plot_new(NULL);
    char err[256];
    cr_assert_eq(fl_plot_add_report(p, r, "x", "x.json", err, sizeof err), 1, "%s", err);
    cr_assert_eq(json_array_size(json_object_get(side(p, 0, "broker"), "latencies")), 3);
    fl_plot_free(p);
    json_decref(r);
}

Test(plot_script, nothing_can_close_the_script_element)
{
    json_t *data = json_pack("{s:s, s:[s, s]}", "label", "</script><script>alert(1)</script>", "more", "<!-- a & b -->",
                             "</SCRIPT >");
    char *text = fl_plot_script_json(data);
    cr_assert_not_null(text);
    cr_assert_null(strchr(text, '<'), "%s", text);
    cr_assert_null(strchr(text, '>'), "%s", text);
    cr_assert_null(strchr(text, '&'), "%s", text);
    cr_assert_not_null(strstr(text, "\\u003c/script\\u003e"), "%s", text);
    /* and it is the same JSON */
    json_error_t je;
    json_t *back = json_loads(text, 0, &je);
    cr_assert_not_null(back, "%s", je.text);
    cr_assert(json_equal(back, data));
    json_decref(back);
    json_decref(data);
    free(text);
}

/* ---- the page from its assets ---- */

static char dir[64], out[96];

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_assets(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-plot-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/out.html", dir);
    write_file(FL_PLOT_TEMPLATE, "<title>@TITLE@</title><style>/*@UPLOT_CSS@*/</style>\n"
                                 "<script type=\"application/json\">@DATA@</script>\n"
                                 "<script>/*@UPLOT_JS@*/</script><script>/*@PLOT_JS@*/</script>\n");
    write_file(FL_PLOT_SCRIPT, "var page = 1;");
    write_file(FL_PLOT_LIB_JS, "var uPlot = function () { return '<b>'; };");
    write_file(FL_PLOT_LIB_CSS, ".u { color: red }");
}

static void remove_assets(void)
{
    const char *names[] = { FL_PLOT_TEMPLATE, FL_PLOT_SCRIPT, FL_PLOT_LIB_JS, FL_PLOT_LIB_CSS, "out.html" };
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static fl_plot *small_plot(const char *title)
{
    const double first[] = { 1.0 };
    json_t *r = plot_report_json("</script>", first, 1, 2, 0.1, 2);
    fl_plot *p = fl_plot_new(title);
    char err[256];
    cr_assert_eq(fl_plot_add_report(p, r, "</script>", "x.json", err, sizeof err), 1, "%s", err);
    json_decref(r);
    return p;
}

TestSuite(plot_page, .init = make_assets, .fini = remove_assets);

Test(plot_page, everything_is_inlined)
{
    fl_plot *p = small_plot("a <b> & c");
    char err[512];
    cr_assert_eq(fl_plot_write_html(p, dir, out, err, sizeof err), FL_PLOT_OK, "%s", err);
    const char *page = slurp(out);
    cr_assert_not_null(strstr(page, "<title>a &lt;b&gt; &amp; c</title>"), "%s", page);
    cr_assert_not_null(strstr(page, "<style>.u { color: red }</style>"), "%s", page);
    cr_assert_not_null(strstr(page, "<script>var uPlot = function () { return '<b>'; };</script>"), "%s", page);
    cr_assert_not_null(strstr(page, "<script>var page = 1;</script>"), "%s", page);
    cr_assert_not_null(strstr(page, "\"label\":\"\\u003c/script\\u003e\""), "%s", page);
    cr_assert_null(strstr(page, "@DATA@"));
    /* the only closing tags are the template's own three */
    int closes = 0;
    for (const char *c = page; (c = strstr(c, "</script>")) != NULL; c++)
        closes++;
    cr_assert_eq(closes, 3, "%s", page);
    fl_plot_free(p);
}

Test(plot_page, a_missing_library_says_how_to_get_it)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, FL_PLOT_LIB_JS);
    unlink(path);
    fl_plot *p = small_plot(NULL);
    cr_assert_eq(fl_plot_write_html(p, dir, out, err, sizeof err), FL_PLOT_ASSETS);
    cr_assert_not_null(strstr(err, path), "%s", err);
    cr_assert_not_null(strstr(err, "npm ci in reports/plot-assets"), "%s", err);
    cr_assert_neq(access(out, F_OK), 0, "no page is written");
    fl_plot_free(p);
}

Test(plot_page, an_asset_that_would_end_its_element_is_refused)
{
    write_file(FL_PLOT_LIB_JS, "var s = '</SCRIPT>';");
    fl_plot *p = small_plot(NULL);
    char err[512];
    cr_assert_eq(fl_plot_write_html(p, dir, out, err, sizeof err), FL_PLOT_ASSETS);
    cr_assert_not_null(strstr(err, "uPlot.iife.min.js: byte 9: \"</SCRIPT\" cannot be inlined in a <script> element"),
                       "%s", err);
    write_file(FL_PLOT_LIB_JS, "x");
    write_file(FL_PLOT_LIB_CSS, "a{} </style> b{}");
    cr_assert_eq(fl_plot_write_html(p, dir, out, err, sizeof err), FL_PLOT_ASSETS);
    cr_assert_not_null(strstr(err, "uPlot.min.css: byte 4: \"</style\" cannot be inlined in a <style> element"), "%s",
                       err);
    fl_plot_free(p);
}

Test(plot_page, a_template_without_a_marker_is_refused)
{
    write_file(FL_PLOT_TEMPLATE, "<script>/*@UPLOT_JS@*/</script>@DATA@ @TITLE@ /*@UPLOT_CSS@*/");
    fl_plot *p = small_plot(NULL);
    char err[512];
    cr_assert_eq(fl_plot_write_html(p, dir, out, err, sizeof err), FL_PLOT_ASSETS);
    cr_assert_not_null(strstr(err, "plot.html.in: no /*@PLOT_JS@*/ marker"), "%s", err);
    fl_plot_free(p);
}

Test(plot_page, an_unwritable_output_is_a_write_error)
{
    fl_plot *p = small_plot(NULL);
    char err[512];
    cr_assert_eq(fl_plot_write_html(p, dir, "/nonexistent-dir/x.html", err, sizeof err), FL_PLOT_WRITE);
    cr_assert_not_null(strstr(err, "/nonexistent-dir"), "%s", err);
    fl_plot_free(p);
}
