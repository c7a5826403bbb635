/* The model's input checked before anything is predicted: every time finite
 * and non-negative, every count in range; the message names the field. */
#include "model/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

static int check_reconnect(const fl_model_config *c, char *err, size_t errlen)
{
    if ((unsigned)c->broker.duplicate > FL_DUP_REJECT)
        return fail(err, errlen, "broker.duplicate: unknown policy %d", (int)c->broker.duplicate);
    const fl_model_reconnect *r = &c->reconnect;
    if (bad_time(r->boot_lo_s) || bad_time(r->boot_hi_s) || (r->boot_hi_s > 0 && r->boot_lo_s > r->boot_hi_s))
        return fail(err, errlen, "reconnect.boot_lo_s/hi_s: must be times with lo <= hi (hi 0: unknown)");
    if (bad_time(r->delay_lo_s) || bad_time(r->delay_hi_s) || r->delay_lo_s > r->delay_hi_s)
        return fail(err, errlen, "reconnect.delay_lo_s/hi_s: must be times with lo <= hi");
    if (bad_time(r->retry_delay_hi_s) || bad_time(r->ramp_s))
        return fail(err, errlen, "reconnect.retry_delay_hi_s, ramp_s: must be times >= 0");
    if (!isfinite(r->attempt_s) || (r->enabled && r->attempt_s <= 0))
        return fail(err, errlen, "reconnect.attempt_s: must be a time > 0 (the connect timeout)");
    return 0;
}

int fl_model__check_config(const fl_model_config *c, char *err, size_t errlen)
{
    if (!isfinite(c->broker.grace) || c->broker.grace <= 0)
        return fail(err, errlen, "broker.grace: must be > 0");
    if (bad_time(c->broker.check_interval_s) || bad_time(c->broker.check_interval_ka) ||
        bad_time(c->broker.check_lag_s) || !isfinite(c->broker.check_phase_s))
        return fail(err, errlen, "broker.check_*: must be times >= 0 (check_phase_s: < 0 = unknown)");
    if (bad_time(c->broker.idle_timeout_s))
        return fail(err, errlen, "broker.idle_timeout_s: must be a time >= 0");
    if (bad_time(c->client.keepalive_s) || c->client.keepalive_s > 65535)
        return fail(err, errlen, "client.keepalive_s: must be 0..65535");
    if ((unsigned)c->client.strategy > FL_MS_TCP_ONLY)
        return fail(err, errlen, "client.strategy: unknown strategy %d", (int)c->client.strategy);
    if (bad_time(c->client.library_wait_lo_s) || bad_time(c->client.library_wait_hi_s) ||
        c->client.library_wait_lo_s > c->client.library_wait_hi_s)
        return fail(err, errlen, "client.library_wait_lo_s/hi_s: must be times with lo <= hi");
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
    if (check_reconnect(c, err, errlen))
        return -1;
    if (bad_time(c->rtt_s))
        return fail(err, errlen, "rtt_s: must be a time >= 0");
    if ((unsigned)c->reference > FL_REF_LAST_RX)
        return fail(err, errlen, "reference: unknown reference %d", (int)c->reference);
    return 0;
}
