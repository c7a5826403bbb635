/* The model's building blocks: the formulas of each timer (MQTT deadline, TCP
 * keep-alive, retransmission give-up, kernel timer slack), names and defaults. */
#include "model/internal.h"
#include "core/reason.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- building blocks ---------------------------------------------------- */

double fl_model_mqtt_deadline_s(double grace, double keepalive_s) { return grace * keepalive_s; }

/* The number of unanswered probes after which the keep-alive timer aborts
 * (tcp_keepalive_timer): with a user timeout, the first probe run whose
 * elapsed time reaches U, at least one probe out. */
int fl_model__keepalive_probes(double idle_s, double interval_s, int count, double user_timeout_s)
{
    if (user_timeout_s > 0) {
        double k = ceil((user_timeout_s - idle_s) / interval_s - 1e-9);
        return k < 1 ? 1 : (int)k;
    }
    return count;
}

double fl_model_tcp_keepalive_s(double idle_s, double interval_s, int count, double user_timeout_s)
{
    return idle_s + interval_s * fl_model__keepalive_probes(idle_s, interval_s, count, user_timeout_s);
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

/* A detector is named by the reason its close or death is logged with: the
 * one table in core/reason.h. */
static fl_reason detector_reason(fl_detector d)
{
    static const fl_reason reasons[FL_DET_COUNT] = {
        [FL_DET_NONE] = FL_REASON_NONE,
        [FL_DET_KEEPALIVE_TIMEOUT] = FL_REASON_KEEPALIVE_TIMEOUT,
        [FL_DET_IDLE_TIMEOUT] = FL_REASON_IDLE_TIMEOUT,
        [FL_DET_PING_TIMEOUT] = FL_REASON_PING_TIMEOUT,
        [FL_DET_TCP_KEEPALIVE] = FL_REASON_TCP_KEEPALIVE,
        [FL_DET_USER_TIMEOUT] = FL_REASON_USER_TIMEOUT,
        [FL_DET_RETRANSMIT_TIMEOUT] = FL_REASON_RETRANSMIT_TIMEOUT,
        [FL_DET_RESET] = FL_REASON_RESET,
        [FL_DET_TAKEOVER] = FL_REASON_TAKEOVER,
    };
    return (unsigned)d < FL_DET_COUNT ? reasons[d] : FL_REASON_COUNT;
}

const char *fl_detector_name(fl_detector d) { return fl_reason_name(detector_reason(d)); }

fl_detector fl_detector_from_reason(const char *reason)
{
    fl_reason r = fl_reason_parse(reason);
    for (int d = 1; r != FL_REASON_NONE && d < FL_DET_COUNT; d++)
        if (detector_reason((fl_detector)d) == r)
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
    c->broker.check_phase_s = -1; /* unknown */
    c->client.keepalive_s = 60;
    c->client.strategy = FL_MS_MQTT;
    c->broker.tcp.retries2 = c->client.tcp.retries2 = 15;
    c->broker.tcp.rto_min_s = c->client.tcp.rto_min_s = 0.2;
    c->fault = FL_MF_SILENT;
    c->reference = FL_REF_FAULT;
    c->broker.duplicate = FL_DUP_TAKEOVER;
    c->reconnect.attempt_s = 30; /* flatline-swarm's connect timeout */
}

const char *fl_model__range(char *buf, size_t len, double lo, double hi)
{
    if (lo == hi)
        snprintf(buf, len, "%g", lo);
    else
        snprintf(buf, len, "%g..%g", lo, hi);
    return buf;
}

const char *fl_model__strategy_name(fl_model_strategy s)
{
    static const char *const names[] = {"mqtt", "miss-tolerant", "probe", "adaptive", "tcp-only"};
    return (unsigned)s <= FL_MS_TCP_ONLY ? names[s] : "?";
}
