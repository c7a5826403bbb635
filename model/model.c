/* The detection model (docs/model.md). Every detector is a formula in the
 * times of the connection's last exchange; the fault lands at an unknown
 * phase of the heartbeat, so the model sweeps that phase and reports the
 * earliest and the latest detection over it. */
#include "model/model.h"
#include "model/timer_wheel.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define INF INFINITY
#define TCP_RTO_MAX_S 120.0
#define JIFFY_S (1.0 / model_hz)  /* the kernel's HZ: fl_model_set_hz */
#define USER_TIMER_SLACK_S 0.001  /* hrtimer-based epoll waits: well under 1 ms late */
#define DEFAULT_MISSES 3
#define ADAPTIVE_FLOOR_S 0.2      /* clients/strategy.c ADAPTIVE_TIMEOUT_FLOOR_NS */
#define PHASE_SAMPLES 400
#define PUB_PHASE_SAMPLES 9
#define MAX_BREAKPOINTS 4000
/* Cable pull at the client host: until the kernel has processed the carrier
 * loss (linkwatch, up to ~1 s) the client's transmissions fail locally and TCP
 * retries them every TCP_RESOURCE_PROBE_INTERVAL (0.5 s) without counting;
 * a failed first send may also skip the tail loss probe. Measured on 6.18:
 * 0 to 2 such retries (docs/model.md). */
#define CARRIER_LOST_SLACK_S 1.5

/* Bytes on veth for one segment: Ethernet 14 + IPv4 20 + TCP 20 + timestamps 12. */
#define WIRE_HEADER_BYTES 66.0
#define MQTT_PING_BYTES 2.0 /* PINGREQ and PINGRESP: fixed header only */

/* ---- building blocks ---------------------------------------------------- */

double fl_model_mqtt_deadline_s(double grace, double keepalive_s) { return grace * keepalive_s; }

/* The number of unanswered probes after which the keep-alive timer aborts
 * (tcp_keepalive_timer): with a user timeout, the first probe run whose
 * elapsed time reaches U, at least one probe out. */
static int keepalive_probes(double idle_s, double interval_s, int count, double user_timeout_s)
{
    if (user_timeout_s > 0) {
        double k = ceil((user_timeout_s - idle_s) / interval_s - 1e-9);
        return k < 1 ? 1 : (int)k;
    }
    return count;
}

double fl_model_tcp_keepalive_s(double idle_s, double interval_s, int count, double user_timeout_s)
{
    return idle_s + interval_s * keepalive_probes(idle_s, interval_s, count, user_timeout_s);
}

double fl_model_retries2_s(int r)
{
    if (r <= 9)
        return (ldexp(1.0, r + 1) - 1) * 0.2;
    return 204.6 + (r - 9) * TCP_RTO_MAX_S;
}

static unsigned model_hz = 250; /* this machine's and Debian's kernels */

void fl_model_set_hz(unsigned hz) { model_hz = hz ? hz : 250; }
unsigned fl_model_hz(void) { return model_hz; }

/* Timer wheel (model/timer_wheel.h) at the kernel's HZ. Level 0 (exact to the
 * jiffy) is widened to level 1's 8 jiffies as linux-facts.md states it
 * ("under 2 s up to 32 ms"): the tick and the softirq that runs the timer
 * come on top. */
double fl_model_timer_slack_s(double arm_s)
{
    return fmax(fl_timer_wheel_slack_s(model_hz, arm_s), 8 * JIFFY_S);
}

const char *fl_detector_name(fl_detector d)
{
    static const char *const names[FL_DET_COUNT] = {
        [FL_DET_NONE] = "none",
        [FL_DET_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
        [FL_DET_IDLE_TIMEOUT] = "idle_timeout",
        [FL_DET_PING_TIMEOUT] = "ping_timeout",
        [FL_DET_TCP_KEEPALIVE] = "tcp_keepalive",
        [FL_DET_USER_TIMEOUT] = "user_timeout",
        [FL_DET_RETRANSMIT_TIMEOUT] = "retransmit_timeout",
        [FL_DET_RESET] = "reset",
    };
    return (unsigned)d < FL_DET_COUNT ? names[d] : "?";
}

fl_detector fl_detector_from_reason(const char *reason)
{
    for (int d = 1; d < FL_DET_COUNT; d++)
        if (reason && strcmp(reason, fl_detector_name((fl_detector)d)) == 0)
            return (fl_detector)d;
    return FL_DET_NONE;
}

const char *fl_side_name(fl_side s)
{
    static const char *const names[FL_SIDE_COUNT] = {"broker", "client", "will"};
    return (unsigned)s < FL_SIDE_COUNT ? names[s] : "?";
}

bool fl_window_contains(const fl_window *w, double x, const fl_tolerance *tol)
{
    double t = tol->abs_s + (isfinite(w->hi_s) ? tol->rel * w->hi_s : 0);
    return x >= w->lo_s - t && x <= w->hi_s + t;
}

void fl_model_config_defaults(fl_model_config *c)
{
    memset(c, 0, sizeof *c);
    c->broker.grace = 1.5;
    c->client.keepalive_s = 60;
    c->client.strategy = FL_MS_MQTT;
    c->broker.tcp.retries2 = c->client.tcp.retries2 = 15;
    c->broker.tcp.rto_min_s = c->client.tcp.rto_min_s = 0.2;
    c->fault = FL_MF_SILENT;
    c->reference = FL_REF_FAULT;
}

/* ---- validation --------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool bad_time(double x) { return !isfinite(x) || x < 0; }

static int check_tcp(const fl_model_tcp *t, const char *side, char *err, size_t errlen)
{
    if (t->keepalive) {
        if (!isfinite(t->idle_s) || t->idle_s < 1 || t->idle_s > 32767)
            return fail(err, errlen, "%s.tcp.idle_s: must be 1..32767 (TCP_KEEPIDLE)", side);
        if (!isfinite(t->interval_s) || t->interval_s < 1 || t->interval_s > 32767)
            return fail(err, errlen, "%s.tcp.interval_s: must be 1..32767 (TCP_KEEPINTVL)", side);
        if (t->count < 1 || t->count > 127)
            return fail(err, errlen, "%s.tcp.count: must be 1..127 (TCP_KEEPCNT)", side);
    }
    if (bad_time(t->user_timeout_s))
        return fail(err, errlen, "%s.tcp.user_timeout_s: must be a time >= 0", side);
    if (t->retries2 < 1 || t->retries2 > 255)
        return fail(err, errlen, "%s.tcp.retries2: must be 1..255 (net.ipv4.tcp_retries2)", side);
    if (!isfinite(t->rto_min_s) || t->rto_min_s <= 0)
        return fail(err, errlen, "%s.tcp.rto_min_s: must be > 0", side);
    return 0;
}

static int check_config(const fl_model_config *c, char *err, size_t errlen)
{
    if (!isfinite(c->broker.grace) || c->broker.grace <= 0)
        return fail(err, errlen, "broker.grace: must be > 0");
    if (bad_time(c->broker.idle_timeout_s))
        return fail(err, errlen, "broker.idle_timeout_s: must be a time >= 0");
    if (bad_time(c->client.keepalive_s) || c->client.keepalive_s > 65535)
        return fail(err, errlen, "client.keepalive_s: must be 0..65535");
    if ((unsigned)c->client.strategy > FL_MS_TCP_ONLY)
        return fail(err, errlen, "client.strategy: unknown strategy %d", (int)c->client.strategy);
    if (bad_time(c->client.ping_timeout_s))
        return fail(err, errlen, "client.ping_timeout_s: must be a time >= 0");
    if (c->client.misses < 0 || c->client.misses > 255)
        return fail(err, errlen, "client.misses: must be 0..255");
    if (c->client.strategy == FL_MS_PROBE) {
        if (!isfinite(c->client.probe_interval_s) || c->client.probe_interval_s <= 0)
            return fail(err, errlen, "client.probe_interval_s: must be > 0 for the probe strategy");
        if (bad_time(c->client.probe_idle_s))
            return fail(err, errlen, "client.probe_idle_s: must be a time >= 0");
        if (c->client.probe_count < 0 || c->client.probe_count > 255)
            return fail(err, errlen, "client.probe_count: must be 0..255");
    }
    if (c->client.strategy == FL_MS_ADAPTIVE) {
        if (!isfinite(c->client.adaptive_min_s) || c->client.adaptive_min_s <= 0)
            return fail(err, errlen, "client.adaptive_min_s: must be > 0 for the adaptive strategy");
        if (!isfinite(c->client.adaptive_max_s) || c->client.adaptive_max_s < c->client.adaptive_min_s)
            return fail(err, errlen, "client.adaptive_max_s: must be >= client.adaptive_min_s");
    }
    if (bad_time(c->client.publish_interval_s))
        return fail(err, errlen, "client.publish_interval_s: must be a time >= 0");
    if (bad_time(c->client.will_delay_s))
        return fail(err, errlen, "client.will_delay_s: must be a time >= 0");
    if (check_tcp(&c->broker.tcp, "broker", err, errlen) || check_tcp(&c->client.tcp, "client", err, errlen))
        return -1;
    if (bad_time(c->nat.timeout_s))
        return fail(err, errlen, "nat.timeout_s: must be a time >= 0");
    if ((unsigned)c->fault > FL_MF_DEGRADE)
        return fail(err, errlen, "fault: unknown fault kind %d", (int)c->fault);
    if (c->fault == FL_MF_NAT_TIMEOUT && c->nat.timeout_s <= 0)
        return fail(err, errlen, "nat.timeout_s: a nat-timeout fault needs a NAT timeout > 0");
    if (bad_time(c->fault_duration_s))
        return fail(err, errlen, "fault_duration_s: must be a time >= 0");
    if (bad_time(c->reboot_after_s))
        return fail(err, errlen, "reboot_after_s: must be a time >= 0");
    if (bad_time(c->rtt_s))
        return fail(err, errlen, "rtt_s: must be a time >= 0");
    if ((unsigned)c->reference > FL_REF_LAST_RX)
        return fail(err, errlen, "reference: unknown reference %d", (int)c->reference);
    return 0;
}

/* ---- what the configuration implies, computed once ---------------------- */

typedef struct derived {
    double ka;          /* 0: MQTT keep-alive off */
    double hb_period;   /* the client's heartbeat exchange period (INF: none) */
    bool pings;         /* the client sends PINGREQ (some strategies also judge them) */
    bool app_detects;   /* the strategy can declare the connection dead */
    double pub;         /* publish interval, 0: none */
    bool pub_is_hb;     /* publishes are the heartbeat (mqtt-like publishing faster than KA) */
    double ping_wait_lo, ping_wait_hi; /* first ping -> dead, by strategy */
    double kmin;        /* the shortest TCP keep-alive idle of the two sides (INF: none) */
    double gap;         /* longest healthy silence on the connection (INF: forever) */
    bool nat_expires;
    bool reset_client, reset_broker; /* a packet the side sends after the threshold gets RST */
    double reset_after;               /* threshold, s after the reference */
} derived;

/* Kernel timers count whole jiffies and usecs_to_jiffies rounds up. */
static double jiffies_up(double s) { return ceil(s / JIFFY_S - 1e-9) * JIFFY_S; }

/* Even bare veth has a measured srtt of some tens of microseconds. */
#define MIN_RTT_S 20e-6

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

static void derive(const fl_model_config *c, derived *d)
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

typedef struct phase {
    double since_hb;  /* the client's last heartbeat exchange was this long before the reference */
    double since_pub; /* its last publish (independent of the heartbeat), INF: none */
    double last_rx;   /* the last segment either side received, <= 0 */
} phase;

/* One way the side can learn of the death: between lo and hi (slack). */
typedef struct cand {
    fl_detector det;
    double lo, hi;
} cand;

#define MAX_CANDS 6

static void add_cand(cand *cs, int *n, fl_detector det, double lo, double hi)
{
    if (*n < MAX_CANDS && isfinite(lo))
        cs[(*n)++] = (cand){det, lo, hi};
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

/* The first packet the side's TCP sends at or after `after`: a keep-alive
 * probe (before keep-alive gives up, and only while no data is out), the data
 * sent at sd, or a retransmission of it. INF if none. */
static double first_tcp_send(const fl_model_tcp *t, double rtt, double last_rx, double sd, double after)
{
    double best = INF;
    if (t->keepalive) {
        int k = keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s);
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
        int k = keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s);
        klo = last_rx + t->idle_s + k * t->interval_s;
        /* The idle timer up to its slack late; the first probe timer too (the
         * idle timer may have re-armed for a remainder off the bucket grid);
         * every later probe re-arms from its own bucket's end: exactly the
         * wheel's period (75 s -> 75.776 s at HZ=250). */
        double late = fl_timer_wheel_period_s(model_hz, t->interval_s) - t->interval_s;
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

static int client_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs)
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

static int broker_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs)
{
    int n = 0;
    double since_mqtt = fmin(ph->since_hb, ph->since_pub);
    if (d->ka > 0) {
        double t = fl_model_mqtt_deadline_s(c->broker.grace, d->ka) - since_mqtt;
        add_cand(cs, &n, FL_DET_KEEPALIVE_TIMEOUT, t, t + USER_TIMER_SLACK_S);
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
    tcp_cands(&c->broker.tcp, c->rtt_s, ph->last_rx, sd, cs, &n);
    return n;
}

/* ---- the sweep over phases ---------------------------------------------- */

typedef struct accum {
    double lo, hi;        /* over all phases */
    double worst_hi;      /* the hi of the latest phase (finite part) */
    fl_detector winner;
    unsigned winners;
    fl_window by[FL_DET_COUNT];
    bool any_never, any_detect;
} accum;

static void accum_init(accum *a)
{
    a->lo = INF;
    a->hi = -INF;
    a->winner = FL_DET_NONE;
    a->winners = 0;
    a->any_never = a->any_detect = false;
    for (int i = 0; i < FL_DET_COUNT; i++)
        a->by[i] = (fl_window){INF, -INF};
}

static void accum_add(accum *a, const cand *cs, int n)
{
    if (n == 0) {
        a->any_never = true;
        return;
    }
    a->any_detect = true;
    double lo = INF, hi = INF;
    fl_detector first = FL_DET_NONE;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, cs[i].lo);
        if (cs[i].hi < hi) {
            hi = cs[i].hi;
            first = cs[i].det;
        }
        fl_window *b = &a->by[cs[i].det];
        b->lo_s = fmin(b->lo_s, cs[i].lo);
        b->hi_s = fmax(b->hi_s, cs[i].hi);
    }
    for (int i = 0; i < n; i++)
        if (cs[i].lo <= hi)
            a->winners |= 1u << cs[i].det;
    a->lo = fmin(a->lo, lo);
    if (hi > a->hi) {
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

static const char *strategy_name(fl_model_strategy s)
{
    static const char *const names[] = {"mqtt", "miss-tolerant", "probe", "adaptive", "tcp-only"};
    return (unsigned)s <= FL_MS_TCP_ONLY ? names[s] : "?";
}

static void explain(const fl_model_config *c, const derived *d, fl_side side, fl_detector det, char *buf,
                    size_t len)
{
    const fl_model_tcp *t = side == FL_SIDE_BROKER ? &c->broker.tcp : &c->client.tcp;
    switch (det) {
    case FL_DET_KEEPALIVE_TIMEOUT:
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
                     strategy_name(c->client.strategy), d->hb_period, d->ping_wait_lo);
        else
            snprintf(buf, len, "%s strategy: ping %g s after the last exchange, dead %g..%g s later",
                     strategy_name(c->client.strategy), d->hb_period, d->ping_wait_lo, d->ping_wait_hi);
        break;
    case FL_DET_TCP_KEEPALIVE:
        snprintf(buf, len, "TCP keep-alive %g + %d x %g = %g s after the last received segment",
                 t->idle_s, keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s),
                 t->interval_s, fl_model_tcp_keepalive_s(t->idle_s, t->interval_s, t->count, t->user_timeout_s));
        break;
    case FL_DET_USER_TIMEOUT:
        if (t->keepalive)
            snprintf(buf, len,
                     "TCP_USER_TIMEOUT %g s: idle, keep-alive %g + %g x %d = %g s after the last received segment; "
                     "with data out, %g s after its first retransmission",
                     t->user_timeout_s, t->idle_s, t->interval_s,
                     keepalive_probes(t->idle_s, t->interval_s, t->count, t->user_timeout_s),
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
    if (check_config(c, err, errlen))
        return -1;
    derived d;
    derive(c, &d);
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
        return 0;
    }

    accum a;
    accum_init(&a);
    sweep(c, &d, broker_cands, &a);
    finish_side(c, &d, FL_SIDE_BROKER, &a, &p->side[FL_SIDE_BROKER]);

    if (c->fault == FL_MF_POWER_LOSS) {
        not_applicable(&p->side[FL_SIDE_CLIENT], "the client lost power: it detects nothing");
    } else {
        accum_init(&a);
        sweep(c, &d, client_cands, &a);
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

/* ---- the human table ---------------------------------------------------- */

static void fmt_time(char *buf, size_t len, double s)
{
    if (!isfinite(s))
        snprintf(buf, len, "never");
    else if (s >= 3600)
        snprintf(buf, len, "%.1f h", s / 3600);
    else if (s >= 100)
        snprintf(buf, len, "%.0f s", s);
    else
        snprintf(buf, len, "%.3g s", s);
}

static const char *expect_name(fl_expect e)
{
    return e == FL_EXPECT_ALL ? "all" : e == FL_EXPECT_SOME ? "some" : "none";
}

static void fmt_tcp(char *buf, size_t len, const fl_model_tcp *t)
{
    int n = 0;
    if (t->keepalive)
        n = snprintf(buf, len, "keep-alive %g/%g/%d", t->idle_s, t->interval_s, t->count);
    else
        n = snprintf(buf, len, "keep-alive off");
    if (n >= 0 && (size_t)n < len && t->user_timeout_s > 0)
        n += snprintf(buf + n, len - (size_t)n, ", user timeout %g s", t->user_timeout_s);
    if (n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", retries2 %d", t->retries2);
}

int fl_model_print(const fl_model_config *c, const fl_prediction *p, FILE *out)
{
    static const char *const faults[] = {"silent (cable-pull/partition)", "power-loss", "nat-expire",
                                         "nat-timeout", "degrade"};
    char a[96], b[96];
    fmt_tcp(a, sizeof a, &c->broker.tcp);
    fmt_tcp(b, sizeof b, &c->client.tcp);
    fprintf(out, "broker:  grace %g, %s\n", c->broker.grace, a);
    fprintf(out, "client:  KeepAlive %g s, strategy %s, %s\n", c->client.keepalive_s,
            strategy_name(c->client.strategy), b);
    fprintf(out, "fault:   %s, windows from the %s\n\n", faults[c->fault],
            c->reference == FL_REF_FAULT ? "fault" : "last packet");
    fprintf(out, "%-7s %-7s %10s %10s  %-18s %s\n", "side", "expect", "earliest", "latest", "detector", "why");
    for (int s = 0; s < FL_SIDE_COUNT; s++) {
        const fl_side_prediction *sp = &p->side[s];
        if (!sp->applicable) {
            fprintf(out, "%-7s %-7s %10s %10s  %-18s %s\n", fl_side_name((fl_side)s), "-", "-", "-", "-", sp->why);
            continue;
        }
        fmt_time(a, sizeof a, sp->window.lo_s);
        fmt_time(b, sizeof b, sp->window.hi_s);
        fprintf(out, "%-7s %-7s %10s %10s  %-18s %s\n", fl_side_name((fl_side)s), expect_name(sp->expect),
                isfinite(sp->window.lo_s) ? a : "-", b, fl_detector_name(sp->winner), sp->why);
        /* The losers too: what the configuration would give without the winner. */
        for (int d = 1; d < FL_DET_COUNT && s != FL_SIDE_WILL; d++) {
            const fl_window *w = &sp->by_detector[d];
            if (d == (int)sp->winner || !isfinite(w->lo_s))
                continue;
            fmt_time(a, sizeof a, w->lo_s);
            fmt_time(b, sizeof b, w->hi_s);
            fprintf(out, "%-7s %-7s %10s %10s  %-18s %s\n", "", "", a, b, fl_detector_name((fl_detector)d),
                    (sp->winners >> d) & 1 ? "on its own; can also end it first" : "on its own; never first here");
        }
    }
    const fl_overhead *o = &p->overhead;
    fprintf(out, "\nheartbeat cost per connection-hour: %.0f packets, %.0f bytes (MQTT %.0f/%.0f, TCP %.0f/%.0f)\n",
            o->packets_per_hour, o->bytes_per_hour, o->mqtt_packets_per_hour, o->mqtt_bytes_per_hour,
            o->tcp_packets_per_hour, o->tcp_bytes_per_hour);
    if (p->nat.present)
        fprintf(out, "NAT: %s\n", p->nat.why);
    if (p->warnings[0])
        fprintf(out, "warnings: %s\n", p->warnings);
    return ferror(out) ? -1 : 0;
}
