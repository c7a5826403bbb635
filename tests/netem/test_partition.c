/* Partition: frames dropped at the host's switch port, one or both ways. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(netem_partition, .fini = th_teardown, .timeout = 60);

Test(netem_partition, both_ways_then_heal)
{
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "pb");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    uint16_t port;
    int lfd = th_listen(fl_netem_broker(th_net), fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 0);
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    uint64_t t = 0;
    cr_assert_eq(fl_fault_partition(th_net, &h, 1, FL_DIR_BOTH, &t, th_err, sizeof th_err), 0,
                 "%s", th_err);
    cr_assert_gt(t, 0);
    cr_assert_eq(fl_fault_partition(th_net, &h, 1, FL_DIR_BOTH, NULL, th_err, sizeof th_err),
                 -FL_NETEM_ESTATE);
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), 1);
    cr_assert_eq(send(s, "y", 1, MSG_NOSIGNAL), 1);
    cr_assert_not(th_readable(s, 700));
    cr_assert_not(th_readable(c, 0));
    /* The host's own stack saw no error: the cut is in the network. */
    cr_assert_eq(th_wait_error(c, 0, NULL), 0);
    cr_assert_eq(fl_fault_partition_heal(th_net, &h, 1, &t, th_err, sizeof th_err), 0, "%s",
                 th_err);
    /* Retransmissions deliver both bytes once healed. */
    cr_assert(th_readable(s, 3000), "no data after heal");
    cr_assert(th_readable(c, 3000), "no data after heal");
    close(c);
    close(s);
    close(lfd);
}

Test(netem_partition, one_way_in)
{
    fl_group_spec g = {.hosts = 1, .nat = 0};
    fl_nat_spec nat = {.timeout_s = 60};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1, .nats = &nat, .n_nats = 1};
    th_build(&spec, "pi");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    uint16_t port;
    int lfd = th_listen(fl_netem_broker(th_net), fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 0);
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    /* Behind a NAT: the rule sits on the NAT's LAN bridge. */
    cr_assert_eq(fl_fault_partition(th_net, &h, 1, FL_DIR_IN, NULL, th_err, sizeof th_err), 0,
                 "%s", th_err);
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), 1);
    cr_assert(th_readable(s, 1000), "host->broker must still pass");
    char b;
    cr_assert_eq(recv(s, &b, 1, 0), 1);
    cr_assert_eq(send(s, "y", 1, MSG_NOSIGNAL), 1);
    cr_assert_not(th_readable(c, 700), "broker->host must be dropped");
    close(c);
    close(s);
    close(lfd);
}

Test(netem_partition, a_nat_middlebox)
{
    fl_group_spec g = {.hosts = 1, .nat = 0};
    fl_nat_spec nat = {.timeout_s = 60};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1, .nats = &nat, .n_nats = 1};
    th_build(&spec, "pm");
    fl_host *h = fl_netem_group_host(th_net, 0, 0), *n0 = fl_netem_nat(th_net, 0);
    uint16_t port;
    int lfd = th_listen(fl_netem_broker(th_net), fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 0);
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    cr_assert_eq(fl_fault_partition(th_net, &n0, 1, FL_DIR_BOTH, NULL, th_err, sizeof th_err), 0,
                 "%s", th_err);
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), 1);
    cr_assert_not(th_readable(s, 700));
    cr_assert_eq(fl_fault_partition_heal(th_net, &n0, 1, NULL, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert(th_readable(s, 3000));
    close(c);
    close(s);
    close(lfd);
}
