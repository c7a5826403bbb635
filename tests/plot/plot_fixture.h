/* Reports for the plot tests, built with the report writer (reports/report.h)
 * so that the tests read what flatline run writes. */
#ifndef FLATLINE_TESTS_PLOT_FIXTURE_H
#define FLATLINE_TESTS_PLOT_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "reports/report.h"

#define PLOT_INJECT_NS UINT64_C(7000000000000)

/* The residuals the fixture writes (s): PLOT_RESIDUAL(first, step, i) for the
 * broker's i-th detection, which differ from configuration to configuration
 * (their curves do not hide each other), 1.5 ms later on the client. Each is
 * held against a slack of PLOT_SLACK_S. */
#define PLOT_SLACK_S 0.001
#define PLOT_RESIDUAL(first, step, i) (-0.0008 + 0.0004 * ((first) - 1.0) + 0.01 * (step) * (double)(i))

/* A finished report named name with one cable-pull per entry of first[]
 * (faults 10 s apart, healed 8 s after the inject): n broker latencies
 * first[k], first[k] + step, ...; the client sees each 0.5 s later and misses
 * the last connection. Each detection has its residual (PLOT_RESIDUAL). The
 * model: MQTT keep-alive ka s. */
static inline fl_report *plot_report(const char *name, const double *first, size_t nfaults, size_t n,
                                     double step, int ka)
{
    fl_report *r = fl_report_new();
    cr_assert_not_null(r);
    fl_report_set_version(r, "0.1.0");
    fl_report_set_kernel(r, "6.18.0-test");
    char scenario[256], err[256];
    json_t *doc = json_pack("{s:i, s:s}", "flatline", 1, "name", name);
    char *text = json_dumps(doc, JSON_COMPACT);
    snprintf(scenario, sizeof scenario, "%s", text);
    free(text);
    json_decref(doc);
    cr_assert_eq(fl_report_set_scenario(r, name, scenario, strlen(scenario), err, sizeof err), 0, "%s", err);
    fl_report_set_duration(r, 12.0);
    fl_report_set_connections(r, n);

    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = ka;
    fl_prediction p;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    for (size_t k = 0; k < nfaults; k++) {
        uint64_t inject = PLOT_INJECT_NS + k * UINT64_C(10000000000);
        fl_report_fault *f = fl_report_add_fault(r, "cable-pull", "devices[0]", inject);
        cr_assert_not_null(f);
        fl_report_fault_heal(f, inject + UINT64_C(8000000000));
        fl_report_fault_set_model(f, &p);
        for (size_t i = 0; i < n; i++) {
            char conn[32];
            snprintf(conn, sizeof conn, "198.18.1.2:%zu", 40000 + i);
            cr_assert_eq(fl_report_fault_add_conn(f, conn), 0);
            cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_BROKER, "keepalive_timeout", first[k] + step * (double)i),
                         0);
            double residual = PLOT_RESIDUAL(first[k], step, i);
            cr_assert_eq(fl_report_fault_residual(f, FL_SIDE_BROKER, residual, PLOT_SLACK_S, NULL), 0);
            if (i + 1 < n) {
                cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_CLIENT, "ping_timeout",
                                                      first[k] + 0.5 + step * (double)i), 0);
                cr_assert_eq(fl_report_fault_residual(f, FL_SIDE_CLIENT, residual + 0.0015, PLOT_SLACK_S, NULL), 0);
            }
        }
        fl_report_fault_undetected(f, FL_SIDE_CLIENT, 1);
    }
    fl_report_set_end(r, PLOT_INJECT_NS + nfaults * UINT64_C(10000000000));
    cr_assert_geq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    return r;
}

/* The report as the JSON a reader would load. */
static inline json_t *plot_report_json(const char *name, const double *first, size_t nfaults, size_t n, double step,
                                       int ka)
{
    fl_report *r = plot_report(name, first, nfaults, n, step, ka);
    json_t *j = fl_report_to_json(r);
    fl_report_free(r);
    cr_assert_not_null(j);
    return j;
}

#endif
