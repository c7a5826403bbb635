/* Real netem qdiscs (label "netem": needs a kernel with sch_netem, e.g. the
 * VM; skipped here otherwise): installed parameters read back, heal removes. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(netem_qdisc, .fini = th_teardown, .timeout = 60);

Test(netem_qdisc, parameters_read_back_both_ends)
{
    th_need_netem();
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "qd");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    fl_degrade d = {.delay_us = 40000, .jitter_us = 5000, .delay_corr = 0.25, .loss = 0.02,
                    .loss_corr = 0.1, .duplicate = 0.01, .reorder = 0.05, .gap = 3,
                    .limit = 500, .corrupt = 0.03};
    cr_assert_eq(fl_fault_degrade(th_net, &h, 1, &d, FL_DIR_BOTH, NULL, th_err, sizeof th_err), 0,
                 "%s", th_err);
    for (int end = FL_DIR_IN; end <= FL_DIR_OUT; end++) {
        fl_degrade back;
        cr_assert_eq(fl_degrade_read(th_net, h, (fl_direction)end, &back, th_err, sizeof th_err),
                     0, "%s", th_err);
        /* Delays go through 32-bit ticks: exact to a microsecond or so. */
        cr_assert_leq(abs((int)back.delay_us - 40000), 2);
        cr_assert_leq(abs((int)back.jitter_us - 5000), 2);
        cr_assert_lt(fabs(back.loss - 0.02), 1e-6);
        cr_assert_lt(fabs(back.delay_corr - 0.25), 1e-6);
        cr_assert_lt(fabs(back.duplicate - 0.01), 1e-6);
        cr_assert_lt(fabs(back.reorder - 0.05), 1e-6);
        cr_assert_lt(fabs(back.corrupt - 0.03), 1e-6, "corrupt %g", back.corrupt);
        cr_assert_eq(back.gap, 3);
        cr_assert_eq(back.limit, 500);
    }
    cr_assert_eq(fl_fault_degrade_heal(th_net, &h, 1, NULL, th_err, sizeof th_err), 0, "%s",
                 th_err);
    fl_degrade back;
    cr_assert_eq(fl_degrade_read(th_net, h, FL_DIR_OUT, &back, th_err, sizeof th_err),
                 -FL_NETEM_ESTATE);
}

Test(netem_qdisc, rate_and_gilbert_elliott_accepted)
{
    th_need_netem();
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "qr");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    fl_degrade d = {.delay_us = 1000, .rate_bytes_per_s = 125000, .ge_p = 0.01, .ge_r = 0.3,
                    .ge_h = 0.9, .ge_k = 1.0};
    cr_assert_eq(fl_fault_degrade(th_net, &h, 1, &d, FL_DIR_OUT, NULL, th_err, sizeof th_err), 0,
                 "%s", th_err);
    fl_degrade back;
    cr_assert_eq(fl_degrade_read(th_net, h, FL_DIR_OUT, &back, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_leq(abs((int)back.delay_us - 1000), 2);
    cr_assert_eq(back.rate_bytes_per_s, 125000);
    cr_assert_lt(fabs(back.ge_p - 0.01), 1e-6);
    cr_assert_lt(fabs(back.ge_r - 0.3), 1e-6);
    cr_assert_lt(fabs(back.ge_h - 0.9), 1e-6);
    cr_assert_lt(fabs(back.ge_k - 1.0), 1e-6);
}
