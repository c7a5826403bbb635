/* Network profiles on real links (label "netem": needs sch_netem, e.g. the
 * VM; skipped with the reason otherwise): a scenario's group "profile" and
 * broker "link" become netem qdiscs on both ends of each host's link when the
 * topology is built, with the profile's values (docs/profiles.md). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario.h"
#include "harness/run/topology.h"
#include "helpers.h"

static fl_netem *net;
static fl_scenario *sc;
static char err[512];

static void fini(void)
{
    if (net)
        fl_netem_teardown(net, NULL, 0);
    net = NULL;
    fl_scenario_free(sc);
    sc = NULL;
}

TestSuite(netem_profiles, .fini = fini, .timeout = 120);

static void check_installed(fl_host *h, const fl_profile *p)
{
    for (int end = FL_DIR_IN; end <= FL_DIR_OUT; end++) {
        fl_degrade back;
        cr_assert_eq(fl_degrade_read(net, h, (fl_direction)end, &back, err, sizeof err), 0, "%s %s: %s",
                     fl_host_name(h), end == FL_DIR_IN ? "in" : "out", err);
        cr_expect_leq(fabs(back.delay_us - p->delay_ms * 1000), 2, "%s: delay %u us", fl_host_name(h), back.delay_us);
        cr_expect_leq(fabs(back.jitter_us - p->jitter_ms * 1000), 2, "%s: jitter %u us", fl_host_name(h),
                      back.jitter_us);
        cr_expect_lt(fabs(back.loss - p->loss / 100), 1e-6, "%s: loss %g", fl_host_name(h), back.loss);
        cr_expect_eq(back.rate_bytes_per_s, p->rate_kbit * 1000 / 8, "%s: rate %llu B/s", fl_host_name(h),
                     (unsigned long long)back.rate_bytes_per_s);
    }
}

Test(netem_profiles, group_and_broker_profiles_installed_at_build)
{
    th_need_netem();
    static const char text[] =
        "{\"flatline\": 1, \"name\": \"p\", \"description\": \"d\", \"duration\": 10,"
        " \"links\": {\"uplink\": {\"profile\": \"lan\"}},"
        " \"broker\": {\"link\": \"uplink\"},"
        " \"groups\": [{\"name\": \"m\", \"hosts\": 2, \"clients_per_host\": 1, \"keepalive\": 5,"
        "   \"id_pattern\": \"m-{host}-{n}\", \"profile\": \"4g\"},"
        "  {\"name\": \"s\", \"clients_per_host\": 1, \"keepalive\": 5, \"profile\": \"satellite\"},"
        "  {\"name\": \"plain\", \"clients_per_host\": 1, \"keepalive\": 5}]}";
    fl_diag d;
    fl_diag_init(&d, "p.json", NULL);
    sc = fl_scenario_parse(text, strlen(text), "p.json", &d);
    cr_assert_not_null(sc, "%s", d.first);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "tpf%d", (int)(getpid() % 1000000));
    fl_netem_cleanup_stale(NULL, 0);
    cr_assert_eq(fl_topology_build(sc, prefix, &net, err, sizeof err), 0, "%s", err);
    check_installed(fl_netem_broker(net), fl_profile_find("lan"));
    check_installed(fl_netem_group_host(net, 0, 0), fl_profile_find("4g"));
    check_installed(fl_netem_group_host(net, 0, 1), fl_profile_find("4g"));
    check_installed(fl_netem_group_host(net, 1, 0), fl_profile_find("satellite"));
    fl_degrade back;
    fl_host *plain = fl_netem_group_host(net, 2, 0);
    cr_expect_eq(fl_degrade_read(net, plain, FL_DIR_OUT, &back, err, sizeof err), -FL_NETEM_ESTATE,
                 "a group without a profile got a qdisc");
    cr_expect_eq(fl_degrade_read(net, plain, FL_DIR_IN, &back, err, sizeof err), -FL_NETEM_ESTATE);
}
