/* The conformance audit: one test for each normative statement found broken
 * (or left open) in the audit, named after it, in the protocol core with an
 * injected clock. docs/broker.md's conformance table points here. */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_net.h"

static fake_net net;

static void setup_default(void) { fake_net_init(&net, NULL); }
static void teardown(void) { fake_net_free(&net); }

static mqtt_packet expect(fake_client *fc, mqtt_type type)
{
    mqtt_packet p;
    cr_assert(fake_next(fc, &p), "expected %s, got nothing", mqtt_type_name(type));
    cr_assert_eq(p.type, type, "expected %s, got %s", mqtt_type_name(type), mqtt_type_name(p.type));
    return p;
}

static void expect_nothing(fake_client *fc)
{
    mqtt_packet p;
    cr_assert_not(fake_next(fc, &p), "unexpected %s", mqtt_type_name(p.type));
}

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
