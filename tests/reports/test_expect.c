/* Metric paths, expectations and verdicts. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static double metric(const fl_report *r, const char *path)
{
    double v;
    char err[256] = "";
    cr_assert_eq(fl_report_metric(r, path, &v, err, sizeof err), 0, "%s: %s", path, err);
    return v;
}

Test(expect, metrics_of_a_finished_report)
{
    fl_report *r = fixture_report();
    char err[256];
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0);
    cr_assert_float_eq(metric(r, "faults[0].affected"), 4, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.count"), 4, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.p50"), 2.0, 1e-12);  /* rank 2 of 1.5 2 2.5 3 */
    cr_assert_float_eq(metric(r, "faults[0].broker.p99"), 3.0, 1e-12);
    cr_assert_float_eq(metric(r, "faults[0].broker.p99_ms"), 3000, 1e-9);
    cr_assert_float_eq(metric(r, "faults[0].broker.mean"), 2.25, 1e-12);
    cr_assert_float_eq(metric(r, "faults[0].broker.min"), 1.5, 1e-12);
    cr_assert_float_eq(metric(r, "faults[0].broker.reasons.keepalive_timeout.count"), 4, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.reasons.keepalive_timeout.max"), 3.0, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.reasons.reset.count"), 0, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.inside"), 1, 0);
    cr_assert_float_eq(metric(r, "faults[0].broker.window_hi"), 3.001, 1e-9);
    cr_assert_float_eq(metric(r, "faults[0].client.undetected"), 1, 0);
    /* the run watched 10 s, past the client window's end (3.001 s): the undetected one is a miss */
    cr_assert_float_eq(metric(r, "faults[0].client.inside"), 0, 0);
    cr_assert_float_eq(metric(r, "faults[0].recovery.p50"), 4.0, 0);
    cr_assert_float_eq(metric(r, "false_disconnects"), 1, 0);
    cr_assert_float_eq(metric(r, "connections.false_disconnects"), 1, 0);
    cr_assert_float_eq(metric(r, "connections.total"), 10, 0);
    cr_assert_float_eq(metric(r, "undetected"), 1, 0);
    cr_assert_float_eq(metric(r, "verdicts.outside"), 1, 0);
    cr_assert_float_eq(metric(r, "overhead.packets_per_conn_hour"), 2700, 1e-9);
    cr_assert_float_eq(metric(r, "overhead.bytes_per_conn_hour"), 181800, 1e-9);
    cr_assert(isnan(metric(r, "faults[1].broker.p99")), "no samples: no value");
    fl_report_free(r);
}

Test(expect, unknown_paths_name_the_path)
{
    fl_report *r = fixture_report();
    char err[256];
    fl_report_finish(r, err, sizeof err);
    const char *bad[] = {"faults[3].broker.p99", "faults[0].server.p99", "faults[0].broker.p42", "latency",
                         "faults[x].broker.p99", "faults[0].broker.reasons.reset"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        err[0] = '\0';
        cr_assert_eq(fl_report_metric(r, bad[i], &v, err, sizeof err), -1, "%s accepted", bad[i]);
        cr_assert(strncmp(err, bad[i], strlen(bad[i])) == 0, "message \"%s\" does not name %s", err, bad[i]);
    }
    fl_report_free(r);
}

Test(expect, operators)
{
    fl_report *r = fixture_report();
    struct {
        const char *op;
        double value;
        bool pass;
    } cases[] = {
        {"<", 3.5, true}, {"<", 3.0, false}, {"<=", 3.0, true}, {"<=", 2.9, false}, {">", 2.9, true},
        {">", 3.0, false}, {">=", 3.0, true}, {">=", 3.1, false}, {"==", 3.0, true}, {"==", 3.0000001, false},
        {"!=", 2, true}, {"!=", 3.0, false},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fl_report_add_expectation(r, "faults[0].broker.p99", cases[i].op, cases[i].value), 0);
    cr_assert_eq(fl_report_add_expectation(r, "false_disconnects", "=<", 0), -1, "not an operator");
    char err[256];
    int failed = fl_report_finish(r, err, sizeof err);
    size_t expect_failed = 0;
    for (size_t i = 0; i < n; i++)
        expect_failed += !cases[i].pass;
    cr_assert_eq(failed, (int)expect_failed);
    cr_assert_not(fl_report_passed(r));
    /* each result, through the JSON */
    json_t *j = fl_report_to_json(r);
    json_t *exps = json_object_get(j, "expectations");
    cr_assert_eq(json_array_size(exps), n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(exps, i);
        cr_assert_eq(json_is_true(json_object_get(e, "pass")), cases[i].pass, "%s %g", cases[i].op, cases[i].value);
        cr_assert_float_eq(json_real_value(json_object_get(e, "actual")), 3.0, 1e-12);
    }
    json_decref(j);
    fl_report_free(r);
}

Test(expect, all_hold_and_unknown_metric_is_an_error)
{
    fl_report *r = fixture_report();
    fl_report_add_expectation(r, "false_disconnects", "<=", 1);
    json_t *t = json_true();
    cr_assert_eq(fl_report_add_expectation_json(r, "faults[0].broker.inside", "==", t), 0);
    cr_assert_eq(fl_report_add_expectation_json(r, "faults[0].broker.inside", "<", t), -1, "bool needs == or !=");
    json_decref(t);
    char err[256];
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0);
    cr_assert(fl_report_passed(r));

    fl_report_add_expectation(r, "faults[0].broker.p100", "<", 1);
    cr_assert_eq(fl_report_finish(r, err, sizeof err), -1);
    cr_assert(strstr(err, "faults[0].broker.p100"), "%s", err);
    cr_assert_not(fl_report_passed(r));
    fl_report_free(r);
}

Test(expect, verdicts)
{
    fl_report *r = fixture_report();
    char err[256];
    fl_report_finish(r, err, sizeof err);
    json_t *j = fl_report_to_json(r);
    json_t *f0 = json_array_get(json_object_get(j, "faults"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f0, "broker"), "verdict")), "inside");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f0, "client"), "verdict")), "outside");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f0, "will"), "verdict")), "not_applicable");
    json_t *f1 = json_array_get(json_object_get(j, "faults"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f1, "broker"), "verdict")), "no_model");
    json_decref(j);

    /* a detection beyond hi + tolerance (3.001 + 0.25 + 0.02 x 3.001) is outside */
    fl_report_fault *f = fl_report_fault_at(r, 0);
    fl_report_fault_detected(f, FL_SIDE_BROKER, "keepalive_timeout", 3.4);
    fl_report_finish(r, err, sizeof err);
    double v;
    fl_report_metric(r, "faults[0].broker.outside", &v, err, sizeof err);
    cr_assert_float_eq(v, 1, 0);
    fl_report_metric(r, "faults[0].broker.inside", &v, err, sizeof err);
    cr_assert_float_eq(v, 0, 0);
    fl_report_free(r);
}

Test(expect, undetected_before_the_window_closes_is_not_a_miss)
{
    fl_report *r = fixture_report();
    fl_report_set_end(r, FIXTURE_INJECT_NS + UINT64_C(2000000000)); /* stopped 2 s after: before 3.001 */
    char err[256];
    fl_report_finish(r, err, sizeof err);
    double v;
    fl_report_metric(r, "faults[0].client.inside", &v, err, sizeof err);
    cr_assert_float_eq(v, 1, 0);
    fl_report_free(r);
}

Test(expect, sysctls_of_this_namespace)
{
    fl_report *r = fl_report_new();
    int n = fl_report_read_sysctls(r, "broker");
    cr_assert_geq(n, 5, "read %d sysctls", n); /* the tcp_keepalive_* and tcp_retries* exist everywhere */
    char err[256];
    fl_report_finish(r, err, sizeof err);
    json_t *j = fl_report_to_json(r);
    json_t *v = json_object_get(json_object_get(json_object_get(j, "run"), "sysctls"), "broker/net.ipv4.tcp_retries2");
    cr_assert(json_is_string(v));
    cr_assert_gt(atoi(json_string_value(v)), 0);
    json_decref(j);
    fl_report_free(r);
}
