/* The broker timing model (model/broker_rule.h) against the rule itself: the
 * rule runs on an injected clock (a broker loop waking every 10 ms, packets
 * at chosen times, every phase of the whole-second clock and of the
 * periodic check), and every close it makes must lie in the window the
 * formula gives, and the extremes of the window must be reached. Then the
 * built-in kinds' settings give the windows their measurements show. */
#include <criterion/criterion.h>
#include <math.h>

#include "harness/brokers/brokers.h"
#include "model/broker_rule.h"

#define STEP 0.01

/* Runs the rule from a broker clock starting at clock0 (its whole-second
 * phase), the client's last packet at last (broker clock), checks started at
 * start; returns the close time minus last. */
static double close_after(const fl_broker_rule *r, double ka, double start, double last)
{
    fl_broker_rule_state s;
    fl_broker_rule_start(&s, r, ka, start);
    double t = start;
    for (; t < last; t += STEP) { /* a chatty client until its last packet */
        fl_broker_rule_heard(&s, t);
        cr_assert(!fl_broker_rule_step(&s, t), "closed before the last packet at %g", t);
    }
    fl_broker_rule_heard(&s, last);
    for (t = last; t < last + 1000; t += STEP)
        if (fl_broker_rule_step(&s, t))
            return t - last;
    cr_assert_fail("never closed");
    return INFINITY;
}

/* Every phase: the closes are inside the window and span it (to within a step
 * and the lag the loop does not model). */
static void sweep(const fl_broker_rule *r, double ka)
{
    fl_window w = fl_broker_rule_window(r, ka, 0);
    double lo = INFINITY, hi = -INFINITY;
    for (double start = 0; start < 10; start += 0.13) {
        for (double frac = 0; frac < 1; frac += 0.07) {
            double d = close_after(r, ka, start, 20 + frac);
            cr_expect(d >= w.lo_s - STEP && d <= w.hi_s + STEP, "close %g s after the packet, window [%g, %g]", d,
                      w.lo_s, w.hi_s);
            lo = fmin(lo, d);
            hi = fmax(hi, d);
        }
    }
    cr_expect(lo <= w.lo_s + 0.15, "earliest close %g, window from %g", lo, w.lo_s);
    cr_expect(hi >= w.hi_s - r->check_lag_s - 0.15, "latest close %g, window to %g", hi, w.hi_s);
}

Test(broker_rule, exact_timer_is_grace_times_keepalive)
{
    fl_broker_rule r = { .grace = 1.5, .check_phase_s = -1 };
    fl_window w = fl_broker_rule_window(&r, 4, 0);
    cr_expect_float_eq(w.lo_s, 6, 1e-9);
    cr_expect_float_eq(w.hi_s, 6, 1e-9);
    sweep(&r, 4);
}

/* mosquitto 2.0: floor(now) - floor(last) > 4*3/2 = 6, scanned every 6 whole
 * seconds: 6 to 12 s after the last packet (+ its 100 ms poll). */
Test(broker_rule, mosquitto_scan_and_rounding)
{
    fl_broker_rule r = { .grace = 1.5, .check_interval_s = 6, .whole_seconds = true, .check_lag_s = 0.1,
                         .check_phase_s = -1 };
    fl_window w = fl_broker_rule_window(&r, 4, 0);
    cr_expect_float_eq(w.lo_s, 6, 1e-9);
    cr_expect_float_eq(w.hi_s, 12.1, 1e-9);
    sweep(&r, 4);
    /* KA 5: floor(7.5) = 7, so 7 to 13 s. */
    w = fl_broker_rule_window(&r, 5, 0);
    cr_expect_float_eq(w.lo_s, 7, 1e-9);
    cr_expect_float_eq(w.hi_s, 13.1, 1e-9);
    sweep(&r, 5);
}

/* RabbitMQ 3.10: a check every KA, closing at the first check 2 x KA after
 * the last byte: 2 to 3 x KA. */
Test(broker_rule, rabbitmq_two_silent_checks)
{
    fl_broker_rule r = { .grace = 2, .check_interval_ka = 1, .check_phase_s = -1 };
    fl_window w = fl_broker_rule_window(&r, 4, 0);
    cr_expect_float_eq(w.lo_s, 8, 1e-9);
    cr_expect_float_eq(w.hi_s, 12, 1e-9);
    sweep(&r, 4);
}

/* A known phase pins the check: the window is one instant. */
Test(broker_rule, known_phase)
{
    fl_broker_rule r = { .grace = 1.5, .check_interval_s = 5, .check_phase_s = 1 };
    /* last packet at -2 (since 2 s): due at 4; checks at 1, 6, 11: closes at 6. */
    fl_window w = fl_broker_rule_window(&r, 4, 2);
    cr_expect_float_eq(w.lo_s, 6, 1e-9);
    cr_expect_float_eq(w.hi_s, 6, 1e-9);
}

/* The built-in kinds through the whole model: mosquitto's measured 9.2-10 s
 * after a cable pull with Keep Alive 4 (docs/atlas.md) is inside its own
 * window and outside the reference broker's. */
static fl_prediction predict_kind(const char *kind, double ka)
{
    const fl_broker_driver *d = fl_broker_driver_find(kind);
    cr_assert_not_null(d, "%s", kind);
    fl_model_config c;
    fl_model_config_defaults(&c);
    json_t *b = json_pack("{s:s, s:{}}", "kind", kind, "options");
    d->rule(b, &c);
    json_decref(b);
    c.client.keepalive_s = ka;
    c.client.ping_timeout_s = 2;
    c.fault = FL_MF_SILENT;
    fl_prediction p;
    char err[128];
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    return p;
}

Test(broker_rule, kinds_against_measurements)
{
    fl_tolerance tol = FL_TOLERANCE_DEFAULT;
    fl_prediction mq = predict_kind("mosquitto", 4), ref = predict_kind("reference", 4);
    fl_window wm = mq.side[FL_SIDE_BROKER].window, wr = ref.side[FL_SIDE_BROKER].window;
    cr_expect(fl_window_contains(&wm, 9.2, &tol) && fl_window_contains(&wm, 10.0, &tol), "mosquitto [%g, %g]",
              wm.lo_s, wm.hi_s);
    cr_expect(!fl_window_contains(&wr, 9.2, &tol), "reference [%g, %g]", wr.lo_s, wr.hi_s);
    fl_prediction rq = predict_kind("rabbitmq", 4);
    fl_window wq = rq.side[FL_SIDE_BROKER].window;
    cr_expect_float_eq(wq.lo_s, 4, 0.01);
    cr_expect(wq.hi_s >= 12 && wq.hi_s < 12.1, "rabbitmq to %g", wq.hi_s);
    fl_prediction ae = predict_kind("aedes", 4);
    cr_expect(ae.side[FL_SIDE_BROKER].window.hi_s < 6.03, "aedes to %g", ae.side[FL_SIDE_BROKER].window.hi_s);
}

/* What each kind does with a duplicate client id, as its driver tells the
 * model: every built-in kind takes over (the spec's rule, as read in each
 * one's source: docs/model.md "Reconnect"); the reference broker refuses the
 * newcomer when told to. */
static fl_model_duplicate duplicate_of(const char *kind, const char *option)
{
    const fl_broker_driver *d = fl_broker_driver_find(kind);
    cr_assert_not_null(d, "%s", kind);
    cr_assert_not_null(d->duplicate, "%s has no duplicate rule", kind);
    json_t *b = option ? json_pack("{s:s, s:{s:s}}", "kind", kind, "options", "duplicate_client_id", option)
                       : json_pack("{s:s, s:{}}", "kind", kind, "options");
    fl_model_duplicate dup = d->duplicate(b);
    json_decref(b);
    return dup;
}

Test(broker_rule, duplicate_client_id)
{
    for (size_t i = 0; fl_broker_kinds[i]; i++)
        cr_expect_eq(duplicate_of(fl_broker_kinds[i], NULL), FL_DUP_TAKEOVER, "%s", fl_broker_kinds[i]);
    cr_expect_eq(duplicate_of("reference", "takeover"), FL_DUP_TAKEOVER);
    cr_expect_eq(duplicate_of("reference", "reject"), FL_DUP_REJECT);
}
