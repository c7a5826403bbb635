#include "server.h"
#include "core/reason.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/tcpclass.h"

typedef struct listener {
    bk_server *srv;
    int fd;
    bk_tcp_opts tcp;
    char addr[64];
} listener;

struct bk_server {
    const bk_config *cfg;
    fl_evlog *log;
    fl_loop *loop;
    bk_broker *broker;
    listener *listeners;
    size_t nlisteners;
    int sigfd;
    uint8_t rbuf[65536]; /* every connection reads into this one buffer */
};

/* ---- transport callbacks ---- */

static int out_append(bk_conn *c, const uint8_t *data, size_t len)
{
    if ((size_t)c->out_len + len > UINT32_MAX)
        return -1;
    uint32_t need = c->out_len + (uint32_t)len;
    if (need > c->out_cap) {
        uint32_t cap = c->out_cap ? c->out_cap : 256;
        while (cap < need)
            cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        uint8_t *b = realloc(c->out, cap);
        if (!b)
            return -1;
        c->out = b;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len = need;
    return 0;
}

static void tx_write(bk_conn *c, const uint8_t *data, size_t len, void *ctx)
{
    bk_server *srv = ctx;
    if (c->write_failed)
        return;
    if (c->out_len == 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)len)
            return;
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Not closed here (we may be inside another connection's
                 * handler); the error shows up on this socket's next event. */
                c->write_failed = true;
                c->write_errno = (uint8_t)(errno < 256 ? errno : EIO);
                return;
            }
            n = 0;
        }
        data += n;
        len -= (size_t)n;
        if (out_append(c, data, len) < 0) {
            c->write_failed = true;
            c->write_errno = ENOMEM;
            return;
        }
        fl_loop_modify(srv->loop, c->fd, FL_READ | FL_WRITE);
        return;
    }
    if (out_append(c, data, len) < 0) {
        c->write_failed = true;
        c->write_errno = ENOMEM;
    }
}

static void tx_release(bk_conn *c, void *ctx)
{
    bk_server *srv = ctx;
    if (c->fd < 0)
        return;
    fl_loop_remove(srv->loop, c->fd);
    close(c->fd);
    c->fd = -1;
}

/* ---- connections ---- */

static void lost(bk_conn *c, int err)
{
    if (!err) {
        bk_conn_lost(c, fl_reason_name(FL_REASON_EOF), 0, NULL);
        return;
    }
    fl_tcp_facts f;
    if (fl_tcp_facts_read(c->fd, &f) < 0)
        memset(&f, 0, sizeof f);
    f.unsent_output = c->out_len > 0;
    const char *reason = fl_classify_socket_error(err, &f);
    json_t *extra = NULL;
    if (fl_is_timeout_errno(err))
        extra = json_pack("{s:o}", "tcp", fl_tcp_facts_json(&f));
    bk_conn_lost(c, reason, err, extra);
}

static void flush(bk_server *srv, bk_conn *c)
{
    uint32_t done = 0;
    while (done < c->out_len) {
        ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                c->write_failed = true;
                c->write_errno = (uint8_t)(errno < 256 ? errno : EIO);
            }
            break;
        }
        done += (uint32_t)n;
    }
    if (done) {
        memmove(c->out, c->out + done, c->out_len - done);
        c->out_len -= done;
    }
    if (c->out_len == 0 || c->write_failed) {
        /* Idle connections keep no buffer. */
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_cap = 0;
        fl_loop_modify(srv->loop, c->fd, FL_READ);
    }
}

/* ---- arrival timestamps ---- */

/* The kernel stamps each received segment with CLOCK_REALTIME (SO_TIMESTAMPNS;
 * there is no monotonic receive stamp). It is mapped onto CLOCK_MONOTONIC with
 * the offset between the two clocks read around the receive: a step of the
 * real-time clock between the segment's arrival and its read would shift the
 * mapped time, and bk_conn_input_at keeps it between the previous packet and
 * now. */
static uint64_t ts_ns(const struct timespec *t) { return (uint64_t)t->tv_sec * FL_NS_PER_S + (uint64_t)t->tv_nsec; }

static uint64_t arrival_mono(const struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR((struct msghdr *)mh); cm; cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec rx;
        memcpy(&rx, CMSG_DATA(cm), sizeof rx);
        uint64_t now;
        int64_t offset = fl_realtime_minus_mono(&now), t = (int64_t)ts_ns(&rx) - offset;
        if (t <= 0 || (uint64_t)t > now)
            return 0; /* no stamp, or one from the future: read time it is */
        return (uint64_t)t;
    }
    return 0;
}

static void conn_io(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    bk_conn *c = arg;
    bk_server *srv = ((const listener *)c->listener)->srv;
    if ((events & FL_WRITE) && c->out_len)
        flush(srv, c);
    if (!(events & FL_READ))
        return;
    /* A bounded number of reads, so one busy client cannot starve the rest. */
    for (int i = 0; i < 4; i++) {
        /* The stamp a TCP read returns is the last segment's it consumed:
         * the arrival of the packet that the read's bytes complete last. */
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { srv->rbuf, sizeof srv->rbuf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                             .msg_controllen = sizeof ctl.buf };
        ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
        if (n > 0) {
            if (bk_conn_input_at(c, srv->rbuf, (size_t)n, arrival_mono(&mh)) < 0)
                return;
            if ((size_t)n < sizeof srv->rbuf)
                break;
            continue;
        }
        if (n == 0) {
            lost(c, c->write_failed ? c->write_errno : 0);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        lost(c, errno);
        return;
    }
    if (c->write_failed) {
        /* The peer is gone but no read error arrived yet: end it now with the send error. */
        lost(c, c->write_errno);
    }
}

static int set_tcp_options(int fd, const bk_tcp_opts *t)
{
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0)
        return -1;
    if (t->keepalive != BK_TCPKA_OFF) {
        if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &t->idle, sizeof t->idle) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &t->interval, sizeof t->interval) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &t->count, sizeof t->count) < 0)
            return -1;
    }
    if (t->user_timeout_ms) {
        unsigned u = t->user_timeout_ms;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &u, sizeof u) < 0)
            return -1;
    }
    return 0;
}

static void on_accept(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    listener *l = arg;
    bk_server *srv = l->srv;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                fl_evlog_emit(srv->log, json_pack("{s:s, s:s, s:s}", "ev", "accept_failed", "local", l->addr,
                                                  "errno", strerrorname_np(errno)));
            return;
        }
        /* Keep-alive, user timeout and receive stamps come from the
         * listener (inherited); TCP_NODELAY so a PINGRESP is not held back
         * by Nagle. */
        int on = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        bk_conn *c = bk_conn_new(srv->broker, cfd, (struct sockaddr *)&ss, l->addr, l);
        if (!c) {
            close(cfd);
            continue;
        }
        if (fl_loop_add(loop, cfd, FL_READ, conn_io, c) < 0)
            bk_conn_lost(c, fl_reason_name(FL_REASON_RESET), errno, json_pack("{s:s}", "what", "cannot watch the socket"));
    }
}

/* ---- listeners ---- */

static int split_addr(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || !colon[1])
        return -1;
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        return -1; /* an IPv6 address needs brackets */
    }
    if (hl >= hostlen || strlen(colon + 1) >= portlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    strcpy(port, colon + 1);
    if (strcmp(host, "*") == 0)
        host[0] = 0;
    return 0;
}

static int open_listener(bk_server *srv, const bk_listen_cfg *lc, listener *l, char *err, size_t errlen)
{
    char host[256], port[16];
    if (split_addr(lc->addr, host, sizeof host, port, sizeof port) < 0) {
        snprintf(err, errlen, "listen '%s': expected ADDR:PORT or [IPv6]:PORT", lc->addr);
        return -1;
    }
    struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *res;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "listen '%s': %s", lc->addr, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) ||
        set_tcp_options(fd, &lc->tcp) < 0 ||
        /* Receive stamps, so deadlines count from a packet's arrival. Set on
         * the listener, not on each accepted socket: the kernel switches its
         * stamping on for the whole system from a work queue, some time
         * after the first socket asks, and a segment that comes in before
         * then has no stamp (its read time is used). Asking at start gives
         * that switch until the first client's first packet. */
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "listen '%s': %s", lc->addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    l->srv = srv;
    l->fd = fd;
    l->tcp = lc->tcp;
    fl_format_addr((struct sockaddr *)&ss, l->addr, sizeof l->addr);
    if (fl_loop_add(srv->loop, fd, FL_READ, on_accept, l) < 0) {
        snprintf(err, errlen, "listen '%s': %s", lc->addr, strerror(errno));
        close(fd);
        return -1;
    }
    return 0;
}

int bk_server_listen(bk_server *srv, char *err, size_t errlen)
{
    srv->listeners = calloc(srv->cfg->nlisten, sizeof *srv->listeners);
    if (!srv->listeners) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < srv->cfg->nlisten; i++) {
        if (open_listener(srv, &srv->cfg->listen[i], &srv->listeners[i], err, errlen) < 0)
            return -1;
        srv->nlisteners++;
    }
    for (size_t i = 0; i < srv->nlisteners; i++) {
        const listener *l = &srv->listeners[i];
        json_t *ev = json_pack("{s:s, s:s}", "ev", "listening", "addr", l->addr);
        if (ev && l->tcp.keepalive != BK_TCPKA_OFF)
            json_object_set_new(ev, "tcp_keepalive",
                                json_pack("{s:i, s:i, s:i}", "idle", l->tcp.idle, "interval", l->tcp.interval,
                                          "count", l->tcp.count));
        if (ev && l->tcp.user_timeout_ms)
            json_object_set_new(ev, "tcp_user_timeout_ms", json_integer(l->tcp.user_timeout_ms));
        fl_evlog_emit(srv->log, ev);
    }
    return 0;
}

/* ---- signals and the run ---- */

static void on_signal(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    bk_server *srv = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != (ssize_t)sizeof si)
        return;
    bk_broker_shutdown(srv->broker);
    fl_loop_stop(loop);
}

bk_server *bk_server_new(const bk_config *cfg, fl_evlog *log)
{
    bk_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->cfg = cfg;
    srv->log = log;
    srv->sigfd = -1;
    srv->loop = fl_loop_new();
    if (!srv->loop)
        goto fail;
    /* each close says how late its loop pass ran (docs/events.md) */
    fl_loop_track_wake(srv->loop);
    static const fl_clock *clock = &fl_clock_monotonic;
    bk_transport tx = { tx_write, tx_release, srv };
    srv->broker = bk_broker_new(cfg, fl_loop_timers(srv->loop), clock, log, &tx);
    if (!srv->broker)
        goto fail;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        goto fail;
    srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv->sigfd < 0 || fl_loop_add(srv->loop, srv->sigfd, FL_READ, on_signal, srv) < 0)
        goto fail;
    signal(SIGPIPE, SIG_IGN);
    return srv;
fail:
    bk_server_free(srv);
    return NULL;
}

int bk_server_run(bk_server *srv) { return fl_loop_run(srv->loop); }

void bk_server_free(bk_server *srv)
{
    if (!srv)
        return;
    bk_broker_free(srv->broker);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        fl_loop_remove(srv->loop, srv->listeners[i].fd);
        close(srv->listeners[i].fd);
    }
    free(srv->listeners);
    if (srv->sigfd >= 0)
        close(srv->sigfd);
    fl_loop_free(srv->loop);
    free(srv);
}
