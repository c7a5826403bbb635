/* A black-box broker's closes joined to the clients it cut, with synthetic
 * events (no processes): by the client's own address, and behind a NAT by
 * its source port, which the masquerade keeps (the broker's wire names the
 * NAT's address); an ambiguous port is not guessed. */
#include <criterion/criterion.h>

#include "harness/analysis/analyze.h"

static void add(fl_analysis *a, const char *json)
{
    json_error_t err;
    json_t *ev = json_loads(json, 0, &err);
    cr_assert_not_null(ev, "bad test event %s: %s", json, err.text);
    cr_assert_eq(fl_analysis_add(a, ev), 0);
    json_decref(ev);
}

static double metric(fl_report *r, const char *path)
{
    double v = -1;
    char err[200];
    cr_assert_eq(fl_report_metric(r, path, &v, err, sizeof err), 0, "%s: %s", path, err);
    return v;
}

static void connected(fl_analysis *a, const char *id, const char *conn)
{
    char line[256];
    snprintf(line, sizeof line,
             "{\"t\":100,\"src\":\"swarm\",\"ev\":\"connected\",\"conn\":\"%s\",\"client_id\":\"%s\",\"attempt\":0}",
             conn, id);
    add(a, line);
}

static fl_report *report(fl_analysis *a, bool behind_nat)
{
    static const char *const cut[] = { "100.64.1.1" };
    fl_report *r = fl_report_new();
    fl_truth truth = { .kind = "nat-expiry", .target = "cgnat", .inject_ns = 1000, .addrs = cut, .naddrs = 1,
                       .broker_side = false, .broker_wire = true, .client_side = true, .behind_nat = behind_nat };
    cr_assert_eq(fl_analysis_report(a, &truth, 1, 500, 10000, r), 0);
    char err[200];
    cr_assert_geq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    return r;
}

Test(blackbox_join, behind_a_nat_by_source_port)
{
    fl_analysis *a = fl_analysis_new();
    connected(a, "x", "100.64.1.1:40000");
    connected(a, "y", "100.64.1.1:40001");
    add(a, "{\"t\":4000,\"src\":\"wire\",\"ev\":\"broker_closed\",\"conn\":\"198.18.0.10:40000\"}");
    add(a, "{\"t\":4500,\"src\":\"wire\",\"ev\":\"broker_fin\",\"conn\":\"198.18.0.10:40001\"}");
    fl_report *r = report(a, true);
    cr_expect_eq(metric(r, "faults[0].broker.detected"), 2);
    cr_expect_eq(metric(r, "faults[0].broker.max"), 3500e-9);
    fl_report_free(r);
    fl_analysis_free(a);
}

Test(blackbox_join, not_without_a_nat)
{
    fl_analysis *a = fl_analysis_new();
    connected(a, "x", "100.64.1.1:40000");
    add(a, "{\"t\":4000,\"src\":\"wire\",\"ev\":\"broker_closed\",\"conn\":\"198.18.0.10:40000\"}");
    fl_report *r = report(a, false);
    cr_expect_eq(metric(r, "faults[0].broker.detected"), 0);
    cr_expect_eq(metric(r, "faults[0].broker.undetected"), 1);
    fl_report_free(r);
    fl_analysis_free(a);
}

Test(blackbox_join, an_ambiguous_port_is_not_guessed)
{
    fl_analysis *a = fl_analysis_new();
    connected(a, "x", "100.64.1.1:40000");
    add(a, "{\"t\":4000,\"src\":\"wire\",\"ev\":\"broker_closed\",\"conn\":\"198.18.0.10:40000\"}");
    add(a, "{\"t\":4100,\"src\":\"wire\",\"ev\":\"broker_closed\",\"conn\":\"198.18.0.11:40000\"}");
    fl_report *r = report(a, true);
    cr_expect_eq(metric(r, "faults[0].broker.detected"), 0);
    fl_report_free(r);
    fl_analysis_free(a);
}
