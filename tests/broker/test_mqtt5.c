/* MQTT 5 sessions and reconnects in the protocol core, with an injected clock
 * (no sleeping): Message Expiry, Session Present after a takeover,
 * Subscription Identifiers, Topic Aliases, Shared Subscriptions, the CONNACK
 * for a rejected CONNECT, wills on takeover, and arrival-time deadlines. */
#include <criterion/criterion.h>
#include <string.h>

#include "expect.h"
#include "fake_net.h"

static fake_net net;

static void setup_default(void) { fake_net_init(&net, NULL); }
static void teardown(void) { fake_net_free(&net); }

static bool topic_is(const mqtt_packet *p, const char *t) { return mqtt_bytes_eq(p->u.publish.topic, mqtt_cstr(t)); }
static bool payload_is(const mqtt_packet *p, const char *s)
{
    return mqtt_bytes_eq(p->u.publish.payload, mqtt_cstr(s));
}
static json_int_t num(json_t *ev, const char *key) { return json_integer_value(json_object_get(ev, key)); }

static mqtt_props expiry_props(uint32_t session_expiry)
{
    mqtt_props p = { 0 };
    p.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
    p.session_expiry = session_expiry;
    return p;
}

static mqtt_props message_expiry(uint32_t s)
{
    mqtt_props p = { 0 };
    p.present = MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY);
    p.message_expiry = s;
    return p;
}

static void ack(fake_client *fc, uint16_t id)
{
    mqtt_packet a = { .type = MQTT_PUBACK };
    a.u.ack.packet_id = id;
    fake_send(fc, &a);
}

static void disconnect(fake_client *fc)
{
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    fake_send(fc, &d);
    cr_assert(fc->released);
}

TestSuite(mqtt5, .init = setup_default, .fini = teardown);

/* ---- 1. Message Expiry (MQTT-3.3.2-5, -6) ---- */

Test(mqtt5, expiry_deletes_queued_and_counts_down)
{
    mqtt_props se = expiry_props(3600);
    fake_client *s = fake_connect_props(&net, "sub", 0, true, &se);
    fake_subscribe(s, "e/#", 1);
    fake_drain(s);
    disconnect(s);
    fake_client_free(s);

    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    mqtt_props e1 = message_expiry(1), e10 = message_expiry(10);
    fake_publish_props(p, "e/short", "1s", 1, 1, &e1);
    fake_publish_props(p, "e/long", "10s", 1, 2, &e10);
    fake_publish_props(p, "e/none", "none", 1, 3, NULL);
    fake_net_advance(&net, 3 * FL_NS_PER_S);

    s = fake_connect_props(&net, "sub", 0, false, &se);
    mqtt_packet c = expect(s, MQTT_CONNACK);
    cr_assert(c.u.connack.session_present);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    cr_assert(topic_is(&m, "e/long"), "the 1 s message expired while queued (MQTT-3.3.2-5)");
    cr_assert(mqtt_prop_has(&m.u.publish.props, MQTT_PROP_MESSAGE_EXPIRY));
    cr_assert_eq(m.u.publish.props.message_expiry, 7, "10 s less the 3 s it waited (MQTT-3.3.2-6)");
    m = expect(s, MQTT_PUBLISH);
    cr_assert(topic_is(&m, "e/none"));
    cr_assert_not(mqtt_prop_has(&m.u.publish.props, MQTT_PROP_MESSAGE_EXPIRY));
    expect_nothing(s);
    cr_assert_eq(bk_broker_stats(net.b).expired, 1);
    fake_client_free(s);
    fake_client_free(p);
}

Test(mqtt5, expiry_forwarded_at_once_keeps_its_interval)
{
    fake_client *s = fake_mqtt_connect(&net, MQTT_V5, "sub", 0, true);
    fake_subscribe(s, "e/#", 0);
    fake_drain(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    mqtt_props e5 = message_expiry(5);
    fake_publish_props(p, "e/x", "x", 0, 0, &e5);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    cr_assert_eq(m.u.publish.props.message_expiry, 5);
    fake_client_free(s);
    fake_client_free(p);
}

Test(mqtt5, expiry_counts_from_arrival_and_retained)
{
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    mqtt_props e2 = message_expiry(2);
    mqtt_packet pub = { .type = MQTT_PUBLISH };
    pub.u.publish.topic = mqtt_cstr("r/x");
    pub.u.publish.payload = mqtt_cstr("kept");
    pub.u.publish.retain = true;
    pub.u.publish.props = e2;
    fake_send(p, &pub);
    fake_net_advance(&net, 1500 * FL_NS_PER_MS);
    fake_client *s = fake_mqtt_connect(&net, MQTT_V5, "late", 0, true);
    fake_subscribe(s, "r/#", 0);
    expect(s, MQTT_CONNACK);
    expect(s, MQTT_SUBACK);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    cr_assert_eq(m.u.publish.props.message_expiry, 1, "0.5 s left, rounded up");
    fake_net_advance(&net, FL_NS_PER_S);
    fake_subscribe(s, "r/+", 0);
    expect(s, MQTT_SUBACK);
    expect_nothing(s); /* expired: not sent, and deleted */
    cr_assert_eq(bk_broker_stats(net.b).retained, 0);
    fake_client_free(s);
    fake_client_free(p);
}

/* ---- 2. Session Present after a takeover (MQTT-3.1.2-6, MQTT-3.2.2-2) ---- */

Test(mqtt5, v3_takeover_of_clean_session_has_no_session)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "dev", 0, true);
    fake_subscribe(a, "t/#", 1);
    fake_drain(a);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V311, "dev", 0, false);
    cr_assert(a->released);
    mqtt_packet c = expect(b, MQTT_CONNACK);
    cr_assert_not(c.u.connack.session_present, "the clean session ended with its connection");
    /* and its subscription went with it */
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 0, true);
    fake_publish(p, "t/1", "x", 1, false, 1);
    expect_nothing(b);
    fake_client_free(p);
    /* a durable session taken over is resumed */
    fake_client *d = fake_mqtt_connect(&net, MQTT_V311, "dev", 0, false);
    c = expect(d, MQTT_CONNACK);
    cr_assert(c.u.connack.session_present);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(d);
}

Test(mqtt5, v5_takeover_of_expiry_zero_has_no_session)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V5, "dev", 0, true); /* Clean Start 1, Session Expiry 0 */
    fake_drain(a);
    mqtt_props se = expiry_props(60);
    fake_client *b = fake_connect_props(&net, "dev", 0, false, &se);
    cr_assert(a->released);
    mqtt_packet d = expect(a, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_SESSION_TAKEN_OVER);
    mqtt_packet c = expect(b, MQTT_CONNACK);
    cr_assert_not(c.u.connack.session_present);
    fake_client *b2 = fake_connect_props(&net, "dev", 0, false, &se);
    c = expect(b2, MQTT_CONNACK);
    cr_assert(c.u.connack.session_present, "Session Expiry 60: the session passes on");
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(b2);
}

/* ---- 3. Subscription Identifiers ---- */

static void ids_of(const mqtt_packet *m, uint32_t *out, int *n)
{
    *n = 0;
    if (!mqtt_prop_has(&m->u.publish.props, MQTT_PROP_SUBSCRIPTION_ID))
        return;
    size_t pos = 0;
    uint32_t id;
    while (mqtt_sub_id_next(m->u.publish.props.sub_ids, &pos, &id))
        out[(*n)++] = id;
}

Test(mqtt5, subscription_identifiers)
{
    fake_client *s = fake_mqtt_connect(&net, MQTT_V5, "sub", 0, true);
    mqtt_packet c = expect(s, MQTT_CONNACK);
    cr_assert(mqtt_prop_has(&c.u.connack.props, MQTT_PROP_SUB_ID_AVAILABLE));
    cr_assert_eq(c.u.connack.props.sub_id_available, 1);
    fake_subscribe_ex(s, "a/+", 1, 5, false);
    fake_subscribe_ex(s, "a/b", 0, 268435455, false);
    fake_subscribe_ex(s, "a/#", 1, 0, false);
    expect(s, MQTT_SUBACK);
    expect(s, MQTT_SUBACK);
    expect(s, MQTT_SUBACK);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    fake_publish(p, "a/b", "both", 1, false, 1);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    uint32_t ids[4];
    int n;
    ids_of(&m, ids, &n);
    cr_assert_eq(n, 2, "one copy carries every matching identifier (MQTT-3.3.4-3)");
    cr_assert_eq(ids[0], 5);
    cr_assert_eq(ids[1], 268435455);
    cr_assert_eq(m.u.publish.qos, 1);
    ack(s, m.u.publish.packet_id);
    fake_publish(p, "a/c", "one", 0, false, 0);
    m = expect(s, MQTT_PUBLISH);
    ids_of(&m, ids, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], 5);
    /* re-subscribing without an identifier removes it */
    fake_subscribe_ex(s, "a/+", 1, 0, false);
    expect(s, MQTT_SUBACK);
    fake_publish(p, "a/c", "none", 0, false, 0);
    m = expect(s, MQTT_PUBLISH);
    cr_assert_not(mqtt_prop_has(&m.u.publish.props, MQTT_PROP_SUBSCRIPTION_ID));
    fake_client_free(s);
    fake_client_free(p);
}

Test(mqtt5, subscription_identifier_kept_while_queued)
{
    mqtt_props se = expiry_props(600);
    fake_client *s = fake_connect_props(&net, "sub", 0, true, &se);
    fake_subscribe_ex(s, "q/#", 1, 42, false);
    fake_drain(s);
    disconnect(s);
    fake_client_free(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    fake_publish(p, "q/1", "x", 1, false, 1);
    s = fake_connect_props(&net, "sub", 0, false, &se);
    expect(s, MQTT_CONNACK);
    mqtt_packet m = expect(s, MQTT_PUBLISH);
    cr_assert_eq(m.u.publish.props.subscription_id, 42);
    fake_client_free(s);
    fake_client_free(p);
}

/* ---- 4. Topic Aliases ---- */

static void publish_alias(fake_client *fc, const char *topic, uint16_t alias, const char *payload)
{
    mqtt_props pr = { 0 };
    pr.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    pr.topic_alias = alias;
    fake_publish_props(fc, topic, payload, 0, 0, &pr);
}

Test(mqtt5, topic_alias_client_to_server)
{
    fake_client *s = fake_mqtt_connect(&net, MQTT_V5, "sub", 0, true);
    fake_subscribe(s, "al/#", 0);
    fake_drain(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    mqtt_packet c = expect(p, MQTT_CONNACK);
    cr_assert(mqtt_prop_has(&c.u.connack.props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM));
    cr_assert_eq(c.u.connack.props.topic_alias_maximum, 10, "the default");
    publish_alias(p, "al/one", 1, "set");
    publish_alias(p, "", 1, "used");
    publish_alias(p, "al/two", 1, "replaced");
    publish_alias(p, "", 1, "used again");
    const char *want[][2] = { { "al/one", "set" }, { "al/one", "used" }, { "al/two", "replaced" },
                              { "al/two", "used again" } };
    for (int i = 0; i < 4; i++) {
        mqtt_packet m = expect(s, MQTT_PUBLISH);
        cr_assert(topic_is(&m, want[i][0]), "message %d", i);
        cr_assert(payload_is(&m, want[i][1]));
    }
    /* an unmapped alias with an empty topic: protocol error */
    publish_alias(p, "", 2, "unmapped");
    cr_assert(p->released);
    mqtt_packet d = expect(p, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_PROTOCOL_ERROR);
    fake_client_free(p);
    /* above the maximum: Topic Alias invalid (MQTT-3.3.2-9) */
    p = fake_mqtt_connect(&net, MQTT_V5, "pub2", 0, true);
    fake_drain(p);
    publish_alias(p, "al/x", 11, "too high");
    cr_assert(p->released);
    d = expect(p, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_TOPIC_ALIAS_INVALID);
    expect_nothing(s);
    fake_client_free(p);
    /* aliases do not outlive the connection (MQTT-3.3.2-7) */
    p = fake_mqtt_connect(&net, MQTT_V5, "pub3", 0, true);
    fake_drain(p);
    publish_alias(p, "al/three", 3, "a");
    fake_client_free(p);
    p = fake_mqtt_connect(&net, MQTT_V5, "pub3", 0, true);
    fake_drain(p);
    publish_alias(p, "", 3, "b");
    cr_assert(p->released);
    fake_client_free(p);
    fake_client_free(s);
}

Test(mqtt5, topic_alias_maximum_zero_refuses_aliases)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.topic_alias_max = 0;
    fake_net_init(&net, &cfg);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    mqtt_packet c = expect(p, MQTT_CONNACK);
    cr_assert_not(mqtt_prop_has(&c.u.connack.props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM));
    publish_alias(p, "al/x", 1, "no");
    cr_assert(p->released);
    mqtt_packet d = expect(p, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_TOPIC_ALIAS_INVALID);
    fake_client_free(p);
}

Test(mqtt5, topic_alias_server_to_client)
{
    mqtt_props pr = { 0 };
    pr.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM);
    pr.topic_alias_maximum = 2;
    fake_client *s = fake_connect_props(&net, "sub", 0, true, &pr);
    fake_subscribe(s, "t/#", 0);
    fake_drain(s);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    const char *topics[] = { "t/1", "t/2", "t/3", "t/1", "t/2", "t/3" };
    for (int i = 0; i < 6; i++)
        fake_publish(p, topics[i], topics[i], 0, false, 0);
    for (int i = 0; i < 6; i++) {
        mqtt_packet m = expect(s, MQTT_PUBLISH);
        bool aliased = mqtt_prop_has(&m.u.publish.props, MQTT_PROP_TOPIC_ALIAS);
        cr_assert(payload_is(&m, topics[i]));
        if (i % 3 == 2) {
            cr_assert_not(aliased, "only 2 aliases: the third topic goes in full");
            cr_assert(topic_is(&m, "t/3"));
        } else {
            cr_assert(aliased);
            cr_assert_eq(m.u.publish.props.topic_alias, i % 3 + 1);
            cr_assert(topic_is(&m, i < 3 ? topics[i] : ""), "the second time only the alias (%d)", i);
        }
    }
    /* a client without a Topic Alias Maximum gets none */
    fake_client *plain = fake_mqtt_connect(&net, MQTT_V5, "plain", 0, true);
    fake_subscribe(plain, "t/#", 0);
    fake_drain(plain);
    fake_publish(p, "t/1", "x", 0, false, 0);
    fake_publish(p, "t/1", "y", 0, false, 0);
    for (int i = 0; i < 2; i++) {
        mqtt_packet m = expect(plain, MQTT_PUBLISH);
        cr_assert_not(mqtt_prop_has(&m.u.publish.props, MQTT_PROP_TOPIC_ALIAS));
        cr_assert(topic_is(&m, "t/1"));
    }
    fake_client_free(plain);
    fake_client_free(s);
    fake_client_free(p);
}

/* ---- 5. Shared Subscriptions ---- */

Test(mqtt5, shared_round_robin_and_qos)
{
    fake_client *m[3];
    const char *names[] = { "m0", "m1", "m2" };
    for (int i = 0; i < 3; i++) {
        m[i] = fake_mqtt_connect(&net, MQTT_V5, names[i], 0, true);
        mqtt_packet c = expect(m[i], MQTT_CONNACK);
        cr_assert_eq(c.u.connack.props.shared_sub_available, 1);
        fake_subscribe_ex(m[i], "$share/g/s/#", i == 2 ? 0 : 1, (uint32_t)(i + 1), false);
        mqtt_packet a = expect(m[i], MQTT_SUBACK);
        cr_assert_eq(a.u.suback.codes[0], i == 2 ? 0 : 1);
    }
    fake_client *plain = fake_mqtt_connect(&net, MQTT_V5, "plain", 0, true);
    fake_subscribe(plain, "s/#", 1);
    fake_drain(plain);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    for (int k = 0; k < 6; k++) {
        char t[16];
        snprintf(t, sizeof t, "s/%d", k);
        fake_publish(p, t, t, 1, false, (uint16_t)(k + 1));
    }
    int got[3] = { 0 };
    for (int i = 0; i < 3; i++) {
        mqtt_packet x;
        while (fake_next(m[i], &x)) {
            cr_assert_eq(x.type, MQTT_PUBLISH);
            got[i]++;
            cr_assert_eq(x.u.publish.qos, i == 2 ? 0 : 1, "the member's own QoS");
            cr_assert_eq(x.u.publish.props.subscription_id, (uint32_t)(i + 1));
            if (x.u.publish.qos)
                ack(m[i], x.u.publish.packet_id);
        }
    }
    cr_assert(got[0] == 2 && got[1] == 2 && got[2] == 2, "round-robin: %d %d %d", got[0], got[1], got[2]);
    int plain_n = 0;
    mqtt_packet x;
    while (fake_next(plain, &x))
        plain_n++;
    cr_assert_eq(plain_n, 6, "a plain subscriber gets every message beside the group");
    for (int i = 0; i < 3; i++)
        fake_client_free(m[i]);
    fake_client_free(plain);
    fake_client_free(p);
}

Test(mqtt5, shared_member_leaving_with_messages_in_flight)
{
    fake_net_free(&net);
    bk_config cfg;
    bk_config_defaults(&cfg);
    cfg.max_inflight = 1;
    fake_net_init(&net, &cfg);
    fake_client *a = fake_mqtt_connect(&net, MQTT_V5, "a", 0, true);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V5, "b", 0, true);
    fake_subscribe(a, "$share/g/w", 1);
    fake_subscribe(b, "$share/g/w", 1);
    fake_drain(a);
    fake_drain(b);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    for (int k = 0; k < 4; k++)
        fake_publish(p, "w", k % 2 ? "odd" : "even", 1, false, (uint16_t)(k + 1));
    /* a got messages 0 and 2: one in flight, one queued behind Receive Maximum 1 */
    mqtt_packet x = expect(a, MQTT_PUBLISH);
    cr_assert(payload_is(&x, "even"));
    expect_nothing(a);
    x = expect(b, MQTT_PUBLISH);
    ack(b, x.u.publish.packet_id);
    x = expect(b, MQTT_PUBLISH);
    ack(b, x.u.publish.packet_id);
    expect_nothing(b);
    /* a's session ends (Session Expiry 0) without acknowledging: both go to b */
    fake_client_free(a);
    for (int k = 0; k < 2; k++) {
        x = expect(b, MQTT_PUBLISH);
        cr_assert(payload_is(&x, "even"), "a's message %d went to the other member", k);
        ack(b, x.u.publish.packet_id);
    }
    expect_nothing(b);
    fake_client_free(b);
    fake_client_free(p);
}

Test(mqtt5, shared_rules)
{
    fake_client *p = fake_mqtt_connect(&net, MQTT_V5, "pub", 0, true);
    fake_publish(p, "r/x", "kept", 0, true, 0);
    fake_client *s = fake_mqtt_connect(&net, MQTT_V5, "s", 0, true);
    fake_drain(s);
    fake_subscribe(s, "$share/g/r/#", 1);
    expect(s, MQTT_SUBACK);
    expect_nothing(s); /* no retained messages on a shared subscription */
    const char *bad[] = { "$share//r", "$share/g", "$share/g/", "$share/+/r" };
    for (int i = 0; i < 4; i++) {
        fake_subscribe(s, bad[i], 1);
        mqtt_packet a = expect(s, MQTT_SUBACK);
        cr_assert_eq(a.u.suback.codes[0], MQTT_RC_TOPIC_FILTER_INVALID, "%s", bad[i]);
    }
    /* UNSUBSCRIBE leaves the group; the group goes with its last member */
    mqtt_topic_entry e = { .filter = mqtt_cstr("$share/g/r/#") };
    mqtt_packet u = { .type = MQTT_UNSUBSCRIBE };
    u.u.subscribe.packet_id = 9;
    u.u.subscribe.entries = &e;
    u.u.subscribe.count = 1;
    fake_send(s, &u);
    mqtt_packet ua = expect(s, MQTT_UNSUBACK);
    cr_assert_eq(ua.u.suback.codes[0], 0);
    fake_publish(p, "r/y", "after", 0, false, 0);
    expect_nothing(s);
    /* No Local on a shared subscription: protocol error (MQTT-3.8.3-4) */
    fake_subscribe_ex(s, "$share/g/r/#", 1, 0, true);
    cr_assert(s->released);
    mqtt_packet d = expect(s, MQTT_DISCONNECT);
    cr_assert_eq(d.u.disconnect.reason, MQTT_RC_PROTOCOL_ERROR);
    fake_client_free(s);
    fake_client_free(p);
}

/* ---- CONNACK for a v5 CONNECT the codec rejects ---- */

Test(mqtt5, rejected_v5_connect_gets_connack)
{
    /* CONNECT v5 with Receive Maximum 0 (a protocol error, 0x82). */
    static const uint8_t bad[] = { 0x10, 16, 0x00, 0x04, 'M', 'Q', 'T', 'T', 5, 0x02, 0x00, 0x00,
                                   3, 0x21, 0x00, 0x00, 0x00, 0x00 };
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V5;
    fake_send_raw(a, bad, sizeof bad);
    cr_assert(a->released);
    mqtt_packet c = expect(a, MQTT_CONNACK);
    cr_assert_eq(c.u.connack.code, MQTT_RC_PROTOCOL_ERROR);
    expect_nothing(a);
    fake_client_free(a);
    /* a malformed one (a property CONNECT may not carry): 0x81 */
    static const uint8_t bad2[] = { 0x10, 16, 0x00, 0x04, 'M', 'Q', 'T', 'T', 5, 0x02, 0x00, 0x00,
                                    3, 0x23, 0x00, 0x01, 0x00, 0x00 };
    a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V5;
    fake_send_raw(a, bad2, sizeof bad2);
    c = expect(a, MQTT_CONNACK);
    cr_assert_eq(c.u.connack.code, MQTT_RC_MALFORMED);
    fake_client_free(a);
    /* 3.1.1 gets no CONNACK for a malformed CONNECT */
    static const uint8_t bad3[] = { 0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 4, 0x01, 0x00, 0x00, 0x00, 0x00 };
    a = fake_connect_tcp(&net, 0);
    fake_send_raw(a, bad3, sizeof bad3);
    cr_assert(a->released);
    expect_nothing(a);
    fake_client_free(a);
}

/* ---- Wills on takeover (MQTT-3.1.2-8, MQTT-3.1.3-9, MQTT 5.0 section 3.1.4) ---- */

static fake_client *connect_will(const char *id, uint32_t session_expiry, uint32_t delay)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V5;
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = MQTT_V5;
    c.u.connect.clean_session = false;
    c.u.connect.client_id = mqtt_cstr(id);
    c.u.connect.has_will = true;
    c.u.connect.will_topic = mqtt_cstr("will/x");
    c.u.connect.will_payload = mqtt_cstr(id);
    c.u.connect.props = expiry_props(session_expiry);
    if (delay) {
        c.u.connect.will_props.present = MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY);
        c.u.connect.will_props.will_delay = delay;
    }
    fake_send(a, &c);
    fake_drain(a);
    return a;
}

Test(mqtt5, will_on_takeover)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V5, "watcher", 0, true);
    fake_subscribe(w, "will/#", 0);
    fake_drain(w);
    /* durable session, Will Delay 5: the new connection came first, no will */
    fake_client *a = connect_will("d5", 600, 5);
    fake_client *a2 = connect_will("d5", 600, 0);
    cr_assert(a->released);
    fake_net_advance(&net, 10 * FL_NS_PER_S);
    expect_nothing(w);
    cr_assert_eq(fake_event_count(&net, "will"), 0);
    /* durable session, Will Delay 0 (a2's will): published at the takeover */
    fake_client *a3 = connect_will("d5", 600, 0);
    mqtt_packet m = expect(w, MQTT_PUBLISH);
    cr_assert(payload_is(&m, "d5"));
    /* Session Expiry 0, Will Delay 5: the session ends with the takeover, the will goes now */
    fake_client *b = connect_will("e0", 0, 5);
    fake_client *b2 = connect_will("e0", 600, 0);
    m = expect(w, MQTT_PUBLISH);
    cr_assert(payload_is(&m, "e0"));
    json_t *ev = fake_event(&net, "will", 1);
    cr_assert_eq(num(ev, "delay"), 0, "published at once, not after its delay");
    json_decref(ev);
    fake_client *all[] = { a, a2, a3, b, b2, w };
    for (int i = 0; i < 6; i++)
        fake_client_free(all[i]);
}

/* ---- Arrival time, not read time ---- */

Test(mqtt5, deadline_counts_from_arrival)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "ka", 2, true);
    fake_drain(a);
    fake_net_advance(&net, FL_NS_PER_S);
    /* a PINGREQ that arrived 400 ms before the broker read it */
    uint64_t arrived = net.now - 400 * FL_NS_PER_MS;
    mqtt_packet ping = { .type = MQTT_PINGREQ };
    fake_send_at(a, &ping, arrived);
    expect(a, MQTT_PINGRESP);
    fake_net_advance(&net, 2600 * FL_NS_PER_MS - 1);
    cr_assert_not(a->released);
    fake_net_advance(&net, 1);
    cr_assert(a->released, "closed 3 s after the arrival, not after the read");
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_eq((uint64_t)num(ev, "last_rx"), arrived);
    cr_assert_eq((uint64_t)num(ev, "last_read"), arrived + 400 * FL_NS_PER_MS);
    cr_assert_eq((uint64_t)num(ev, "deadline"), arrived + 3 * FL_NS_PER_S);
    json_decref(ev);
    fake_client_free(a);
}

Test(mqtt5, connect_that_arrived_before_the_accept)
{
    uint64_t arrived = net.now;
    fake_net_advance(&net, 300 * FL_NS_PER_MS); /* accepted and read 0.3 s later */
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V311;
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = MQTT_V311;
    c.u.connect.clean_session = true;
    c.u.connect.keep_alive = 2;
    c.u.connect.client_id = mqtt_cstr("early");
    fake_send_at(a, &c, arrived);
    expect(a, MQTT_CONNACK);
    fake_net_advance(&net, 2700 * FL_NS_PER_MS);
    cr_assert(a->released, "3 s after the CONNECT arrived");
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_eq((uint64_t)num(ev, "deadline"), arrived + 3 * FL_NS_PER_S);
    json_decref(ev);
    fake_client_free(a);
}

Test(mqtt5, arrival_stamp_cannot_go_back_or_ahead)
{
    fake_client *a = fake_mqtt_connect(&net, MQTT_V311, "ka", 2, true);
    fake_drain(a);
    uint64_t t0 = net.now;
    fake_net_advance(&net, FL_NS_PER_S);
    mqtt_packet ping = { .type = MQTT_PINGREQ };
    fake_send_at(a, &ping, t0 - 10 * FL_NS_PER_S); /* before the previous packet: held at it */
    fake_send_at(a, &ping, net.now + 10 * FL_NS_PER_S); /* in the future: now */
    fake_net_advance(&net, 3 * FL_NS_PER_S);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_eq((uint64_t)num(ev, "deadline"), t0 + 4 * FL_NS_PER_S);
    json_decref(ev);
    fake_client_free(a);
}
