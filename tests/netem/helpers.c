#include "helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"

fl_netem *th_net;
char th_err[512];

void th_prefix(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "t%s%d", tag, (int)(getpid() % 1000000));
}

void th_build(fl_topology_spec *spec, const char *tag)
{
    static char prefix[16];
    th_prefix(prefix, sizeof prefix, tag);
    spec->prefix = prefix;
    fl_netem_cleanup_stale(NULL, 0);
    int rc = fl_netem_build(spec, &th_net, th_err, sizeof th_err);
    cr_assert_eq(rc, 0, "build: %d %s", rc, th_err);
}

void th_teardown(void)
{
    if (th_net) {
        int rc = fl_netem_teardown(th_net, th_err, sizeof th_err);
        th_net = NULL;
        cr_expect_eq(rc, 0, "teardown: %s", th_err);
    }
}

struct sock_job {
    const char *addr;
    uint16_t port;
    int keepalive;
    int fd;
    int err;
};

static int listen_job(void *p)
{
    struct sock_job *j = p;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, j->addr, &sa.sin_addr);
    j->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(j->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (j->fd < 0 || bind(j->fd, (struct sockaddr *)&sa, sizeof sa) || listen(j->fd, 16)) {
        j->err = errno;
        return -1;
    }
    socklen_t len = sizeof sa;
    getsockname(j->fd, (struct sockaddr *)&sa, &len);
    j->port = ntohs(sa.sin_port);
    return 0;
}

int th_listen(fl_host *h, const char *addr, uint16_t *port)
{
    struct sock_job j = {.addr = addr, .fd = -1};
    int rc = fl_host_run(h, listen_job, &j, th_err, sizeof th_err);
    cr_assert_eq(rc, 0, "listen in %s on %s: %s / %s", fl_host_name(h), addr, th_err,
                 strerror(j.err));
    *port = j.port;
    return j.fd;
}

static int connect_job(void *p)
{
    struct sock_job *j = p;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(j->port)};
    inet_pton(AF_INET, j->addr, &sa.sin_addr);
    j->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (j->fd < 0) {
        j->err = errno;
        return -1;
    }
    struct timeval tv = {3, 0};
    setsockopt(j->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (j->keepalive > 0) {
        int one = 1, cnt = 3;
        setsockopt(j->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(j->fd, IPPROTO_TCP, TCP_KEEPIDLE, &j->keepalive, sizeof j->keepalive);
        setsockopt(j->fd, IPPROTO_TCP, TCP_KEEPINTVL, &j->keepalive, sizeof j->keepalive);
        setsockopt(j->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
    if (connect(j->fd, (struct sockaddr *)&sa, sizeof sa)) {
        j->err = errno;
        return -1;
    }
    return 0;
}

int th_connect(fl_host *h, const char *addr, uint16_t port, int keepalive)
{
    struct sock_job j = {.addr = addr, .port = port, .keepalive = keepalive, .fd = -1};
    int rc = fl_host_run(h, connect_job, &j, th_err, sizeof th_err);
    cr_assert_eq(rc, 0, "connect from %s to %s:%u: %s / %s", fl_host_name(h), addr, port, th_err,
                 strerror(j.err));
    return j.fd;
}

int th_accept(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 3000) != 1)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int th_wait_error(int fd, int timeout_ms, uint64_t *when_ns)
{
    uint64_t deadline = fl_now_ns() + (uint64_t)timeout_ms * FL_NS_PER_MS;
    for (;;) {
        uint64_t now = fl_now_ns();
        if (now >= deadline)
            return 0;
        struct pollfd p = {.fd = fd, .events = 0};
        int n = poll(&p, 1, (int)((deadline - now) / FL_NS_PER_MS) + 1);
        if (n == 1 && (p.revents & (POLLERR | POLLHUP))) {
            if (when_ns)
                *when_ns = fl_now_ns();
            int e = 0;
            socklen_t len = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
            return e ? e : -1;
        }
    }
}

bool th_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1;
}

bool th_roundtrip(int a, int b)
{
    char out[8] = "ping123", in[8] = {0};
    if (send(a, out, sizeof out, MSG_NOSIGNAL) != (ssize_t)sizeof out)
        return false;
    if (!th_readable(b, 3000) || recv(b, in, sizeof in, MSG_WAITALL) != (ssize_t)sizeof in)
        return false;
    if (send(b, in, sizeof in, MSG_NOSIGNAL) != (ssize_t)sizeof in)
        return false;
    memset(in, 0, sizeof in);
    if (!th_readable(a, 3000) || recv(a, in, sizeof in, MSG_WAITALL) != (ssize_t)sizeof in)
        return false;
    return memcmp(in, out, sizeof out) == 0;
}

void th_need_netem(void)
{
    fl_probe_result r[FL_PROBE_COUNT];
    fl_netem_probe(r);
    if (!r[FL_PROBE_NETEM].ok)
        cr_skip_test("no sch_netem in this kernel (%s); run it in the VM: tests/vm/flatline-vm",
                     r[FL_PROBE_NETEM].message);
}
