#include "harness/wire/sockwatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"

struct fl_sockwatch {
    int fd;
    uint16_t port;
    uint64_t interval_ns;
    fl_loop *loop;
    fl_timer timer;
    json_t *established; /* conn -> true, as of the last poll */
    fl_sockwatch_fn fn;
    void *arg;
};

static int open_in_namespace(void *arg)
{
    int *fd = arg;
    *fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return *fd < 0 ? -1 : 0;
}

/* One dump of the established IPv4 TCP sockets on the broker's port. */
static json_t *dump(fl_sockwatch *w)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg = {
        .nlh = { .nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
        .req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = 1u << TCP_ESTABLISHED },
    };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(w->fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return NULL;
    json_t *set = json_object();
    static char buf[65536];
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return set;
            if (h->nlmsg_type == NLMSG_ERROR) {
                json_decref(set);
                return NULL;
            }
            const struct inet_diag_msg *d = NLMSG_DATA(h);
            if (ntohs(d->id.idiag_sport) != w->port)
                continue;
            char host[INET_ADDRSTRLEN], conn[64];
            inet_ntop(AF_INET, d->id.idiag_dst, host, sizeof host);
            snprintf(conn, sizeof conn, "%s:%u", host, ntohs(d->id.idiag_dport));
            json_object_set_new(set, conn, json_true());
        }
    }
    json_decref(set);
    return NULL;
}

static void poll_once(fl_sockwatch *w)
{
    json_t *now = dump(w);
    if (!now)
        return;
    uint64_t t = fl_now_ns();
    const char *conn;
    json_t *v;
    json_object_foreach(w->established, conn, v) {
        if (json_object_get(now, conn))
            continue;
        json_t *ev = json_pack("{s:I, s:s, s:s, s:s}", "t", (json_int_t)t, "src", "wire", "ev", "broker_closed",
                               "conn", conn);
        w->fn(ev, w->arg);
        json_decref(ev);
    }
    json_decref(w->established);
    w->established = now;
}

static void on_timer(fl_timer *t, uint64_t now_ns, void *arg)
{
    fl_sockwatch *w = arg;
    poll_once(w);
    fl_loop_timer_set(w->loop, t, now_ns + w->interval_ns);
}

fl_sockwatch *fl_sockwatch_open(fl_host *broker, uint16_t port, uint64_t interval_ns, fl_loop *loop,
                                fl_sockwatch_fn fn, void *arg, char *err, size_t errlen)
{
    fl_sockwatch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = -1;
    if (fl_host_run(broker, open_in_namespace, &w->fd, err, errlen) != 0 || w->fd < 0) {
        if (w->fd < 0 && errlen)
            snprintf(err, errlen, "sock_diag socket in the broker host: %s", strerror(errno));
        free(w);
        return NULL;
    }
    w->port = port;
    w->interval_ns = interval_ns;
    w->loop = loop;
    w->fn = fn;
    w->arg = arg;
    w->established = json_object();
    fl_timer_init(&w->timer, on_timer, w);
    fl_loop_timer_set(loop, &w->timer, fl_now_ns() + interval_ns);
    return w;
}

void fl_sockwatch_close(fl_sockwatch *w)
{
    if (!w)
        return;
    fl_loop_timer_cancel(w->loop, &w->timer);
    close(w->fd);
    json_decref(w->established);
    free(w);
}
