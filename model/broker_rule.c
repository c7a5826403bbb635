#include "model/broker_rule.h"

#include <math.h>
#include <stdio.h>

fl_broker_rule fl_broker_rule_of(const fl_model_config *cfg)
{
    return (fl_broker_rule){
        .grace = cfg->broker.grace,
        .check_interval_s = cfg->broker.check_interval_s,
        .check_interval_ka = cfg->broker.check_interval_ka,
        .whole_seconds = cfg->broker.whole_seconds,
        .check_lag_s = cfg->broker.check_lag_s,
        .check_phase_s = cfg->broker.check_phase_s,
    };
}

double fl_broker_rule_interval_s(const fl_broker_rule *r, double ka)
{
    return r->check_interval_s + r->check_interval_ka * ka;
}

/* The limit as the broker holds it: mosquitto's `keepalive*3/2` is integer
 * arithmetic (the epsilon keeps 1.5 x 4 = 6, not 5.999...). */
static double limit_s(const fl_broker_rule *r, double ka)
{
    double l = r->grace * ka;
    return r->whole_seconds ? floor(l + 1e-9) : l;
}

/* The first check at or after t (relative to the reference) when the checks
 * run at phase + k x p. */
static double first_check(double t, double phase, double p)
{
    return phase + ceil((t - phase) / p - 1e-9) * p;
}

fl_window fl_broker_rule_window(const fl_broker_rule *r, double ka, double since_s)
{
    double l = limit_s(r, ka);
    /* When silence becomes too long, relative to the reference. With whole
     * seconds the test floor(now) - floor(last) > L first holds at the next
     * whole second after last + L: (L, L + 1] after the packet. */
    double due_lo = -since_s + l, due_hi = -since_s + l + (r->whole_seconds ? 1 : 0);
    double p = fl_broker_rule_interval_s(r, ka);
    fl_window w = { due_lo, due_hi };
    if (p > 0 && r->check_phase_s < 0) {
        /* Any phase: the next check comes at once or up to one interval later;
         * on a whole-second clock both fall on ticks, so at most ceil(p) - 1 s. */
        w.hi_s += r->whole_seconds ? fmax(ceil(p - 1e-9) - 1, 0) : p;
    } else if (p > 0) {
        w.lo_s = first_check(due_lo, r->check_phase_s, p);
        w.hi_s = first_check(due_hi, r->check_phase_s, p);
    }
    w.hi_s += r->check_lag_s;
    return w;
}

void fl_broker_rule_describe(const fl_broker_rule *r, double ka, char *buf, size_t len)
{
    double p = fl_broker_rule_interval_s(r, ka);
    int n = r->whole_seconds ? snprintf(buf, len, "floor(%g x %g s) = %g s on a whole-second clock", r->grace, ka,
                                        limit_s(r, ka))
                             : snprintf(buf, len, "%g x %g s = %g s", r->grace, ka, limit_s(r, ka));
    if (p > 0 && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", checked every %g s", p);
}

void fl_broker_rule_start(fl_broker_rule_state *s, const fl_broker_rule *r, double ka, double now_s)
{
    s->rule = *r;
    s->ka = ka;
    double t = r->whole_seconds ? floor(now_s) : now_s;
    s->last_rx = t;
    s->next_check = t + (r->check_phase_s > 0 ? r->check_phase_s : 0);
}

void fl_broker_rule_heard(fl_broker_rule_state *s, double now_s)
{
    s->last_rx = s->rule.whole_seconds ? floor(now_s) : now_s;
}

bool fl_broker_rule_step(fl_broker_rule_state *s, double now_s)
{
    const fl_broker_rule *r = &s->rule;
    double t = r->whole_seconds ? floor(now_s) : now_s;
    double p = fl_broker_rule_interval_s(r, s->ka);
    if (p > 0) {
        if (t < s->next_check)
            return false;
        s->next_check = t + p;
    }
    double silent = t - s->last_rx, l = limit_s(r, s->ka);
    return r->whole_seconds ? silent > l : silent >= l;
}
