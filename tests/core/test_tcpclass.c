/* Telling TCP timeout kinds apart (docs/broker.md, "Close reasons"). */
#include <criterion/criterion.h>
#include <errno.h>

#include "core/tcpclass.h"

Test(tcpclass, resets)
{
    fl_tcp_facts f = { 0 };
    cr_assert_str_eq(fl_classify_socket_error(ECONNRESET, &f), "reset");
    cr_assert_str_eq(fl_classify_socket_error(EPIPE, &f), "reset");
}

Test(tcpclass, keepalive_probes)
{
    fl_tcp_facts f = { .keepalive_on = true, .probes = 3 };
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &f), "tcp_keepalive");
    f.user_timeout_ms = 5000;
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &f), "user_timeout",
                     "with a user timeout the probe count is ignored: the user timeout ended it");
}

Test(tcpclass, retransmissions)
{
    fl_tcp_facts f = { .keepalive_on = true, .retransmits = 6, .backoff = 6 };
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &f), "retransmit_timeout");
    f.user_timeout_ms = 10000;
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &f), "user_timeout");
    /* After the abort the kernel purges the write queue; the byte counters remain. */
    fl_tcp_facts g = { .keepalive_on = true, .probes = 0, .bytes_sent = 100, .bytes_acked = 40 };
    cr_assert_str_eq(fl_classify_socket_error(ETIMEDOUT, &g), "retransmit_timeout");
    fl_tcp_facts h = { .unsent_output = true };
    cr_assert_str_eq(fl_classify_socket_error(EHOSTUNREACH, &h), "retransmit_timeout",
                     "a soft error reported by a timeout counts as one");
}
