/* The reconnect detector (model/reconnect.c, docs/model.md "Reconnect"): a
 * rebooted host's clients and a client that reconnects after a heal end the
 * broker's ghost by takeover (or, on a reused port, by reset), when they come
 * before the broker's own timers. Windows computed by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "model/model.h"

#define EPS 1e-6
#define BIT(d) (1u << (d))

static fl_prediction predict(const fl_model_config *c)
{
    fl_prediction p;
    char err[200] = "";
    cr_assert_eq(fl_model_predict(c, &p, err, sizeof err), 0, "predict failed: %s", err);
    return p;
}

static void assert_window(const fl_window *w, double lo, double hi)
{
    cr_assert_float_eq(w->lo_s, lo, EPS, "lo %.6f, expected %.6f", w->lo_s, lo);
    cr_assert_float_eq(w->hi_s, hi, EPS, "hi %.6f, expected %.6f", w->hi_s, hi);
}

/* scenarios/power-loss-reboot.json: KA 8, grace 1.5, an idle mqtt client
 * (ping timeout 3 s) with a will, the host back after 6 s; 40 flatline-swarm
 * clients, whose CONNECTs come 0..0.262 s after the reboot
 * (harness/scenario/predict.c: 0.25 s + 40 x 0.3 ms). */
static fl_model_config reboot_config(double reboot_s)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 8;
    c.client.ping_timeout_s = 3;
    c.client.will = true;
    c.fault = FL_MF_POWER_LOSS;
    c.reboot_after_s = reboot_s;
    c.reconnect.boot_lo_s = 0;
    c.reconnect.boot_hi_s = 0.262;
    return c;
}

/* Before: [4, 12.001] by keepalive_timeout. The CONNECTs end every ghost
 * 6 .. 6.262 s after the fault (+1 ms for the broker's loop), unless the
 * keep-alive came first (phases where the last ping was > 5.738 s before). */
Test(reconnect, reboot_takes_over_before_the_keepalive)
{
    fl_model_config c = reboot_config(6);
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 4, 6.263);
    cr_assert_eq(b->winner, FL_DET_TAKEOVER);
    cr_assert_eq(b->expect, FL_EXPECT_ALL);
    cr_assert(b->winners & BIT(FL_DET_KEEPALIVE_TIMEOUT));
    cr_assert(b->winners & BIT(FL_DET_TAKEOVER));
    assert_window(&b->by_detector[FL_DET_TAKEOVER], 6, 6.263);
    /* a reused port's reset: as early as the CONNECT, not for every client */
    assert_window(&b->by_detector[FL_DET_RESET], 6, 6.263);
    cr_assert(b->winners & BIT(FL_DET_RESET));
    cr_assert_eq(b->maybe, BIT(FL_DET_RESET));
    cr_assert_str_eq(fl_detector_name(b->winner), "takeover");
    /* the will goes with the takeover */
    assert_window(&p.side[FL_SIDE_WILL].window, 4, 6.263);
    /* the measured 6.015..6.094 s (docs/model.md) is inside */
    fl_tolerance tol = FL_TOLERANCE_DEFAULT;
    cr_assert(fl_window_contains(&b->window, 6.094, &tol));
    cr_assert_not(fl_window_contains(&b->window, 12.0, &tol), "the keep-alive's end is no longer inside");
}

/* A reboot after the keep-alive has run out changes nothing but a row. */
Test(reconnect, reboot_after_the_keepalive_is_never_first)
{
    fl_model_config c = reboot_config(20);
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 4, 12.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_eq(b->winners, BIT(FL_DET_KEEPALIVE_TIMEOUT));
    assert_window(&b->by_detector[FL_DET_TAKEOVER], 20, 20.263);
}

/* scenarios/ghost-reconnect.json: the broker rejects a duplicate client id
 * (reboot after 2 s, reconnect every 1 s). No takeover: the keep-alive ends
 * the window again; only a reused port's reset can come sooner, from the
 * reboot on (any retry's SYN), so lo moves and hi does not. */
Test(reconnect, reject_gives_the_keepalive_window_back)
{
    fl_model_config c = reboot_config(2);
    c.reconnect.boot_hi_s = 0.256;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1;
    c.broker.duplicate = FL_DUP_REJECT;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 2, 12.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert(isinf(b->by_detector[FL_DET_TAKEOVER].lo_s), "no takeover with duplicates rejected");
    cr_assert_eq(b->maybe, BIT(FL_DET_RESET));
    /* every retry may reuse a port: the reset can come until the keep-alive */
    assert_window(&b->by_detector[FL_DET_RESET], 2, 12.001);
    /* the measured 9.97..9.99 s by keepalive_timeout is inside */
    fl_tolerance tol = FL_TOLERANCE_DEFAULT;
    cr_assert(fl_window_contains(&b->window, 9.99, &tol));

    /* without reconnect the rebooted client tries once: only that SYN */
    c.reconnect.enabled = false;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER].by_detector[FL_DET_RESET], 2, 2.257);
    assert_window(&p.side[FL_SIDE_BROKER].window, 2, 12.001);
}

/* A client whose return is unknown (a black box): the takeover may come,
 * it bounds nothing. */
Test(reconnect, unknown_return_moves_nothing_but_lo)
{
    fl_model_config c = reboot_config(6);
    c.reconnect.boot_hi_s = 0;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 4, 12.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert(b->maybe & BIT(FL_DET_TAKEOVER));
    cr_assert(b->winners & BIT(FL_DET_TAKEOVER));
}

/* scenarios/cable-pull.json: KA 5, ping timeout 2 s, reconnect every 1 s, the
 * cable back after 12 s. The clients notice 2..7 s after the pull and try
 * again 1 s later, during the fault: their CONNECT passes from the heal on,
 * at most the longest SYN gap later (after the SYN at 15 s of a 30 s
 * attempt: 15 s, the 1 s wait, 1 ms). The broker's keep-alive (2.5..7.5 s)
 * has closed every ghost long before: the window does not move. */
Test(reconnect, cable_pull_heal_after_the_keepalive)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.ping_timeout_s = 2;
    c.client.carrier_lost = true;
    c.fault = FL_MF_SILENT;
    c.fault_duration_s = 12;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 2.5, 7.501);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_eq(b->winners, BIT(FL_DET_KEEPALIVE_TIMEOUT));
    /* SYN at heal + 1 ms (the handshake on veth, the broker's loop) .. 12 + 16.001 + 1 ms */
    assert_window(&b->by_detector[FL_DET_TAKEOVER], 12.001, 28.002);
    cr_assert_eq(b->maybe, BIT(FL_DET_RESET));
    assert_window(&p.side[FL_SIDE_CLIENT].window, 2, 7.001);
}

/* A partition of 5 s, KA 30, a probe client (idle 1 s, interval 1 s, count
 * 2: dead 2..3 s after the cut) that reconnects every 1 s: its attempt
 * starts 3..4 s in, during the partition, and its SYNs pass from the heal
 * on, within the longest gap. The broker's keep-alive (44..45 s) never gets
 * there: the window is the reconnect's. */
Test(reconnect, partition_heal_reconnect_takes_over)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 30;
    c.client.strategy = FL_MS_PROBE;
    c.client.probe_idle_s = c.client.probe_interval_s = 1;
    c.client.probe_count = 2;
    c.fault = FL_MF_SILENT;
    c.fault_duration_s = 5;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    cr_assert_eq(b->winner, FL_DET_TAKEOVER);
    assert_window(&b->window, 5, 21.002); /* lo: the orphan's reset at the heal */
    assert_window(&b->by_detector[FL_DET_TAKEOVER], 5.001, 21.002);
    assert_window(&b->by_detector[FL_DET_KEEPALIVE_TIMEOUT], 44, 45.001);
    cr_assert_eq(b->expect, FL_EXPECT_SOME, "it heals inside the window");

    /* a 16 s connect timeout: SYNs 0, 1, 3, 7, 15 s in; an attempt that
     * fails just before its SYN at 15 s waits 1 s: the longest gap is the
     * 8 s interval (+256 ms, its timer slot) and the wait */
    c.reconnect.attempt_s = 16;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER].window, 5, 5 + 8.256 + 1 + 0.001 + 0.001);
    c.reconnect.attempt_s = 30;

    /* duplicates rejected: back to the keep-alive, a reset may come sooner */
    c.broker.duplicate = FL_DUP_REJECT;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER].window, 5, 45.001);
    cr_assert_eq(p.side[FL_SIDE_BROKER].winner, FL_DET_KEEPALIVE_TIMEOUT);

    /* without reconnect nothing comes back; only the orphan may reset it */
    c.broker.duplicate = FL_DUP_TAKEOVER;
    c.reconnect.enabled = false;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER].window, 5, 45.001);
    cr_assert_eq(p.side[FL_SIDE_BROKER].winners, BIT(FL_DET_KEEPALIVE_TIMEOUT) | BIT(FL_DET_RESET));
    cr_assert_eq(p.side[FL_SIDE_BROKER].maybe, BIT(FL_DET_RESET));
    /* a client that dies by TCP (keep-alive, no ping) leaves no orphan */
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.keepalive_s = 0;
    c.client.tcp.keepalive = true;
    c.client.tcp.idle_s = c.client.tcp.interval_s = 1;
    c.client.tcp.count = 2;
    p = predict(&c);
    cr_assert(isinf(p.side[FL_SIDE_BROKER].by_detector[FL_DET_RESET].lo_s));
}

/* A 3.001 s partition, the probe client dead 2..3.001 s in, a 1.5 s wait:
 * every attempt starts after the heal and its first SYN passes, so the
 * CONNECT comes 3.5 .. 4.503 s in (+1 ms for the broker), nothing like the
 * keep-alive's 44..45 s. The dead client's orphaned socket may reset the
 * ghost sooner, from the heal on (measured: all 30 ghosts `reset` 4.345 s
 * in, the CONNECTs 4.498 s in). */
Test(reconnect, attempt_after_the_heal_connects_at_once)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 30;
    c.client.strategy = FL_MS_PROBE;
    c.client.probe_idle_s = c.client.probe_interval_s = 1;
    c.client.probe_count = 2;
    c.fault_duration_s = 3.001;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1.5;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 3.001, 4.504);
    assert_window(&b->by_detector[FL_DET_TAKEOVER], 3.501, 4.504);
    cr_assert_eq(b->winner, FL_DET_TAKEOVER);
    cr_assert_eq(b->maybe, BIT(FL_DET_RESET));
    /* with a 10 ms ramp and a 20 ms round trip: + 10 ms at the end, + 30 ms
     * (SYN, SYN-ACK, ACK with the CONNECT) at both; the orphan's data
     * reaches the broker half a round trip after the heal */
    c.reconnect.ramp_s = 0.01;
    c.rtt_s = 0.02;
    p = predict(&c);
    /* the probe's own detection moves with the round trip too: read it */
    const fl_window *cw = &p.side[FL_SIDE_CLIENT].window;
    assert_window(&p.side[FL_SIDE_BROKER].by_detector[FL_DET_TAKEOVER], cw->lo_s + 1.5 + 0.031,
                  cw->hi_s + 1.5 + 0.01 + 0.002 + 0.031);
    cr_assert_float_eq(p.side[FL_SIDE_BROKER].window.lo_s, 3.011, EPS);
}

/* Where the attempt starts after the heal, the CONNECT comes with it: KA 8,
 * ping timeout 2 s, a 1 s wait, a 6 s partition. At the phases where the
 * client's ping was lost 3..4 s in, it is dead 5..6 s in and back 6..7 s
 * in, a second before the broker's deadline (12 s after that ping's
 * predecessor). There the takeover is first; the window's ends stay the
 * keep-alive's, which the other phases give. */
Test(reconnect, attempt_after_the_heal_wins_some_phases)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 8;
    c.client.ping_timeout_s = 2;
    c.fault = FL_MF_SILENT;
    c.fault_duration_s = 6;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 4, 12.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert(b->winners & BIT(FL_DET_TAKEOVER));
    /* first CONNECT: at the heal (+1 ms); the latest of the sure ones: dead
     * at 6.001, back at 7.004, +1 ms */
    cr_assert_float_eq(b->by_detector[FL_DET_TAKEOVER].lo_s, 6.001, EPS);
}

/* Back-off: the first wait is 0..min(cap, base); lo can be the heal itself. */
Test(reconnect, backoff_waits_from_zero)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 30;
    c.client.strategy = FL_MS_PROBE;
    c.client.probe_idle_s = c.client.probe_interval_s = 1;
    c.client.probe_count = 2;
    c.fault_duration_s = 2.5; /* healed while some clients are still counting */
    c.reconnect.enabled = true;
    c.reconnect.delay_hi_s = 0.5;
    c.reconnect.retry_delay_hi_s = 1;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    /* dead 2..3 s in: at the phases where it surely was before the heal it
     * is back within the longest gap (15 s + 1 s) after 2.5 s; where it may
     * have been, it may not, and the keep-alive still bounds the window */
    cr_assert_float_eq(b->by_detector[FL_DET_TAKEOVER].lo_s, 2.501, EPS);
    cr_assert(b->winners & BIT(FL_DET_TAKEOVER));
    assert_window(&b->window, 2.5, 45.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_eq(b->expect, FL_EXPECT_SOME);
}

/* A client whose own detection is spread (a library's wait, 1..4 s after
 * its ping at KA 30) and a heal at 32 s: where it may notice only after the
 * heal (its ping 30 s in, phase < 2 s), it may carry on instead, and nothing
 * bounds the broker but its keep-alive (45 s at phase 0). A connect timeout
 * of 2 s keeps the reconnect of the phases that surely noticed short. */
Test(reconnect, a_client_that_may_not_notice_bounds_nothing)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 30;
    c.client.library_wait_lo_s = 1;
    c.client.library_wait_hi_s = 4;
    c.fault_duration_s = 32;
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = c.reconnect.delay_hi_s = c.reconnect.retry_delay_hi_s = 1;
    c.reconnect.attempt_s = 2;
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(&b->window, 15, 45.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert(b->winners & BIT(FL_DET_TAKEOVER));
    /* surely noticed (phase >= 2 s): back by the heal + the longest gap
     * (1 s to the attempt's end, the 1 s wait, 1 ms) or its own wait */
    cr_assert_float_eq(b->by_detector[FL_DET_TAKEOVER].lo_s, 32.001, EPS);
}

/* The reconnect is the fault's: measured from the last packet there is no
 * fault time to put it at. */
Test(reconnect, only_from_the_fault)
{
    fl_model_config c = reboot_config(6);
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    cr_assert(isinf(p.side[FL_SIDE_BROKER].by_detector[FL_DET_TAKEOVER].lo_s));
}

Test(reconnect, bad_config_names_the_field)
{
    fl_model_config c = reboot_config(6);
    fl_prediction p;
    char err[200];
    c.reconnect.boot_lo_s = 1;
    c.reconnect.boot_hi_s = 0.5;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "reconnect.boot"), "%s", err);
    c = reboot_config(6);
    c.reconnect.enabled = true;
    c.reconnect.delay_lo_s = 2;
    c.reconnect.delay_hi_s = 1;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "reconnect.delay"), "%s", err);
    c = reboot_config(6);
    c.broker.duplicate = (fl_model_duplicate)7;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "broker.duplicate"), "%s", err);
}
