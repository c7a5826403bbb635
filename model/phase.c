/* What a configuration implies (derived once), and for one phase of the
 * heartbeat every way each side can learn of the death (candidates). */
#include "model/broker_rule.h"
#include "model/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- what the configuration implies, computed once ---------------------- */

/* Kernel timers count whole jiffies and usecs_to_jiffies rounds up. */
static double jiffies_up(double s) { return ceil(s / JIFFY_S - 1e-9) * JIFFY_S; }

static double rto_initial(const fl_model_tcp *t, double rtt)
{
    /* Linux: srtt + max(4 x rttvar, rto_min); a fresh path has rttvar ~ rtt/2.
     * On veth: 200 ms + a few us, rounded up to 51 jiffies = 204 ms. */
    return jiffies_up(fmax(rtt, MIN_RTT_S) + fmax(2 * rtt, t->rto_min_s));
}

static int misses_of(const fl_model_config *c)
{
    if (c->client.strategy == FL_MS_PROBE)
        return c->client.probe_count ? c->client.probe_count : DEFAULT_MISSES;
    if (c->client.strategy == FL_MS_MQTT)
        return 1;
    return c->client.misses ? c->client.misses : DEFAULT_MISSES;
}

void fl_model__derive(const fl_model_config *c, derived *d)
{
    memset(d, 0, sizeof *d);
    double ka = d->ka = c->client.keepalive_s;
    double ka_or_inf = ka > 0 ? ka : INF;
    double pub = d->pub = c->client.publish_interval_s;
    int n = misses_of(c);
    double pt = c->client.ping_timeout_s > 0 ? c->client.ping_timeout_s : ka / 2;

    switch (c->client.strategy) {
    case FL_MS_MQTT:
    case FL_MS_MISS_TOLERANT:
    case FL_MS_TCP_ONLY:
        /* PINGREQ when nothing was sent for KA: publishing faster suppresses it. */
        d->pub_is_hb = pub > 0 && pub < ka_or_inf;
        d->pings = ka > 0 && !d->pub_is_hb;
        d->hb_period = d->pub_is_hb ? pub : ka_or_inf;
        d->app_detects = c->client.strategy != FL_MS_TCP_ONLY && d->pings;
        d->ping_wait_lo = d->ping_wait_hi = n * pt;
        if (c->client.strategy == FL_MS_MQTT && c->client.library_wait_hi_s > 0) {
            d->ping_wait_lo = c->client.library_wait_lo_s;
            d->ping_wait_hi = c->client.library_wait_hi_s;
        }
        break;
    case FL_MS_PROBE: {
        double idle = c->client.probe_idle_s > 0 ? c->client.probe_idle_s : c->client.probe_interval_s;
        bool ka_suppressed = pub > 0 && pub < ka_or_inf;
        d->pings = true;
        d->app_detects = true;
        d->hb_period = fmin(idle, ka_suppressed ? INF : ka_or_inf);
        d->ping_wait_lo = d->ping_wait_hi = n * c->client.probe_interval_s;
        break;
    }
    case FL_MS_ADAPTIVE: {
        double floor = c->client.ping_timeout_s > 0 ? c->client.ping_timeout_s : ADAPTIVE_FLOOR_S;
        double i0 = fmin(c->client.adaptive_max_s, ka_or_inf);
        double imin = fmin(c->client.adaptive_min_s, ka_or_inf);
        d->pings = d->app_detects = true;
        d->hb_period = i0;
        /* timeout = min(max(srtt + 4 rttvar, floor), interval / 2); srtt + 4 rttvar
         * runs from 3 x rtt (first sample) down to rtt, the interval from i0
         * down to min as losses accumulate. */
        d->ping_wait_lo = n * fmin(fmax(c->rtt_s, floor), imin / 2);
        d->ping_wait_hi = n * fmin(fmax(3 * c->rtt_s, floor), i0 / 2);
        break;
    }
    }

    d->kmin = INF;
    if (c->broker.tcp.keepalive)
        d->kmin = fmin(d->kmin, c->broker.tcp.idle_s);
    if (c->client.tcp.keepalive)
        d->kmin = fmin(d->kmin, c->client.tcp.idle_s);
    d->gap = fmin(d->hb_period, d->kmin);
    if (pub > 0)
        d->gap = fmin(d->gap, pub);
    d->nat_expires = c->nat.timeout_s > 0 && c->nat.timeout_s < d->gap;

    bool nat_fault = c->fault == FL_MF_NAT_EXPIRE || c->fault == FL_MF_NAT_TIMEOUT;
    if (nat_fault && c->nat.reset) {
        d->reset_client = d->reset_broker = true;
        /* From the last packet, the mapping is gone nat.timeout_s later. */
        d->reset_after = c->fault == FL_MF_NAT_TIMEOUT && c->reference == FL_REF_LAST_RX ? c->nat.timeout_s : 0;
    }
    if (c->fault == FL_MF_POWER_LOSS && c->reboot_after_s > 0) {
        d->reset_broker = true;
        d->reset_after = c->reboot_after_s;
    }
}

/* ---- one phase of the heartbeat ----------------------------------------- */

static void add_cand(cand *cs, int *n, fl_detector det, double lo, double hi)
{
    if (*n < MAX_CANDS && isfinite(lo))
        cs[(*n)++] = (cand){ .det = det, .lo = lo, .hi = hi };
}

/* Tail loss probe (tcp_schedule_loss_probe, on by default): a lone segment
 * in flight is probed 2 srtt + rto_min after it left (no later than its RTO),
 * and the RTO timer restarts from the probe. The probe does not start the
 * retransmission clock (retrans_stamp); the first RTO retransmission does. */
static double tail_loss_probe(const fl_model_tcp *t, double rtt)
{
    return fmin(jiffies_up(2 * fmax(rtt, MIN_RTT_S)) + t->rto_min_s, rto_initial(t, rtt));
}

/* Retransmission of data first sent at sd: the earliest and latest death. */
static void retransmit(const fl_model_tcp *t, double rtt, double sd, double *lo, double *hi)
{
    double r0 = rto_initial(t, rtt), pto = tail_loss_probe(t, rtt);
    double e1 = sd + pto + r0, slack = fl_model_timer_slack_s(pto) + fl_model_timer_slack_s(r0);
    if (t->user_timeout_s > 0) {
        /* tcp_clamp_rto_to_user_timeout: the last arm ends at first-retransmit
         * + U; only its lateness (and the first arm's) shows. */
        *lo = e1 + t->user_timeout_s;
        *hi = *lo + slack + fl_model_timer_slack_s(fmin(t->user_timeout_s, TCP_RTO_MAX_S)) + JIFFY_S;
        return;
    }
    double m = fl_model_retries2_s(t->retries2), since = 0, rto = r0;
    while (since < m - 1e-9) {
        rto = fmin(rto * 2, TCP_RTO_MAX_S);
        since += rto;
        slack += fl_model_timer_slack_s(rto);
    }
    *lo = e1 + m;
    *hi = e1 + since + slack;
}

double fl_model__resend_after(const fl_model_tcp *t, double rtt, double sd, double after, double *slack)
{
    double r0 = rto_initial(t, rtt), pto = tail_loss_probe(t, rtt), lo, hi;
    retransmit(t, rtt, sd, &lo, &hi);
    double e = sd, rto = r0 / 2;
    *slack = 0;
    if (e >= after)
        return e;
    e += pto;
    *slack += fl_model_timer_slack_s(pto);
    while (e < after) {
        rto = fmin(rto * 2, TCP_RTO_MAX_S);
        e += rto;
        *slack += fl_model_timer_slack_s(rto);
        if (e >= lo)
            return INF;
    }
    return e;
}

/* The first packet the side's TCP sends at or after `after`: a keep-alive
 * probe (before keep-alive gives up, and only while no data is out), the data
 * sent at sd, or a retransmission of it. INF if none. */
static double first_tcp_send(const fl_model_tcp *t, double rtt, double last_rx, double sd, double after)
{
    double best = INF;
    if (t->keepalive) {
        int k = fl_model__keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s);
        double first = last_rx + t->idle_s;
        double j = after > first ? ceil((after - first) / t->interval_s - 1e-9) : 0;
        double probe = first + j * t->interval_s;
        if (j < k && probe < sd)
            best = probe;
    }
    if (isfinite(sd)) {
        if (sd >= after)
            return fmin(best, sd);
        double r0 = rto_initial(t, rtt), e = sd + tail_loss_probe(t, rtt), rto = r0 / 2, lo, hi;
        retransmit(t, rtt, sd, &lo, &hi);
        while (e < after && e < lo) {
            rto = fmin(rto * 2, TCP_RTO_MAX_S);
            e += rto;
        }
        if (e >= after && e < hi)
            best = fmin(best, e);
    }
    return best;
}

/* The kernel's verdict for one side: keep-alive on an idle socket, the
 * retransmission limit once data is unacknowledged (keep-alive stands aside
 * while packets are out). */
static void tcp_cands(const fl_model_tcp *t, double rtt, double last_rx, double sd, cand *cs, int *n)
{
    double klo = INF, khi = INF, rlo = INF, rhi = INF;
    if (t->keepalive) {
        int k = fl_model__keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s);
        klo = last_rx + t->idle_s + k * t->interval_s;
        /* The idle timer up to its slack late; the first probe timer too (the
         * idle timer may have re-armed for a remainder off the bucket grid);
         * every later probe re-arms from its own bucket's end: exactly the
         * wheel's period (75 s -> 75.776 s at HZ=250). */
        double late = fl_timer_wheel_period_s(fl_model_hz(), t->interval_s) - t->interval_s;
        khi = klo + fl_model_timer_slack_s(t->idle_s) + (k > 0 ? fl_model_timer_slack_s(t->interval_s) : 0) +
              (k > 1 ? (k - 1) * late : 0);
    }
    if (isfinite(sd))
        retransmit(t, rtt, sd, &rlo, &rhi);
    /* Named as the broker and the swarm classify an ETIMEDOUT (docs/broker.md):
     * with TCP_USER_TIMEOUT set, it is what ended the connection either way. */
    fl_detector rdet = t->user_timeout_s > 0 ? FL_DET_USER_TIMEOUT : FL_DET_RETRANSMIT_TIMEOUT;
    fl_detector kdet = t->user_timeout_s > 0 ? FL_DET_USER_TIMEOUT : FL_DET_TCP_KEEPALIVE;
    if (khi < sd) {
        add_cand(cs, n, kdet, klo, khi);
    } else if (klo >= sd || !isfinite(klo)) {
        add_cand(cs, n, rdet, rlo, rhi);
    } else {
        /* Keep-alive may or may not abort before the data goes out: either
         * can end it, and the later one bounds the window. */
        add_cand(cs, n, kdet, klo, fmax(khi, rhi));
        add_cand(cs, n, rdet, rlo, fmax(khi, rhi));
    }
}

static double next_publish(const derived *d, const phase *ph)
{
    return isfinite(ph->since_pub) ? d->pub - ph->since_pub : INF;
}

int fl_model__client_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs)
{
    int n = 0;
    double next_hb = isfinite(d->hb_period) ? d->hb_period - ph->since_hb : INF;
    double sd = c->client.tcp.unacked_at_fault ? 0 : fmin(next_hb, next_publish(d, ph));
    if (d->reset_client) {
        double s = first_tcp_send(&c->client.tcp, c->rtt_s, ph->last_rx, sd, d->reset_after);
        add_cand(cs, &n, FL_DET_RESET, s + c->rtt_s, s + c->rtt_s + JIFFY_S);
        return n;
    }
    if (d->app_detects && isfinite(next_hb))
        add_cand(cs, &n, FL_DET_PING_TIMEOUT, next_hb + d->ping_wait_lo,
                 next_hb + d->ping_wait_hi + USER_TIMER_SLACK_S);
    int first_tcp = n;
    tcp_cands(&c->client.tcp, c->rtt_s, ph->last_rx, sd, cs, &n);
    if (c->client.carrier_lost) {
        for (int i = first_tcp; i < n; i++) {
            if (cs[i].det != FL_DET_TCP_KEEPALIVE)
                cs[i].lo -= tail_loss_probe(&c->client.tcp, c->rtt_s);
            cs[i].hi += CARRIER_LOST_SLACK_S;
        }
    }
    return n;
}

int fl_model__broker_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs)
{
    int n = 0;
    double since_mqtt = fmin(ph->since_hb, ph->since_pub);
    if (d->ka > 0) {
        fl_broker_rule rule = fl_broker_rule_of(c);
        fl_window w = fl_broker_rule_window(&rule, d->ka, since_mqtt);
        add_cand(cs, &n, FL_DET_KEEPALIVE_TIMEOUT, w.lo_s, w.hi_s + USER_TIMER_SLACK_S);
    }
    if (c->broker.idle_timeout_s > 0 && d->pub > 0) {
        double since_app = d->pub_is_hb ? ph->since_hb : ph->since_pub;
        double t = c->broker.idle_timeout_s - since_app;
        add_cand(cs, &n, FL_DET_IDLE_TIMEOUT, t, t + USER_TIMER_SLACK_S);
    }
    double sd = c->broker.tcp.unacked_at_fault ? 0 : INF;
    if (d->reset_broker) {
        double s = first_tcp_send(&c->broker.tcp, c->rtt_s, ph->last_rx, sd, d->reset_after);
        if (isfinite(s))
            add_cand(cs, &n, FL_DET_RESET, s + c->rtt_s, s + c->rtt_s + JIFFY_S);
        if (d->reset_after <= 0) /* every packet it sends is answered by RST */
            return n;
    }
    /* The broker answered the client's last PINGREQ at once, and the
     * client's stack may hold back its ACK of that PINGRESP (delayed ACK).
     * A fault inside that moment leaves the PINGRESP unacknowledged, and
     * keep-alive stands aside while data is out: the retransmission limit
     * (or the MQTT deadline, first) decides. Which of the two happened the
     * phase does not say: both are maybes there. */
    bool pingresp_out = d->pings && !d->pub_is_hb && !isfinite(sd) && ph->since_hb < DELACK_MAX_S;
    int first = n;
    tcp_cands(&c->broker.tcp, c->rtt_s, ph->last_rx, sd, cs, &n);
    if (pingresp_out && n > first) {
        tcp_cands(&c->broker.tcp, c->rtt_s, ph->last_rx, -ph->since_hb, cs, &n);
        for (int i = first; i < n; i++)
            cs[i].maybe = true;
    }
    return n;
}
