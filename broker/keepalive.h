/* The broker's keep-alive rules as pure functions of time: what keep-alive a
 * CONNECT is granted, and when a connection that has gone quiet is due to be
 * closed. Nothing here reads a clock; the caller passes "now" and the
 * timestamps it recorded, so tests drive it with an injected fl_clock. */
#ifndef FLATLINE_BROKER_KEEPALIVE_H
#define FLATLINE_BROKER_KEEPALIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/mqtt.h"

#define BK_NEVER UINT64_MAX

typedef struct bk_ka_config {
    double grace;            /* deadline = last packet + grace x KeepAlive (1.5) */
    uint16_t max_keepalive;  /* s; 0 = no maximum */
    bool v3_refuse_over_max; /* 3.1.1 cannot be told a lower value: refuse or clamp silently */
    uint16_t zero_ceiling;   /* s; KeepAlive 0 is granted this instead; 0 = 0 really disables */
    uint32_t idle_timeout;   /* s; application idle limit, PINGREQ does not count; 0 = off */
} bk_ka_config;

typedef struct bk_ka_grant {
    bool refuse;           /* 3.1.1 over the maximum with v3_refuse_over_max */
    uint16_t granted;      /* s; the value the broker enforces (0 = none) */
    bool send_server_ka;   /* v5: CONNACK carries Server Keep Alive (0x13) = granted */
    uint64_t period_ns;    /* grace x granted in ns, 0 when disabled */
} bk_ka_grant;

/* Which keep-alive a client asking for `asked` seconds gets. */
bk_ka_grant bk_ka_decide(const bk_ka_config *cfg, mqtt_version version, uint16_t asked);

/* grace x seconds in ns; grace counts to a millionth. */
uint64_t bk_ka_period_ns(double grace, uint32_t seconds);

/* The keep-alive deadline: last_rx + period, or BK_NEVER when period is 0. */
uint64_t bk_ka_deadline(uint64_t last_rx_ns, uint64_t period_ns);
/* The idle deadline: last application packet + idle_timeout, or BK_NEVER. */
uint64_t bk_idle_deadline(const bk_ka_config *cfg, uint64_t last_app_rx_ns);

/* A packet counts for the idle limit unless it is a PINGREQ. */
static inline bool bk_ka_counts_as_activity(mqtt_type type) { return type != MQTT_PINGREQ; }

typedef enum bk_ka_due {
    BK_KA_NOT_DUE = 0,
    BK_KA_KEEPALIVE, /* no packet at all for grace x KeepAlive */
    BK_KA_IDLE,      /* no application packet for idle_timeout */
} bk_ka_due;

/* What is due at now, and (when something is) its deadline in *deadline_ns.
 * When both are due the earlier wins; keep-alive on a tie. */
bk_ka_due bk_ka_check(uint64_t now_ns, uint64_t ka_deadline, uint64_t idle_deadline, uint64_t *deadline_ns);

static inline uint64_t bk_min_deadline(uint64_t a, uint64_t b) { return a < b ? a : b; }

#endif
