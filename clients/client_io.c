#include "client_io.h"
#include "core/reason.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/tcpopt.h"
#include "core/evlog.h"
#include "core/tcpclass.h"

static void on_io(fl_loop *loop, int fd, unsigned events, void *arg);

void cio_client_init(client *c)
{
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->fd = -1;
    c->lport = 0;
    c->laddr = CIO_MAX_LADDRS;
}

static uint8_t remember_laddr(cio *io, const struct sockaddr_storage *a)
{
    struct sockaddr_storage key;
    memset(&key, 0, sizeof key);
    if (a->ss_family == AF_INET) {
        struct sockaddr_in *k = (struct sockaddr_in *)&key;
        k->sin_family = AF_INET;
        k->sin_addr = ((const struct sockaddr_in *)a)->sin_addr;
    } else {
        struct sockaddr_in6 *k = (struct sockaddr_in6 *)&key;
        k->sin6_family = AF_INET6;
        k->sin6_addr = ((const struct sockaddr_in6 *)a)->sin6_addr;
    }
    for (size_t i = 0; i < io->nladdrs; i++)
        if (memcmp(&io->laddrs[i], &key, sizeof key) == 0)
            return (uint8_t)i;
    if (io->nladdrs == CIO_MAX_LADDRS)
        return CIO_MAX_LADDRS; /* printed as "?" */
    io->laddrs[io->nladdrs] = key;
    return (uint8_t)io->nladdrs++;
}

const char *cio_conn_text(const client *c, char *buf, size_t len)
{
    const cio *io = cio_of(c);
    if (c->laddr >= io->nladdrs) {
        snprintf(buf, len, "?");
        return buf;
    }
    struct sockaddr_storage a = io->laddrs[c->laddr];
    if (a.ss_family == AF_INET)
        ((struct sockaddr_in *)&a)->sin_port = htons(c->lport);
    else
        ((struct sockaddr_in6 *)&a)->sin6_port = htons(c->lport);
    return fl_format_addr((struct sockaddr *)&a, buf, len);
}

/* ---- writing ---------------------------------------------------------------- */

static void flush_out(client *c)
{
    while (c->out && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            cc_lost(&c->cc, NULL, errno);
            return;
        }
        c->out_off += (uint32_t)n;
        cio_of(c)->bytes_out += (uint64_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->cc.blocked = 0;
    fl_loop_modify(cio_of(c)->loop, c->fd, FL_READ);
}

int cio_send(cc_conn *cc, const uint8_t *buf, size_t len)
{
    client *c = client_of(cc);
    size_t off = 0;
    if (!c->out) {
        while (off < len) {
            ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    break;
                return errno;
            }
            off += (size_t)n;
            cio_of(c)->bytes_out += (uint64_t)n;
        }
        if (off == len)
            return 0;
    }
    size_t rest = len - off, keep = c->out ? c->out_len - c->out_off : 0;
    uint8_t *nb = malloc(keep + rest);
    if (!nb)
        return ENOMEM;
    if (keep)
        memcpy(nb, c->out + c->out_off, keep);
    memcpy(nb + keep, buf + off, rest);
    free(c->out);
    c->out = nb;
    c->out_off = 0;
    c->out_len = (uint32_t)(keep + rest);
    c->cc.blocked = 1;
    fl_loop_modify(cio_of(c)->loop, c->fd, FL_READ | FL_WRITE);
    return 0;
}

const char *cio_reason(cc_conn *cc, int err)
{
    client *c = client_of(cc);
    fl_tcp_facts f;
    if (c->fd < 0 || fl_tcp_facts_read(c->fd, &f) < 0)
        memset(&f, 0, sizeof f);
    f.unsent_output = c->out != NULL;
    return fl_classify_socket_error(err, &f);
}

/* ---- connecting and closing --------------------------------------------------- */

void cio_connect(client *c)
{
    cio *io = cio_of(c);
    const swarm_group *g = cc_group(&c->cc);
    const char *what = "socket";
    /* In flight from here on, so that every failure below is a death. */
    cc_connecting(&c->cc);
    c->laddr = CIO_MAX_LADDRS;
    c->lport = 0;
    c->fd = socket(io->broker.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    fl_timer_watch(&c->cc.timer, c->fd);
    if (tcpopt_apply(c->fd, &g->tcp, &what) < 0)
        goto fail;
    if (io->nsources) {
        const struct sockaddr_storage *src = &io->sources[c->cc.index % io->nsources];
        /* The port is chosen at connect() from the whole 4-tuple, so one
         * source address serves far more than the ephemeral range per broker. */
        int one = 1;
        what = "bind";
        if (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
            bind(c->fd, (const struct sockaddr *)src,
                 src->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0)
            goto fail;
    }
    if (connect(c->fd, (struct sockaddr *)&io->broker, io->broker_len) < 0 && errno != EINPROGRESS) {
        /* ECONNREFUSED, EADDRNOTAVAIL (ports exhausted): a failed attempt like any other. */
        cc_lost(&c->cc, NULL, errno);
        return;
    }
    struct sockaddr_storage local;
    socklen_t llen = sizeof local;
    if (getsockname(c->fd, (struct sockaddr *)&local, &llen) == 0) {
        c->laddr = remember_laddr(io, &local);
        c->lport = ntohs(local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                                    : ((struct sockaddr_in6 *)&local)->sin6_port);
    }
    what = "epoll";
    if (fl_loop_add(io->loop, c->fd, FL_WRITE, on_io, c) < 0)
        goto fail;
    return;
fail:;
    int e = errno;
    if (c->cc.env->complaints++ < 5)
        fprintf(stderr, "flatline-swarm: client %u: %s: %s\n", c->cc.index, what, strerror(e));
    cc_lost(&c->cc, NULL, e);
}

void cio_close(client *c)
{
    if (c->fd >= 0) {
        fl_loop_remove(cio_of(c)->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    fl_timer_watch(&c->cc.timer, -1);
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->cc.blocked = 0;
}

/* ---- reading ------------------------------------------------------------------ */

static void on_readable(client *c)
{
    cio *io = cio_of(c);
    /* A few reads a wakeup: one chatty client must not starve the others. */
    for (int round = 0; round < 4; round++) {
        ssize_t n = recv(c->fd, io->ibuf, sizeof io->ibuf, 0);
        if (n == 0) {
            cc_lost(&c->cc, fl_reason_name(FL_REASON_EOF), 0);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                cc_lost(&c->cc, NULL, errno);
            return;
        }
        io->bytes_in += (uint64_t)n;
        cc_input(&c->cc, io->ibuf, (size_t)n);
        if (c->cc.state != CC_UP && c->cc.state != CC_CONNACK)
            return; /* died */
        if ((size_t)n < sizeof io->ibuf)
            return;
    }
}

static void on_connected(client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        cc_lost(&c->cc, NULL, err);
        return;
    }
    cc_transport_up(&c->cc);
    if (c->cc.state == CC_CONNACK)
        fl_loop_modify(cio_of(c)->loop, c->fd, c->out ? FL_READ | FL_WRITE : FL_READ);
}

static void on_io(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    client *c = arg;
    if (c->cc.state == CC_TCP) {
        /* A refused connect shows as readable and writable; SO_ERROR says which. */
        on_connected(c);
        return;
    }
    if ((events & FL_WRITE) && c->out)
        flush_out(c);
    if ((events & FL_READ) && (c->cc.state == CC_UP || c->cc.state == CC_CONNACK))
        on_readable(c);
}
