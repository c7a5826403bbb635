/* Reconnect delays: none, fixed, or exponential back-off with full jitter.
 * The jitter comes from a counter-based generator keyed by (run seed, client
 * index, attempt), so each client has its own stream, no state is kept per
 * client, and a run with the same seed repeats exactly. */
#ifndef FLATLINE_CLIENTS_BACKOFF_H
#define FLATLINE_CLIENTS_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

typedef enum reconnect_kind {
    RECONNECT_NONE,
    RECONNECT_FIXED,
    RECONNECT_BACKOFF,
} reconnect_kind;

typedef struct reconnect_config {
    reconnect_kind kind;
    uint64_t delay_ns; /* fixed */
    uint64_t base_ns, cap_ns; /* backoff */
} reconnect_config;

/* A uniform 64-bit value for (seed, client, n): splitmix64 over the mixed key. */
uint64_t fl_rand64(uint64_t seed, uint64_t client, uint64_t n);

/* The ceiling of back-off attempt n (0 = the first reconnect after a loss):
 * min(cap, base * 2^n). */
uint64_t backoff_ceiling(const reconnect_config *c, uint32_t n);

/* The delay before reconnect attempt n of client `client`; false when the
 * configuration does not reconnect. Back-off draws uniformly from
 * [0, backoff_ceiling(n)] ("full jitter"). */
bool reconnect_delay(const reconnect_config *c, uint64_t seed, uint64_t client, uint32_t n, uint64_t *delay_ns);

const char *reconnect_kind_name(reconnect_kind k);
bool reconnect_kind_parse(const char *name, reconnect_kind *out);

#endif
