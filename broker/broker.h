/* The broker's protocol core: sessions, subscriptions, QoS flows, wills and
 * keep-alive, driven without sockets. The transport (server.c, or a test or
 * fuzz driver) feeds received bytes with bk_conn_input and gets bytes to send
 * through bk_transport.write; time comes from an injected fl_clock and
 * deadlines live in a caller-owned fl_timer_heap (the loop's, in the server).
 * Every decision is logged to the event log (docs/events.md). */
#ifndef FLATLINE_BROKER_BROKER_H
#define FLATLINE_BROKER_BROKER_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/clock.h"
#include "core/evlog.h"
#include "core/timer.h"
#include "mqtt/mqtt.h"
#include "session.h"

typedef struct bk_broker bk_broker;
typedef struct bk_conn bk_conn;

typedef struct bk_transport {
    /* Sends (or keeps for later) len bytes to c's peer. Must not call back
     * into the broker; a failed send shows up later as a lost connection. */
    void (*write)(bk_conn *c, const uint8_t *data, size_t len, void *ctx);
    /* The broker is done with c (closed): release the socket. The broker
     * frees c itself afterwards. */
    void (*release)(bk_conn *c, void *ctx);
    void *ctx;
} bk_transport;

/* One network connection. Kept small: idle connections are the common case. */
struct bk_conn {
    bk_conn *prev, *next; /* the broker's list of live connections */
    bk_broker *b;
    bk_session *s;        /* NULL before CONNECT */
    const void *listener; /* the transport's tag (server.c: its listener) */
    bk_msg *will;
    uint8_t *partial;     /* the start of an unfinished packet, NULL between packets */
    uint32_t partial_len, partial_cap;
    fl_timer timer;       /* keep-alive / idle / CONNECT deadline */
    uint64_t last_rx, last_app_rx; /* when the last (application) packet arrived */
    uint64_t bytes_in, bytes_out;
    uint8_t *out;         /* transport: bytes not yet accepted by the socket */
    uint32_t out_len, out_cap;
    uint32_t will_delay, peer_max_packet;
    uint32_t rx_lag; /* ns from the last packet's arrival to its read (saturating; in padding) */
    uint16_t keepalive, peer_receive_max;
    int fd;
    uint8_t version;
    uint8_t write_errno; /* transport: why a send failed */
    bool connected, closed, write_failed;
    uint8_t busy;
    /* The peer, compact (a sockaddr_in6 would be 28 bytes): family, port in
     * network order, address (4 or 16 bytes). */
    uint16_t peer_family;
    uint16_t peer_port;
    uint8_t peer_addr[16];
};

bk_broker *bk_broker_new(const bk_config *cfg, fl_timer_heap *timers, const fl_clock *clock, fl_evlog *log,
                         const bk_transport *tx);
/* Frees sessions, retained messages and any connection still open (without
 * logging). Call bk_broker_shutdown first for an orderly end. */
void bk_broker_free(bk_broker *b);

/* A new connection from peer (may be NULL) on `local` (the listener address,
 * for the accept event). Arms the CONNECT deadline. */
bk_conn *bk_conn_new(bk_broker *b, int fd, const struct sockaddr *peer, const char *local, const void *listener);

/* Bytes received on c. Returns 0, or -1 when c was closed and freed. */
int bk_conn_input(bk_conn *c, const uint8_t *data, size_t len);
/* The same, for bytes that arrived at `arrived` (the broker's clock: the
 * kernel's receive timestamp mapped onto it; 0 = unknown, taken as now).
 * Keep-alive deadlines count from the arrival (MQTT-3.1.2-24 speaks of the
 * time a packet is received), so a broker late to read does not move them. */
int bk_conn_input_at(bk_conn *c, const uint8_t *data, size_t len, uint64_t arrived);

/* The transport saw the connection end: reason is one of docs/events.md's
 * close reasons, err the errno (0 none), extra fields for the close event
 * (stolen; may be NULL). The will is published. c is freed. */
void bk_conn_lost(bk_conn *c, const char *reason, int err, json_t *extra);

/* Closes every connection with reason "shutdown" (v5 clients get DISCONNECT
 * 0x8B first), logs "shutdown"; returns how many were closed. */
size_t bk_broker_shutdown(bk_broker *b);

/* "198.18.1.2:40312": c's peer as events name it. buf needs 64 bytes. */
const char *bk_conn_name(const bk_conn *c, char *buf, size_t len);

/* Counters for tests and benchmarks. */
typedef struct bk_stats {
    size_t connections, sessions, retained, dropped_queue_full, expired;
} bk_stats;
bk_stats bk_broker_stats(const bk_broker *b);

#endif
