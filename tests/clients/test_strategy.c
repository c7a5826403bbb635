/* Heartbeat strategies driven with injected time: exact detection times for a
 * lost PINGRESP, miss counting, probe cadence, adaptive bounds. */
#include <criterion/criterion.h>

#include "clients/strategy.h"
#include "core/clock.h"

#define S(x) ((uint64_t)((x) * 1e9))
/* A base far from 0: 0 means "no ping outstanding" inside the state. */
#define T0 S(1000)

/* An injected clock: the tests move it by hand. */
static uint64_t fake_now;
static uint64_t fake_clock_now(void *ctx)
{
    (void)ctx;
    return fake_now;
}
static const fl_clock fake = { fake_clock_now, NULL };

static void at(uint64_t t) { fake_now = t; }
static uint64_t now(void) { return fl_clock_now(&fake); }

/* Runs the strategy with no answers from the peer, firing exactly at each
 * deadline. Returns the time of HB_DEAD (0 if it never came before limit) and
 * records the ping times. */
static uint64_t run_silent(hb_state *s, const hb_config *c, uint64_t limit, uint64_t *pings, int *npings)
{
    *npings = 0;
    for (int guard = 0; guard < 1000; guard++) {
        uint64_t d = hb_deadline(s, c);
        if (d == UINT64_MAX || d > limit)
            return 0;
        at(d);
        hb_action a = hb_on_timer(s, c, now());
        if (a == HB_DEAD)
            return now();
        cr_assert_eq(a, HB_SEND_PING, "at a due deadline the strategy must act");
        if (*npings < 64)
            pings[(*npings)++] = now();
    }
    return 0;
}

Test(strategy, mqtt_detects_lost_pingresp_at_keepalive_plus_timeout)
{
    hb_config c = { .kind = HB_MQTT }; /* ping_timeout 0: Keep Alive / 2 */
    hb_state s;
    at(T0);
    hb_start(&s, &c, 10, now());
    cr_assert_eq(hb_deadline(&s, &c), T0 + S(10));
    uint64_t pings[64];
    int n;
    uint64_t dead = run_silent(&s, &c, T0 + S(100), pings, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(pings[0], T0 + S(10));
    cr_assert_eq(dead, T0 + S(15), "dead at %llu", (unsigned long long)(dead - T0));
    cr_assert_eq(hb_detection_bound(&c, 10), S(15));
}

Test(strategy, mqtt_explicit_timeout_and_answered_ping)
{
    hb_config c = { .kind = HB_MQTT, .ping_timeout_ns = S(3) };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 2, now());
    at(T0 + S(2));
    cr_assert_eq(hb_on_timer(&s, &c, now()), HB_SEND_PING);
    at(T0 + S(2.25));
    cr_assert_eq(hb_on_received(&s, &c, true, now()), S(0.25), "rtt of the answered ping");
    /* Answered: the next ping is one Keep Alive after the last one sent. */
    cr_assert_eq(hb_deadline(&s, &c), T0 + S(4));
    /* Sending anything postpones the ping. */
    at(T0 + S(3));
    hb_on_sent(&s, now());
    cr_assert_eq(hb_deadline(&s, &c), T0 + S(5));
    /* Early timer: nothing to do. */
    cr_assert_eq(hb_on_timer(&s, &c, T0 + S(4)), HB_NONE);
    uint64_t pings[64];
    int n;
    cr_assert_eq(run_silent(&s, &c, T0 + S(100), pings, &n), T0 + S(8));
    cr_assert_eq(hb_detection_bound(&c, 2), S(5));
}

Test(strategy, mqtt_other_packets_do_not_answer_a_ping)
{
    hb_config c = { .kind = HB_MQTT };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 10, now());
    at(T0 + S(10));
    cr_assert_eq(hb_on_timer(&s, &c, now()), HB_SEND_PING);
    at(T0 + S(12));
    cr_assert_eq(hb_on_received(&s, &c, false, now()), 0); /* a PUBLISH */
    at(T0 + S(15));
    cr_assert_eq(hb_on_timer(&s, &c, now()), HB_DEAD);
}

Test(strategy, miss_tolerant_counts_consecutive_misses)
{
    hb_config c = { .kind = HB_MISS_TOLERANT, .ping_timeout_ns = S(3), .misses = 3 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 10, now());
    uint64_t pings[64];
    int n;
    uint64_t dead = run_silent(&s, &c, T0 + S(100), pings, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(pings[0], T0 + S(10));
    cr_assert_eq(pings[1], T0 + S(13));
    cr_assert_eq(pings[2], T0 + S(16));
    cr_assert_eq(dead, T0 + S(19));
    cr_assert_eq(hb_detection_bound(&c, 10), S(19));
}

Test(strategy, miss_tolerant_late_answer_resets_the_count)
{
    hb_config c = { .kind = HB_MISS_TOLERANT, .ping_timeout_ns = S(3), .misses = 2 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 10, now());
    at(T0 + S(10));
    cr_assert_eq(hb_on_timer(&s, &c, now()), HB_SEND_PING);
    at(T0 + S(13));
    cr_assert_eq(hb_on_timer(&s, &c, now()), HB_SEND_PING, "one miss of two: ping again");
    cr_assert_eq(s.unanswered, 2);
    at(T0 + S(14));
    hb_on_received(&s, &c, true, now());
    cr_assert_eq(s.unanswered, 0);
    cr_assert_eq(hb_deadline(&s, &c), T0 + S(23));
    uint64_t pings[64];
    int n;
    cr_assert_eq(run_silent(&s, &c, T0 + S(100), pings, &n), T0 + S(29));
    cr_assert_eq(n, 2);
}

Test(strategy, probe_pings_after_idle_then_every_interval)
{
    hb_config c = { .kind = HB_PROBE, .idle_ns = S(10), .interval_ns = S(2), .count = 3 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 60, now());
    /* Something arrives at +4: idle counts from there. */
    at(T0 + S(4));
    hb_on_received(&s, &c, false, now());
    uint64_t pings[64];
    int n;
    uint64_t dead = run_silent(&s, &c, T0 + S(100), pings, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(pings[0], T0 + S(14));
    cr_assert_eq(pings[1], T0 + S(16));
    cr_assert_eq(pings[2], T0 + S(18));
    cr_assert_eq(dead, T0 + S(20));
    cr_assert_eq(hb_detection_bound(&c, 60), S(16));
}

Test(strategy, probe_still_pings_for_the_broker_within_keepalive)
{
    /* idle longer than Keep Alive: the Keep Alive ping comes first and starts the probe. */
    hb_config c = { .kind = HB_PROBE, .idle_ns = S(30), .interval_ns = S(1), .count = 2 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 5, now());
    uint64_t pings[64];
    int n;
    uint64_t dead = run_silent(&s, &c, T0 + S(100), pings, &n);
    cr_assert_eq(pings[0], T0 + S(5));
    cr_assert_eq(n, 2);
    cr_assert_eq(dead, T0 + S(7));
    cr_assert_eq(hb_detection_bound(&c, 5), S(7));
}

Test(strategy, adaptive_interval_stays_within_bounds_and_keepalive)
{
    hb_config c = { .kind = HB_ADAPTIVE, .min_ns = S(2), .max_ns = S(30), .misses = 3 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 20, now());
    /* No loss measured: the widest interval, capped by Keep Alive (20 < 30). */
    cr_assert_eq(hb_interval(&s, &c), S(20));
    cr_assert_leq(hb_timeout(&s, &c), hb_interval(&s, &c) / 2);
    /* Lose many pings (answering each second ping late): interval shrinks, never below min. */
    uint64_t prev;
    for (int i = 0; i < 200; i++) {
        uint64_t d = hb_deadline(&s, &c);
        at(d);
        hb_action a = hb_on_timer(&s, &c, now());
        cr_assert_eq(a, HB_SEND_PING);
        if (s.unanswered >= 3) {
            /* Two pings of three lost: answer the third before it counts as a miss. */
            at(now() + S(0.001));
            hb_on_received(&s, &c, true, now());
        }
        uint64_t iv = hb_interval(&s, &c);
        cr_assert_geq(iv, S(2));
        cr_assert_leq(iv, S(20));
        cr_assert_leq(hb_timeout(&s, &c), iv / 2);
        prev = iv;
    }
    (void)prev;
    cr_assert_lt(hb_interval(&s, &c), S(14), "heavy loss must shorten the interval (%llu)",
                 (unsigned long long)hb_interval(&s, &c));
    /* A clean link again: answered pings grow it back towards the ceiling. */
    for (int i = 0; i < 200; i++) {
        at(hb_deadline(&s, &c));
        cr_assert_eq(hb_on_timer(&s, &c, now()), HB_SEND_PING);
        at(now() + S(0.01));
        hb_on_received(&s, &c, true, now());
    }
    cr_assert_gt(hb_interval(&s, &c), S(19));
    /* RTT 10 ms measured: the timeout follows it (floor 200 ms). */
    cr_assert_eq(hb_timeout(&s, &c), S(0.2));
}

Test(strategy, adaptive_detection_within_bound)
{
    hb_config c = { .kind = HB_ADAPTIVE, .min_ns = S(2), .max_ns = S(8), .misses = 3 };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 60, now());
    uint64_t pings[64];
    int n;
    uint64_t dead = run_silent(&s, &c, T0 + S(100), pings, &n);
    cr_assert_eq(pings[0], T0 + S(8));
    cr_assert_eq(n, 3);
    cr_assert_neq(dead, 0);
    cr_assert_leq(dead - T0, hb_detection_bound(&c, 60));
    cr_assert_eq(hb_detection_bound(&c, 60), S(8) + 3 * S(4));
    /* No RTT yet: 1 s per ping. */
    cr_assert_eq(dead, T0 + S(8) + 3 * S(1));
}

Test(strategy, tcp_only_pings_but_never_declares_dead)
{
    hb_config c = { .kind = HB_TCP_ONLY };
    hb_state s;
    at(T0);
    hb_start(&s, &c, 3, now());
    uint64_t pings[64];
    int n;
    cr_assert_eq(run_silent(&s, &c, T0 + S(30), pings, &n), 0);
    cr_assert_eq(n, 10);
    for (int i = 0; i < n; i++)
        cr_assert_eq(pings[i], T0 + S(3) * (uint64_t)(i + 1));
    cr_assert_eq(hb_detection_bound(&c, 3), UINT64_MAX);
}

Test(strategy, keepalive_zero_disables_mqtt_pings)
{
    hb_config c = { .kind = HB_MQTT };
    hb_state s;
    hb_start(&s, &c, 0, T0);
    cr_assert_eq(hb_deadline(&s, &c), UINT64_MAX);
    cr_assert_eq(hb_detection_bound(&c, 0), UINT64_MAX);
}

Test(strategy, names_round_trip)
{
    const char *names[] = { "mqtt", "miss-tolerant", "probe", "adaptive", "tcp-only" };
    for (unsigned i = 0; i < 5; i++) {
        hb_kind k;
        cr_assert(hb_kind_parse(names[i], &k));
        cr_assert_str_eq(hb_kind_name(k), names[i]);
    }
    hb_kind k;
    cr_assert_not(hb_kind_parse("pingpong", &k));
}
