/* Which TCP mechanism ended a connection, from the errno and what the socket
 * says about itself (options in force and TCP_INFO). The broker and the swarm
 * name a death the same way through it. docs/broker.md explains
 * the rules; the decision is a pure function so tests can cover every case. */
#ifndef FLATLINE_CORE_TCPCLASS_H
#define FLATLINE_CORE_TCPCLASS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fl_tcp_facts {
    bool keepalive_on;        /* SO_KEEPALIVE */
    uint32_t user_timeout_ms; /* TCP_USER_TIMEOUT; 0 = unset */
    uint8_t probes;           /* tcpi_probes: unanswered keep-alive probes */
    uint8_t retransmits;      /* tcpi_retransmits */
    uint8_t backoff;          /* tcpi_backoff */
    uint32_t unacked;         /* tcpi_unacked: segments sent, not acknowledged */
    uint64_t bytes_sent, bytes_acked; /* tcpi_bytes_sent / _acked: survive the abort's queue purge */
    bool unsent_output;       /* the broker still held bytes the socket had not taken */
} fl_tcp_facts;

/* A close reason of docs/events.md for a socket error err (an errno):
 * "reset", "tcp_keepalive", "user_timeout" or "retransmit_timeout". */
const char *fl_classify_socket_error(int err, const fl_tcp_facts *f);

/* Whether err is one the kernel reports when a TCP timer gave up. */
bool fl_is_timeout_errno(int err);

/* Reads the facts from a socket. Returns 0, or -1 (errno) if it cannot. */
int fl_tcp_facts_read(int fd, fl_tcp_facts *f);

/* The facts as a JSON object for the close event. */
json_t *fl_tcp_facts_json(const fl_tcp_facts *f);

#endif
