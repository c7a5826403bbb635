/* The per-connection prediction on hand-computed cases: a known phase gives
 * one instant and the detector's own slack, not a window. */
#include <criterion/criterion.h>
#include <math.h>

#include "model/instant.h"

#define EPS 1e-9

static fl_instant instant(const fl_model_config *c, fl_side side, double broker_rx, double client_rx)
{
    fl_conn_history h = { .broker_last_rx_s = broker_rx, .client_last_rx_s = client_rx };
    fl_instant in;
    cr_assert_eq(fl_model_instant(c, side, &h, &in), 0);
    return in;
}

Test(instant, broker_keepalive_from_its_last_read)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    /* the last PINGREQ arrived 2 s before the cut: 1.5 x 5 - 2 = 5.5 s after it */
    fl_instant in = instant(&c, FL_SIDE_BROKER, -2, -2);
    cr_assert(in.known);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 5.5, EPS);
    cr_assert_float_eq(in.slack_s, 0.001, EPS); /* a user-space timer */
}

Test(instant, client_ping_from_its_last_pingresp)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.ping_timeout_s = 3;
    c.rtt_s = 0.1;
    /* PINGRESP 2 s before the cut answered a ping sent 2.1 s before: the next
     * ping 2.9 s after the cut, dead 3 s later */
    fl_instant in = instant(&c, FL_SIDE_CLIENT, -2, -2);
    cr_assert_eq(in.detector, FL_DET_PING_TIMEOUT);
    cr_assert_float_eq(in.at_s, 5.9, EPS);
    cr_assert_float_eq(in.slack_s, 0.002, EPS); /* two user-space timers: the ping, its timeout */
    /* PINGRESP 5.4 s before: the next ping left 0.5 s before the cut and was lost: same rule */
    in = instant(&c, FL_SIDE_CLIENT, -5.4, -5.4);
    cr_assert_float_eq(in.at_s, 2.5, EPS);
}

#define PROBES_LATE (0.032 + 8 * 0.024)

Test(instant, kernel_keepalive_with_timer_wheel_slack)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.client.strategy = FL_MS_TCP_ONLY;
    c.client.tcp.keepalive = true;
    c.client.tcp.idle_s = 14;
    c.client.tcp.interval_s = 1;
    c.client.tcp.count = 9;
    /* CONNACK 2 s before the cut: 14 + 9 x 1 - 2 = 21 s; the idle arm may be
     * a wheel slot late (256 ms for 14 s), so may the first probe's (32 ms for
     * 1 s), and each later probe re-arms on the wheel's grid: 1.024 s apart at
     * HZ=250, 24 ms a probe (model/timer_wheel.h) */
    fl_instant in = instant(&c, FL_SIDE_CLIENT, -2, -2);
    cr_assert_eq(in.detector, FL_DET_TCP_KEEPALIVE);
    cr_assert_float_eq(in.at_s, 21, EPS);
    cr_assert_float_eq(in.slack_s, 0.256 + PROBES_LATE, EPS);
    /* quiet for 30 s: two answered probe rounds moved the kernel's last
     * receive to 2 s before the cut, each round as late as its timer */
    in = instant(&c, FL_SIDE_CLIENT, -30, -30);
    cr_assert_float_eq(in.at_s, 21, EPS);
    cr_assert_float_eq(in.slack_s, 3 * 0.256 + PROBES_LATE, EPS);
    /* quiet for 28.1 s: the second round (nominally 0.1 s before the cut)
     * may have been 0.512 s late, after it: the first may be the last one, and
     * the prediction is as wide as a round */
    in = instant(&c, FL_SIDE_CLIENT, -28.1, -28.1);
    cr_assert_float_eq(in.at_s, -28.1 + 14 + 23, EPS);
    cr_assert_float_eq(in.slack_s, 2 * 0.256 + 14 + 0.256 + PROBES_LATE, EPS);
}

Test(instant, nothing_to_fire_and_no_will_timer)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 0;
    c.client.strategy = FL_MS_TCP_ONLY;
    fl_instant in = instant(&c, FL_SIDE_BROKER, -1, -1);
    cr_assert_not(in.known);
    fl_conn_history h = { 0 };
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_WILL, &h, &in), -1);
}

/* A rebooted or reconnecting client's CONNECT makes the broker take the old
 * session over, if that comes before its keep-alive deadline. */
Test(instant, broker_takeover_on_reconnect)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 8;
    fl_conn_history h = { .broker_last_rx_s = -1, .client_last_rx_s = -1, .reconnected = true, .reconnect_s = 4 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 4, EPS);
    cr_assert_float_eq(in.slack_s, 0.001, EPS);
    h.reconnect_s = 20; /* later than 1.5 x 8 - 1 = 11 s: the deadline wins */
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_not(in.by_reconnect);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 11, EPS);
}

/* The reconnect's SYN may come on the dead connection's port: the broker's
 * ghost reads the client stack's RST then, up to a second before the CONNECT
 * (the SYN is retransmitted after 1 s). The logs cannot tell the port: the
 * instant is the SYN's and the slack reaches the CONNECT's takeover. */
Test(instant, broker_reset_by_the_reconnect_syn)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 8;
    fl_conn_history h = { .broker_last_rx_s = -1, .client_last_rx_s = -1, .reconnected = true, .reconnect_s = 5,
                          .retried = true, .retry_s = 4 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 4, EPS, "the SYN's reset can come first");
    cr_assert_float_eq(in.slack_s, 1.001, EPS, "and the takeover at the CONNECT, 1 s later, is as explained");
    /* a SYN after the keep-alive deadline (11 s) changes nothing */
    h.retry_s = 12;
    h.reconnect_s = 13;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_not(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 11, EPS);
    /* a SYN before the deadline and a CONNECT after it: the deadline bounds the slack */
    h.retry_s = 10.5;
    h.reconnect_s = 12.5;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 10.5, EPS);
    cr_assert_float_eq(in.slack_s, 11.001 - 10.5, EPS, "no later than the deadline plus its own slack");
}

/* The probe rounds' uncertainty widens only the kernel's keep-alive: an MQTT
 * deadline that comes first keeps its 1 ms. */
Test(instant, probe_rounds_do_not_widen_the_mqtt_deadline)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 6;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = c.broker.tcp.interval_s = 2;
    c.broker.tcp.count = 9;
    fl_instant in = instant(&c, FL_SIDE_BROKER, -3.99, -3.99);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 9 - 3.99, EPS);
    cr_assert_float_eq(in.slack_s, 0.001, EPS);
}

/* The will: the broker lets go, then the Will Delay, then one delivery. */
Test(instant, will_is_the_brokers_instant_plus_the_will_delay)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.will = true;
    fl_instant in = instant(&c, FL_SIDE_WILL, -2, -2);
    cr_assert(in.known);
    cr_assert_float_eq(in.at_s, 5.5, EPS);
    cr_assert_float_eq(in.slack_s, 0.002, EPS); /* the broker's deadline, the delivery */
    c.client.will_delay_s = 3;
    in = instant(&c, FL_SIDE_WILL, -2, -2);
    cr_assert_float_eq(in.at_s, 8.5, EPS);
    cr_assert_float_eq(in.slack_s, 0.003, EPS); /* and the delay's own timer */
}

/* A client whose log says when it last sent is predicted from that send, not
 * from its last read minus the path's round trip: the broker answered its
 * last PINGREQ 30 ms late. */
Test(instant, client_from_its_logged_last_send)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.ping_timeout_s = 3;
    fl_conn_history h = { .broker_last_rx_s = -2.03, .client_last_rx_s = -2, .client_tx_known = true,
                          .client_last_tx_s = -2.03 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_CLIENT, &h, &in), 0);
    cr_assert_float_eq(in.at_s, 5.97, EPS);
    h.client_tx_known = false;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_CLIENT, &h, &in), 0);
    cr_assert_float_eq(in.at_s, 6.0, EPS);
    /* the probe strategy counts from its last read: the send does not move it */
    c.client.strategy = FL_MS_PROBE;
    c.client.probe_idle_s = 2;
    c.client.probe_interval_s = 1;
    h.client_tx_known = true;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_CLIENT, &h, &in), 0);
    cr_assert_float_eq(in.at_s, 3.0, EPS);
}

/* The broker's next connection on the ghost's own address and port was
 * accepted 6 s after the cut: the SYN before it (1 s, up to a wheel slot of
 * 32 ms at HZ=250, earlier) reset the ghost, before its 7.5 s deadline. */
Test(instant, broker_reset_by_a_syn_on_its_own_port)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    fl_conn_history h = { .broker_last_rx_s = 0, .client_last_rx_s = 0, .port_reused = true, .reused_accept_s = 6 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_eq(in.detector, FL_DET_RESET);
    cr_assert(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 6 - 1 - 0.032, EPS);
    cr_assert_float_eq(in.slack_s, 0.032 + 0.002, EPS);
    /* accepted only after the deadline: the deadline came first */
    h.reused_accept_s = 9;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 7.5, EPS);
}

/* A broker that rejects a duplicate client id keeps the ghost when the
 * client comes back: its own deadline ends it (scenarios/ghost-reconnect). */
Test(instant, no_takeover_where_duplicates_are_rejected)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 8;
    fl_conn_history h = { .broker_last_rx_s = -1, .client_last_rx_s = -1, .reconnected = true, .reconnect_s = 4,
                          .reconnect_done_s = 4.001 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert(in.by_reconnect);
    cr_assert_float_eq(in.at_s, 4, EPS);
    c.broker.duplicate = FL_DUP_REJECT;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_not(in.by_reconnect);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 11, EPS);
}

/* A partition of 3.001 s; the client's ping left 1 s after the cut and its
 * ping timeout gave up before the heal. Its orphaned socket retransmits that
 * PINGREQ on veth after the tail loss probe (0.204 s) and RTOs of 0.204,
 * 0.408, 0.816, 1.632 s: at 1.204, 1.408, 1.816, 2.632 and 4.264 s; the last
 * passes, the ghost answers, the orphan resets it. Each of the five arms may
 * be a wheel slot (32 ms at HZ=250) late. Before its deadline (last read 1 s
 * before the cut: 6.5 s). */
Test(instant, broker_reset_by_the_clients_orphan_after_a_heal)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    fl_conn_history h = { .broker_last_rx_s = -1, .client_last_rx_s = -1, .orphan = true, .orphan_sent_s = 1,
                          .heal_s = 3.001 };
    fl_instant in;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_eq(in.detector, FL_DET_RESET);
    cr_assert_float_eq(in.at_s, 1 + 0.204 + 0.204 + 0.408 + 0.816 + 1.632, 1e-6);
    cr_assert_float_eq(in.slack_s, 5 * 0.032 + 0.002, 1e-6);
    /* healed later: the next retransmission (7.528 s) is after the
     * keep-alive deadline (6.5 s after the cut), which comes first */
    h.heal_s = 4.5;
    cr_assert_eq(fl_model_instant(&c, FL_SIDE_BROKER, &h, &in), 0);
    cr_assert_eq(in.detector, FL_DET_KEEPALIVE_TIMEOUT);
    cr_assert_float_eq(in.at_s, 6.5, EPS);
}

/* The same, per connection: its last PINGREQ reached the broker 3 ms before
 * the cut, so the PINGRESP may still have waited for its ACK: keep-alive
 * (20 s after the last read) may fire, MQTT's deadline (30 s) surely does. */
Test(instant, keepalive_may_stand_aside_for_a_pingresp_in_flight)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 20;
    c.client.ping_timeout_s = 5;
    c.broker.tcp.keepalive = true;
    c.broker.tcp.idle_s = 2;
    c.broker.tcp.interval_s = 2;
    c.broker.tcp.count = 9;
    fl_instant in = instant(&c, FL_SIDE_BROKER, -0.003, -0.003);
    cr_assert_eq(in.detector, FL_DET_TCP_KEEPALIVE);
    cr_assert_float_eq(in.at_s, 20 - 0.003, 1e-6);
    cr_assert_float_eq(in.at_s + in.slack_s, 30 - 0.003 + 0.001, 1e-6);
    /* its last read 5 s before: the ACK had long come back */
    in = instant(&c, FL_SIDE_BROKER, -5, -5);
    cr_assert_eq(in.detector, FL_DET_TCP_KEEPALIVE);
    cr_assert_lt(in.slack_s, 3);
}

/* A black-box client's own rule is not known: no instant on its side, while
 * the broker's still counts from its own last read. */
Test(instant, a_black_box_client_has_no_instant)
{
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 5;
    c.client.rule_unknown = true;
    fl_instant in = instant(&c, FL_SIDE_CLIENT, -2, -2);
    cr_assert(!in.known);
    cr_assert_eq(in.detector, FL_DET_NONE);
    in = instant(&c, FL_SIDE_BROKER, -2, -2);
    cr_assert(in.known);
    cr_assert_float_eq(in.at_s, 5.5, EPS);
}
