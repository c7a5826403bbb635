/* The keep-alive rules as pure functions: grants, deadlines, the idle limit. */
#include <criterion/criterion.h>

#include "broker/keepalive.h"
#include "core/clock.h"

static bk_ka_config cfg(void) { return (bk_ka_config){ .grace = 1.5 }; }

Test(keepalive, deadline_is_last_rx_plus_grace_times_keepalive)
{
    bk_ka_config c = cfg();
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V311, 2);
    cr_assert_eq(g.granted, 2);
    cr_assert_eq(g.period_ns, 3 * FL_NS_PER_S);
    cr_assert_eq(bk_ka_deadline(7, g.period_ns), 7 + 3 * FL_NS_PER_S);
    g = bk_ka_decide(&c, MQTT_V5, 60);
    cr_assert_eq(g.period_ns, 90 * FL_NS_PER_S);
    cr_assert_not(g.send_server_ka);
}

Test(keepalive, grace_is_exact_in_ns)
{
    cr_assert_eq(bk_ka_period_ns(1.5, 65535), UINT64_C(98302500000000));
    cr_assert_eq(bk_ka_period_ns(1.0, 1), FL_NS_PER_S);
    cr_assert_eq(bk_ka_period_ns(1.25, 3), UINT64_C(3750000000));
    cr_assert_eq(bk_ka_period_ns(1.1, 10), UINT64_C(11000000000));
}

Test(keepalive, zero_disables_without_ceiling)
{
    bk_ka_config c = cfg();
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V311, 0);
    cr_assert_eq(g.granted, 0);
    cr_assert_eq(g.period_ns, 0);
    cr_assert_eq(bk_ka_deadline(1234, g.period_ns), BK_NEVER);
}

Test(keepalive, zero_with_ceiling)
{
    bk_ka_config c = cfg();
    c.zero_ceiling = 30;
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V5, 0);
    cr_assert_eq(g.granted, 30);
    cr_assert(g.send_server_ka);
    cr_assert_eq(g.period_ns, 45 * FL_NS_PER_S);
    g = bk_ka_decide(&c, MQTT_V311, 0);
    cr_assert_eq(g.granted, 30, "3.1.1 enforces the ceiling silently");
    cr_assert_not(g.send_server_ka);
    cr_assert_not(g.refuse);
}

Test(keepalive, max_v5_answers_server_keep_alive)
{
    bk_ka_config c = cfg();
    c.max_keepalive = 10;
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V5, 60);
    cr_assert_eq(g.granted, 10);
    cr_assert(g.send_server_ka);
    cr_assert_eq(g.period_ns, 15 * FL_NS_PER_S);
    g = bk_ka_decide(&c, MQTT_V5, 5);
    cr_assert_eq(g.granted, 5);
    cr_assert_not(g.send_server_ka);
    g = bk_ka_decide(&c, MQTT_V5, 0);
    cr_assert_eq(g.granted, 0, "without a ceiling 0 stays 0 even with a maximum");
}

Test(keepalive, max_v3_clamp_or_refuse)
{
    bk_ka_config c = cfg();
    c.max_keepalive = 10;
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V311, 60);
    cr_assert_not(g.refuse);
    cr_assert_eq(g.granted, 10);
    cr_assert_not(g.send_server_ka);
    c.v3_refuse_over_max = true;
    g = bk_ka_decide(&c, MQTT_V311, 60);
    cr_assert(g.refuse);
    g = bk_ka_decide(&c, MQTT_V311, 10);
    cr_assert_not(g.refuse);
    g = bk_ka_decide(&c, MQTT_V5, 60);
    cr_assert_not(g.refuse, "v5 is never refused: it is told the server keep alive");
}

Test(keepalive, ceiling_over_max_is_clamped)
{
    bk_ka_config c = cfg();
    c.max_keepalive = 10;
    c.zero_ceiling = 100;
    c.v3_refuse_over_max = true;
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V311, 0);
    cr_assert_not(g.refuse, "the client asked 0, not too much");
    cr_assert_eq(g.granted, 10);
}

Test(keepalive, idle_limit_and_pingreq)
{
    bk_ka_config c = cfg();
    cr_assert_eq(bk_idle_deadline(&c, 5), BK_NEVER);
    c.idle_timeout = 20;
    cr_assert_eq(bk_idle_deadline(&c, 5), 5 + 20 * FL_NS_PER_S);
    cr_assert_not(bk_ka_counts_as_activity(MQTT_PINGREQ));
    cr_assert(bk_ka_counts_as_activity(MQTT_PUBLISH));
}

Test(keepalive, check_picks_the_due_deadline)
{
    uint64_t d = 0;
    cr_assert_eq(bk_ka_check(99, 100, 200, &d), BK_KA_NOT_DUE);
    cr_assert_eq(bk_ka_check(100, 100, 200, &d), BK_KA_KEEPALIVE);
    cr_assert_eq(d, 100);
    cr_assert_eq(bk_ka_check(300, 250, 200, &d), BK_KA_IDLE);
    cr_assert_eq(d, 200);
    cr_assert_eq(bk_ka_check(300, BK_NEVER, BK_NEVER, &d), BK_KA_NOT_DUE);
    cr_assert_eq(bk_ka_check(300, 200, 200, &d), BK_KA_KEEPALIVE, "a tie is keep-alive");
}

Test(keepalive, clock_driven_deadline_moves_with_packets)
{
    /* A client with KeepAlive 2 pinging every 2.9 s never becomes due; silence does at exactly +3 s. */
    bk_ka_config c = cfg();
    bk_ka_grant g = bk_ka_decide(&c, MQTT_V311, 2);
    uint64_t now = 1000 * FL_NS_PER_S, last = now, d;
    for (int i = 0; i < 10; i++) {
        now += 2900 * FL_NS_PER_MS;
        cr_assert_eq(bk_ka_check(now, bk_ka_deadline(last, g.period_ns), BK_NEVER, &d), BK_KA_NOT_DUE);
        last = now;
    }
    cr_assert_eq(bk_ka_check(last + 3 * FL_NS_PER_S - 1, bk_ka_deadline(last, g.period_ns), BK_NEVER, &d),
                 BK_KA_NOT_DUE);
    cr_assert_eq(bk_ka_check(last + 3 * FL_NS_PER_S, bk_ka_deadline(last, g.period_ns), BK_NEVER, &d),
                 BK_KA_KEEPALIVE);
}
