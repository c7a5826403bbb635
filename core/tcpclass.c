#include "tcpclass.h"
#include "core/reason.h"

#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcpi_bytes_sent/acked: newer than glibc's struct tcp_info */
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

bool fl_is_timeout_errno(int err)
{
    /* A timer that gave up reports ETIMEDOUT, or the soft error it last saw
     * (EHOSTUNREACH after failed ARP, ...). */
    return err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN || err == ENETDOWN;
}

const char *fl_classify_socket_error(int err, const fl_tcp_facts *f)
{
    if (!fl_is_timeout_errno(err))
        return fl_reason_name(FL_REASON_RESET);
    /* Data in flight: the retransmission timer ended it, bounded by the user
     * timeout when one is set, else by tcp_retries2. */
    bool data_in_flight = f->retransmits > 0 || f->backoff > 0 || f->unacked > 0 || f->unsent_output ||
                          f->bytes_sent > f->bytes_acked;
    if (data_in_flight)
        return fl_reason_name(f->user_timeout_ms ? FL_REASON_USER_TIMEOUT : FL_REASON_RETRANSMIT_TIMEOUT);
    /* Idle with unanswered keep-alive probes: with a user timeout the kernel
     * ignores the probe count and aborts when the user timeout has passed
     * (tcp_keepalive_timer), so the user timeout is what ended it. */
    if (f->probes > 0 && f->keepalive_on)
        return fl_reason_name(f->user_timeout_ms ? FL_REASON_USER_TIMEOUT : FL_REASON_TCP_KEEPALIVE);
    if (f->user_timeout_ms)
        return fl_reason_name(FL_REASON_USER_TIMEOUT);
    return fl_reason_name(f->keepalive_on ? FL_REASON_TCP_KEEPALIVE : FL_REASON_RETRANSMIT_TIMEOUT);
}

int fl_tcp_facts_read(int fd, fl_tcp_facts *f)
{
    memset(f, 0, sizeof *f);
    int on = 0;
    socklen_t len = sizeof on;
    if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len) < 0)
        return -1;
    f->keepalive_on = on != 0;
    unsigned uto = 0;
    len = sizeof uto;
    if (getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, &len) == 0)
        f->user_timeout_ms = uto;
    struct tcp_info ti;
    len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -1;
    f->probes = ti.tcpi_probes;
    f->retransmits = ti.tcpi_retransmits;
    f->backoff = ti.tcpi_backoff;
    f->unacked = ti.tcpi_unacked;
    if (len >= offsetof(struct tcp_info, tcpi_bytes_sent) + sizeof ti.tcpi_bytes_sent) {
        f->bytes_sent = ti.tcpi_bytes_sent;
        f->bytes_acked = ti.tcpi_bytes_acked;
    }
    return 0;
}

json_t *fl_tcp_facts_json(const fl_tcp_facts *f)
{
    return json_pack("{s:b, s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:b}", "keepalive", f->keepalive_on,
                     "user_timeout_ms", (json_int_t)f->user_timeout_ms, "probes", f->probes, "retransmits",
                     f->retransmits, "backoff", f->backoff, "unacked", (json_int_t)f->unacked, "bytes_sent",
                     (json_int_t)f->bytes_sent, "bytes_acked", (json_int_t)f->bytes_acked, "unsent",
                     f->unsent_output);
}
