/* The prediction: the sweep over the heartbeat's unknown phase, the winning
 * detector per side, the explanations, the heartbeat overhead. */
#include "model/broker_rule.h"
#include "model/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the sweep over phases ---------------------------------------------- */

typedef struct accum {
    double lo, hi;        /* over all phases */
    double worst_hi;      /* the hi of the latest phase (finite part) */
    fl_detector winner;
    unsigned winners;
    unsigned sure, maybe; /* detectors seen as certain / as only sometimes */
    fl_window by[FL_DET_COUNT];
    bool any_never, any_detect;
} accum;

static void accum_init(accum *a)
{
    a->lo = INF;
    a->hi = -INF;
    a->winner = FL_DET_NONE;
    a->winners = a->sure = a->maybe = 0;
    a->any_never = a->any_detect = false;
    for (int i = 0; i < FL_DET_COUNT; i++)
        a->by[i] = (fl_window){INF, -INF};
}

/* One phase: the side detects at the earliest candidate's lo at the soonest,
 * and by the earliest hi of those that surely fire at the latest (a maybe
 * candidate moves lo, never hi). */
static void accum_add(accum *a, const cand *cs, int n)
{
    double lo = INF, hi = INF;
    fl_detector first = FL_DET_NONE;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, cs[i].lo);
        if (!cs[i].maybe && cs[i].hi < hi) {
            hi = cs[i].hi;
            first = cs[i].det;
        }
    }
    if (first == FL_DET_NONE)
        a->any_never = true; /* nothing certain: it may go unnoticed */
    if (n == 0)
        return;
    a->any_detect = true;
    for (int i = 0; i < n; i++) {
        unsigned bit = 1u << cs[i].det;
        /* An open-ended maybe (every retry's SYN) lasts as long as the ghost. */
        double own_hi = cs[i].maybe && !isfinite(cs[i].hi) ? fmax(cs[i].lo, hi) : cs[i].hi;
        fl_window *b = &a->by[cs[i].det];
        b->lo_s = fmin(b->lo_s, cs[i].lo);
        b->hi_s = fmax(b->hi_s, own_hi);
        if (cs[i].lo <= hi)
            a->winners |= bit;
        if (cs[i].maybe)
            a->maybe |= bit;
        else
            a->sure |= bit;
    }
    a->lo = fmin(a->lo, lo);
    if (first != FL_DET_NONE && hi > a->hi) {
        a->hi = hi;
        a->winner = first;
    }
}

typedef int (*cands_fn)(const fl_model_config *, const derived *, const phase *, cand *);

static size_t phase_points(double a, double b, double kmin, double *out, size_t cap)
{
    size_t n = 0;
    if (!(b > a)) {
        out[n++] = a;
        return n;
    }
    for (int i = 0; i <= PHASE_SAMPLES; i++)
        out[n++] = a + (b - a) * i / PHASE_SAMPLES;
    /* last_rx jumps at every multiple of the keep-alive idle: sample both sides. */
    if (isfinite(kmin) && kmin > 0) {
        for (double k = ceil(a / kmin); k * kmin <= b && n + 2 <= cap; k++) {
            if (k * kmin - 1e-9 >= a)
                out[n++] = k * kmin - 1e-9;
            out[n++] = k * kmin;
        }
    }
    return n;
}

/* The broker in the sweep: its own timers, and the client coming back
 * (reconnect.c). The per-connection instant reads the reconnect from the
 * connection's history instead. */
static int broker_sweep_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs)
{
    return fl_model__reconnect_cands(c, d, ph, cs, fl_model__broker_cands(c, d, ph, cs));
}

static void sweep(const fl_model_config *c, const derived *d, cands_fn fn, accum *a)
{
    static const size_t cap = PHASE_SAMPLES + 1 + MAX_BREAKPOINTS;
    double pts[PHASE_SAMPLES + 1 + MAX_BREAKPOINTS];
    /* Without a heartbeat, keep-alive probe exchanges are the only traffic:
     * the fault lands somewhere in their cycle. */
    double hb_lo = 0, hb_hi = isfinite(d->hb_period) ? d->hb_period : isfinite(d->kmin) ? d->kmin : 0;
    bool pub_indep = d->pub > 0 && !d->pub_is_hb;
    double pub_lo = 0, pub_hi = pub_indep ? d->pub : 0;
    bool nat_timeout = c->fault == FL_MF_NAT_TIMEOUT;

    if (c->reference == FL_REF_LAST_RX) {
        hb_hi = 0;
        pub_hi = 0;
    } else if (nat_timeout) {
        /* The mapping expires exactly nat.timeout_s into a silence. */
        hb_lo = fmin(c->nat.timeout_s, hb_hi);
        pub_lo = fmin(c->nat.timeout_s, pub_hi);
    }
    size_t np = phase_points(hb_lo, hb_hi, nat_timeout ? INF : d->kmin, pts, cap);
    for (size_t i = 0; i < np; i++) {
        for (int j = 0; j < (pub_indep ? PUB_PHASE_SAMPLES : 1); j++) {
            phase ph = {.since_hb = pts[i], .since_pub = INF};
            if (pub_indep)
                ph.since_pub = pub_lo + (pub_hi - pub_lo) * j / (PUB_PHASE_SAMPLES - 1);
            double since_any = fmin(ph.since_hb, ph.since_pub);
            if (!isfinite(since_any))
                since_any = 0; /* no traffic at all: measure from the last packet */
            if (nat_timeout && c->reference != FL_REF_LAST_RX)
                ph.last_rx = -c->nat.timeout_s;
            else if (isfinite(d->kmin))
                ph.last_rx = -fmod(since_any, d->kmin);
            else
                ph.last_rx = -since_any;
            cand cs[MAX_CANDS];
            int n = fn(c, d, &ph, cs);
            accum_add(a, cs, n);
        }
    }
}

/* ---- explanations ------------------------------------------------------- */

static void explain(const fl_model_config *c, const derived *d, fl_side side, fl_detector det, char *buf,
                    size_t len)
{
    const fl_model_tcp *t = side == FL_SIDE_BROKER ? &c->broker.tcp : &c->client.tcp;
    switch (det) {
    case FL_DET_KEEPALIVE_TIMEOUT:
        if (c->broker.whole_seconds || c->broker.check_interval_s > 0 || c->broker.check_interval_ka > 0) {
            fl_broker_rule rule = fl_broker_rule_of(c);
            char r[120];
            fl_broker_rule_describe(&rule, d->ka, r, sizeof r);
            snprintf(buf, len, "MQTT keep-alive: %s after the client's last packet (it sends every %g s)", r,
                     d->pub_is_hb ? d->pub : d->hb_period);
        } else
            snprintf(buf, len, "MQTT keep-alive: %g x %g s = %g s after the client's last packet (it sends every %g s)",
                     c->broker.grace, d->ka, c->broker.grace * d->ka, d->pub_is_hb ? d->pub : d->hb_period);
        break;
    case FL_DET_IDLE_TIMEOUT:
        snprintf(buf, len, "idle limit: %g s after the last application message (one every %g s)",
                 c->broker.idle_timeout_s, d->pub);
        break;
    case FL_DET_PING_TIMEOUT:
        if (d->ping_wait_lo == d->ping_wait_hi)
            snprintf(buf, len, "%s strategy: ping %g s after the last exchange, dead %g s later",
                     fl_model__strategy_name(c->client.strategy), d->hb_period, d->ping_wait_lo);
        else
            snprintf(buf, len, "%s strategy: ping %g s after the last exchange, dead %g..%g s later",
                     fl_model__strategy_name(c->client.strategy), d->hb_period, d->ping_wait_lo, d->ping_wait_hi);
        break;
    case FL_DET_TCP_KEEPALIVE:
        snprintf(buf, len, "TCP keep-alive %g + %d x %g = %g s after the last received segment",
                 t->idle_s, fl_model__keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s),
                 t->interval_s, fl_model_tcp_keepalive_s(t->idle_s, t->interval_s, t->count, t->user_timeout_s));
        break;
    case FL_DET_USER_TIMEOUT:
        if (t->keepalive)
            snprintf(buf, len,
                     "TCP_USER_TIMEOUT %g s: idle, keep-alive %g + %g x %d = %g s after the last received segment; "
                     "with data out, %g s after its first retransmission",
                     t->user_timeout_s, t->idle_s, t->interval_s,
                     fl_model__keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s),
                     fl_model_tcp_keepalive_s(t->idle_s, t->interval_s, t->count, t->user_timeout_s),
                     t->user_timeout_s);
        else
            snprintf(buf, len, "TCP_USER_TIMEOUT %g s after the first retransmission of unacknowledged data",
                     t->user_timeout_s);
        break;
    case FL_DET_RETRANSMIT_TIMEOUT:
        snprintf(buf, len, "tcp_retries2=%d: M = %g s after the first retransmission of unacknowledged data",
                 t->retries2, fl_model_retries2_s(t->retries2));
        break;
    case FL_DET_RESET:
        snprintf(buf, len, "RST answers the first packet sent %s",
                 c->fault == FL_MF_POWER_LOSS ? "after the reboot" : "after the NAT lost the mapping");
        break;
    case FL_DET_TAKEOVER: {
        char r[48];
        if (c->fault == FL_MF_POWER_LOSS)
            snprintf(buf, len, "takeover (MQTT 3.1.4): the rebooted clients' CONNECTs %s s after the reboot at %g s",
                     fl_model__range(r, sizeof r, c->reconnect.boot_lo_s, c->reconnect.boot_hi_s), c->reboot_after_s);
        else
            snprintf(buf, len,
                     "takeover (MQTT 3.1.4): the client reconnects %s s after it noticed; its CONNECT passes once "
                     "the fault heals at %g s",
                     fl_model__range(r, sizeof r, c->reconnect.delay_lo_s, c->reconnect.delay_hi_s),
                     c->fault_duration_s);
        break;
    }
    default:
        snprintf(buf, len, "nothing detects it: no keep-alive, no ping, no data in flight");
        break;
    }
}

/* ---- prediction --------------------------------------------------------- */

static void finish_side(const fl_model_config *c, const derived *d, fl_side side, const accum *a,
                        fl_side_prediction *sp)
{
    sp->applicable = true;
    for (int i = 0; i < FL_DET_COUNT; i++)
        sp->by_detector[i] = isfinite(a->by[i].lo_s) ? a->by[i] : (fl_window){INF, INF};
    sp->winners = a->winners;
    sp->maybe = a->maybe & ~a->sure;
    if (!a->any_detect) {
        sp->window = (fl_window){INF, INF};
        sp->winner = FL_DET_NONE;
        sp->expect = FL_EXPECT_NONE;
        explain(c, d, side, FL_DET_NONE, sp->why, sizeof sp->why);
        return;
    }
    sp->window = (fl_window){fmax(a->lo, 0), a->any_never ? INF : a->hi};
    sp->winner = a->winner;
    explain(c, d, side, a->winner, sp->why, sizeof sp->why);
    sp->expect = FL_EXPECT_ALL;
    if (a->any_never || (c->fault_duration_s > 0 && c->fault != FL_MF_POWER_LOSS &&
                         c->fault_duration_s < sp->window.hi_s))
        sp->expect = FL_EXPECT_SOME;
}

static void not_applicable(fl_side_prediction *sp, const char *why)
{
    memset(sp, 0, sizeof *sp);
    sp->applicable = false;
    sp->expect = FL_EXPECT_NONE;
    sp->window = (fl_window){INF, INF};
    for (int i = 0; i < FL_DET_COUNT; i++)
        sp->by_detector[i] = (fl_window){INF, INF};
    snprintf(sp->why, sizeof sp->why, "%s", why);
}

/* A black-box client: it can notice, but by a rule flatline does not know. */
static void unknown(fl_side_prediction *sp)
{
    not_applicable(sp, "a black-box client program: it keeps its own rule, which flatline does not model");
    sp->applicable = true;
    sp->unknown = true;
}

static void warn(fl_prediction *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(fl_prediction *p, const char *fmt, ...)
{
    size_t used = strlen(p->warnings);
    if (used + 3 >= sizeof p->warnings)
        return;
    if (used) {
        strcat(p->warnings, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->warnings + used, sizeof p->warnings - used, fmt, ap);
    va_end(ap);
}

static void overhead(const fl_model_config *c, const derived *d, fl_overhead *o)
{
    memset(o, 0, sizeof *o);
    /* One ping exchange: PINGREQ, PINGRESP (carrying the ACK of the PINGREQ),
     * and the client's bare ACK of the PINGRESP. */
    const double ping_packets = 3, ping_bytes = 2 * (WIRE_HEADER_BYTES + MQTT_PING_BYTES) + WIRE_HEADER_BYTES;
    double pings_per_hour = 0;
    if (d->pings && isfinite(d->hb_period)) {
        if (d->pub > 0 && !d->pub_is_hb && c->client.strategy != FL_MS_PROBE &&
            c->client.strategy != FL_MS_ADAPTIVE) {
            /* Publishing slower than KA: pings only fill the gaps. */
            pings_per_hour = 3600 / d->pub * (ceil(d->pub / d->hb_period - 1e-9) - 1);
        } else {
            pings_per_hour = 3600 / d->hb_period;
        }
    }
    o->mqtt_packets_per_hour = pings_per_hour * ping_packets;
    o->mqtt_bytes_per_hour = pings_per_hour * ping_bytes;

    /* Keep-alive probes fill silences longer than the shortest idle; a probe
     * and its answer reset both sides' timers, so only that side probes. */
    if (isfinite(d->kmin)) {
        double other = fmin(d->hb_period, d->pub > 0 ? d->pub : INF);
        double probes = isfinite(other) ? 3600 / other * (ceil(other / d->kmin - 1e-9) - 1) : 3600 / d->kmin;
        o->tcp_packets_per_hour = probes * 2;
        o->tcp_bytes_per_hour = probes * 2 * WIRE_HEADER_BYTES;
    }
    o->packets_per_hour = o->mqtt_packets_per_hour + o->tcp_packets_per_hour;
    o->bytes_per_hour = o->mqtt_bytes_per_hour + o->tcp_bytes_per_hour;
}

int fl_model_predict(const fl_model_config *c, fl_prediction *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (fl_model__check_config(c, err, errlen))
        return -1;
    derived d;
    fl_model__derive(c, &d);
    overhead(c, &d, &p->overhead);

    if (c->nat.timeout_s > 0) {
        p->nat.present = true;
        p->nat.traffic_gap_s = d.gap;
        p->nat.expires = d.nat_expires;
        if (d.nat_expires)
            snprintf(p->nat.why, sizeof p->nat.why,
                     "NAT timeout %g s < longest silence %g s: the mapping of a healthy idle connection "
                     "expires %g s into each silence and the connection dies without a fault",
                     c->nat.timeout_s, d.gap, c->nat.timeout_s);
        else
            snprintf(p->nat.why, sizeof p->nat.why,
                     "NAT timeout %g s >= longest silence %g s: heartbeats keep the mapping alive",
                     c->nat.timeout_s, d.gap);
        if (d.nat_expires && c->fault != FL_MF_NAT_TIMEOUT)
            warn(p, "%s", p->nat.why);
    }
    if (c->broker.idle_timeout_s > 0 && d.pub == 0)
        warn(p, "broker idle_timeout %g s closes idle clients in the steady state (PINGREQ does not count)",
             c->broker.idle_timeout_s);
    if (d.ka > 0 && c->broker.grace <= 1)
        warn(p, "grace %g <= 1: a client that pings at exactly KeepAlive can be cut", c->broker.grace);
    if (d.ka > 0 && isfinite(d.hb_period) && d.hb_period > c->broker.grace * d.ka)
        warn(p, "the client is silent for %g s, longer than the broker's %g s deadline", d.hb_period,
             c->broker.grace * d.ka);
    if (d.ka == 0 && !c->broker.tcp.keepalive)
        warn(p, "KeepAlive 0 and no broker TCP keep-alive: the broker never notices an idle dead client");

    if (c->fault == FL_MF_DEGRADE || (c->fault == FL_MF_NAT_TIMEOUT && !d.nat_expires)) {
        const char *why = c->fault == FL_MF_DEGRADE ? "degradation is not a death: no detection expected"
                                                    : "the NAT never expires this connection's mapping";
        for (int s = 0; s < FL_SIDE_COUNT; s++) {
            not_applicable(&p->side[s], why);
            p->side[s].applicable = s != FL_SIDE_WILL || c->client.will;
        }
        if (c->client.rule_unknown)
            unknown(&p->side[FL_SIDE_CLIENT]);
        return 0;
    }

    accum a;
    accum_init(&a);
    sweep(c, &d, broker_sweep_cands, &a);
    finish_side(c, &d, FL_SIDE_BROKER, &a, &p->side[FL_SIDE_BROKER]);

    if (c->fault == FL_MF_POWER_LOSS) {
        not_applicable(&p->side[FL_SIDE_CLIENT], "the client lost power: it detects nothing");
    } else if (c->client.rule_unknown) {
        unknown(&p->side[FL_SIDE_CLIENT]);
    } else {
        accum_init(&a);
        sweep(c, &d, fl_model__client_cands, &a);
        finish_side(c, &d, FL_SIDE_CLIENT, &a, &p->side[FL_SIDE_CLIENT]);
    }

    fl_side_prediction *w = &p->side[FL_SIDE_WILL];
    if (!c->client.will) {
        not_applicable(w, "the client has no will");
    } else {
        *w = p->side[FL_SIDE_BROKER];
        w->window.lo_s += c->client.will_delay_s;
        w->window.hi_s += c->client.will_delay_s;
        for (int i = 0; i < FL_DET_COUNT; i++) {
            w->by_detector[i].lo_s += c->client.will_delay_s;
            w->by_detector[i].hi_s += c->client.will_delay_s;
        }
        snprintf(w->why, sizeof w->why, "published when the broker closes the connection, + will delay %g s",
                 c->client.will_delay_s);
    }
    return 0;
}
