/* The per-connection prediction (instant.h): the phase of the heartbeat is
 * not swept but taken from the connection's own history, and phase.c's
 * candidates give each detector's nominal instant and slack. */
#include "model/instant.h"

#include "model/internal.h"

#define ORPHAN_RETRIES 8

/* Answered TCP keep-alive probes refresh what the kernel counts idle time
 * from (the last received segment) every idle_s while the connection is
 * otherwise quiet: the application's last read is older than the kernel's.
 * The probes are in no event log, and each round may be a timer slot late, so
 * after j rounds the last one is up to j slots later than nominal; if that
 * could put it after the cut, the round before may be the last one. Returns
 * the earliest kernel last receive before the cut (<= 0) and adds how much
 * later it may be to *slack. */
static double kernel_last_rx(const fl_model_tcp *t, double app_last_rx, double *slack)
{
    if (!t->keepalive || !(t->idle_s > 0) || app_last_rx + t->idle_s > 0)
        return app_last_rx;
    double rounds = floor(-app_last_rx / t->idle_s + 1e-9), late = rounds * fl_model_timer_slack_s(t->idle_s);
    double last = app_last_rx + rounds * t->idle_s;
    if (last + late > 0) { /* the last round may have come after the cut */
        last -= t->idle_s;
        late += t->idle_s;
    }
    *slack += late;
    return last;
}

int fl_model_instant(const fl_model_config *cfg, fl_side side, const fl_conn_history *h, fl_instant *out)
{
    *out = (fl_instant){ .known = false, .detector = FL_DET_NONE, .at_s = INF, .slack_s = 0 };
    if (side == FL_SIDE_WILL) {
        /* The broker publishes the will when it lets the connection go, or
         * a Will Delay later (its own timer); a watcher reads it one hop
         * later (one more user-space wake-up). */
        if (!cfg->client.will)
            return -1;
        fl_model_instant(cfg, FL_SIDE_BROKER, h, out);
        if (out->known) {
            out->at_s += cfg->client.will_delay_s;
            out->slack_s += (cfg->client.will_delay_s > 0 ? 2 : 1) * USER_TIMER_SLACK_S;
        }
        return 0;
    }
    if (side != FL_SIDE_BROKER && side != FL_SIDE_CLIENT)
        return -1;
    if (side == FL_SIDE_CLIENT && cfg->client.rule_unknown)
        return 0; /* a black box's own rule: not known */
    derived d;
    fl_model__derive(cfg, &d);
    double extra = 0;
    phase ph;
    cand cs[MAX_CANDS];
    int n;
    if (side == FL_SIDE_BROKER) {
        /* the broker's last read is the client's last heartbeat as it arrived */
        ph = (phase){ .since_hb = -h->broker_last_rx_s, .since_pub = INF,
                      .last_rx = kernel_last_rx(&cfg->broker.tcp, h->broker_last_rx_s, &extra) };
        n = fl_model__broker_cands(cfg, &d, &ph, cs);
    } else {
        /* the client's last PINGRESP answered the ping it sent one round trip
         * earlier, and the strategy counts from that send (the logged send
         * itself, for the strategies that ping after Keep Alive without
         * sending: under load the round trip is longer than the path's) */
        bool by_send = cfg->client.strategy == FL_MS_MQTT || cfg->client.strategy == FL_MS_MISS_TOLERANT ||
                       cfg->client.strategy == FL_MS_TCP_ONLY;
        double last_send = h->client_tx_known && by_send ? h->client_last_tx_s : h->client_last_rx_s - cfg->rtt_s;
        ph = (phase){ .since_hb = -last_send, .since_pub = INF,
                      .last_rx = kernel_last_rx(&cfg->client.tcp, h->client_last_rx_s, &extra) };
        n = fl_model__client_cands(cfg, &d, &ph, cs);
    }
    /* The first to fire, and how late: a candidate that only may fire (the
     * kernel's keep-alive while the broker's PINGRESP may still be waiting
     * for its ACK) can come first, but the connection surely ends by the
     * first candidate that surely fires. */
    double sure_by = INF;
    for (int i = 0; i < n; i++) {
        bool kernel_ka = cs[i].det == FL_DET_TCP_KEEPALIVE || cs[i].det == FL_DET_USER_TIMEOUT;
        double hi = cs[i].hi + (kernel_ka ? extra : 0); /* the probe rounds' uncertainty moves only keep-alive */
        if (!cs[i].maybe)
            sure_by = fmin(sure_by, hi);
        if (!out->known || cs[i].lo < out->at_s) {
            out->known = true;
            out->detector = cs[i].det;
            out->at_s = cs[i].lo;
            out->slack_s = hi - cs[i].lo;
        }
    }
    if (out->known && isfinite(sure_by) && sure_by > out->at_s + out->slack_s)
        out->slack_s = sure_by - out->at_s;
    if (side == FL_SIDE_BROKER && h->orphan) {
        /* An orphan gives up after tcp_orphan_retries, not tcp_retries2 (0,
         * the default, means 8: net/ipv4/tcp_timer.c tcp_write_timeout and
         * tcp_orphan_retries); a user timeout still bounds it. */
        fl_model_tcp orphan = cfg->client.tcp;
        orphan.retries2 = ORPHAN_RETRIES;
        double late = 0, resend = fl_model__resend_after(&orphan, cfg->rtt_s, h->orphan_sent_s, h->heal_s, &late);
        /* the broker reads the segment and answers; the RST comes back a
         * round trip later: two wake-ups of the broker's loop */
        double at = resend + cfg->rtt_s;
        if (isfinite(resend) && (!out->known || at < out->at_s))
            *out = (fl_instant){ .known = true, .detector = FL_DET_RESET, .at_s = at,
                                 .slack_s = late + 2 * USER_TIMER_SLACK_S };
    }
    /* The SYN that found the ghost left one initial RTO (TCP_TIMEOUT_INIT,
     * up to a timer-wheel slot late) before the retransmission that was
     * accepted; the broker reads the RST one wake-up after it, and logs the
     * accept one wake-up after the handshake. */
    if (side == FL_SIDE_BROKER && h->port_reused) {
        double wheel = fl_model_timer_slack_s(SYN_RTO_S);
        double syn = h->reused_accept_s - SYN_RTO_S - wheel, slack = wheel + 2 * USER_TIMER_SLACK_S;
        if (h->retried && h->retry_s >= syn && h->retry_s <= syn + slack) {
            /* the swarm logged when that attempt started */
            syn = h->retry_s;
            slack = 2 * USER_TIMER_SLACK_S;
        }
        if (!out->known || syn < out->at_s) {
            *out = (fl_instant){ .known = true, .detector = FL_DET_RESET, .at_s = syn, .slack_s = slack,
                                 .by_reconnect = true };
            return 0;
        }
    }
    /* The broker handles the new CONNECT in its event loop: one user-space
     * wake-up after it arrives. */
    if (side == FL_SIDE_BROKER && h->reconnected && cfg->broker.duplicate == FL_DUP_TAKEOVER) {
        /* From its SYN (a reused port: the ghost reset) to its CONNECT (the
         * takeover), or the timer that fires in between. */
        double first = h->retried && h->retry_s < h->reconnect_s ? h->retry_s : h->reconnect_s;
        if (!out->known || first < out->at_s) {
            double last = fmax(h->reconnect_s, h->reconnect_done_s) + USER_TIMER_SLACK_S;
            if (out->known && out->at_s + out->slack_s < last)
                last = out->at_s + out->slack_s;
            *out = (fl_instant){ .known = true, .detector = FL_DET_NONE, .at_s = first,
                                 .slack_s = fmax(USER_TIMER_SLACK_S, last - first), .by_reconnect = true };
            return 0;
        }
    }
    /* A strategy's death is a chain of user-space timers (the ping when Keep
     * Alive runs out, then each ping timeout), each up to USER_TIMER_SLACK_S
     * late; phase.c's candidate allows for one. */
    if (out->detector == FL_DET_PING_TIMEOUT) {
        int misses = cfg->client.misses ? cfg->client.misses : DEFAULT_MISSES;
        if (cfg->client.strategy == FL_MS_PROBE)
            misses = cfg->client.probe_count ? cfg->client.probe_count : DEFAULT_MISSES;
        int chained = cfg->client.strategy == FL_MS_MQTT ? 1 : misses;
        out->slack_s += chained * USER_TIMER_SLACK_S;
    }
    return 0;
}
