/* The swarm clients' sockets: the non-blocking connect (source address, TCP
 * options), reads handed to the client core as bytes, writes with the little
 * the kernel refuses kept for later, and socket errors named by the TCP facts
 * (core/tcpclass.h). Everything about MQTT and time is in client_core.h. */
#ifndef FLATLINE_CLIENTS_CLIENT_IO_H
#define FLATLINE_CLIENTS_CLIENT_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "clients/client_core.h"
#include "core/loop.h"

#define CIO_MAX_LADDRS 255
#define CIO_IBUF_SIZE (64 * 1024)

/* What every client's socket shares: the loop, the addresses, the byte
 * counters and the one input buffer. */
typedef struct cio {
    fl_loop *loop;
    struct sockaddr_storage broker;
    socklen_t broker_len;
    struct sockaddr_storage *sources; /* bound round-robin by client index */
    size_t nsources;
    struct sockaddr_storage laddrs[CIO_MAX_LADDRS]; /* the local addresses seen, for conn texts */
    size_t nladdrs;
    uint64_t bytes_in, bytes_out;
    uint8_t ibuf[CIO_IBUF_SIZE];
} cio;

/* One client: its core and its socket. Output is written at once and only
 * what the kernel refuses is kept (rare: packets are tiny). */
typedef struct client {
    cc_conn cc; /* first: the core's send and reason callbacks find the client from it */
    uint8_t *out; /* unsent tail, or NULL */
    uint32_t out_len, out_off;
    int fd;
    uint16_t lport;
    uint8_t laddr; /* index into io->laddrs; CIO_MAX_LADDRS: unknown */
} client;

static inline client *client_of(cc_conn *cc) { return (client *)cc; }
/* The shared state: cc_env.transport points to it. */
static inline cio *cio_of(const client *c) { return (cio *)c->cc.env->transport; }

/* A client with no socket yet, after cc_init (whose env->transport is the cio). */
void cio_client_init(client *c);
/* Opens c's socket and starts the non-blocking connect; the core's connect
 * timeout runs from here. A failure is reported by the core as a death. */
void cio_connect(client *c);
/* Closes the socket and drops pending output; no event. */
void cio_close(client *c);

/* The core's transport callbacks (cc_env.send, cc_env.reason). */
int cio_send(cc_conn *cc, const uint8_t *buf, size_t len);
const char *cio_reason(cc_conn *cc, int err);

/* "198.18.1.2:40001", or "?" before the socket had an address. */
const char *cio_conn_text(const client *c, char *buf, size_t len);

#endif
