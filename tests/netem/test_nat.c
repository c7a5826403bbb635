/* NAT expiry: conntrack in the NAT's namespace forgets an idle mapping after
 * timeout_s; the next packet is dropped (or answered with RST), and
 * expire-now gets there without waiting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "helpers.h"

TestSuite(netem_nat, .fini = th_teardown, .timeout = 60);

struct pair {
    int lfd, c, s;
};

static struct pair connect_through_nat_loose(fl_nat_expiry on_expiry, unsigned timeout_s,
                                             bool loose, const char *tag)
{
    static fl_group_spec g;
    static fl_nat_spec nat;
    g = (fl_group_spec){.hosts = 1, .nat = 0};
    nat = (fl_nat_spec){.timeout_s = timeout_s, .on_expiry = on_expiry, .loose = loose};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1, .nats = &nat, .n_nats = 1};
    th_build(&spec, tag);
    struct pair p;
    uint16_t port;
    p.lfd = th_listen(fl_netem_broker(th_net), fl_netem_broker_addr(th_net), &port);
    p.c = th_connect(fl_netem_group_host(th_net, 0, 0), fl_netem_broker_addr(th_net), port, 0);
    p.s = th_accept(p.lfd);
    cr_assert_geq(p.s, 0);
    cr_assert(th_roundtrip(p.c, p.s));
    return p;
}

static struct pair connect_through_nat(fl_nat_expiry on_expiry, unsigned timeout_s,
                                       const char *tag)
{
    return connect_through_nat_loose(on_expiry, timeout_s, false, tag);
}

static unsigned unacked(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
    return ti.tcpi_unacked;
}

static void close_pair(struct pair *p)
{
    close(p->c);
    close(p->s);
    close(p->lfd);
}

Test(netem_nat, idle_below_timeout_survives)
{
    struct pair p = connect_through_nat(FL_NAT_EXPIRY_DROP, 2, "na");
    usleep(1000 * 1000);
    cr_assert(th_roundtrip(p.c, p.s), "mapping lost before its timeout");
    size_t n = 0;
    cr_assert_eq(fl_nat_entry_count(th_net, fl_netem_nat(th_net, 0), &n, th_err, sizeof th_err), 0,
                 "%s", th_err);
    cr_assert_geq(n, 1);
    close_pair(&p);
}

Test(netem_nat, expiry_drops_silently)
{
    struct pair p = connect_through_nat(FL_NAT_EXPIRY_DROP, 2, "nd");
    usleep(2600 * 1000); /* past the 2 s timeout (conntrack checks expiry on lookup) */
    cr_assert_eq(send(p.c, "late", 4, MSG_NOSIGNAL), 4);
    cr_assert_not(th_readable(p.s, 1000), "the broker received data through an expired mapping");
    cr_assert_eq(th_wait_error(p.c, 0, NULL), 0, "the client got an error: it should see nothing");
    cr_assert_gt(unacked(p.c), 0, "the client's segment was acknowledged");
    /* And the other way: the broker's segment dies at the NAT too. */
    cr_assert_eq(send(p.s, "late", 4, MSG_NOSIGNAL), 4);
    cr_assert_not(th_readable(p.c, 1000), "the client received data through an expired mapping");
    cr_assert_eq(th_wait_error(p.s, 0, NULL), 0, "the broker got an RST from the NAT");
    close_pair(&p);
}

Test(netem_nat, expiry_with_reset)
{
    struct pair p = connect_through_nat(FL_NAT_EXPIRY_RESET, 2, "nr");
    usleep(2600 * 1000);
    cr_assert_eq(send(p.c, "late", 4, MSG_NOSIGNAL), 4);
    int e = th_wait_error(p.c, 1000, NULL);
    cr_assert_eq(e, ECONNRESET, "client error %d (%s), expected ECONNRESET from the NAT", e,
                 strerror(e));
    cr_assert_eq(send(p.s, "late", 4, MSG_NOSIGNAL), 4);
    e = th_wait_error(p.s, 1000, NULL);
    cr_assert_eq(e, ECONNRESET, "broker error %d (%s), expected ECONNRESET from the NAT", e,
                 strerror(e));
    close_pair(&p);
}

Test(netem_nat, expire_now_without_waiting)
{
    struct pair p = connect_through_nat(FL_NAT_EXPIRY_DROP, 600, "ne");
    fl_host *nat = fl_netem_nat(th_net, 0);
    size_t deleted = 0, left = 99;
    uint64_t t = 0;
    cr_assert_eq(fl_nat_expire_now(th_net, nat, &deleted, &t, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_geq(deleted, 1);
    cr_assert_gt(t, 0);
    cr_assert_eq(fl_nat_entry_count(th_net, nat, &left, th_err, sizeof th_err), 0, "%s", th_err);
    if (left) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "ip netns exec %s conntrack -L >&2", fl_host_netns(nat));
        system(cmd);
    }
    cr_assert_eq(left, 0);
    cr_assert_eq(send(p.c, "late", 4, MSG_NOSIGNAL), 4);
    cr_assert_not(th_readable(p.s, 1000), "data passed a mapping deleted by expire-now");
    cr_assert_eq(th_wait_error(p.c, 0, NULL), 0);
    /* Not a NAT: a clear error. */
    fl_host *b = fl_netem_broker(th_net);
    cr_assert_eq(fl_nat_expire_now(th_net, b, NULL, NULL, th_err, sizeof th_err),
                 -FL_NETEM_EINVAL);
    cr_assert(strstr(th_err, "broker"), "%s", th_err);
    close_pair(&p);
}

Test(netem_nat, loose_nat_picks_the_connection_up_again)
{
    struct pair p = connect_through_nat_loose(FL_NAT_EXPIRY_DROP, 600, true, "nl");
    size_t deleted = 0;
    cr_assert_eq(fl_nat_expire_now(th_net, fl_netem_nat(th_net, 0), &deleted, NULL, th_err,
                                   sizeof th_err),
                 0, "%s", th_err);
    cr_assert_geq(deleted, 1);
    /* nf_conntrack_tcp_loose=1: the client's mid-stream segment makes a new
     * mapping on the same port and the connection silently survives. */
    cr_assert(th_roundtrip(p.c, p.s), "a loose NAT should carry the connection on");
    close_pair(&p);
}
