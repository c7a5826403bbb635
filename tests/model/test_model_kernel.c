/* The model against the real kernel: two network namespaces joined by a veth
 * pair, a TCP connection between them, then the far host goes silent (an
 * nftables input drop there: a partition, no RST, no carrier change), and the
 * near end's detection time is compared with the model's window. Needs root;
 * namespaces are named with the pid and removed even when a test fails.
 *
 * Not a cable pull on purpose: losing the local carrier makes the near end's
 * own stack refuse transmissions for a while (docs/model.md, "Cable pull"),
 * which this test would see as noise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/clock.h"
#include "model/model.h"

/* Measured minus model: the test's own reaction (poll wake-up, system(3) of
 * the pull) and veth RTT are well under this. */
#define TOLERANCE_S 0.1

static char ns_near[32], ns_far[32], link_near[16], link_far[16];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static void teardown(void)
{
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", ns_near, ns_far);
}

static void setup(void)
{
    int pid = (int)getpid();
    snprintf(ns_near, sizeof ns_near, "flmodel%d-n", pid);
    snprintf(ns_far, sizeof ns_far, "flmodel%d-f", pid);
    snprintf(link_near, sizeof link_near, "fmn%d", pid % 1000000);
    snprintf(link_far, sizeof link_far, "fmf%d", pid % 1000000);
    if (geteuid() != 0)
        return;
    /* `ip netns add` can lose a race on /run/netns with other tests creating
     * namespaces at the same moment: try again before giving up. */
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc; attempt++) {
        if (attempt)
            usleep(300 * 1000);
        teardown();
        rc = sh("ip netns add %s && ip netns add %s", ns_near, ns_far);
        rc = rc ?: sh("ip link add %s netns %s type veth peer name %s netns %s", link_near, ns_near, link_far, ns_far);
        rc = rc ?: sh("ip -n %s addr add 10.197.0.1/24 dev %s && ip -n %s link set %s up", ns_near, link_near,
                      ns_near, link_near);
        rc = rc ?: sh("ip -n %s addr add 10.197.0.2/24 dev %s && ip -n %s link set %s up", ns_far, link_far,
                      ns_far, link_far);
    }
    if (rc) {
        teardown();
        cr_assert_fail("cannot build the namespaces (ip netns / veth)");
    }
}

TestSuite(model_kernel, .init = setup, .fini = teardown, .timeout = 60);

static void enter(const char *ns)
{
    char path[64];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s: %s", ns, strerror(errno));
    close(fd);
}

static void write_sysctl(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(value, f);
    cr_assert_eq(fclose(f), 0, "%s", path);
}

typedef struct conn {
    int near, far;
} conn;

/* A connection from the near namespace to the far one, with the near socket's
 * options applied before connect, and one byte each way so that both sides
 * have received a segment. Returns when the near end read the far end's byte:
 * *last_rx_ns is then the near end's last received segment. */
static conn connect_pair(int keepalive_idle, int user_timeout_ms, uint64_t *last_rx_ns)
{
    conn c;
    enter(ns_far);
    int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "10.197.0.2", &a.sin_addr);
    cr_assert_eq(bind(lst, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(lst, 1), 0);
    socklen_t alen = sizeof a;
    getsockname(lst, (struct sockaddr *)&a, &alen);

    enter(ns_near);
    c.near = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (keepalive_idle) {
        int on = 1, idle = keepalive_idle, intvl = 1, cnt = 3;
        setsockopt(c.near, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
        setsockopt(c.near, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(c.near, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(c.near, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
    if (user_timeout_ms) {
        unsigned u = (unsigned)user_timeout_ms;
        setsockopt(c.near, IPPROTO_TCP, TCP_USER_TIMEOUT, &u, sizeof u);
    }
    cr_assert_eq(connect(c.near, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    c.far = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(c.far, 0);
    close(lst);
    char b = 'x';
    cr_assert_eq(write(c.near, &b, 1), 1);
    cr_assert_eq(read(c.far, &b, 1), 1);
    cr_assert_eq(write(c.far, &b, 1), 1);
    cr_assert_eq(read(c.near, &b, 1), 1);
    *last_rx_ns = fl_now_ns();
    return c;
}

static void silence_far_host(void)
{
    cr_assert_eq(sh("ip netns exec %s nft 'add table inet flmodel; "
                    "add chain inet flmodel in { type filter hook input priority 0; policy drop; }'",
                    ns_far),
                 0, "nft");
}

/* Waits until the near socket reports its error; returns when, and the errno. */
static uint64_t wait_dead(int fd, int *err_out, int limit_s)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, limit_s * 1000);
    uint64_t t = fl_now_ns();
    cr_assert_eq(rc, 1, "no error within %d s", limit_s);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    *err_out = err;
    return t;
}

static fl_side_prediction client_window(const fl_model_config *c)
{
    fl_prediction p;
    char err[200];
    cr_assert_eq(fl_model_predict(c, &p, err, sizeof err), 0, "%s", err);
    return p.side[FL_SIDE_CLIENT];
}

static void assert_inside(double measured, const fl_side_prediction *sp)
{
    cr_log_info("measured %.3f s, model [%.3f, %.3f] s (%s)", measured, sp->window.lo_s, sp->window.hi_s, sp->why);
    cr_assert(measured >= sp->window.lo_s - TOLERANCE_S && measured <= sp->window.hi_s + TOLERANCE_S,
              "measured %.3f s outside the model's [%.3f, %.3f] s +- %.1f s (%s)", measured, sp->window.lo_s,
              sp->window.hi_s, TOLERANCE_S, sp->why);
}

static fl_model_config tcp_only(void)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.client.strategy = FL_MS_TCP_ONLY;
    return c;
}

Test(model_kernel, keepalive_1_1_3_after_the_last_segment)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (network namespaces)");
    uint64_t last_rx;
    conn c = connect_pair(1, 0, &last_rx);
    silence_far_host();
    int err;
    uint64_t t = wait_dead(c.near, &err, 20);
    cr_assert_eq(err, ETIMEDOUT, "errno %s", strerror(err));

    fl_model_config m = tcp_only();
    m.client.tcp.keepalive = true;
    m.client.tcp.idle_s = m.client.tcp.interval_s = 1;
    m.client.tcp.count = 3;
    m.reference = FL_REF_LAST_RX;
    fl_side_prediction sp = client_window(&m);
    assert_inside((double)(t - last_rx) / 1e9, &sp);
    close(c.near);
    close(c.far);
}

Test(model_kernel, user_timeout_with_data_in_flight)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (network namespaces)");
    uint64_t last_rx;
    conn c = connect_pair(0, 2000, &last_rx);
    silence_far_host();
    uint64_t sent = fl_now_ns();
    char b = 'y';
    cr_assert_eq(write(c.near, &b, 1), 1);
    int err;
    uint64_t t = wait_dead(c.near, &err, 20);
    cr_assert_eq(err, ETIMEDOUT, "errno %s", strerror(err));

    fl_model_config m = tcp_only();
    m.client.tcp.user_timeout_s = 2;
    m.client.tcp.unacked_at_fault = true; /* reference: the send */
    fl_side_prediction sp = client_window(&m);
    cr_assert_eq(sp.winner, FL_DET_USER_TIMEOUT);
    assert_inside((double)(t - sent) / 1e9, &sp);
    close(c.near);
    close(c.far);
}

Test(model_kernel, retries2_5_with_data_in_flight)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (network namespaces)");
    enter(ns_near);
    write_sysctl("/proc/sys/net/ipv4/tcp_retries2", "5"); /* per namespace */
    uint64_t last_rx;
    conn c = connect_pair(0, 0, &last_rx);
    silence_far_host();
    uint64_t sent = fl_now_ns();
    char b = 'z';
    cr_assert_eq(write(c.near, &b, 1), 1);
    int err;
    uint64_t t = wait_dead(c.near, &err, 40);
    cr_assert_eq(err, ETIMEDOUT, "errno %s", strerror(err));

    fl_model_config m = tcp_only();
    m.client.tcp.retries2 = 5;
    m.client.tcp.unacked_at_fault = true;
    fl_side_prediction sp = client_window(&m);
    cr_assert_eq(sp.winner, FL_DET_RETRANSMIT_TIMEOUT);
    cr_assert_float_eq(sp.window.lo_s, 0.408 + 12.6, 1e-9); /* probe, first retransmission, + M(5) */
    assert_inside((double)(t - sent) / 1e9, &sp);
    close(c.near);
    close(c.far);
}
