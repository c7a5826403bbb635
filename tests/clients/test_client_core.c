/* The client core's rules on virtual time, as they look on the wire: what the
 * client sends when, when it declares the broker dead and why, how long it
 * waits to reconnect, and what a watcher makes of a will. No socket, no
 * sleep: tests/clients/fake_wire.h plays the broker and the clock. The
 * detection times are also checked against the model's bound
 * (hb_detection_bound), the number the harness's report compares to. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "clients/backoff.h"
#include "core/wake.h"
#include "detect_check.h"
#include "fake_wire.h"

/* One group "g", client id dev-0, broker 198.18.0.1:1883, seed 7. */
#define CFG(group) "{\"broker\":\"198.18.0.1:1883\",\"seed\":7,\"connect_timeout\":30,\"groups\":[" \
                   "{\"name\":\"g\",\"clients\":1,\"id_pattern\":\"dev-{n}\"," group "}]}"

static fake_wire w;

static void fini(void) { fw_free(&w); }

TestSuite(client_core, .fini = fini);

static uint64_t since(uint64_t t0) { return fw_now(&w) - t0; }

/* CONNECT out, CONNACK in; returns the time the session came up. */
static uint64_t come_up(void)
{
    fw_start(&w);
    fw_expect(&w, MQTT_CONNECT, NULL);
    fw_advance(&w, S(0.01));
    fw_connack(&w, 0);
    cr_assert_eq(w.c.state, CC_UP);
    return fw_now(&w);
}

static void expect_alive(void) { cr_assert_eq(fw_count(&w, CC_EV_DEAD), 0, "died at %.3f s", (fw_now(&w) - S(1000)) / 1e9); }

static const fw_event *expect_dead(const char *reason)
{
    const fw_event *e = fw_event_of(&w, CC_EV_DEAD, (int)fw_count(&w, CC_EV_DEAD) - 1);
    cr_assert_not_null(e, "not dead at %.3f s", (fw_now(&w) - S(1000)) / 1e9);
    cr_assert_str_eq(e->reason, reason);
    return e;
}

/* ---- CONNECT ----------------------------------------------------------------- */

Test(client_core, connect_carries_the_group_settings_and_the_will)
{
    fw_init(&w, CFG("\"keepalive\":10,\"clean\":false,"
                    "\"will\":{\"topic\":\"will/{id}\",\"payload\":\"{id} gone\",\"qos\":1,\"retain\":true}"));
    fw_start(&w);
    mqtt_packet p;
    fw_expect(&w, MQTT_CONNECT, &p);
    cr_assert_eq(p.u.connect.keep_alive, 10);
    cr_assert_not(p.u.connect.clean_session);
    cr_assert_eq(p.u.connect.client_id.len, 5);
    cr_assert_eq(memcmp(p.u.connect.client_id.data, "dev-0", 5), 0);
    cr_assert(p.u.connect.has_will);
    cr_assert_eq(p.u.connect.will_qos, 1);
    cr_assert(p.u.connect.will_retain);
    cr_assert_eq(memcmp(p.u.connect.will_topic.data, "will/dev-0", 10), 0);
    cr_assert_eq(memcmp(p.u.connect.will_payload.data, "dev-0 gone", 10), 0);
    fw_expect_quiet(&w);
    cr_assert_eq(w.c.state, CC_CONNACK);
}

Test(client_core, v5_server_keep_alive_replaces_the_asked_one)
{
    fw_init(&w, CFG("\"version\":5,\"keepalive\":60"));
    fw_start(&w);
    fw_expect(&w, MQTT_CONNECT, NULL);
    mqtt_packet ack = { .type = MQTT_CONNACK };
    ack.u.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
    ack.u.connack.props.server_keep_alive = 5;
    fw_broker_sends(&w, &ack);
    uint64_t up = fw_now(&w);
    cr_assert_eq(w.c.keepalive, 5, "MQTT-3.2.2-21");
    fw_advance(&w, S(4.999));
    fw_expect_quiet(&w);
    fw_advance(&w, S(0.001));
    fw_expect(&w, MQTT_PINGREQ, NULL);
    cr_assert_eq(since(up), S(5));
}

Test(client_core, no_connack_in_time_is_a_connect_timeout)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    uint64_t t0 = fw_now(&w);
    fw_start(&w);
    fw_expect(&w, MQTT_CONNECT, NULL);
    fw_advance(&w, S(29.999));
    expect_alive();
    fw_advance(&w, S(0.001));
    const fw_event *e = expect_dead("connect_timeout");
    cr_assert_eq(e->ev.was, CC_CONNACK, "the event says phase connack");
    cr_assert_eq(e->t - t0, S(30));
}

Test(client_core, a_transport_that_never_connects_times_out_in_phase_tcp)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    cc_connecting(&w.c);
    fw_advance(&w, S(30));
    cr_assert_eq(expect_dead("connect_timeout")->ev.was, CC_TCP);
    fw_expect_quiet(&w);
}

Test(client_core, refused_connack_and_protocol_errors)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    fw_start(&w);
    fw_connack(&w, 5);
    expect_dead("refused");

    fw_free(&w);
    fw_init(&w, CFG("\"keepalive\":10"));
    fw_start(&w);
    fw_pingresp(&w); /* anything but CONNACK first */
    expect_dead("protocol_error");

    fw_free(&w);
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    static const uint8_t junk[] = { 0xf0, 0x00 }; /* reserved packet type 15 in v3 */
    cc_input(&w.c, junk, sizeof junk);
    expect_dead("protocol_error");
}

Test(client_core, broker_disconnect_ends_the_session)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    fw_broker_sends(&w, &d);
    cr_assert_eq(expect_dead("broker_disconnect")->ev.was, CC_UP);
}

/* ---- the mqtt strategy: PINGREQ every Keep Alive, dead on a late PINGRESP -------- */

Test(client_core, mqtt_ping_timeout_on_the_wire)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":5}"));
    uint64_t up = come_up();
    cr_assert_eq(fw_count(&w, CC_EV_CONNECTED), 1);
    cr_assert(fw_event_of(&w, CC_EV_SETTLED, 0)->ev.first);
    fw_advance(&w, S(9.999));
    fw_expect_quiet(&w);                 /* +9.999 s  nothing to say */
    fw_advance(&w, S(0.001));
    fw_expect(&w, MQTT_PINGREQ, NULL);   /* +10 s     > PINGREQ */
    cr_assert_eq(fw_count(&w, CC_EV_PING_SENT), 1);
    fw_advance(&w, S(4.999));
    expect_alive();                      /* +14.999 s no PINGRESP yet */
    fw_advance(&w, S(0.001));
    const fw_event *e = expect_dead("ping_timeout"); /* +15 s dead */
    cr_assert_eq(e->t - up, S(15));
    cr_assert_eq(e->ev.last_rx, up, "last_rx: the CONNACK");
    hb_config model = { .kind = HB_MQTT, .ping_timeout_ns = S(5) };
    cr_assert_eq(e->t - e->ev.last_rx, hb_detection_bound(&model, 10), "the model's bound, to the nanosecond");
    cr_assert_not(e->ev.retry, "reconnect none");
    cr_assert_eq(w.c.state, CC_DEAD);
    cr_assert_eq(cc_deadline(&w.c), UINT64_MAX, "no timer left");
    fw_expect_quiet(&w);
}

/* A ping_timeout says what its strategy counted from and how late its lost
 * ping left as the loop pass saw it (core/wake.h). Here the ping due at
 * +10 s fires 3 ms late in a pass that woke 1 ms late after 0.8 ms on a run
 * queue: 2 ms behind the process's own work, 0.8 ms of that wait (each
 * share bounded by the ping's own lateness); death is due 5 s after the
 * ping left. */
Test(client_core, a_ping_timeout_carries_its_chain_of_lost_pings)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":5}"));
    uint64_t up = come_up();
    fl_wake pass = { .woke_ns = up + S(10.001), .cpu_wait_ns = 800000, .cpu_wait_known = true };
    w.vt.timers.wake = &pass;
    w.vt.now = up + S(10.003); /* the pass reaches the ping 3 ms after it was due */
    fl_timer_run_due(&w.vt.timers, w.vt.now);
    fw_expect(&w, MQTT_PINGREQ, NULL);
    w.vt.timers.wake = NULL;
    fw_advance(&w, S(5));
    const fw_event *e = expect_dead("ping_timeout");
    cr_assert_eq(e->t - up, S(15.003));
    cr_assert_eq(e->ev.due, up + S(15.003), "due 5 s after the ping left");
    cr_assert_not_null(e->ev.chain);
    cr_assert_eq(e->ev.chain->from, up, "the strategy counted from the CONNACK's session start");
    cr_assert_eq(e->ev.chain->queued_us, 2000);
    cr_assert_eq(e->ev.chain->cpu_wait_us, 800);
    /* 0.2 ms of its wake-up's lateness is not the CPU wait: the interval a
     * machine stall would have to cover */
    cr_assert_eq(e->ev.chain->stall_from, up + S(10));
    cr_assert_eq(e->ev.chain->stall_span_us, 1000);
    cr_assert_eq(e->ev.chain->stall_us, 200);
}

/* A death the socket reported has no timer and no chain. */
Test(client_core, a_transport_death_has_no_due_and_no_chain)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    fw_lost(&w, "reset", ECONNRESET);
    const fw_event *e = expect_dead("reset");
    cr_assert_eq(e->ev.due, 0);
    cr_assert_null(e->ev.chain);
}

Test(client_core, answered_pings_keep_it_up_and_measure_the_round_trip)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":5}"));
    uint64_t up = come_up();
    for (int round = 1; round <= 6; round++) {
        fw_advance(&w, S(10) - S(0.2) * (round > 1));
        fw_expect(&w, MQTT_PINGREQ, NULL); /* every 10 s after the last PINGREQ */
        cr_assert_eq(since(up), S(10) * (uint64_t)round);
        fw_advance(&w, S(0.2));
        fw_pingresp(&w);
        fw_expect_quiet(&w);
    }
    expect_alive();
    cr_assert_eq(fw_count(&w, CC_EV_PINGRESP), 6);
    cr_assert_eq(fw_event_of(&w, CC_EV_PINGRESP, 5)->ev.rtt_ns, S(0.2));
}

Test(client_core, a_pingresp_just_inside_the_timeout_saves_it_one_just_outside_does_not)
{
    fw_init(&w, CFG("\"keepalive\":4,\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":2}"));
    come_up();
    fw_advance(&w, S(4));
    fw_expect(&w, MQTT_PINGREQ, NULL);
    fw_advance(&w, S(1.999999));
    fw_pingresp(&w);
    expect_alive();
    cr_assert_eq(fw_event_of(&w, CC_EV_PINGRESP, 0)->ev.rtt_ns, S(1.999999));
    fw_advance(&w, S(4) - S(1.999999));
    fw_expect(&w, MQTT_PINGREQ, NULL);
    fw_advance(&w, S(2));
    expect_dead("ping_timeout");
    fw_pingresp(&w); /* too late: the connection is already gone */
    cr_assert_eq(fw_count(&w, CC_EV_PINGRESP), 1);
    cr_assert_eq(fw_count(&w, CC_EV_DEAD), 1);
}

Test(client_core, any_packet_sent_defers_the_ping)
{
    fw_init(&w, CFG("\"keepalive\":10,\"workload\":{\"publish_interval\":4,\"qos\":0,\"payload\":16,"
                    "\"topic\":\"t/{id}\"}"));
    uint64_t up = come_up();
    fw_advance(&w, S(60));
    mqtt_packet p;
    int publishes = 0;
    while (fw_sent(&w, &p)) {
        cr_assert_eq(p.type, MQTT_PUBLISH, "a %s: the publishes keep the broker's Keep Alive fed",
                     mqtt_type_name(p.type));
        cr_assert_eq(p.u.publish.payload.len, 16);
        cr_assert_eq(memcmp(p.u.publish.topic.data, "t/dev-0", 7), 0);
        publishes++;
    }
    cr_assert(publishes == 15 || publishes == 14, "%d publishes in 60 s at one every 4 s", publishes);
    cr_assert_eq(fw_count(&w, CC_EV_PUBLISHED), (size_t)publishes);
    uint64_t first = fw_event_of(&w, CC_EV_PUBLISHED, 0)->t;
    cr_assert(first > up && first <= up + S(4), "the first within one interval (a random phase)");
    for (int i = 1; i < publishes; i++)
        cr_assert_eq(fw_event_of(&w, CC_EV_PUBLISHED, i)->t - first, S(4) * (uint64_t)i, "the cadence holds");
    expect_alive();
}

Test(client_core, a_backed_up_transport_skips_the_workload_and_the_disconnect)
{
    fw_init(&w, CFG("\"keepalive\":60,\"workload\":{\"publish_interval\":1,\"qos\":1,\"payload\":8,"
                    "\"topic\":\"t/{id}\"}"));
    come_up();
    fw_advance(&w, S(1));
    fw_expect(&w, MQTT_PUBLISH, NULL);
    w.backed_up = true;
    fw_advance(&w, S(1));
    fw_expect(&w, MQTT_PUBLISH, NULL); /* the kernel took part of it: now blocked */
    cr_assert(w.c.blocked);
    fw_advance(&w, S(3));
    fw_expect_quiet(&w);
    cr_assert_eq(fw_count(&w, CC_EV_SKIPPED), 3);
    cc_stop(&w.c);
    fw_expect_quiet(&w);
    cr_assert_eq(fw_event_of(&w, CC_EV_STOPPED, 0)->ev.was, CC_UP);
}

Test(client_core, stop_says_disconnect)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    cc_stop(&w.c);
    fw_expect(&w, MQTT_DISCONNECT, NULL);
    cr_assert_eq(w.c.state, CC_DEAD);
    fw_advance(&w, S(100));
    fw_expect_quiet(&w);
    cr_assert_eq(fw_count(&w, CC_EV_DEAD), 0, "a stop is not a detection");
}

/* ---- the other application strategies ---------------------------------------------- */

Test(client_core, miss_tolerant_gives_up_after_its_misses)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"miss-tolerant\",\"ping_timeout\":3,\"misses\":3}"));
    uint64_t up = come_up();
    static const double pings[] = { 10, 13, 16 };
    for (int i = 0; i < 3; i++) {
        fw_advance(&w, S(pings[i]) - since(up));
        fw_expect(&w, MQTT_PINGREQ, NULL);
        expect_alive();
    }
    fw_advance(&w, S(19) - since(up) - 1);
    expect_alive();
    fw_advance(&w, 1);
    const fw_event *e = expect_dead("ping_timeout");
    hb_config model = { .kind = HB_MISS_TOLERANT, .ping_timeout_ns = S(3), .misses = 3 };
    cr_assert_eq(e->t - e->ev.last_rx, hb_detection_bound(&model, 10));
    cr_assert_eq(e->t - up, S(19));
}

Test(client_core, miss_tolerant_starts_counting_again_after_an_answer)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"miss-tolerant\",\"ping_timeout\":3,\"misses\":3}"));
    uint64_t up = come_up();
    fw_advance(&w, S(13));
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +10 */
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +13 */
    fw_advance(&w, S(1));
    fw_pingresp(&w); /* +14: answers the second */
    fw_advance(&w, S(32) - since(up) - 1);
    expect_alive();
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +23 (Keep Alive after the last PINGREQ) */
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +26 */
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +29 */
    fw_advance(&w, 1);
    cr_assert_eq(expect_dead("ping_timeout")->ev.last_rx - up, S(14));
}

Test(client_core, probe_pings_after_idle_then_every_interval)
{
    fw_init(&w, CFG("\"keepalive\":60,\"strategy\":{\"kind\":\"probe\",\"idle\":2,\"interval\":0.5,\"count\":2}"));
    uint64_t up = come_up();
    fw_advance(&w, S(2));
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +2: idle since the CONNACK */
    fw_advance(&w, S(0.5));
    fw_expect(&w, MQTT_PINGREQ, NULL); /* +2.5 */
    expect_alive();
    fw_advance(&w, S(0.5));
    const fw_event *e = expect_dead("ping_timeout"); /* +3 */
    cr_assert_eq(e->t - up, S(3));
    hb_config model = { .kind = HB_PROBE, .idle_ns = S(2), .interval_ns = S(0.5), .count = 2 };
    cr_assert_eq(e->t - e->ev.last_rx, hb_detection_bound(&model, 60));
}

Test(client_core, probe_counts_any_packet_received_as_life)
{
    fw_init(&w, CFG("\"keepalive\":60,\"role\":\"watcher\","
                    "\"strategy\":{\"kind\":\"probe\",\"idle\":2,\"interval\":0.5,\"count\":2}"));
    come_up();
    fw_expect(&w, MQTT_SUBSCRIBE, NULL);
    mqtt_packet pub = { .type = MQTT_PUBLISH };
    pub.u.publish.topic = mqtt_cstr("t/x");
    pub.u.publish.payload = mqtt_cstr("1");
    for (int i = 0; i < 20; i++) {
        fw_advance(&w, S(1.9));
        fw_broker_sends(&w, &pub);
    }
    fw_expect_quiet(&w);
    expect_alive();
}

Test(client_core, adaptive_detects_within_its_bound)
{
    fw_init(&w, CFG("\"keepalive\":2,\"strategy\":{\"kind\":\"adaptive\",\"min\":1,\"max\":2}"));
    come_up();
    /* A few answered rounds first so that it has a round-trip estimate. */
    for (int i = 0; i < 5; i++) {
        uint64_t t = fw_now(&w);
        while (!fw_sent(&w, &(mqtt_packet){ 0 }))
            fw_advance(&w, S(0.01));
        cr_assert_leq(fw_now(&w) - t, S(2), "pings at least every Keep Alive");
        fw_advance(&w, S(0.05));
        fw_pingresp(&w);
    }
    uint64_t silent = fw_now(&w);
    fw_advance(&w, S(10));
    const fw_event *e = expect_dead("ping_timeout");
    hb_config model = { .kind = HB_ADAPTIVE, .min_ns = S(1), .max_ns = S(2), .misses = 3 };
    cr_assert_eq(e->ev.last_rx, silent);
    cr_assert_leq(e->t - e->ev.last_rx, hb_detection_bound(&model, 2), "%.3f s", (e->t - e->ev.last_rx) / 1e9);
    cr_assert_gt(e->t - e->ev.last_rx, S(2), "not before one ping interval and its timeout");
}

/* ---- tcp-only: the pings are the broker's, TCP decides ----------------------------- */

Test(client_core, tcp_only_pings_for_the_broker_and_never_gives_up_itself)
{
    fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"tcp-only\"},"
                    "\"tcp\":{\"keepalive\":{\"idle\":5,\"interval\":1,\"count\":3},\"user_timeout_ms\":0}"));
    come_up();
    fw_advance(&w, S(300));
    int pings = 0;
    mqtt_packet p;
    while (fw_sent(&w, &p)) {
        cr_assert_eq(p.type, MQTT_PINGREQ);
        pings++;
    }
    cr_assert_eq(pings, 30, "one PINGREQ every Keep Alive, answered or not");
    expect_alive();
    /* The kernel's keep-alive gives up: ETIMEDOUT on an idle socket with
     * unanswered probes (what tcpopt.c's SO_KEEPALIVE options lead to). */
    w.facts = (fl_tcp_facts){ .keepalive_on = true, .probes = 3 };
    fw_lost(&w, NULL, ETIMEDOUT);
    cr_assert_eq(expect_dead("tcp_keepalive")->ev.err, ETIMEDOUT);
}

Test(client_core, transport_errors_are_named_by_the_tcp_facts)
{
    static const struct {
        fl_tcp_facts facts;
        int err;
        const char *reason;
    } cases[] = {
        { { .keepalive_on = true, .probes = 2 }, ETIMEDOUT, "tcp_keepalive" },
        { { .keepalive_on = true, .probes = 2, .user_timeout_ms = 5000 }, ETIMEDOUT, "user_timeout" },
        { { .unacked = 1, .user_timeout_ms = 5000 }, ETIMEDOUT, "user_timeout" },
        { { .unacked = 1 }, ETIMEDOUT, "retransmit_timeout" },
        { { 0 }, ECONNRESET, "reset" },
        { { 0 }, ECONNREFUSED, "refused" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fw_init(&w, CFG("\"keepalive\":10,\"strategy\":{\"kind\":\"tcp-only\"}"));
        come_up();
        w.facts = cases[i].facts;
        fw_lost(&w, NULL, cases[i].err);
        expect_dead(cases[i].reason);
        fw_free(&w);
    }
    fw_init(&w, CFG("\"keepalive\":10")); /* for fini */
}

Test(client_core, a_failed_send_is_a_death_named_by_its_errno)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    w.fail_send = EPIPE;
    fw_advance(&w, S(10));
    cr_assert_eq(fw_count(&w, CC_EV_PING_SENT), 1);
    cr_assert_eq(expect_dead("reset")->ev.err, EPIPE);
}

/* ---- reconnecting ------------------------------------------------------------------ */

Test(client_core, backoff_delays_follow_the_jittered_schedule_and_reset_on_success)
{
    fw_init(&w, CFG("\"keepalive\":10,\"reconnect\":{\"kind\":\"backoff\",\"base\":0.5,\"cap\":4}"));
    const reconnect_config *rc = &w.cfg.groups[0].reconnect;
    /* Four refused attempts, then one that comes up and dies of a ping
     * timeout: the delays are attempts 0, 1, 2, 3 of the schedule, then 0. */
    static const uint32_t expect_n[] = { 0, 1, 2, 3, 0 };
    for (int i = 0; i < 5; i++) {
        if (i < 4) {
            fw_start(&w);
            fw_expect(&w, MQTT_CONNECT, NULL);
            fw_connack(&w, 5);
        } else {
            come_up();
            fw_expect_quiet(&w);
            fw_advance(&w, S(15));
            fw_expect(&w, MQTT_PINGREQ, NULL);
        }
        const fw_event *e = fw_event_of(&w, CC_EV_DEAD, i);
        cr_assert_not_null(e);
        cr_assert(e->ev.retry);
        uint64_t want;
        cr_assert(reconnect_delay(rc, 7, 0, expect_n[i], &want));
        cr_assert_eq(e->ev.delay_ns, want, "death %d: delay %llu, schedule %llu", i,
                     (unsigned long long)e->ev.delay_ns, (unsigned long long)want);
        cr_assert_leq(want, backoff_ceiling(rc, expect_n[i]));
        cr_assert_eq(e->attempts, i + 1, "reconnect_attempt's attempt");
        /* The wait is exactly the delay; then the ramp gets it back. */
        size_t before = w.requeued;
        if (want) {
            fw_advance(&w, want - 1);
            cr_assert_eq(w.requeued, before, "requeued early");
        }
        fw_advance(&w, 1);
        cr_assert_eq(w.requeued, before + 1);
        cr_assert_eq(w.c.state, CC_QUEUED, "on the ramp's queue");
    }
    cr_assert_eq(fw_event_of(&w, CC_EV_CONNECTED, 0)->attempts, 4, "connected says attempt 4");
}

Test(client_core, fixed_delay_and_no_reconnect_while_stopping)
{
    fw_init(&w, CFG("\"keepalive\":10,\"reconnect\":{\"kind\":\"fixed\",\"delay\":1.5}"));
    come_up();
    fw_lost(&w, "eof", 0);
    const fw_event *e = expect_dead("eof");
    cr_assert(e->ev.retry);
    cr_assert_eq(e->ev.delay_ns, S(1.5));
    cr_assert_eq(cc_deadline(&w.c), e->t + S(1.5));
    fw_advance(&w, S(1.5));
    cr_assert_eq(w.requeued, 1);
    cr_assert_eq(w.c.state, CC_QUEUED);
    come_up();
    w.env.stopping = true;
    fw_lost(&w, "eof", 0);
    cr_assert_not(expect_dead("eof")->ev.retry, "a stopping swarm does not reconnect");
    cr_assert_eq(w.c.state, CC_DEAD);
    cr_assert_eq(fw_count(&w, CC_EV_SETTLED), 2);
    cr_assert_not(fw_event_of(&w, CC_EV_SETTLED, 1)->ev.first, "ready counts a client once");
}

/* ---- wills ---------------------------------------------------------------------------- */

Test(client_core, a_watcher_subscribes_and_names_whose_will_arrived)
{
    fw_init(&w, CFG("\"keepalive\":10,\"role\":\"watcher\""));
    come_up();
    mqtt_packet sub;
    fw_expect(&w, MQTT_SUBSCRIBE, &sub);
    cr_assert_eq(sub.u.subscribe.count, 1);
    size_t pos = 0;
    mqtt_topic_entry ent;
    cr_assert(mqtt_topic_next(&sub.u.subscribe, true, &pos, &ent));
    cr_assert_eq(ent.qos, 1, "QoS 1: a will must not be lost on the way");
    cr_assert_eq(ent.filter.len, 6);
    cr_assert_eq(memcmp(ent.filter.data, "will/#", 6), 0);

    mqtt_packet will = { .type = MQTT_PUBLISH };
    will.u.publish.topic = mqtt_cstr("will/dev-7");
    will.u.publish.qos = 1;
    will.u.publish.packet_id = 9;
    fw_broker_sends(&w, &will); /* no payload: the topic's last level names it */
    mqtt_packet ack;
    fw_expect(&w, MQTT_PUBACK, &ack);
    cr_assert_eq(ack.u.ack.packet_id, 9);
    const fw_event *e = fw_event_of(&w, CC_EV_RECEIVED, 0);
    cr_assert_str_eq(e->whose, "dev-7");
    cr_assert_str_eq(e->topic, "will/dev-7");

    will.u.publish.payload = mqtt_cstr("dev-8");
    will.u.publish.retain = true;
    will.u.publish.qos = 0;
    fw_broker_sends(&w, &will);
    fw_expect_quiet(&w);
    e = fw_event_of(&w, CC_EV_RECEIVED, 1);
    cr_assert_str_eq(e->whose, "dev-8", "the payload names it when there is one");
    cr_assert(e->ev.retained);
}

Test(client_core, a_device_acks_qos2_and_is_no_watcher)
{
    fw_init(&w, CFG("\"keepalive\":10"));
    come_up();
    mqtt_packet pub = { .type = MQTT_PUBLISH };
    pub.u.publish.topic = mqtt_cstr("will/dev-7");
    pub.u.publish.qos = 2;
    pub.u.publish.packet_id = 3;
    fw_broker_sends(&w, &pub);
    fw_expect(&w, MQTT_PUBREC, NULL);
    mqtt_packet rel = { .type = MQTT_PUBREL, .u.ack.packet_id = 3 };
    fw_broker_sends(&w, &rel);
    fw_expect(&w, MQTT_PUBCOMP, NULL);
    cr_assert_null(fw_event_of(&w, CC_EV_RECEIVED, 0)->ev.whose, "only a watcher reads wills");
}

/* ---- test_swarm_detect's scenario, one client a group, on virtual time ------------------ */

/* The broker answers every PINGREQ within 10 ms for hold_ns. */
static void hold(uint64_t hold_ns)
{
    uint64_t end = fw_now(&w) + hold_ns;
    mqtt_packet p;
    while (fw_now(&w) < end) {
        fw_advance(&w, S(0.01));
        while (fw_sent(&w, &p))
            if (p.type == MQTT_PINGREQ)
                fw_pingresp(&w);
    }
}

Test(client_core, the_frozen_broker_of_test_swarm_detect)
{
    for (size_t gi = 0; gi < APP_GROUPS; gi++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg, CFG("\"keepalive\":%d,\"strategy\":%s"), APP_KEEPALIVE, app_groups[gi].strategy_json);
        fw_init(&w, cfg);
        come_up();
        hold(S(10)); /* five ping rounds at Keep Alive 2 */
        cr_assert_eq(fw_count(&w, CC_EV_DEAD), 0, "group %s died while the broker answered", app_groups[gi].name);
        cr_assert_geq(fw_count(&w, CC_EV_PINGRESP), 5, "group %s", app_groups[gi].name);
        uint64_t frozen = fw_now(&w); /* SIGSTOP: the kernel ACKs, nothing answers */
        fw_advance(&w, S(6));
        const fw_event *e = expect_dead("ping_timeout");
        uint64_t bound = hb_detection_bound(&app_groups[gi].model, APP_KEEPALIVE);
        uint64_t latency = e->t - e->ev.last_rx;
        cr_assert_geq(e->t, frozen);
        cr_assert_leq(latency, bound, "group %s: %.3f s, bound %.3f s", app_groups[gi].name, latency / 1e9,
                      bound / 1e9);
        /* Exactly at the bound for the fixed strategies when the last packet
         * received was the PINGRESP that came with no delay to speak of; the
         * hold answers within 10 ms, which is what latency may lack. */
        if (app_groups[gi].model.kind != HB_ADAPTIVE)
            cr_assert_geq(latency + S(0.01), bound, "group %s: %.3f s, earlier than the model's %.3f s",
                          app_groups[gi].name, latency / 1e9, bound / 1e9);
        fw_free(&w);
    }
    fw_init(&w, CFG("\"keepalive\":10")); /* for fini */
}
