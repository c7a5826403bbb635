#include "tcpopt.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int set_int(int fd, int level, int opt, int value)
{
    return setsockopt(fd, level, opt, &value, sizeof value);
}

int tcpopt_apply(int fd, const swarm_tcp *t, const char **what)
{
    /* PINGREQ is two bytes: Nagle would hold it behind an unacknowledged publish. */
    if (set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
        return *what = "TCP_NODELAY", -1;
    if (t->keepalive) {
        if (set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1) < 0)
            return *what = "SO_KEEPALIVE", -1;
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)t->idle_s) < 0)
            return *what = "TCP_KEEPIDLE", -1;
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, (int)t->interval_s) < 0)
            return *what = "TCP_KEEPINTVL", -1;
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)t->count) < 0)
            return *what = "TCP_KEEPCNT", -1;
    }
    if (t->user_timeout_ms && set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)t->user_timeout_ms) < 0)
        return *what = "TCP_USER_TIMEOUT", -1;
    return 0;
}
