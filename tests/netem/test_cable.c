/* Cable pull: the host's veth loses carrier. Verified by what TCP keep-alive
 * (idle 1 s, interval 1 s, count 3) then does on real connections. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "helpers.h"

TestSuite(netem_cable, .fini = th_teardown, .timeout = 60);

/* Model: death at the last received segment + idle + count x interval = 4 s.
 * Kernel timers never fire early; each of the 4 arms (all under 2 s) can be
 * up to 32 ms late at HZ=250 (linux-facts), so the window is [4.0, 4.128] s
 * plus scheduling; we allow 4.0 s - 10 ms .. 4.0 s + 300 ms. */
#define MODEL_NS (4 * FL_NS_PER_S)
#define EARLY_NS (10 * FL_NS_PER_MS)
#define LATE_NS (300 * FL_NS_PER_MS)

static fl_topology_spec two_hosts(fl_group_spec *g)
{
    *g = (fl_group_spec){.hosts = 2, .nat = -1};
    return (fl_topology_spec){.groups = g, .n_groups = 1};
}

Test(netem_cable, keepalive_times_out_in_model_window)
{
    fl_group_spec g;
    fl_topology_spec spec = two_hosts(&g);
    th_build(&spec, "cp");
    fl_host *broker = fl_netem_broker(th_net), *h = fl_netem_group_host(th_net, 0, 0);
    uint16_t port;
    int lfd = th_listen(broker, fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 1);
    /* The SYN-ACK, received just before connect() returned, is the last
     * segment the client ever gets. */
    uint64_t t_last_rx = fl_now_ns();
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    uint64_t t_pull = 0;
    cr_assert_eq(fl_fault_cable_pull(th_net, &h, 1, &t_pull, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_geq(t_pull, t_last_rx);
    uint64_t t_dead = 0;
    int e = th_wait_error(c, 6000, &t_dead);
    cr_assert_eq(e, ETIMEDOUT, "client socket error %d (%s), expected ETIMEDOUT", e, strerror(e));
    int64_t dt = (int64_t)(t_dead - t_last_rx);
    cr_log_info("cable-pull keep-alive death after %.3f s (model 4.000 s)", dt / 1e9);
    cr_assert_geq(dt, (int64_t)(MODEL_NS - EARLY_NS), "died early: %.3f s", dt / 1e9);
    cr_assert_leq(dt, (int64_t)(MODEL_NS + LATE_NS), "died late: %.3f s", dt / 1e9);
    /* The far side saw nothing: no FIN, no RST reached the broker. */
    cr_assert_not(th_readable(s, 0), "broker socket got something after the pull");
    close(c);
    close(s);
    close(lfd);
}

Test(netem_cable, connection_survives_a_short_pull)
{
    fl_group_spec g;
    fl_topology_spec spec = two_hosts(&g);
    th_build(&spec, "cs");
    fl_host *broker = fl_netem_broker(th_net), *h = fl_netem_group_host(th_net, 0, 1);
    uint16_t port;
    int lfd = th_listen(broker, fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 1);
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    uint64_t t_pull, t_back;
    cr_assert_eq(fl_fault_cable_pull(th_net, &h, 1, &t_pull, th_err, sizeof th_err), 0, "%s",
                 th_err);
    /* 1.5 s: the first keep-alive probe is lost, the next ones are answered. */
    cr_assert_eq(th_wait_error(c, 1500, NULL), 0);
    cr_assert_eq(fl_fault_cable_restore(th_net, &h, 1, &t_back, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_gt(t_back, t_pull);
    cr_assert_eq(th_wait_error(c, 4000, NULL), 0, "connection died although the cable came back");
    cr_assert(th_roundtrip(c, s), "no data after the cable came back");
    close(c);
    close(s);
    close(lfd);
}
