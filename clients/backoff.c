#include "backoff.h"

#include <string.h>

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

uint64_t fl_rand64(uint64_t seed, uint64_t client, uint64_t n)
{
    /* Chained so that (seed, client, n) tuples that differ anywhere land far apart. */
    return splitmix64(splitmix64(splitmix64(seed) ^ client) ^ n);
}

uint64_t backoff_ceiling(const reconnect_config *c, uint32_t n)
{
    uint64_t v = c->base_ns;
    for (uint32_t i = 0; i < n && v < c->cap_ns; i++)
        v = v > UINT64_MAX / 2 ? UINT64_MAX : v * 2;
    return v < c->cap_ns ? v : c->cap_ns;
}

bool reconnect_delay(const reconnect_config *c, uint64_t seed, uint64_t client, uint32_t n, uint64_t *delay_ns)
{
    switch (c->kind) {
    case RECONNECT_FIXED:
        *delay_ns = c->delay_ns;
        return true;
    case RECONNECT_BACKOFF: {
        uint64_t ceiling = backoff_ceiling(c, n);
        uint64_t r = fl_rand64(seed, client, n);
        /* Inclusive range; the modulo bias is below 2^-30 for ceilings under 2^34 ns. */
        *delay_ns = ceiling == UINT64_MAX ? r : r % (ceiling + 1);
        return true;
    }
    default:
        return false;
    }
}

static const char *const names[] = {
    [RECONNECT_NONE] = "none",
    [RECONNECT_FIXED] = "fixed",
    [RECONNECT_BACKOFF] = "backoff",
};

const char *reconnect_kind_name(reconnect_kind k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

bool reconnect_kind_parse(const char *name, reconnect_kind *out)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (reconnect_kind)i;
            return true;
        }
    }
    return false;
}
