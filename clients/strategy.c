#include "strategy.h"

#include <string.h>

#define NONE UINT64_MAX
#define NS_PER_US UINT64_C(1000)
/* The adaptive strategy never waits less than this for a PINGRESP unless the
 * configuration says otherwise: below it, scheduling noise looks like loss. */
#define ADAPTIVE_TIMEOUT_FLOOR_NS (200 * UINT64_C(1000000))
#define ADAPTIVE_FIRST_TIMEOUT_NS (1000 * UINT64_C(1000000))
#define DEFAULT_MISSES 3u

static const char *const names[] = {
    [HB_MQTT] = "mqtt",
    [HB_MISS_TOLERANT] = "miss-tolerant",
    [HB_PROBE] = "probe",
    [HB_ADAPTIVE] = "adaptive",
    [HB_TCP_ONLY] = "tcp-only",
};

const char *hb_kind_name(hb_kind k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

bool hb_kind_parse(const char *name, hb_kind *out)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (hb_kind)i;
            return true;
        }
    }
    return false;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t add_sat(uint64_t a, uint64_t b) { return a > NONE - b ? NONE : a + b; }

static uint32_t misses_of(const hb_config *c)
{
    switch (c->kind) {
    case HB_MQTT:
        return 1;
    case HB_PROBE:
        return c->count ? c->count : DEFAULT_MISSES;
    default:
        return c->misses ? c->misses : DEFAULT_MISSES;
    }
}

static uint64_t adaptive_interval(const hb_config *c, uint16_t loss_q16, uint64_t keepalive_ns)
{
    /* More loss, more frequent pings: a lossy path is the one likely to die. */
    uint64_t span = c->max_ns > c->min_ns ? c->max_ns - c->min_ns : 0;
    uint64_t i = c->max_ns - (uint64_t)(((unsigned __int128)span * loss_q16) / 65535u);
    i = max_u64(i, c->min_ns);
    if (keepalive_ns)
        i = min_u64(i, keepalive_ns);
    return i;
}

uint64_t hb_interval(const hb_state *s, const hb_config *c)
{
    switch (c->kind) {
    case HB_PROBE:
        return c->interval_ns;
    case HB_ADAPTIVE:
        return adaptive_interval(c, s->loss_q16, s->keepalive_ns);
    default:
        return s->keepalive_ns;
    }
}

static uint64_t adaptive_timeout(const hb_config *c, const hb_state *s, uint64_t interval)
{
    uint64_t floor = c->ping_timeout_ns ? c->ping_timeout_ns : ADAPTIVE_TIMEOUT_FLOOR_NS;
    uint64_t t = s->rtt_valid ? ((uint64_t)s->srtt_us + 4 * (uint64_t)s->rttvar_us) * NS_PER_US
                              : ADAPTIVE_FIRST_TIMEOUT_NS;
    t = max_u64(t, floor);
    /* Answering slower than half the interval is as good as not answering. */
    return min_u64(t, interval / 2);
}

uint64_t hb_timeout(const hb_state *s, const hb_config *c)
{
    switch (c->kind) {
    case HB_PROBE:
        return c->interval_ns;
    case HB_ADAPTIVE:
        return adaptive_timeout(c, s, hb_interval(s, c));
    default:
        return c->ping_timeout_ns ? c->ping_timeout_ns : s->keepalive_ns / 2;
    }
}

void hb_start(hb_state *s, const hb_config *c, uint16_t keepalive_s, uint64_t now)
{
    (void)c;
    memset(s, 0, sizeof *s);
    s->last_tx = s->last_rx = now;
    s->keepalive_ns = (uint64_t)keepalive_s * UINT64_C(1000000000);
}

void hb_on_sent(hb_state *s, uint64_t now) { s->last_tx = now; }

static void loss_update(hb_state *s, bool lost)
{
    /* EWMA with gain 1/8, the same weight TCP gives a new RTT sample. */
    if (lost)
        s->loss_q16 = (uint16_t)(s->loss_q16 + (65535u - s->loss_q16) / 8);
    else
        s->loss_q16 = (uint16_t)(s->loss_q16 - s->loss_q16 / 8);
}

static void rtt_update(hb_state *s, uint64_t rtt_ns)
{
    uint64_t r = rtt_ns / NS_PER_US;
    if (r > UINT32_MAX)
        r = UINT32_MAX;
    if (!s->rtt_valid) {
        /* RFC 6298 section 2.2 */
        s->srtt_us = (uint32_t)r;
        s->rttvar_us = (uint32_t)(r / 2);
        s->rtt_valid = 1;
        return;
    }
    uint64_t srtt = s->srtt_us, dev = srtt > r ? srtt - r : r - srtt;
    s->rttvar_us = (uint32_t)((3 * (uint64_t)s->rttvar_us + dev) / 4);
    s->srtt_us = (uint32_t)((7 * srtt + r) / 8);
}

uint64_t hb_on_received(hb_state *s, const hb_config *c, bool is_pingresp, uint64_t now)
{
    s->last_rx = now;
    if (!is_pingresp || !s->ping_at)
        return 0;
    uint64_t rtt = now > s->ping_at ? now - s->ping_at : 0;
    if (c->kind == HB_ADAPTIVE) {
        rtt_update(s, rtt);
        loss_update(s, false);
    }
    s->ping_at = 0;
    s->unanswered = 0;
    return rtt;
}

/* The ping the broker needs: something sent at least every Keep Alive. */
static uint64_t keepalive_ping_due(const hb_state *s)
{
    return s->keepalive_ns ? add_sat(s->last_tx, s->keepalive_ns) : NONE;
}

/* When, without an outstanding ping, the strategy itself wants to probe. */
static uint64_t idle_ping_due(const hb_state *s, const hb_config *c)
{
    switch (c->kind) {
    case HB_PROBE:
        return add_sat(s->last_rx, c->idle_ns ? c->idle_ns : c->interval_ns);
    case HB_ADAPTIVE:
        return add_sat(s->last_rx, hb_interval(s, c));
    default:
        return NONE;
    }
}

uint64_t hb_deadline(const hb_state *s, const hb_config *c)
{
    if (s->ping_at && c->kind != HB_TCP_ONLY)
        return add_sat(s->ping_at, hb_timeout(s, c));
    return min_u64(keepalive_ping_due(s), idle_ping_due(s, c));
}

static hb_action send_ping(hb_state *s, uint64_t now)
{
    s->ping_at = now;
    s->last_tx = now;
    if (s->unanswered < UINT8_MAX)
        s->unanswered++;
    return HB_SEND_PING;
}

hb_action hb_on_timer(hb_state *s, const hb_config *c, uint64_t now)
{
    if (now < hb_deadline(s, c))
        return HB_NONE;
    if (!s->ping_at || c->kind == HB_TCP_ONLY)
        return send_ping(s, now);
    /* The newest ping went unanswered for its whole timeout. */
    if (c->kind == HB_ADAPTIVE)
        loss_update(s, true);
    if (s->unanswered >= misses_of(c))
        return HB_DEAD;
    return send_ping(s, now);
}

uint64_t hb_detection_bound(const hb_config *c, uint16_t keepalive_s)
{
    hb_state s;
    hb_start(&s, c, keepalive_s, 0);
    uint64_t ka = s.keepalive_ns, first, each;
    switch (c->kind) {
    case HB_TCP_ONLY:
        return NONE;
    case HB_PROBE:
        first = min_u64(c->idle_ns ? c->idle_ns : c->interval_ns, ka ? ka : NONE);
        each = c->interval_ns;
        break;
    case HB_ADAPTIVE:
        /* The widest interval, and the timeout's ceiling (half of it). */
        first = adaptive_interval(c, 0, ka);
        each = first / 2;
        break;
    default:
        if (!ka)
            return NONE;
        first = ka;
        each = hb_timeout(&s, c);
        break;
    }
    return add_sat(first, each * misses_of(c));
}
