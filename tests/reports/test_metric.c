/* The one metric grammar (reports/metric.h): every entry of its table reads a
 * value from a real report's JSON, aliases agree with their canonical paths,
 * the written file gives what expectations saw in memory, and the docs' table
 * lists every entry. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "reports/compare.h"
#include "reports/metric.h"
#include "reports/plot.h"

/* "faults[i].<side>.reasons.<reason>.<stat>" -> a concrete path of the fixture. */
static void instantiate(const char *pattern, char *out, size_t len)
{
    static const struct {
        const char *from, *to;
    } subs[] = { { "[i]", "[0]" }, { "<side>", "broker" }, { "<reason>", "keepalive_timeout" }, { "<stat>", "p99" } };
    char buf[256];
    snprintf(buf, sizeof buf, "%s", pattern);
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
        char *at = strstr(buf, subs[k].from);
        if (!at)
            continue;
        char rest[256];
        snprintf(rest, sizeof rest, "%s", at + strlen(subs[k].from));
        snprintf(at, sizeof buf - (size_t)(at - buf), "%s%s", subs[k].to, rest);
    }
    snprintf(out, len, "%s", buf);
}

static json_t *fixture_json(void)
{
    fl_report *r = fixture_report();
    char err[256];
    fl_report_set_overhead_parts(r, 1000, 60000, 4400, 303600, 8);
    /* per-connection residuals (measured - predicted) on every side of fault 0 */
    for (int side = 0; side < FL_SIDE_COUNT; side++)
        cr_assert_eq(fl_report_fault_residual(fl_report_fault_at(r, 0), (fl_side)side, 0.0004, 0.001, NULL), 0);
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    json_t *j = fl_report_to_json(r);
    fl_report_free(r);
    cr_assert_not_null(j);
    return j;
}

static double get(const json_t *j, const char *path, bool *has)
{
    double v;
    char err[512] = "";
    cr_assert_eq(fl_metric_get(j, path, &v, has, err, sizeof err), 0, "%s: %s", path, err);
    return v;
}

Test(metric, every_entry_reads_a_value)
{
    json_t *j = fixture_json();
    fl_metric_info info;
    size_t n = 0;
    for (size_t i = 0; fl_metric_entry(i, &info); i++, n++) {
        char path[256];
        instantiate(info.path, path, sizeof path);
        bool has;
        double v = get(j, path, &has);
        cr_expect(has && !isnan(v), "%s (%s): no value in the fixture", path, info.path);
        char err[512];
        cr_expect_eq(fl_metric_check(path, err, sizeof err), 0, "%s: %s", path, err);
    }
    cr_assert_geq(n, 25, "the table has %zu entries", n);
    json_decref(j);
}

Test(metric, values_of_the_fixture)
{
    json_t *j = fixture_json();
    bool has;
    cr_expect_float_eq(get(j, "faults[0].broker.p99", &has), 3.0, 1e-12);
    cr_expect_float_eq(get(j, "faults[0].broker.p50_ms", &has), 2000, 1e-9);
    cr_expect_float_eq(get(j, "faults[0].broker.reasons.keepalive_timeout.count", &has), 4, 0);
    cr_expect_float_eq(get(j, "faults[0].broker.reasons.keepalive_timeout.min_ms", &has), 1500, 1e-9);
    cr_expect_float_eq(get(j, "faults[0].broker.reasons.reset.count", &has), 0, 0);
    cr_expect(has, "a reason not seen counts 0");
    get(j, "faults[0].broker.reasons.reset.p50", &has);
    cr_expect(!has, "a reason not seen has no latency");
    cr_expect_float_eq(get(j, "faults[0].recovery.count", &has), 2, 0);
    cr_expect_float_eq(get(j, "faults[0].recovery.max", &has), 5.0, 0);
    cr_expect_float_eq(get(j, "faults[0].client.inside", &has), 0, 0);
    cr_expect_float_eq(get(j, "faults[0].broker.inside", &has), 1, 0);
    cr_expect_float_eq(get(j, "faults[0].broker.window_hi", &has), 3.001, 1e-9);
    cr_expect(isinf(get(j, "faults[2].broker.window_hi", &has)), "a window that never closes is infinite");
    cr_expect_float_eq(get(j, "overhead.mqtt_bytes_per_conn_hour", &has), 30000, 1e-9);
    cr_expect_float_eq(get(j, "overhead.tcp_packets_per_conn_hour", &has), 2200, 1e-9);
    cr_expect_float_eq(get(j, "overhead.connections", &has), 8, 0);
    cr_expect_float_eq(get(j, "complete", &has), 1, 0); /* fl_report_new: complete until told otherwise */
    get(j, "faults[1].broker.p99", &has);
    cr_expect(!has, "a statistic of no samples has no value");
    json_decref(j);
}

Test(metric, aliases_read_their_canonical_path)
{
    json_t *j = fixture_json();
    fl_metric_info info;
    size_t aliases = 0;
    for (size_t i = 0; fl_metric_entry(i, &info); i++) {
        if (!info.alias_of)
            continue;
        aliases++;
        char a[256], c[256];
        instantiate(info.path, a, sizeof a);
        instantiate(info.alias_of, c, sizeof c);
        bool ha, hc;
        double va = get(j, a, &ha), vc = get(j, c, &hc);
        cr_expect(ha == hc && va == vc, "%s = %g, %s = %g", a, va, c, vc);
    }
    /* compare's spellings and the report's */
    cr_expect_geq(aliases, 5);
    bool has;
    cr_expect_float_eq(get(j, "overhead.bytes", &has), 181800, 1e-9);
    cr_expect_float_eq(get(j, "overhead.packets", &has), 2700, 1e-9);
    json_decref(j);
}

Test(metric, bad_paths_name_the_path)
{
    json_t *j = fixture_json();
    static const char *const bad[][2] = {
        { "", "empty" },
        { "latency", "unknown metric 'latency'" },
        { "faults[x].broker.p99", "expected faults[<index>]" },
        { "faults[0]", "expected faults[0].<metric>" },
        { "faults[0].server.p99", "unknown metric 'server.p99'" },
        { "faults[0].broker.p42", "unknown metric 'p42'" },
        { "faults[0].broker.reasons.reset", "unknown metric" },
        { "faults[0].broker.count_ms", "unknown metric" },
        { "faults[0].recovery", "unknown metric" },
        { "overhead.watts", "unknown metric" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[768] = "";
        double v;
        bool has;
        cr_expect_eq(fl_metric_check(bad[i][0], err, sizeof err), -1, "%s accepted", bad[i][0]);
        cr_expect_eq(fl_metric_get(j, bad[i][0], &v, &has, err, sizeof err), -1, "%s accepted", bad[i][0]);
        cr_expect(strstr(err, bad[i][1]) && (!*bad[i][0] || strncmp(err, bad[i][0], strlen(bad[i][0])) == 0),
                  "%s: %s", bad[i][0], err);
    }
    /* Known paths that this report cannot answer. */
    char err[512] = "";
    double v;
    bool has;
    cr_expect_eq(fl_metric_get(j, "faults[3].broker.p99", &v, &has, err, sizeof err), -1);
    cr_expect(strstr(err, "no fault 3 (the report has 3)"), "%s", err);
    cr_expect_eq(fl_metric_get(j, "faults[1].broker.window_lo", &v, &has, err, sizeof err), -1);
    cr_expect(strstr(err, "faults[1].broker.window_lo: fault has no model window"), "%s", err);
    json_decref(j);
}

/* What expectations evaluate in memory is what compare reads from the file. */
Test(metric, the_written_report_reads_as_in_memory)
{
    fl_report *r = fixture_report();
    char err[512];
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    char *text = json_dumps(fl_report_to_json(r), JSON_REAL_PRECISION(9)); /* as fl_report_write_json writes */
    json_t *file = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(file);
    fl_metric_info info;
    for (size_t i = 0; fl_metric_entry(i, &info); i++) {
        char path[256];
        instantiate(info.path, path, sizeof path);
        double mem, disk;
        bool has;
        cr_assert_eq(fl_report_metric(r, path, &mem, err, sizeof err), 0, "%s", err);
        cr_assert_eq(fl_metric_get(file, path, &disk, &has, err, sizeof err), 0, "%s", err);
        cr_expect((isnan(mem) && isnan(disk)) || mem == disk || fabs(mem - disk) <= 1e-8 * fabs(mem), "%s: %g vs %g",
                  path, mem, disk);
    }
    json_decref(file);
    fl_report_free(r);
}

/* compare --fail-on takes every path of the grammar (once short of these). */
Test(metric, compare_gates_use_the_grammar)
{
    fl_metric_info info;
    for (size_t i = 0; fl_metric_entry(i, &info); i++) {
        char path[256], expr[300], err[768] = "";
        instantiate(info.path, path, sizeof path);
        snprintf(expr, sizeof expr, "%s>+1", path);
        fl_cmp_threshold t;
        cr_expect_eq(fl_cmp_threshold_parse(expr, &t, err, sizeof err), 0, "%s: %s", expr, err);
    }
    json_t *j = fixture_json();
    fl_cmp_set s;
    fl_cmp_init(&s);
    char err[512];
    cr_assert_eq(fl_cmp_add_json(&s, "fixture", j, false, err, sizeof err), 0, "%s", err);
    fl_cmp_threshold t[3];
    cr_assert_eq(fl_cmp_threshold_parse("broker.reasons.keepalive_timeout.count>3", &t[0], err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(fl_cmp_threshold_parse("faults[0].recovery.p50>4.5", &t[1], err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_cmp_threshold_parse("faults[0].client.inside<1", &t[2], err, sizeof err), 0, "%s", err);
    FILE *out = tmpfile();
    cr_expect_eq(fl_cmp_check(&s, NULL, t, 3, out, err, sizeof err), 2, "reasons and inside crossed, recovery not");
    fclose(out);
    fl_cmp_free(&s);
    json_decref(j);
}

/* docs/report-format.md's table lists every path of the grammar. */
Test(metric, the_docs_table_lists_every_entry)
{
    FILE *f = fopen(FLATLINE_SOURCE_DIR "/docs/report-format.md", "r");
    cr_assert_not_null(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *table = strstr(doc, "## Metric paths");
    cr_assert_not_null(table);
    fl_metric_info info;
    for (size_t i = 0; fl_metric_entry(i, &info); i++) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "`%s`", info.path);
        cr_expect(strstr(table, quoted), "docs/report-format.md: no %s in the metric table", quoted);
    }
}

/* flatline plot --metric reads the same grammar: per configuration (a fault),
 * "broker.p99" is that fault's. */
Test(metric, plot_metrics_per_configuration)
{
    json_t *j = fixture_json();
    fl_plot *p = fl_plot_new("t");
    char err[768];
    cr_assert_eq(fl_plot_add_metric(p, "broker.p99", err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_plot_add_metric(p, "overhead.bytes", err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_plot_add_metric(p, "faults[0].recovery.max", err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_plot_add_metric(p, "broker.p42", err, sizeof err), -1);
    cr_expect(strstr(err, "faults[0].broker.p42: unknown metric 'p42'"), "%s", err);
    cr_assert_eq(fl_plot_add_report(p, j, "fixture", "fixture.json", err, sizeof err), 3, "%s", err);
    const json_t *configs = json_object_get(fl_plot_data(p), "configs");
    const json_t *m0 = json_object_get(json_array_get(configs, 0), "metrics");
    const json_t *m1 = json_object_get(json_array_get(configs, 1), "metrics");
    cr_expect_float_eq(json_real_value(json_object_get(m0, "broker.p99")), 3.0, 1e-12);
    cr_expect(json_is_null(json_object_get(m1, "broker.p99")), "fault 1 detected nothing");
    cr_expect_float_eq(json_real_value(json_object_get(m1, "overhead.bytes")), 181800, 1e-9);
    cr_expect_float_eq(json_real_value(json_object_get(m1, "faults[0].recovery.max")), 5.0, 1e-12);
    cr_expect_eq(json_array_size(json_object_get(fl_plot_data(p), "metrics")), 3);
    fl_plot_free(p);
    json_decref(j);
}
