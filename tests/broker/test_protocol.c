/* The broker's protocol core without sockets: an injected clock, an
 * in-memory transport, real codec packets. */
#include <criterion/criterion.h>
#include <string.h>

#include "expect.h"
#include "fake_net.h"

static fake_net net;

static void setup_default(void) { fake_net_init(&net, NULL); }
static void teardown(void) { fake_net_free(&net); }

static const char *str(json_t *ev, const char *key) { return json_string_value(json_object_get(ev, key)); }
static json_int_t num(json_t *ev, const char *key) { return json_integer_value(json_object_get(ev, key)); }

TestSuite(protocol, .init = setup_default, .fini = teardown);

Test(protocol, connect_v3)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "dev1", 30, true);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, 0);
    cr_assert_not(p.u.connack.session_present);
    json_t *ev = fake_event(&net, "connect", 0);
    cr_assert_not_null(ev);
    cr_assert_str_eq(str(ev, "client_id"), "dev1");
    cr_assert_eq(num(ev, "keepalive_granted"), 30);
    cr_assert_eq(num(ev, "version"), 4);
    cr_assert_str_eq(str(ev, "conn"), "198.18.1.2:40000");
    json_decref(ev);
    fake_client_free(a);
}

Test(protocol, keepalive_close_exactly_at_deadline)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "ka", 2, true);
    uint64_t t0 = net.now;
    fake_net_advance(&net, 2999 * FL_NS_PER_MS);
    cr_assert_not(a->released);
    fake_net_advance(&net, FL_NS_PER_MS);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "keepalive_timeout");
    cr_assert_eq((uint64_t)num(ev, "deadline"), t0 + 3 * FL_NS_PER_S);
    cr_assert_eq((uint64_t)num(ev, "t"), t0 + 3 * FL_NS_PER_S);
    cr_assert_eq((uint64_t)num(ev, "last_rx"), t0);
    json_decref(ev);
    fake_client_free(a);
}

Test(protocol, any_packet_moves_the_deadline)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "ka", 2, true);
    fake_drain(a);
    fake_net_advance(&net, 2 * FL_NS_PER_S);
    mqtt_packet ping = { .type = MQTT_PINGREQ };
    fake_send(a, &ping);
    expect(a, MQTT_PINGRESP);
    uint64_t t1 = net.now;
    fake_net_advance(&net, 2999 * FL_NS_PER_MS);
    cr_assert_not(a->released);
    fake_net_advance(&net, FL_NS_PER_MS);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_eq((uint64_t)num(ev, "deadline"), t1 + 3 * FL_NS_PER_S);
    json_decref(ev);
    fake_client_free(a);
}

Test(protocol, keepalive_zero_never_closes)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "zero", 0, true);
    fake_net_advance(&net, 100000 * FL_NS_PER_S);
    cr_assert_not(a->released);
    fake_client_free(a);
}

Test(protocol, idle_limit_ignores_pingreq)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.ka.idle_timeout = 5;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "idle", 2, true);
    uint64_t t0 = net.now;
    mqtt_packet ping = { .type = MQTT_PINGREQ };
    for (int i = 0; i < 4; i++) {
        fake_net_advance(&net, FL_NS_PER_S);
        fake_send(a, &ping);
    }
    cr_assert_not(a->released);
    fake_net_advance(&net, FL_NS_PER_S);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "idle_timeout");
    cr_assert_eq((uint64_t)num(ev, "deadline"), t0 + 5 * FL_NS_PER_S);
    json_decref(ev);
    fake_client_free(a);
}

Test(protocol, v5_server_keep_alive)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.ka.max_keepalive = 10;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V5, "v5", 60, true);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert(mqtt_prop_has(&p.u.connack.props, MQTT_PROP_SERVER_KEEP_ALIVE));
    cr_assert_eq(p.u.connack.props.server_keep_alive, 10);
    fake_net_advance(&net, 15 * FL_NS_PER_S);
    cr_assert(a->released, "enforced at 1.5 x the granted 10 s");
    fake_client_free(a);
}

Test(protocol, v3_over_max_refused)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.ka.max_keepalive = 10;
    cfg.ka.v3_refuse_over_max = true;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "v3", 60, true);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, MQTT_V3_REFUSED_IDENTIFIER);
    cr_assert(a->released);
    fake_client_free(a);
}

Test(protocol, will_on_keepalive_timeout_not_on_disconnect)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V311, "watcher", 0, true);
    fake_subscribe(w, "will/#", 1);
    fake_drain(w);

    for (int round = 0; round < 2; round++) {
        fake_client *a = fake_connect_tcp(&net, 0);
        a->version = MQTT_V311;
        mqtt_packet c = { .type = MQTT_CONNECT };
        c.u.connect.version = MQTT_V311;
        c.u.connect.clean_session = true;
        c.u.connect.keep_alive = 2;
        c.u.connect.client_id = mqtt_cstr("dev");
        c.u.connect.has_will = true;
        c.u.connect.will_topic = mqtt_cstr("will/dev");
        c.u.connect.will_payload = mqtt_cstr("gone");
        c.u.connect.will_qos = 1;
        fake_send(a, &c);
        expect(a, MQTT_CONNACK);
        if (round == 0) {
            mqtt_packet d = { .type = MQTT_DISCONNECT };
            fake_send(a, &d);
            cr_assert(a->released);
            expect_nothing(w);
        } else {
            fake_net_advance(&net, 3 * FL_NS_PER_S);
            cr_assert(a->released);
            mqtt_packet p = expect(w, MQTT_PUBLISH);
            cr_assert(mqtt_bytes_eq(p.u.publish.topic, mqtt_cstr("will/dev")));
            cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("gone")));
            cr_assert_eq(p.u.publish.qos, 1);
            json_t *ev = fake_event(&net, "will", 0);
            cr_assert_str_eq(str(ev, "client_id"), "dev");
            cr_assert_str_eq(str(ev, "topic"), "will/dev");
            json_decref(ev);
        }
        fake_client_free(a);
    }
    fake_client_free(w);
}

static fake_client *connect_with_will(mqtt_version v, const char *id, bool clean, uint32_t expiry, uint32_t delay)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = v;
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = v;
    c.u.connect.clean_session = clean;
    c.u.connect.keep_alive = 2;
    c.u.connect.client_id = mqtt_cstr(id);
    c.u.connect.has_will = true;
    c.u.connect.will_topic = mqtt_cstr("will/x");
    c.u.connect.will_payload = mqtt_cstr(id);
    if (v == MQTT_V5) {
        c.u.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
        c.u.connect.props.session_expiry = expiry;
        if (delay) {
            c.u.connect.will_props.present = MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY);
            c.u.connect.will_props.will_delay = delay;
        }
    }
    fake_send(a, &c);
    return a;
}

Test(protocol, v5_will_delay)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V5, "watcher", 0, true);
    fake_subscribe(w, "will/#", 0);
    fake_drain(w);
    fake_client *a = connect_with_will(MQTT_V5, "dev", true, 100, 5);
    expect(a, MQTT_CONNACK);
    fake_net_advance(&net, 3 * FL_NS_PER_S); /* keep-alive timeout */
    cr_assert(a->released);
    fake_net_advance(&net, 4999 * FL_NS_PER_MS);
    expect_nothing(w);
    fake_net_advance(&net, FL_NS_PER_MS);
    expect(w, MQTT_PUBLISH);
    json_t *ev = fake_event(&net, "will", 0);
    cr_assert_eq(num(ev, "delay"), 5);
    json_decref(ev);

    /* Reconnecting within the delay cancels the will. */
    fake_client *b = connect_with_will(MQTT_V5, "dev2", false, 100, 5);
    expect(b, MQTT_CONNACK);
    fake_net_advance(&net, 3 * FL_NS_PER_S);
    cr_assert(b->released);
    fake_client *b2 = fake_mqtt_connect(&net, MQTT_V5, "dev2", 0, false);
    mqtt_packet p = expect(b2, MQTT_CONNACK);
    cr_assert(p.u.connack.session_present);
    fake_net_advance(&net, 10 * FL_NS_PER_S);
    expect_nothing(w);
    cr_assert_eq(fake_event_count(&net, "will"), 1);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(b2);
    fake_client_free(w);
}

Test(protocol, v5_disconnect_with_will)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V5, "watcher", 0, true);
    fake_subscribe(w, "will/#", 0);
    fake_drain(w);
    fake_client *a = connect_with_will(MQTT_V5, "dev", true, 0, 0);
    expect(a, MQTT_CONNACK);
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    d.u.disconnect.reason = MQTT_RC_DISCONNECT_WITH_WILL;
    fake_send(a, &d);
    cr_assert(a->released);
    expect(w, MQTT_PUBLISH);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "client_disconnect");
    json_decref(ev);
    fake_client_free(a);
    fake_client_free(w);
}

Test(protocol, takeover_v5_sends_0x8e_and_publishes_will)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V311, "watcher", 0, true);
    fake_subscribe(w, "will/#", 0);
    fake_drain(w);
    fake_client *a = connect_with_will(MQTT_V5, "dev", true, 0, 0);
    expect(a, MQTT_CONNACK);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V5, "dev", 30, true);
    expect(b, MQTT_CONNACK);
    cr_assert(a->released);
    cr_assert_not(b->released);
    mqtt_packet p = expect(a, MQTT_DISCONNECT);
    cr_assert_eq(p.u.disconnect.reason, MQTT_RC_SESSION_TAKEN_OVER);
    p = expect(w, MQTT_PUBLISH);
    cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("dev")));
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "takeover");
    cr_assert_str_eq(str(ev, "client_id"), "dev");
    json_decref(ev);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(w);
}

Test(protocol, takeover_keeps_persistent_session)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "dev", 30, false);
    fake_subscribe(a, "cmd/dev", 1);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "dev", 30, false);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert(p.u.connack.session_present);
    cr_assert(a->released);
    fake_client *pub = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    fake_publish(pub, "cmd/dev", "on", 1, false, 9);
    p = expect(b, MQTT_PUBLISH);
    cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("on")));
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(pub);
}

Test(protocol, reject_duplicate_keeps_the_ghost)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.duplicate_reject = true;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "dev", 30, true);
    expect(a, MQTT_CONNACK);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "dev", 30, true);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, MQTT_V3_REFUSED_IDENTIFIER);
    cr_assert(b->released);
    cr_assert_not(a->released);
    fake_client *c5 = fake_mqtt_connect(&net, MQTT_V5, "dev", 30, true);
    p = expect(c5, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, MQTT_RC_CLIENT_ID_NOT_VALID);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "rejected_duplicate");
    cr_assert_str_eq(str(ev, "client_id"), "dev");
    json_decref(ev);
    /* Once the ghost times out, the id is free again. */
    fake_net_advance(&net, 45 * FL_NS_PER_S);
    cr_assert(a->released);
    fake_client *d = fake_mqtt_connect(&net, MQTT_V311, "dev", 30, true);
    p = expect(d, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, 0);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(c5);
    fake_client_free(d);
}

Test(protocol, persistent_session_queues_qos1_offline)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, false);
    fake_subscribe(a, "t/#", 1);
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    fake_send(a, &d);
    fake_client *pub = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    fake_publish(pub, "t/1", "one", 1, false, 1);
    fake_publish(pub, "t/2", "two", 0, false, 0); /* QoS 0 is not kept for offline sessions */
    fake_publish(pub, "t/3", "three", 2, false, 2);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, false);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert(p.u.connack.session_present);
    p = expect(b, MQTT_PUBLISH);
    cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("one")));
    cr_assert_eq(p.u.publish.qos, 1);
    p = expect(b, MQTT_PUBLISH);
    cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("three")));
    cr_assert_eq(p.u.publish.qos, 1, "downgraded to the subscription's QoS");
    expect_nothing(b);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(pub);
}

Test(protocol, qos2_inbound_exactly_once)
{
    fake_client *s = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, true);
    fake_subscribe(s, "q", 2);
    fake_drain(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    fake_drain(p);
    fake_publish(p, "q", "x", 2, false, 5);
    fake_publish(p, "q", "x", 2, false, 5); /* a resend before PUBREL */
    mqtt_packet r = expect(p, MQTT_PUBREC);
    cr_assert_eq(r.u.ack.packet_id, 5);
    expect(p, MQTT_PUBREC);
    mqtt_packet rel = { .type = MQTT_PUBREL };
    rel.u.ack.packet_id = 5;
    fake_send(p, &rel);
    r = expect(p, MQTT_PUBCOMP);
    cr_assert_eq(r.u.ack.packet_id, 5);
    /* The subscriber gets it once, with the QoS 2 flow. */
    r = expect(s, MQTT_PUBLISH);
    cr_assert_eq(r.u.publish.qos, 2);
    uint16_t id = r.u.publish.packet_id;
    expect_nothing(s);
    mqtt_packet rec = { .type = MQTT_PUBREC };
    rec.u.ack.packet_id = id;
    fake_send(s, &rec);
    r = expect(s, MQTT_PUBREL);
    cr_assert_eq(r.u.ack.packet_id, id);
    mqtt_packet comp = { .type = MQTT_PUBCOMP };
    comp.u.ack.packet_id = id;
    fake_send(s, &comp);
    fake_client_free(s);
    fake_client_free(p);
}

Test(protocol, receive_maximum_limits_inflight)
{
    fake_client *s = fake_connect_tcp(&net, 0);
    s->version = MQTT_V5;
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = MQTT_V5;
    c.u.connect.clean_session = true;
    c.u.connect.client_id = mqtt_cstr("slow");
    c.u.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM);
    c.u.connect.props.receive_maximum = 2;
    fake_send(s, &c);
    fake_subscribe(s, "m", 1);
    fake_drain(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    for (int i = 0; i < 5; i++)
        fake_publish(p, "m", "x", 1, false, (uint16_t)(i + 1));
    mqtt_packet a = expect(s, MQTT_PUBLISH);
    expect(s, MQTT_PUBLISH);
    expect_nothing(s);
    mqtt_packet ack = { .type = MQTT_PUBACK };
    ack.u.ack.packet_id = a.u.publish.packet_id;
    fake_send(s, &ack);
    expect(s, MQTT_PUBLISH);
    expect_nothing(s);
    fake_client_free(s);
    fake_client_free(p);
}

Test(protocol, retained_messages)
{
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    fake_publish(p, "r/a", "A", 1, true, 1);
    fake_publish(p, "r/b", "B", 0, true, 0);
    fake_publish(p, "r/b", "", 0, true, 0); /* clears r/b */
    fake_client *s = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, true);
    fake_drain(s);
    fake_subscribe(s, "r/+", 1);
    expect(s, MQTT_SUBACK);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    cr_assert(m.u.publish.retain);
    cr_assert(mqtt_bytes_eq(m.u.publish.payload, mqtt_cstr("A")));
    expect_nothing(s);
    /* A live publish is forwarded with retain 0 (MQTT-3.3.1-9). */
    fake_publish(p, "r/a", "A2", 0, true, 0);
    m = expect(s, MQTT_PUBLISH);
    cr_assert_not(m.u.publish.retain);
    fake_client_free(p);
    fake_client_free(s);
}

Test(protocol, malformed_closes_only_the_offender)
{
    fake_client *good = fake_mqtt_connect(&net, MQTT_V311, "good", 30, true);
    fake_subscribe(good, "x", 0);
    fake_drain(good);
    fake_client *bad = fake_mqtt_connect(&net, MQTT_V5, "bad", 30, true);
    fake_drain(bad);
    static const uint8_t junk[] = { 0x30, 0x05, 0x00, 0x09, 'a', 'b', 'c' }; /* topic length past the packet */
    fake_send_raw(bad, junk, sizeof junk);
    cr_assert(bad->released);
    mqtt_packet d = expect(bad, MQTT_DISCONNECT);
    cr_assert_geq(d.u.disconnect.reason, 0x80);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "protocol_error");
    cr_assert_str_eq(str(ev, "client_id"), "bad");
    json_decref(ev);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    fake_publish(p, "x", "still", 0, false, 0);
    expect(good, MQTT_PUBLISH);
    cr_assert_not(good->released);
    fake_client_free(good);
    fake_client_free(bad);
    fake_client_free(p);
}

Test(protocol, packet_before_connect)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    static const uint8_t ping[] = { 0xC0, 0x00 };
    fake_send_raw(a, ping, sizeof ping);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "protocol_error");
    cr_assert_null(json_object_get(ev, "client_id"));
    json_decref(ev);
    fake_client_free(a);
}

Test(protocol, connect_timeout)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    fake_net_advance(&net, 10 * FL_NS_PER_S);
    cr_assert(a->released);
    fake_client_free(a);
}

Test(protocol, max_queued_drops_beyond_the_limit)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.max_queued = 3;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, false);
    fake_subscribe(a, "t", 1);
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    fake_send(a, &d);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 30, true);
    for (int i = 0; i < 10; i++)
        fake_publish(p, "t", "x", 1, false, (uint16_t)(i + 1));
    cr_assert_eq(bk_broker_stats(net.b).dropped_queue_full, 7);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "sub", 30, false);
    expect(b, MQTT_CONNACK);
    for (int i = 0; i < 3; i++)
        expect(b, MQTT_PUBLISH);
    expect_nothing(b);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(p);
}

Test(protocol, limits_topic_and_subscriptions)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.max_subscriptions = 2;
    cfg.max_topic_length = 8;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V5, "a", 30, true);
    fake_drain(a);
    fake_subscribe(a, "a", 0);
    fake_subscribe(a, "b", 0);
    fake_subscribe(a, "c", 0);
    fake_subscribe(a, "a", 1); /* a replacement does not count */
    fake_subscribe(a, "0123456789", 0);
    mqtt_packet s = expect(a, MQTT_SUBACK);
    cr_assert_eq(s.u.suback.codes[0], 0);
    s = expect(a, MQTT_SUBACK);
    cr_assert_eq(s.u.suback.codes[0], 0);
    s = expect(a, MQTT_SUBACK);
    cr_assert_eq(s.u.suback.codes[0], MQTT_RC_QUOTA_EXCEEDED);
    s = expect(a, MQTT_SUBACK);
    cr_assert_eq(s.u.suback.codes[0], 1);
    s = expect(a, MQTT_SUBACK);
    cr_assert_eq(s.u.suback.codes[0], MQTT_RC_TOPIC_FILTER_INVALID);
    fake_publish(a, "much/too/long", "x", 0, false, 0);
    cr_assert(a->released);
    mqtt_packet d = expect(a, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_TOPIC_NAME_INVALID);
    fake_client_free(a);
}

Test(protocol, shutdown_closes_everyone)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V5, "a", 30, true);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "b", 30, true);
    fake_drain(a);
    cr_assert_eq(bk_broker_shutdown(net.b), 2);
    cr_assert(a->released && b->released);
    mqtt_packet d = expect(a, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_SERVER_SHUTTING_DOWN);
    json_t *ev = fake_event(&net, "shutdown", 0);
    cr_assert_eq(num(ev, "connections"), 2);
    json_decref(ev);
    cr_assert_eq(fake_event_count(&net, "close"), 2);
    fake_client_free(a);
    fake_client_free(b);
}

Test(protocol, split_input_byte_by_byte)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V311;
    uint8_t buf[128];
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = MQTT_V311;
    c.u.connect.clean_session = true;
    c.u.connect.client_id = mqtt_cstr("bytes");
    size_t n = mqtt_encode(&c, MQTT_V311, buf, sizeof buf, NULL);
    for (size_t i = 0; i < n; i++)
        fake_send_raw(a, buf + i, 1);
    expect(a, MQTT_CONNACK);
    fake_client_free(a);
}
