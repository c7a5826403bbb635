/* The broker's keep-alive rule as the parameters of one timing model: when a
 * broker that last heard from a client at t closes the connection. A grace
 * (multiple of Keep Alive), a periodic check (0 = an exact timer a
 * connection), whole-second rounding of the clock and the limit, and the
 * check's phase. Every built-in broker kind is a setting of these
 * (harness/brokers/, sources in docs/model.md "Broker rules"). Pure: the
 * window is a formula; the step function runs the rule on a clock the caller
 * supplies, so tests check the formula against the rule itself. */
#ifndef FLATLINE_MODEL_BROKER_RULE_H
#define FLATLINE_MODEL_BROKER_RULE_H

#include <stdbool.h>

#include "model/model.h"

/* The rule a config describes (cfg->broker): the MQTT default is grace 1.5,
 * exact timer, no rounding. */
typedef struct fl_broker_rule {
    double grace;             /* close once silent for grace x KA */
    double check_interval_s;  /* checks every this + check_interval_ka x KA seconds; both 0: exact timer */
    double check_interval_ka;
    bool whole_seconds;       /* the broker's clock and its limit in whole seconds, strict >:
                               * closes when floor(now) - floor(last) > floor(grace x KA) */
    double check_lag_s;       /* a check runs up to this late (its event loop's poll timeout) */
    double check_phase_s;     /* checks at phase + k x interval after the reference; < 0: unknown */
} fl_broker_rule;

/* The rule of cfg->broker. */
fl_broker_rule fl_broker_rule_of(const fl_model_config *cfg);

/* The check interval for keep-alive ka (0: exact timer). */
double fl_broker_rule_interval_s(const fl_broker_rule *r, double ka);

/* Seconds after the client's last packet (at -since_s relative to the
 * reference) in which the broker closes: [lo, hi]. With an unknown phase the
 * window spans every phase. */
fl_window fl_broker_rule_window(const fl_broker_rule *r, double ka, double since_s);

/* "grace 1.5, checks every 6 s (whole seconds), limit floor(1.5 x KA)" for explanations. */
void fl_broker_rule_describe(const fl_broker_rule *r, double ka, char *buf, size_t len);

/* The rule itself, run on an injected clock: the broker's loop wakes at
 * increasing times now_s (its own clock) and calls step; a packet from the
 * client calls heard. step returns true when the broker closes. */
typedef struct fl_broker_rule_state {
    fl_broker_rule rule;
    double ka;
    double last_rx;    /* the broker's clock, as it stored it (whole seconds when rounding) */
    double next_check; /* -INFINITY before the first wake-up */
} fl_broker_rule_state;

void fl_broker_rule_start(fl_broker_rule_state *s, const fl_broker_rule *r, double ka, double now_s);
void fl_broker_rule_heard(fl_broker_rule_state *s, double now_s);
bool fl_broker_rule_step(fl_broker_rule_state *s, double now_s);

#endif
