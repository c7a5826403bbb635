/* Heartbeat strategies: when a client sends PINGREQ and when it declares its
 * connection dead. Pure logic: the caller reports what happened and when
 * ("sent a packet at t", "received a PINGRESP at t", "timer at t") and asks for
 * the next deadline. No I/O, no clock of its own, so tests drive it with
 * injected time.
 *
 * Every strategy also keeps the MQTT obligation towards the broker: when
 * nothing was sent for the negotiated Keep Alive, it pings (otherwise the
 * broker would drop a quiet client). What differs is when it gives up. */
#ifndef FLATLINE_CLIENTS_STRATEGY_H
#define FLATLINE_CLIENTS_STRATEGY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum hb_kind {
    HB_MQTT,          /* dead when one PINGRESP is later than ping_timeout */
    HB_MISS_TOLERANT, /* dead after `misses` consecutive unanswered pings */
    HB_PROBE,         /* ping after `idle` without receiving, then every `interval`; dead after `count` */
    HB_ADAPTIVE,      /* interval from measured RTT and loss within [min, max] and <= Keep Alive */
    HB_TCP_ONLY,      /* pings for the broker's sake, never declares dead: TCP options decide */
} hb_kind;

/* Per group. Times in ns. A zero ping_timeout means Keep Alive / 2. */
typedef struct hb_config {
    hb_kind kind;
    uint64_t ping_timeout_ns; /* mqtt, miss-tolerant; adaptive: the floor of its timeout */
    uint32_t misses;          /* miss-tolerant, adaptive (default 3) */
    uint64_t idle_ns, interval_ns; /* probe */
    uint32_t count;                /* probe */
    uint64_t min_ns, max_ns;       /* adaptive */
} hb_config;

/* Per connection; small on purpose (one per client, 19,000 a process). */
typedef struct hb_state {
    uint64_t last_tx, last_rx; /* last packet sent / received */
    uint64_t ping_at;          /* when the newest unanswered ping left; 0: none */
    uint64_t keepalive_ns;     /* negotiated; 0 disables pinging */
    uint32_t srtt_us, rttvar_us; /* adaptive: smoothed PINGRESP round trip */
    uint16_t loss_q16;         /* adaptive: EWMA of unanswered pings, 65535 = all */
    uint8_t unanswered;        /* consecutive pings without PINGRESP */
    uint8_t rtt_valid;
} hb_state;

typedef enum hb_action {
    HB_NONE = 0,
    HB_SEND_PING, /* send PINGREQ now (the state already counts it as sent) */
    HB_DEAD,      /* declare the connection dead: reason ping_timeout */
} hb_action;

/* A connection came up at now with the negotiated Keep Alive (seconds, the
 * v5 Server Keep Alive when the broker sent one). */
void hb_start(hb_state *s, const hb_config *c, uint16_t keepalive_s, uint64_t now);
/* Any packet was written to the socket at now. */
void hb_on_sent(hb_state *s, uint64_t now);
/* A packet was received at now; is_pingresp answers the outstanding pings.
 * Returns the round trip of the answered ping in ns (0 if none). */
uint64_t hb_on_received(hb_state *s, const hb_config *c, bool is_pingresp, uint64_t now);
/* The deadline is due (now >= hb_deadline). Says what to do; on HB_SEND_PING
 * the ping is recorded as sent at now. */
hb_action hb_on_timer(hb_state *s, const hb_config *c, uint64_t now);
/* When hb_on_timer must next be called; UINT64_MAX: never. */
uint64_t hb_deadline(const hb_state *s, const hb_config *c);

/* The ping interval and ping timeout in force (for the adaptive strategy they
 * move with the measurements). Exposed for tests and for the model bound. */
uint64_t hb_interval(const hb_state *s, const hb_config *c);
uint64_t hb_timeout(const hb_state *s, const hb_config *c);

/* The longest time from the last packet received to HB_DEAD when the peer
 * goes silent, for this configuration and Keep Alive (UINT64_MAX: never). */
uint64_t hb_detection_bound(const hb_config *c, uint16_t keepalive_s);

const char *hb_kind_name(hb_kind k);
/* Returns false if name is not a strategy. */
bool hb_kind_parse(const char *name, hb_kind *out);

#endif
