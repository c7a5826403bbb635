/* The one table of reasons a connection ends for, as the event logs spell
 * them (docs/events.md): the broker's `close` reasons, the clients'
 * `dead_detected` reasons, and the detectors the model names. One spelling a
 * reason, so that what the broker writes, what a client writes, what the
 * model predicts and what the analysis compares are the same words.
 *
 * Header only, data and two lookups: the model (which links nothing) reads
 * it as well as the programs. */
#ifndef FLATLINE_CORE_REASON_H
#define FLATLINE_CORE_REASON_H

#include <stddef.h>
#include <string.h>

typedef enum fl_reason {
    FL_REASON_NONE = 0,
    /* a timer of the MQTT layer */
    FL_REASON_KEEPALIVE_TIMEOUT, /* broker: 1.5 x Keep Alive of silence */
    FL_REASON_IDLE_TIMEOUT,      /* broker: Keep Alive 0, its own idle limit */
    FL_REASON_PING_TIMEOUT,      /* client: no PINGRESP in time */
    FL_REASON_CONNECT_TIMEOUT,   /* client: no CONNACK in time */
    /* a TCP timer of the kernel (core/tcpclass.h tells them apart) */
    FL_REASON_TCP_KEEPALIVE,
    FL_REASON_USER_TIMEOUT,
    FL_REASON_RETRANSMIT_TIMEOUT,
    /* the peer, or the network, said so */
    FL_REASON_RESET,
    FL_REASON_EOF,
    FL_REASON_REFUSED,
    FL_REASON_CLOSED, /* seen from outside (a command client): the program closed its socket */
    /* the protocol ended it */
    FL_REASON_CLIENT_DISCONNECT,
    FL_REASON_BROKER_DISCONNECT,
    FL_REASON_TAKEOVER,
    FL_REASON_REJECTED_DUPLICATE,
    FL_REASON_PROTOCOL_ERROR,
    FL_REASON_SHUTDOWN,
    FL_REASON_COUNT
} fl_reason;

/* The event logs' word for r; "none" for FL_REASON_NONE, "?" out of range. */
static inline const char *fl_reason_name(fl_reason r)
{
    static const char *const names[FL_REASON_COUNT] = {
        [FL_REASON_NONE] = "none",
        [FL_REASON_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
        [FL_REASON_IDLE_TIMEOUT] = "idle_timeout",
        [FL_REASON_PING_TIMEOUT] = "ping_timeout",
        [FL_REASON_CONNECT_TIMEOUT] = "connect_timeout",
        [FL_REASON_TCP_KEEPALIVE] = "tcp_keepalive",
        [FL_REASON_USER_TIMEOUT] = "user_timeout",
        [FL_REASON_RETRANSMIT_TIMEOUT] = "retransmit_timeout",
        [FL_REASON_RESET] = "reset",
        [FL_REASON_EOF] = "eof",
        [FL_REASON_REFUSED] = "refused",
        [FL_REASON_CLOSED] = "closed",
        [FL_REASON_CLIENT_DISCONNECT] = "client_disconnect",
        [FL_REASON_BROKER_DISCONNECT] = "broker_disconnect",
        [FL_REASON_TAKEOVER] = "takeover",
        [FL_REASON_REJECTED_DUPLICATE] = "rejected_duplicate",
        [FL_REASON_PROTOCOL_ERROR] = "protocol_error",
        [FL_REASON_SHUTDOWN] = "shutdown",
    };
    return (unsigned)r < FL_REASON_COUNT ? names[r] : "?";
}

/* The reason a word names; FL_REASON_NONE for NULL or a word not in the table
 * (a library adapter may say more: it keeps that in `library_reason`). */
static inline fl_reason fl_reason_parse(const char *word)
{
    for (int r = 1; word && r < FL_REASON_COUNT; r++)
        if (strcmp(word, fl_reason_name((fl_reason)r)) == 0)
            return (fl_reason)r;
    return FL_REASON_NONE;
}

#endif
