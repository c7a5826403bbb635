/* The TCP options a group's "tcp" settings put on a client socket, read back
 * from the kernel, and the facts the swarm names a death by (core/tcpclass.h)
 * seeing them. An unconnected socket: no traffic, no waiting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients/tcpopt.h"
#include "core/tcpclass.h"

static int get_int(int fd, int level, int opt)
{
    int v = -1;
    socklen_t len = sizeof v;
    cr_assert_eq(getsockopt(fd, level, opt, &v, &len), 0);
    return v;
}

Test(tcpopt, keepalive_and_user_timeout_reach_the_socket)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    swarm_tcp t = { .keepalive = true, .idle_s = 5, .interval_s = 1, .count = 3, .user_timeout_ms = 4500 };
    const char *what = NULL;
    cr_assert_eq(tcpopt_apply(fd, &t, &what), 0, "%s", what ? what : "");
    cr_assert_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 5);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 1);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 4500);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1, "PINGREQ must not wait behind Nagle");
    fl_tcp_facts f;
    cr_assert_eq(fl_tcp_facts_read(fd, &f), 0);
    cr_assert(f.keepalive_on);
    cr_assert_eq(f.user_timeout_ms, 4500);
    close(fd);
}

Test(tcpopt, keepalive_off_leaves_the_kernel_default)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    swarm_tcp t = { .keepalive = false };
    const char *what = NULL;
    cr_assert_eq(tcpopt_apply(fd, &t, &what), 0);
    cr_assert_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    cr_assert_eq(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
    fl_tcp_facts f;
    cr_assert_eq(fl_tcp_facts_read(fd, &f), 0);
    cr_assert_not(f.keepalive_on);
    /* ETIMEDOUT on such a socket, idle: the retransmission timer's, never tcp_keepalive. */
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &f), "retransmit_timeout");
    close(fd);
}

Test(tcpopt, a_refused_option_is_named)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    swarm_tcp t = { .keepalive = true, .idle_s = 0, .interval_s = 1, .count = 3 }; /* TCP_KEEPIDLE 0: EINVAL */
    const char *what = NULL;
    cr_assert_eq(tcpopt_apply(fd, &t, &what), -1);
    cr_assert_str_eq(what, "TCP_KEEPIDLE");
    close(fd);
}
