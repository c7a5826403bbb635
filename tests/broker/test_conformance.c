/* The conformance audit: one test for each normative statement found broken
 * (or left open) in the audit, named after it, in the protocol core with an
 * injected clock. docs/broker.md's conformance table points here. */
#include <criterion/criterion.h>
#include <string.h>

#include "expect.h"
#include "fake_net.h"

static fake_net net;

static void setup_default(void) { fake_net_init(&net, NULL); }
static void teardown(void) { fake_net_free(&net); }

static const char *str(json_t *ev, const char *key) { return json_string_value(json_object_get(ev, key)); }

TestSuite(conformance, .init = setup_default, .fini = teardown);

/* MQTT-3.1.3-8 (3.1.1): a zero-byte ClientId with CleanSession 0 gets
 * CONNACK 0x02 (Identifier rejected), then the close. */
Test(conformance, v3_empty_client_id_clean0_gets_connack_0x02)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    static const uint8_t connect[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00 };
    fake_send_raw(a, connect, sizeof connect);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, MQTT_V3_REFUSED_IDENTIFIER);
    cr_assert_not(p.u.connack.session_present);
    expect_nothing(a);
    cr_assert(a->released);
    json_t *ev = fake_event(&net, "close", 0);
    cr_assert_str_eq(str(ev, "reason"), "protocol_error");
    json_decref(ev);
    cr_assert_eq(fake_event_count(&net, "connect"), 0);
    fake_client_free(a);
}

/* MQTT-3.1.2-1 (3.1.1): another protocol name ("MQIsdp", MQTT 3.1): the
 * Server may disconnect or go on by that protocol; it answers 0x01
 * (unacceptable protocol version), then closes. */
Test(conformance, v31_mqisdp_gets_connack_0x01)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    static const uint8_t connect[] = { 0x10, 0x0f, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03,
                                       0x02, 0x00, 0x3c, 0x00, 0x01, 'x' };
    fake_send_raw(a, connect, sizeof connect);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, MQTT_V3_REFUSED_PROTOCOL);
    expect_nothing(a);
    cr_assert(a->released);
    fake_client_free(a);
}

/* MQTT-4.12.0-1: an Authentication Method the Server does not support: CONNACK
 * 0x8C (Bad authentication method), then the close; no session is made. */
Test(conformance, v5_auth_method_gets_connack_0x8c)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD), .auth_method = mqtt_cstr("SCRAM-SHA-1") };
    fake_client *a = fake_connect_props(&net, "auth", 30, true, &props);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, 0x8C);
    expect_nothing(a);
    cr_assert(a->released);
    cr_assert_eq(fake_event_count(&net, "connect"), 0);
    fake_client_free(a);
}

static fake_client *connect_will(const char *id, bool clean, uint32_t expiry, uint32_t delay, bool retain)
{
    fake_client *a = fake_connect_tcp(&net, 0);
    a->version = MQTT_V5;
    mqtt_packet c = { .type = MQTT_CONNECT };
    c.u.connect.version = MQTT_V5;
    c.u.connect.clean_session = clean;
    c.u.connect.keep_alive = 0;
    c.u.connect.client_id = mqtt_cstr(id);
    c.u.connect.has_will = true;
    c.u.connect.will_retain = retain;
    c.u.connect.will_topic = mqtt_cstr("will/x");
    c.u.connect.will_payload = mqtt_cstr(id);
    c.u.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
    c.u.connect.props.session_expiry = expiry;
    if (delay) {
        c.u.connect.will_props.present = MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY);
        c.u.connect.will_props.will_delay = delay;
    }
    fake_send(a, &c);
    return a;
}

static fake_client *watcher(void)
{
    fake_client *w = fake_mqtt_connect(&net, MQTT_V5, "watcher", 0, true);
    fake_subscribe(w, "will/#", 0);
    fake_drain(w);
    return w;
}

/* MQTT-3.1.3-9 with MQTT-3.1.2-4: the will waits for its delay "or the
 * Session ends, whichever happens first". A reconnect with Clean Start 1 ends
 * the old session, so the delayed will goes then, at once. */
Test(conformance, v5_clean_start_reconnect_ends_session_and_sends_delayed_will)
{
    fake_client *w = watcher();
    fake_client *a = connect_will("dev", false, 100, 30, false);
    expect(a, MQTT_CONNACK);
    fake_client_free(a); /* EOF without DISCONNECT: the will is due in 30 s */
    fake_net_advance(&net, FL_NS_PER_S);
    expect_nothing(w);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V5, "dev", 0, true);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert_not(p.u.connack.session_present);
    expect(w, MQTT_PUBLISH);
    fake_net_advance(&net, 60 * FL_NS_PER_S);
    expect_nothing(w);
    cr_assert_eq(fake_event_count(&net, "will"), 1);
    fake_client_free(b);
    fake_client_free(w);
}

/* MQTT-3.1.3-9 / MQTT 5.0 3.1.3.2.2: a Will Delay longer than the Session
 * Expiry: the will goes when the session ends. */
Test(conformance, v5_will_delay_longer_than_session_expiry)
{
    fake_client *w = watcher();
    fake_client *a = connect_will("dev", true, 2, 100, false);
    expect(a, MQTT_CONNACK);
    fake_client_free(a);
    fake_net_advance(&net, 1999 * FL_NS_PER_MS);
    expect_nothing(w);
    fake_net_advance(&net, FL_NS_PER_MS);
    expect(w, MQTT_PUBLISH);
    fake_client *b = fake_mqtt_connect(&net, MQTT_V5, "dev", 0, false);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert_not(p.u.connack.session_present, "the session expired");
    fake_client_free(b);
    fake_client_free(w);
}

/* MQTT-3.1.2-17 (3.1.1) / MQTT-3.1.2-15 (5.0): Will Retain 1: the will is
 * published as a retained message, and a later subscriber gets it. */
Test(conformance, will_retain_is_retained)
{
    fake_client *a = connect_will("dev", true, 0, 0, true);
    expect(a, MQTT_CONNACK);
    fake_client_free(a);
    fake_client *w = fake_mqtt_connect(&net, MQTT_V311, "late", 0, true);
    expect(w, MQTT_CONNACK);
    fake_subscribe(w, "will/#", 1);
    expect(w, MQTT_SUBACK);
    mqtt_packet p = expect(w, MQTT_PUBLISH);
    cr_assert(p.u.publish.retain);
    cr_assert_eq(p.u.publish.payload.len, 3);
    fake_client_free(w);
}

/* MQTT-3.1.2-23 / MQTT-3.1.2-19..22 (Session Expiry Interval): a session is
 * resumed before its expiry (Session Present 1) and not after it. */
Test(conformance, v5_session_expiry_interval)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY), .session_expiry = 10 };
    fake_client *a = fake_connect_props(&net, "s", 0, true, &props);
    expect(a, MQTT_CONNACK);
    fake_client_free(a);
    fake_net_advance(&net, 9 * FL_NS_PER_S);
    fake_client *b = fake_connect_props(&net, "s", 0, false, &props);
    mqtt_packet p = expect(b, MQTT_CONNACK);
    cr_assert(p.u.connack.session_present);
    fake_client_free(b);
    fake_net_advance(&net, 10 * FL_NS_PER_S);
    fake_client *c = fake_connect_props(&net, "s", 0, false, &props);
    p = expect(c, MQTT_CONNACK);
    cr_assert_not(p.u.connack.session_present);
    fake_client_free(c);
}

/* MQTT-3.2.2-16: an empty ClientId gets an Assigned Client Identifier, with
 * which the session can be resumed (Clean Start 0 is allowed in 5.0). */
Test(conformance, v5_assigned_client_identifier)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY), .session_expiry = 60 };
    fake_client *a = fake_connect_props(&net, "", 0, false, &props);
    mqtt_packet p = expect(a, MQTT_CONNACK);
    cr_assert_eq(p.u.connack.code, 0);
    cr_assert(mqtt_prop_has(&p.u.connack.props, MQTT_PROP_ASSIGNED_CLIENT_ID));
    char id[64];
    size_t n = p.u.connack.props.assigned_client_id.len;
    cr_assert(n > 0 && n < sizeof id);
    memcpy(id, p.u.connack.props.assigned_client_id.data, n);
    id[n] = 0;
    fake_client_free(a);
    fake_client *b = fake_connect_props(&net, id, 0, false, &props);
    p = expect(b, MQTT_CONNACK);
    cr_assert(p.u.connack.session_present);
    cr_assert_not(mqtt_prop_has(&p.u.connack.props, MQTT_PROP_ASSIGNED_CLIENT_ID));
    fake_client_free(b);
}

/* MQTT-3.1.2-25: a packet larger than the client's Maximum Packet Size is
 * discarded as if sent; the next one that fits is delivered. */
Test(conformance, v5_client_maximum_packet_size)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE), .maximum_packet_size = 64 };
    fake_client *a = fake_connect_props(&net, "small", 0, true, &props);
    expect(a, MQTT_CONNACK);
    fake_subscribe(a, "big/#", 1);
    expect(a, MQTT_SUBACK);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 0, true);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    fake_publish(p, "big/1", big, 1, false, 1);
    fake_publish(p, "big/2", "fits", 1, false, 2);
    mqtt_packet m = expect(a, MQTT_PUBLISH);
    cr_assert_eq(m.u.publish.payload.len, 4);
    expect_nothing(a);
    fake_client_free(a);
    fake_client_free(p);
}

static void subscribe_opts(fake_client *fc, const char *filter, uint8_t qos, bool no_local, bool rap, uint8_t rh)
{
    mqtt_topic_entry e = { .filter = mqtt_cstr(filter), .qos = qos, .no_local = no_local,
                           .retain_as_published = rap, .retain_handling = rh };
    mqtt_packet p = { .type = MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = 5;
    p.u.subscribe.entries = &e;
    p.u.subscribe.count = 1;
    fake_send(fc, &p);
    expect(fc, MQTT_SUBACK);
}

/* 3.8.3.1 Retain Handling: 0 sends retained messages on every subscribe, 1
 * only when the subscription is new, 2 never (MQTT-3.3.1-9, -10, -11 of 5.0). */
Test(conformance, v5_retain_handling)
{
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 0, true);
    fake_publish(p, "r/a", "kept", 0, true, 0);
    fake_client *a = fake_connect_props(&net, "sub", 0, true, NULL);
    expect(a, MQTT_CONNACK);
    subscribe_opts(a, "r/#", 0, false, false, 0);
    cr_assert(expect(a, MQTT_PUBLISH).u.publish.retain);
    subscribe_opts(a, "r/#", 0, false, false, 0);
    expect(a, MQTT_PUBLISH); /* 0: again on the identical subscription */
    subscribe_opts(a, "r/#", 0, false, false, 1);
    expect_nothing(a); /* 1: the subscription existed */
    subscribe_opts(a, "r/+", 0, false, false, 1);
    expect(a, MQTT_PUBLISH); /* 1: new */
    subscribe_opts(a, "r/a", 0, false, false, 2);
    expect_nothing(a); /* 2: never */
    fake_client_free(a);
    fake_client_free(p);
}

/* MQTT-3.8.3-3 No Local: not sent back to its own publisher.
 * MQTT-3.3.1-12, -13 Retain As Published: the retain flag kept on a live
 * forward; without it, 0. */
Test(conformance, v5_no_local_and_retain_as_published)
{
    fake_client *a = fake_connect_props(&net, "self", 0, true, NULL);
    expect(a, MQTT_CONNACK);
    subscribe_opts(a, "n/#", 1, true, false, 0);
    fake_client *b = fake_connect_props(&net, "rap", 0, true, NULL);
    expect(b, MQTT_CONNACK);
    subscribe_opts(b, "n/#", 1, false, true, 0);
    fake_client *c = fake_connect_props(&net, "plain", 0, true, NULL);
    expect(c, MQTT_CONNACK);
    subscribe_opts(c, "n/#", 1, false, false, 0);
    fake_publish_props(a, "n/x", "v", 0, 0, NULL);
    expect_nothing(a);
    expect(b, MQTT_PUBLISH);
    expect(c, MQTT_PUBLISH);
    mqtt_packet pr = { .type = MQTT_PUBLISH };
    pr.u.publish.topic = mqtt_cstr("n/y");
    pr.u.publish.payload = mqtt_cstr("r");
    pr.u.publish.retain = true;
    fake_send(a, &pr);
    expect_nothing(a);
    cr_assert(expect(b, MQTT_PUBLISH).u.publish.retain);
    cr_assert_not(expect(c, MQTT_PUBLISH).u.publish.retain);
    fake_client_free(a);
    fake_client_free(b);
    fake_client_free(c);
}

/* 3.1.3.2.2 / MQTT-3.1.3-9: a DISCONNECT with 0x04 (with Will Message) still
 * waits out the Will Delay Interval. */
Test(conformance, v5_disconnect_with_will_honours_will_delay)
{
    fake_client *w = watcher();
    fake_client *a = connect_will("dev", true, 100, 5, false);
    expect(a, MQTT_CONNACK);
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    d.u.disconnect.reason = MQTT_RC_DISCONNECT_WITH_WILL;
    fake_send(a, &d);
    cr_assert(a->released);
    fake_net_advance(&net, 4999 * FL_NS_PER_MS);
    expect_nothing(w);
    fake_net_advance(&net, FL_NS_PER_MS);
    expect(w, MQTT_PUBLISH);
    fake_client_free(a);
    fake_client_free(w);
}

/* 3.14.2.2.2: a DISCONNECT may shorten the Session Expiry; 0 ends the session
 * with the connection. */
Test(conformance, v5_disconnect_sets_session_expiry_zero)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY), .session_expiry = 100 };
    fake_client *a = fake_connect_props(&net, "se", 0, true, &props);
    expect(a, MQTT_CONNACK);
    mqtt_packet d = { .type = MQTT_DISCONNECT };
    d.u.disconnect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
    d.u.disconnect.props.session_expiry = 0;
    fake_send(a, &d);
    cr_assert(a->released);
    fake_client *b = fake_connect_props(&net, "se", 0, false, &props);
    cr_assert_not(expect(b, MQTT_CONNACK).u.connack.session_present);
    fake_client_free(a);
    fake_client_free(b);
}

/* MQTT-3.3.4-7 with 4.9: the client's Receive Maximum counts a QoS 2 message
 * until its PUBCOMP, not its PUBREC. */
Test(conformance, v5_receive_maximum_counts_qos2_until_pubcomp)
{
    mqtt_props props = { .present = MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM), .receive_maximum = 1 };
    fake_client *a = fake_connect_props(&net, "rm", 0, true, &props);
    expect(a, MQTT_CONNACK);
    subscribe_opts(a, "q/#", 2, false, false, 0);
    fake_client *p = fake_mqtt_connect(&net, MQTT_V311, "pub", 0, true);
    fake_publish(p, "q/1", "one", 2, false, 1);
    fake_publish(p, "q/2", "two", 2, false, 2);
    mqtt_packet m = expect(a, MQTT_PUBLISH);
    expect_nothing(a);
    mqtt_packet ack = { .type = MQTT_PUBREC };
    ack.u.ack.packet_id = m.u.publish.packet_id;
    fake_send(a, &ack);
    expect(a, MQTT_PUBREL);
    expect_nothing(a);
    ack.type = MQTT_PUBCOMP;
    fake_send(a, &ack);
    m = expect(a, MQTT_PUBLISH);
    cr_assert_eq(m.u.publish.payload.len, 3);
    cr_assert_eq(memcmp(m.u.publish.payload.data, "two", 3), 0);
    fake_client_free(a);
    fake_client_free(p);
}
