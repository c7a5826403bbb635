/* The model on hand-computed cases (docs/model.md has the derivations). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

#define EPS 1e-6

static fl_prediction predict(const fl_model_config *c)
{
    fl_prediction p;
    char err[200] = "";
    int rc = fl_model_predict(c, &p, err, sizeof err);
    cr_assert_eq(rc, 0, "predict failed: %s", err);
    return p;
}

static void assert_window(const fl_side_prediction *sp, double lo, double hi)
{
    cr_assert_float_eq(sp->window.lo_s, lo, EPS, "lo %.6f, expected %.6f (%s)", sp->window.lo_s, lo, sp->why);
    cr_assert_float_eq(sp->window.hi_s, hi, EPS, "hi %.6f, expected %.6f (%s)", sp->window.hi_s, hi, sp->why);
}

static void go_keepalive(fl_model_tcp *t)
{
    t->keepalive = true;
    t->idle_s = t->interval_s = 15;
    t->count = 9;
}

Test(model, building_blocks)
{
    cr_assert_float_eq(fl_model_mqtt_deadline_s(1.5, 2), 3, EPS);
    cr_assert_float_eq(fl_model_tcp_keepalive_s(1, 1, 3, 0), 4, EPS);
    cr_assert_float_eq(fl_model_tcp_keepalive_s(15, 15, 9, 0), 150, EPS);    /* Go's default */
    cr_assert_float_eq(fl_model_tcp_keepalive_s(7200, 75, 9, 0), 7875, EPS); /* kernel defaults */
    /* With a user timeout: idle + interval x max(1, ceil((U - idle) / interval)), count ignored. */
    cr_assert_float_eq(fl_model_tcp_keepalive_s(10, 5, 9, 30), 30, EPS);
    cr_assert_float_eq(fl_model_tcp_keepalive_s(10, 5, 9, 32), 35, EPS);
    cr_assert_float_eq(fl_model_tcp_keepalive_s(10, 5, 9, 5), 15, EPS);
    cr_assert_float_eq(fl_model_retries2_s(15), 924.6, EPS);
    cr_assert_float_eq(fl_model_retries2_s(8), 102.2, EPS);
    cr_assert_float_eq(fl_model_retries2_s(5), 12.6, EPS);
    cr_assert_float_eq(fl_model_retries2_s(9), 204.6, EPS);
    cr_assert_float_eq(fl_model_retries2_s(10), 324.6, EPS);
}

Test(model, timer_wheel_slack)
{
    cr_assert_float_eq(fl_model_timer_slack_s(0.2), 0.032, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(1.9), 0.032, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(10), 0.256, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(75), 2.048, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(120), 2.048, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(600), 16.384, EPS);
    cr_assert_float_eq(fl_model_timer_slack_s(7200), 131.072, EPS);
}

Test(model, mqtt_deadline_after_last_packet)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 2;
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER], 3, 3.001); /* 1.5 x 2 + user-space timer slack */
    cr_assert_eq(p.side[FL_SIDE_BROKER].winner, FL_DET_KEEPALIVE_TIMEOUT);
    /* client: ping at KA = 2 s, default ping timeout KA/2 = 1 s */
    assert_window(&p.side[FL_SIDE_CLIENT], 3, 3.001);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].winner, FL_DET_PING_TIMEOUT);
}

Test(model, mqtt_window_from_the_fault)
{
    fl_model_config c;
    fl_model_config_defaults(&c); /* KA 60, grace 1.5 */
    fl_prediction p = predict(&c);
    /* the fault lands 0..KA after the last ping: [grace KA - KA, grace KA] */
    assert_window(&p.side[FL_SIDE_BROKER], 30, 90.001);
    assert_window(&p.side[FL_SIDE_CLIENT], 30, 90.001);
    cr_assert_eq(p.side[FL_SIDE_BROKER].expect, FL_EXPECT_ALL);
    cr_assert_not(p.side[FL_SIDE_WILL].applicable);
}

Test(model, publishing_tightens_the_broker_window)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 10;
    c.client.publish_interval_s = 2;
    fl_prediction p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER], 13, 15.001);
    /* publishing faster than KA suppresses PINGREQ: the client's own
     * detection is the retransmission limit of its unacknowledged publish */
    cr_assert_eq(p.side[FL_SIDE_CLIENT].winner, FL_DET_RETRANSMIT_TIMEOUT);
    cr_assert_float_eq(p.side[FL_SIDE_CLIENT].window.lo_s, 0.408 + 924.6, EPS);
}

Test(model, go_default_keepalive_on_the_broker)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    go_keepalive(&c.broker.tcp);
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    /* 150 s; slack: idle arm 15 s (256 ms), the first probe arm 15 s (256 ms),
     * then 8 probes re-armed on the wheel's grid: 59 x 64 jiffies = 15.104 s each */
    assert_window(&p.side[FL_SIDE_BROKER], 150, 150 + 2 * 0.256 + 8 * 0.104);
    cr_assert_eq(p.side[FL_SIDE_BROKER].winner, FL_DET_TCP_KEEPALIVE);
    /* nothing on the client notices an idle death */
    cr_assert_eq(p.side[FL_SIDE_CLIENT].expect, FL_EXPECT_NONE);
    cr_assert(isinf(p.side[FL_SIDE_CLIENT].window.hi_s));

    c.reference = FL_REF_FAULT; /* the fault lands 0..15 s after the last probe exchange */
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER], 135, 151.344);
}

Test(model, kernel_default_keepalive)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = 7200;
    c.broker.tcp.interval_s = 75;
    c.broker.tcp.count = 9;
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    /* idle 7200 s up to 131.072 s late, the first probe up to 2.048 s, then 75.776 s apart */
    assert_window(&p.side[FL_SIDE_BROKER], 7875, 7875 + 131.072 + 2.048 + 8 * 0.776);
}

Test(model, mqtt_beats_go_keepalive)
{
    fl_model_config c;
    fl_model_config_defaults(&c); /* KA 60 */
    go_keepalive(&c.broker.tcp);
    fl_prediction p = predict(&c);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    assert_window(b, 30, 90.001);
    cr_assert_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_eq(b->winners, 1u << FL_DET_KEEPALIVE_TIMEOUT);
    /* probes every 15 s inside each 60 s ping cycle: last segment 0..15 s before the fault */
    cr_assert_float_eq(b->by_detector[FL_DET_TCP_KEEPALIVE].lo_s, 135, EPS);
    cr_assert_float_eq(b->by_detector[FL_DET_TCP_KEEPALIVE].hi_s, 151.344, EPS);
    /* cost: 60 ping exchanges of 3 packets (68 + 68 + 66 bytes), 3 probe pairs a minute (66 + 66) */
    cr_assert_float_eq(p.overhead.mqtt_packets_per_hour, 180, EPS);
    cr_assert_float_eq(p.overhead.mqtt_bytes_per_hour, 60 * 202, EPS);
    cr_assert_float_eq(p.overhead.tcp_packets_per_hour, 360, EPS);
    cr_assert_float_eq(p.overhead.tcp_bytes_per_hour, 180 * 132, EPS);
    cr_assert_float_eq(p.overhead.bytes_per_hour, 12120 + 23760, EPS);
}

Test(model, client_tcp_keepalive_1_1_3)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.tcp.keepalive = true;
    c.client.tcp.idle_s = c.client.tcp.interval_s = 1;
    c.client.tcp.count = 3;
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    /* 1 s probes re-arm on 8-jiffy buckets: 32 x 8 jiffies = 1.024 s */
    assert_window(&p.side[FL_SIDE_CLIENT], 4, 4 + 2 * 0.032 + 2 * 0.024);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].winner, FL_DET_TCP_KEEPALIVE);
}

Test(model, data_in_flight_waits_for_the_retransmission_limit)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.tcp.unacked_at_fault = true;
    fl_prediction p = predict(&c);
    const fl_side_prediction *s = &p.side[FL_SIDE_CLIENT];
    cr_assert_eq(s->winner, FL_DET_RETRANSMIT_TIMEOUT);
    /* On veth the RTO is 200 ms + srtt rounded up to 51 jiffies = 204 ms; the
     * tail loss probe goes out after 204 ms and the first RTO retransmission
     * 204 ms after it: E1 = 0.408 s. Death comes no earlier than E1 + M(15) =
     * E1 + 924.6 s, and at the first expiry past it: back-off 0.408, 0.816, ...
     * 104.448 (sum 0.204 x 1022 = 208.488 s), then 120 s arms: 208.488 + 6 x 120
     * = 928.488 s. Slack: 5 arms under 2 s (32 ms), 3 under 16 s (256 ms),
     * 3 under 131 s and six 120 s arms (2.048 s): 19.36 s. */
    assert_window(s, 0.408 + 924.6, 0.408 + 928.488 + 19.36);

    c.client.tcp.user_timeout_s = 10;
    p = predict(&c);
    s = &p.side[FL_SIDE_CLIENT];
    cr_assert_eq(s->winner, FL_DET_USER_TIMEOUT);
    assert_window(s, 10.408, 10.408 + 2 * 0.032 + 0.256 + 0.004);
}

Test(model, cable_pull_at_the_client_widens_its_tcp_window)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.tcp.unacked_at_fault = true;
    c.client.tcp.user_timeout_s = 10;
    c.client.carrier_lost = true;
    fl_prediction p = predict(&c);
    /* no tail loss probe (-0.204 s), up to 1.5 s of locally refused sends */
    assert_window(&p.side[FL_SIDE_CLIENT], 10.204, 10.732 + 1.5);
    /* the broker's side is not affected */
    assert_window(&p.side[FL_SIDE_BROKER], 30, 90.001);
}

Test(model, keepalive_with_user_timeout)
{
    /* idle 10, interval 5, U 32: aborts at the probe run 10 + 5 x 5 = 35 s after
     * the last segment, named user_timeout as the broker classifies it */
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = 10;
    c.broker.tcp.interval_s = 5;
    c.broker.tcp.count = 9;
    c.broker.tcp.user_timeout_s = 32;
    c.reference = FL_REF_LAST_RX;
    fl_prediction p = predict(&c);
    /* 5 s probes re-arm on 64-jiffy buckets: 20 x 64 jiffies = 5.12 s */
    assert_window(&p.side[FL_SIDE_BROKER], 35, 35 + 2 * 0.256 + 4 * 0.12);
    cr_assert_eq(p.side[FL_SIDE_BROKER].winner, FL_DET_USER_TIMEOUT);
}

Test(model, keepalive_stands_aside_while_data_is_out)
{
    /* Keep-alive 1/1/3 would end it in 4 s, but the client's PINGREQ goes out
     * right after the fault in some phases: then only the retransmission limit is left. */
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.tcp.keepalive = true;
    c.client.tcp.idle_s = c.client.tcp.interval_s = 1;
    c.client.tcp.count = 3;
    fl_prediction p = predict(&c);
    const fl_side_prediction *s = &p.side[FL_SIDE_CLIENT];
    cr_assert_float_eq(s->window.lo_s, 3, EPS);
    cr_assert_gt(s->window.hi_s, 924);
    cr_assert(s->winners & (1u << FL_DET_TCP_KEEPALIVE));
    cr_assert(s->winners & (1u << FL_DET_RETRANSMIT_TIMEOUT));
}

Test(model, strategies)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 10;
    c.client.strategy = FL_MS_MISS_TOLERANT;
    c.client.ping_timeout_s = 2;
    c.client.misses = 3;
    fl_prediction p = predict(&c);
    assert_window(&p.side[FL_SIDE_CLIENT], 6, 16.001); /* ping 0..10 s after the fault, + 3 x 2 s */

    fl_model_config_defaults(&c);
    c.client.keepalive_s = 10;
    c.client.strategy = FL_MS_PROBE;
    c.client.probe_idle_s = 4;
    c.client.probe_interval_s = 1;
    c.client.probe_count = 3;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_CLIENT], 3, 7.001);  /* ping 0..4 s after, dead 3 x 1 s later */
    assert_window(&p.side[FL_SIDE_BROKER], 11, 15.001); /* the client talks every 4 s */

    fl_model_config_defaults(&c);
    c.client.keepalive_s = 30;
    c.client.strategy = FL_MS_ADAPTIVE;
    c.client.adaptive_min_s = 2;
    c.client.adaptive_max_s = 10;
    p = predict(&c);
    /* interval max(10) <= KA; 3 misses x timeout floor 0.2 s */
    assert_window(&p.side[FL_SIDE_CLIENT], 0.6, 10.601);
    assert_window(&p.side[FL_SIDE_BROKER], 35, 45.001);

    fl_model_config_defaults(&c);
    c.client.keepalive_s = 10;
    c.client.strategy = FL_MS_TCP_ONLY;
    p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].winner, FL_DET_RETRANSMIT_TIMEOUT);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].by_detector[FL_DET_PING_TIMEOUT].lo_s, INFINITY);
}

Test(model, nat_timeout_shorter_than_keepalive)
{
    fl_model_config c;
    fl_model_config_defaults(&c); /* KA 60 */
    c.nat.timeout_s = 30;
    fl_prediction p = predict(&c);
    cr_assert(p.nat.present && p.nat.expires);
    cr_assert_float_eq(p.nat.traffic_gap_s, 60, EPS);
    cr_assert_neq(p.warnings[0], '\0');

    /* reference: the moment the mapping expires, 30 s into a 60 s silence */
    c.fault = FL_MF_NAT_TIMEOUT;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER], 30, 60.001);
    assert_window(&p.side[FL_SIDE_CLIENT], 30, 60.001);

    c.nat.reset = true; /* the client's next ping is answered with RST */
    p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].winner, FL_DET_RESET);
    assert_window(&p.side[FL_SIDE_CLIENT], 0, 30.004);
    assert_window(&p.side[FL_SIDE_BROKER], 30, 60.001);

    /* measured from the connection's last packet: the broker's deadline is
     * g x KA = 90 s whatever the NAT does; the client's ping at 60 s meets RST */
    c.reference = FL_REF_LAST_RX;
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_BROKER], 90, 90.001);
    assert_window(&p.side[FL_SIDE_CLIENT], 60, 60.004);
    c.nat.reset = false; /* dropped: ping at 60 s, ping timeout 30 s */
    p = predict(&c);
    assert_window(&p.side[FL_SIDE_CLIENT], 90, 90.001);
    c.reference = FL_REF_FAULT;

    /* the fix: a heartbeat shorter than the NAT timeout */
    c.client.keepalive_s = 20;
    p = predict(&c);
    cr_assert_not(p.nat.expires);
    cr_assert_eq(p.side[FL_SIDE_BROKER].expect, FL_EXPECT_NONE);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].expect, FL_EXPECT_NONE);
}

Test(model, power_loss_and_reboot)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 10;
    c.client.will = true;
    c.client.will_delay_s = 5;
    c.fault = FL_MF_POWER_LOSS;
    fl_prediction p = predict(&c);
    cr_assert_not(p.side[FL_SIDE_CLIENT].applicable);
    assert_window(&p.side[FL_SIDE_BROKER], 5, 15.001);
    assert_window(&p.side[FL_SIDE_WILL], 10, 20.001);

    /* reboot after 5 s: the broker's next keep-alive probe (every 2 s) meets RST */
    c.reboot_after_s = 5;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = c.broker.tcp.interval_s = 2;
    c.broker.tcp.count = 9;
    p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_BROKER].winner, FL_DET_RESET);
    cr_assert_float_eq(p.side[FL_SIDE_BROKER].window.lo_s, 5, EPS);
    cr_assert_leq(p.side[FL_SIDE_BROKER].window.hi_s, 7.0);
}

Test(model, degrade_and_short_faults)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.fault = FL_MF_DEGRADE;
    fl_prediction p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_BROKER].expect, FL_EXPECT_NONE);
    cr_assert_eq(p.side[FL_SIDE_CLIENT].expect, FL_EXPECT_NONE);

    fl_model_config_defaults(&c);
    c.fault_duration_s = 40; /* heals inside [30, 90] */
    p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_BROKER].expect, FL_EXPECT_SOME);
    c.fault_duration_s = 100;
    p = predict(&c);
    cr_assert_eq(p.side[FL_SIDE_BROKER].expect, FL_EXPECT_ALL);
}

Test(model, bad_config_names_the_field)
{
    fl_model_config c;
    fl_prediction p;
    char err[200];
    fl_model_config_defaults(&c);
    c.client.keepalive_s = -1;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "client.keepalive_s"), "%s", err);

    fl_model_config_defaults(&c);
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = c.broker.tcp.interval_s = 15;
    c.broker.tcp.count = 0;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "broker.tcp.count"), "%s", err);

    fl_model_config_defaults(&c);
    c.fault = FL_MF_NAT_TIMEOUT;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "nat.timeout_s"), "%s", err);

    fl_model_config_defaults(&c);
    c.client.strategy = FL_MS_PROBE;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "client.probe_interval_s"), "%s", err);
}

Test(model, tolerance_and_names)
{
    fl_window w = {1, 3};
    fl_tolerance tol = {.abs_s = 0.25, .rel = 0.02}; /* 0.25 + 0.02 x 3 = 0.31 */
    cr_assert(fl_window_contains(&w, 3.30, &tol));
    cr_assert_not(fl_window_contains(&w, 3.32, &tol));
    cr_assert(fl_window_contains(&w, 0.70, &tol));
    cr_assert_not(fl_window_contains(&w, 0.68, &tol));
    cr_assert_eq(fl_detector_from_reason("user_timeout"), FL_DET_USER_TIMEOUT);
    cr_assert_eq(fl_detector_from_reason("keepalive_timeout"), FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_eq(fl_detector_from_reason("takeover"), FL_DET_TAKEOVER);
    cr_assert_str_eq(fl_detector_name(FL_DET_TAKEOVER), "takeover");
    cr_assert_eq(fl_detector_from_reason("rejected_duplicate"), FL_DET_NONE); /* the newcomer's close, not the ghost's */
    cr_assert_str_eq(fl_side_name(FL_SIDE_WILL), "will");
}

Test(model, table)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    go_keepalive(&c.broker.tcp);
    fl_prediction p = predict(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(fl_model_print(&c, &p, f), 0);
    fclose(f);
    cr_assert(strstr(buf, "keepalive_timeout"), "%s", buf);
    cr_assert(strstr(buf, "540 packets"), "%s", buf);
    free(buf);
}

/* go-default-15s's long-ka group, as measured: the broker's keep-alive
 * 2/2/9 ends a dead connection 20 s after its last packet, before MQTT's
 * 1.5 x 20 s, except when the pull comes while the broker's PINGRESP still
 * waits for the client's delayed ACK (up to 200 ms): keep-alive then stands
 * aside and MQTT's deadline ends it (one run: last read 3 ms before the
 * pull, closed 29.997 s after it). The window reaches that deadline. */
Test(model, a_pingresp_waiting_for_its_ack_holds_keepalive_back)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 20;
    c.client.ping_timeout_s = 5;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = 2;
    c.broker.tcp.interval_s = 2;
    c.broker.tcp.count = 9;
    fl_prediction p;
    char err[200];
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    const fl_side_prediction *b = &p.side[FL_SIDE_BROKER];
    cr_expect_float_eq(b->window.hi_s, 30.001, 1e-6);
    cr_expect_eq(b->winner, FL_DET_KEEPALIVE_TIMEOUT);
    cr_expect(b->winners & (1u << FL_DET_TCP_KEEPALIVE), "keep-alive ends most");
    /* without broker keep-alive, nothing changes: MQTT's deadline alone */
    c.broker.tcp.keepalive = false;
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(p.side[FL_SIDE_BROKER].window.hi_s, 30.001, 1e-6);
}

/* A command client runs a program flatline knows nothing of: its side has no
 * window (not "cannot detect", not a guess from the swarm's rule), while the
 * broker and the will are judged as for any client that sends within Keep
 * Alive (MQTT-3.1.2-23). */
Test(model, a_black_box_client_has_no_window_of_its_own)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.will = true;
    fl_prediction known = predict(&c);
    c.client.rule_unknown = true;
    fl_prediction p = predict(&c);
    const fl_side_prediction *client = &p.side[FL_SIDE_CLIENT];
    cr_assert(client->unknown && client->applicable, "%s", client->why);
    cr_assert(!known.side[FL_SIDE_CLIENT].unknown);
    cr_assert(strstr(client->why, "black-box"), "%s", client->why);
    for (int s = FL_SIDE_BROKER; s < FL_SIDE_COUNT; s += 2) {
        cr_assert(!p.side[s].unknown);
        assert_window(&p.side[s], known.side[s].window.lo_s, known.side[s].window.hi_s);
    }
    /* a fault no client could detect leaves the black box unknown all the same */
    c.fault = FL_MF_DEGRADE;
    p = predict(&c);
    cr_assert(p.side[FL_SIDE_CLIENT].unknown);
    cr_assert(!p.side[FL_SIDE_BROKER].unknown && p.side[FL_SIDE_BROKER].expect == FL_EXPECT_NONE);
    /* power loss: the client cannot detect, whatever its rule */
    c.fault = FL_MF_POWER_LOSS;
    p = predict(&c);
    cr_assert(!p.side[FL_SIDE_CLIENT].applicable && !p.side[FL_SIDE_CLIENT].unknown);

    c.fault = FL_MF_SILENT;
    p = predict(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(fl_model_print(&c, &p, f), 0);
    fclose(f);
    cr_assert(strstr(buf, "a black box (its own rule)") && strstr(buf, "client ?"), "%s", buf);
    free(buf);
}
