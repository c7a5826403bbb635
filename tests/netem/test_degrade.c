/* Degrade on a kernel without sch_netem: a fast, clear failure that names the
 * module (the runner exits 3 with it). With sch_netem, see test_qdisc.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/clock.h"
#include "helpers.h"

TestSuite(netem_degrade, .fini = th_teardown, .timeout = 60);

static bool kernel_has_netem(void)
{
    fl_probe_result r[FL_PROBE_COUNT];
    fl_netem_probe(r);
    return r[FL_PROBE_NETEM].ok;
}

Test(netem_degrade, missing_sch_netem_fails_naming_it)
{
    if (kernel_has_netem())
        cr_skip_test("this kernel has sch_netem; test_qdisc covers it");
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "dg");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    fl_degrade d = {.delay_us = 50000, .loss = 0.01};
    uint64_t t0 = fl_now_ns();
    int rc = fl_fault_degrade(th_net, &h, 1, &d, FL_DIR_BOTH, NULL, th_err, sizeof th_err);
    cr_log_info("degrade failed after %.2f ms: %s", (double)(fl_now_ns() - t0) / 1e6, th_err);
    cr_assert_eq(rc, -FL_NETEM_ENONETEM, "rc %d: %s", rc, th_err);
    cr_assert(strstr(th_err, "sch_netem"), "message does not name sch_netem: %s", th_err);
    /* Nothing was installed, so there is nothing to heal or read. */
    cr_assert_eq(fl_fault_degrade_heal(th_net, &h, 1, NULL, th_err, sizeof th_err),
                 -FL_NETEM_ESTATE);
    fl_degrade back;
    cr_assert_eq(fl_degrade_read(th_net, h, FL_DIR_OUT, &back, th_err, sizeof th_err),
                 -FL_NETEM_ESTATE);
}

Test(netem_degrade, bad_parameters_name_the_field)
{
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "dp");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    fl_degrade d = {.loss = 1.5};
    cr_assert_eq(fl_fault_degrade(th_net, &h, 1, &d, FL_DIR_BOTH, NULL, th_err, sizeof th_err),
                 -FL_NETEM_EINVAL);
    cr_assert(strstr(th_err, "degrade.loss"), "%s", th_err);
    d = (fl_degrade){.reorder = 0.1};
    cr_assert_eq(fl_fault_degrade(th_net, &h, 1, &d, FL_DIR_BOTH, NULL, th_err, sizeof th_err),
                 -FL_NETEM_EINVAL);
    cr_assert(strstr(th_err, "degrade.reorder"), "%s", th_err);
}

Test(netem_degrade, probe_reports_every_item)
{
    fl_probe_result r[FL_PROBE_COUNT];
    int failed = fl_netem_probe(r);
    int count = 0;
    for (int i = 0; i < FL_PROBE_COUNT; i++) {
        cr_assert_not_null(r[i].name);
        cr_assert_gt(strlen(r[i].message), 0, "%s has no message", r[i].name);
        count += !r[i].ok;
        cr_log_info("%-10s %s  %s", r[i].name, r[i].ok ? "ok  " : "FAIL", r[i].message);
    }
    cr_assert_eq(failed, count);
    for (int i = 0; i < FL_PROBE_NETEM; i++)
        cr_assert(r[i].ok, "%s: %s", r[i].name, r[i].message);
    if (!r[FL_PROBE_NETEM].ok)
        cr_assert(strstr(r[FL_PROBE_NETEM].message, "sch_netem"), "%s", r[FL_PROBE_NETEM].message);
}
