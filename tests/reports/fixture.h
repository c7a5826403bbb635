/* A small report with hand-chosen numbers, shared by the report tests. */
#ifndef FLATLINE_TESTS_REPORTS_FIXTURE_H
#define FLATLINE_TESTS_REPORTS_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "reports/report.h"

#define FIXTURE_INJECT_NS UINT64_C(5000000000000)

/* Fault 0: cable-pull of 4 connections, KA 2 / grace 1.5 from the fault:
 * broker window [1, 3.001]. Broker latencies 1.5, 2.0, 2.5, 3.0 s
 * (keepalive_timeout); client 1.1, 1.2, 2.9 (ping_timeout), one undetected.
 * Fault 1: a second fault with no model. Fault 2: power-loss, nothing seen. */
static inline fl_report *fixture_report(void)
{
    fl_report *r = fl_report_new();
    cr_assert_not_null(r);
    fl_report_set_version(r, "0.1.0");
    fl_report_set_kernel(r, "6.18.0-test");
    fl_report_set_sysctl(r, "net.ipv4.tcp_retries2", "15");
    fl_report_set_seed(r, 42);
    const char *scenario = "{\"flatline\": 1, \"name\": \"fixture\"}";
    char err[256];
    cr_assert_eq(fl_report_set_scenario(r, "fixture.json", scenario, strlen(scenario), err, sizeof err), 0, "%s",
                 err);
    fl_report_set_start(r, INT64_C(1795291200123456789));
    fl_report_set_duration(r, 12.5);
    fl_report_set_connections(r, 10);
    fl_report_set_end(r, FIXTURE_INJECT_NS + UINT64_C(10000000000)); /* watched 10 s after the inject */

    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 2;
    fl_prediction p;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);

    fl_report_fault *f = fl_report_add_fault(r, "cable-pull", "devices[0]", FIXTURE_INJECT_NS);
    cr_assert_not_null(f);
    fl_report_fault_heal(f, FIXTURE_INJECT_NS + UINT64_C(20000000000));
    fl_report_fault_set_model(f, &p);
    const char *conns[] = {"198.18.1.2:40001", "198.18.1.2:40002", "198.18.1.2:40003", "198.18.1.2:40004"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fl_report_fault_add_conn(f, conns[i]), 0);
    const double broker[] = {2.5, 1.5, 3.0, 2.0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_BROKER, "keepalive_timeout", broker[i]), 0);
    const double client[] = {1.1, 2.9, 1.2};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_CLIENT, "ping_timeout", client[i]), 0);
    fl_report_fault_undetected(f, FL_SIDE_CLIENT, 1);
    fl_report_fault_recovered(f, 4.0);
    fl_report_fault_recovered(f, 5.0);

    fl_report_fault *g = fl_report_add_fault(r, "degrade", "devices", FIXTURE_INJECT_NS + 1);
    cr_assert_not_null(g);
    /* Fault 2: power-loss with a will: the client side is not applicable,
     * nothing was detected (an infinite window end shows as null). */
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.client.will = true;
    c.fault = FL_MF_POWER_LOSS;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    fl_report_fault *h = fl_report_add_fault(r, "power-loss", "devices[1]", FIXTURE_INJECT_NS + 2);
    cr_assert_not_null(h);
    fl_report_fault_set_model(h, &p);

    fl_model_config_defaults(&c);
    c.client.keepalive_s = 2;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    fl_report_false_disconnect(r, "198.18.1.3:40010", FL_SIDE_BROKER, "keepalive_timeout", FIXTURE_INJECT_NS + 7);
    fl_report_set_overhead(r, 5400, 363600, 2.0, &p.overhead);
    return r;
}

#endif
