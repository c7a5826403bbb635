/* Power loss: traffic cut first, then the host's processes killed and its
 * namespace destroyed; restore brings back the same addresses and MAC with
 * no connection state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "helpers.h"

TestSuite(netem_power, .fini = th_teardown, .timeout = 60);

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
        return -1;
    return ti.tcpi_state;
}

Test(netem_power, no_fin_or_rst_then_rst_after_restore)
{
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "pw");
    fl_host *broker = fl_netem_broker(th_net), *h = fl_netem_group_host(th_net, 0, 0);
    uint16_t port;
    int lfd = th_listen(broker, fl_netem_broker_addr(th_net), &port);
    int c = th_connect(h, fl_netem_broker_addr(th_net), port, 0);
    int s = th_accept(lfd);
    cr_assert_geq(s, 0);
    cr_assert(th_roundtrip(c, s));
    /* A process on the host holds its own connection: it must die silently. */
    char *argv[] = {"/bin/sleep", "300", NULL};
    pid_t pid = fl_host_spawn(h, argv, NULL, NULL, 0, th_err, sizeof th_err);
    cr_assert_gt(pid, 0, "%s", th_err);
    /* Unread data at the client: a plain kill would now send an RST. */
    cr_assert_eq(send(s, "unread", 6, 0), 6);
    usleep(50000);

    uint64_t t_off = 0;
    cr_assert_eq(fl_fault_power_loss(th_net, &h, 1, &t_off, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_gt(t_off, 0);
    cr_assert_not(fl_host_powered(h));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "host process not SIGKILLed");
    /* The test's own client socket dies with the host too. */
    close(c);
    /* 1.5 s of silence at the broker: no FIN, no RST. */
    cr_assert_not(th_readable(s, 1500), "broker got FIN/RST/data from a powered-off host");
    cr_assert_eq(tcp_state(s), TCP_ESTABLISHED);
    cr_assert_eq(fl_host_spawn(h, argv, NULL, NULL, 0, th_err, sizeof th_err), -FL_NETEM_ESTATE);

    uint64_t t_on = 0;
    cr_assert_eq(fl_fault_power_restore(th_net, &h, 1, &t_on, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_gt(t_on, t_off);
    cr_assert(fl_host_powered(h));
    /* The broker's next segment reaches a stack that knows no connection. */
    uint64_t t_send = fl_now_ns();
    cr_assert_eq(send(s, "hello?", 6, MSG_NOSIGNAL), 6);
    uint64_t t_rst = 0;
    int e = th_wait_error(s, 3000, &t_rst);
    cr_assert_eq(e, ECONNRESET, "broker socket error %d (%s), expected ECONNRESET", e,
                 strerror(e));
    cr_log_info("RST %.1f ms after the broker's first segment to the restored host",
                (double)(t_rst - t_send) / 1e6);
    /* Answered at once, not after a retransmission (RTO >= 200 ms). */
    cr_assert_lt(t_rst - t_send, 150 * FL_NS_PER_MS, "RST only after %.1f ms",
                 (double)(t_rst - t_send) / 1e6);
    close(s);

    /* The restored host works normally: new connections and processes. */
    int c2 = th_connect(h, fl_netem_broker_addr(th_net), port, 0);
    int s2 = th_accept(lfd);
    cr_assert_geq(s2, 0);
    cr_assert(th_roundtrip(c2, s2));
    pid = fl_host_spawn(h, (char *[]){"/bin/true", NULL}, NULL, NULL, 0, th_err, sizeof th_err);
    cr_assert_gt(pid, 0, "%s", th_err);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(c2);
    close(s2);
    close(lfd);
}

Test(netem_power, nat_refuses_power_loss)
{
    fl_group_spec g = {.hosts = 1, .nat = 0};
    fl_nat_spec nat = {.timeout_s = 60};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1, .nats = &nat, .n_nats = 1};
    th_build(&spec, "pn");
    fl_host *n0 = fl_netem_nat(th_net, 0);
    cr_assert_eq(fl_fault_power_loss(th_net, &n0, 1, NULL, th_err, sizeof th_err),
                 -FL_NETEM_EINVAL);
    cr_assert(strstr(th_err, "nat0"), "%s", th_err);
}
