/* The encoder's contract: snprintf-style sizing, and refusal (0 with the
 * reason) of what cannot or must not be encoded. */
#include <string.h>

#include "helpers.h"

static void expect_refused(const mqtt_packet *p, mqtt_version v, mqtt_err code)
{
    uint8_t buf[256];
    mqtt_error e = { 0 };
    cr_expect_eq(mqtt_encode(p, v, buf, sizeof buf, &e), 0, "encoded %s", mqtt_type_name(p->type));
    cr_expect_eq(e.code, code, "got %s (%s), want %s", mqtt_err_name(e.code), e.what ? e.what : "-",
                 mqtt_err_name(code));
    cr_expect_not_null(e.what);
}

Test(encode, snprintf_contract)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = MQTT_STR("a/b");
    p.u.publish.payload = MQTT_STR("0123456789");
    uint8_t buf[32];
    memset(buf, 0xAA, sizeof buf);
    size_t need = mqtt_encode(&p, MQTT_V311, buf, 5, NULL);
    cr_expect_eq(need, 17);
    for (size_t i = 0; i < sizeof buf; i++)
        cr_expect_eq(buf[i], 0xAA, "byte %zu written with a short buffer", i);
    cr_expect_eq(mqtt_encode(&p, MQTT_V311, NULL, 0, NULL), 17);
    cr_expect_eq(mqtt_encode(&p, MQTT_V311, buf, 17, NULL), 17);
    cr_expect_eq(buf[0], 0x30);
    cr_expect_eq(buf[1], 15);
}

Test(encode, remaining_length_boundaries)
{
    static uint8_t payload[16384 + 200];
    static uint8_t buf[sizeof payload + 64];
    static const size_t rl[] = { 127, 128, 16383, 16384 };
    for (size_t i = 0; i < 4; i++) {
        mqtt_packet p = { .type = MQTT_PUBLISH };
        p.u.publish.topic = MQTT_STR("t");
        p.u.publish.payload = (mqtt_bytes){ payload, rl[i] - 3 };
        size_t n = round_trip(&p, MQTT_V311, buf, sizeof buf);
        cr_expect_eq(n, 1 + (rl[i] < 128 ? 1 : rl[i] < 16384 ? 2 : 3) + rl[i]);
    }
}

Test(encode, qos_out_of_range)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish = (mqtt_publish){ .qos = 3, .topic = MQTT_STR("a"), .packet_id = 1 };
    expect_refused(&p, MQTT_V311, MQTT_E_QOS);
    mqtt_topic_entry e = { .filter = MQTT_STR("a"), .qos = 3 };
    p = (mqtt_packet){ .type = MQTT_SUBSCRIBE };
    p.u.subscribe = (mqtt_subscribe){ .packet_id = 1, .entries = &e, .count = 1 };
    expect_refused(&p, MQTT_V5, MQTT_E_QOS);
    e.qos = 0;
    e.retain_handling = 3;
    expect_refused(&p, MQTT_V5, MQTT_E_SUB_OPTIONS);
    p = (mqtt_packet){ .type = MQTT_CONNECT };
    p.u.connect = (mqtt_connect){ .version = MQTT_V311, .clean_session = true, .has_will = true, .will_qos = 3,
                                  .will_topic = MQTT_STR("w") };
    expect_refused(&p, MQTT_V311, MQTT_E_WILL_FLAGS);
}

Test(encode, packet_id_zero)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish = (mqtt_publish){ .qos = 1, .topic = MQTT_STR("a") };
    expect_refused(&p, MQTT_V311, MQTT_E_PACKET_ID);
    static const mqtt_type types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
                                       MQTT_SUBACK, MQTT_UNSUBACK, MQTT_SUBSCRIBE, MQTT_UNSUBSCRIBE };
    mqtt_topic_entry e = { .filter = MQTT_STR("a") };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        p = (mqtt_packet){ .type = types[i] };
        if (types[i] == MQTT_SUBSCRIBE || types[i] == MQTT_UNSUBSCRIBE) {
            p.u.subscribe.entries = &e;
            p.u.subscribe.count = 1;
        }
        expect_refused(&p, MQTT_V5, MQTT_E_PACKET_ID);
    }
}

Test(encode, string_longer_than_65535)
{
    static uint8_t big[65536];
    memset(big, 'a', sizeof big);
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = (mqtt_bytes){ big, sizeof big };
    expect_refused(&p, MQTT_V311, MQTT_E_TOO_LARGE);
    p = (mqtt_packet){ .type = MQTT_CONNECT };
    p.u.connect = (mqtt_connect){ .version = MQTT_V5, .clean_session = true, .has_username = true,
                                  .username = { big, sizeof big } };
    expect_refused(&p, MQTT_V5, MQTT_E_TOO_LARGE);
    p.u.connect.username = (mqtt_bytes){ big, 65535 };
    static uint8_t buf[70000];
    cr_expect_gt(mqtt_encode(&p, MQTT_V5, buf, sizeof buf, NULL), 65535);
    /* a property string too */
    p = (mqtt_packet){ .type = MQTT_DISCONNECT };
    p.u.disconnect.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p.u.disconnect.props.reason_string = (mqtt_bytes){ big, sizeof big };
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
}

Test(encode, remaining_length_above_limit)
{
    /* The size pass never reads the payload, so a huge length needs no memory. */
    static const uint8_t one = 'x';
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = MQTT_STR("t");
    p.u.publish.payload = (mqtt_bytes){ &one, 268435455 - 3 + 1 };
    uint8_t buf[8];
    mqtt_error e = { 0 };
    cr_expect_eq(mqtt_encode(&p, MQTT_V311, buf, sizeof buf, &e), 0);
    cr_expect_eq(e.code, MQTT_E_TOO_LARGE);
    p.u.publish.payload.len--;
    cr_expect_eq(mqtt_encode(&p, MQTT_V311, buf, sizeof buf, &e), 268435455 + 5, "the largest packet fits");
}

Test(encode, properties_checked)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = MQTT_STR("a");
    p.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY); /* not a PUBLISH property */
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    p.u.publish.props.present = MQTT_PROP_BIT(5); /* no such property */
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    p.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID); /* value 0 */
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    p.u.publish.props.subscription_id = 268435456;
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    p.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT);
    p.u.publish.props.payload_format = 2; /* caught by decoding the result */
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    static const uint8_t broken_run[] = { 0x26, 0, 5, 'k' };
    p.u.publish.props = (mqtt_props){ .user_props = { broken_run, sizeof broken_run } };
    expect_refused(&p, MQTT_V5, MQTT_E_PROPERTY);
    /* in 3.1.1 properties are not encoded at all */
    uint8_t buf[32];
    cr_expect_eq(mqtt_encode(&p, MQTT_V311, buf, sizeof buf, NULL), 5);
}

Test(encode, refuses_what_the_decoder_rejects)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = MQTT_STR("a/#");
    expect_refused(&p, MQTT_V311, MQTT_E_TOPIC_NAME);
    p.u.publish.topic = MQTT_STR("a\xed\xa0\x80");
    expect_refused(&p, MQTT_V311, MQTT_E_UTF8);
    mqtt_topic_entry e = { .filter = MQTT_STR("a/#/b") };
    p = (mqtt_packet){ .type = MQTT_SUBSCRIBE };
    p.u.subscribe = (mqtt_subscribe){ .packet_id = 1, .entries = &e, .count = 1 };
    expect_refused(&p, MQTT_V311, MQTT_E_TOPIC_FILTER);
    p.u.subscribe.count = 0;
    expect_refused(&p, MQTT_V311, MQTT_E_NO_TOPICS);
    p = (mqtt_packet){ .type = MQTT_DISCONNECT };
    p.u.disconnect.reason = 0x05;
    expect_refused(&p, MQTT_V5, MQTT_E_REASON_CODE);
    p = (mqtt_packet){ .type = MQTT_CONNECT };
    p.u.connect = (mqtt_connect){ .version = MQTT_V311 }; /* empty id, clean session 0 */
    expect_refused(&p, MQTT_V311, MQTT_E_CLIENT_ID);
}

Test(encode, version_and_type)
{
    mqtt_packet p = { .type = MQTT_AUTH };
    expect_refused(&p, MQTT_V311, MQTT_E_PACKET_TYPE);
    p.type = MQTT_PINGREQ;
    expect_refused(&p, (mqtt_version)3, MQTT_E_PROTOCOL_LEVEL);
    p.type = (mqtt_type)0;
    expect_refused(&p, MQTT_V5, MQTT_E_PACKET_TYPE);
    /* CONNECT takes its version from the packet */
    p = (mqtt_packet){ .type = MQTT_CONNECT };
    p.u.connect = (mqtt_connect){ .version = MQTT_V5, .clean_session = true };
    uint8_t buf[32];
    size_t n = mqtt_encode(&p, MQTT_V311, buf, sizeof buf, NULL);
    cr_assert_eq(n, 15);
    cr_expect_eq(buf[8], 5);
    p.u.connect.version = 0; /* falls back to the argument */
    n = mqtt_encode(&p, MQTT_V311, buf, sizeof buf, NULL);
    cr_assert_eq(n, 14);
    cr_expect_eq(buf[8], 4);
}

Test(encode, user_props_interleaved_are_kept_in_order)
{
    /* decoded CONNECT properties: user(k1,v1), session expiry, user(k2,v2) */
    uint8_t buf[128];
    mqtt_packet p;
    decode_ok("10 24 00 04 4d 51 54 54 05 02 00 3c 17 26 00 02 6b 31 00 02 76 31 11 00 00 00 0a"
              " 26 00 02 6b 32 00 02 76 32 00 00",
              MQTT_V5, buf, sizeof buf, &p);
    const mqtt_props *pr = &p.u.connect.props;
    cr_expect_eq(pr->user_prop_count, 2);
    cr_expect_eq(pr->session_expiry, 10);
    size_t pos = 0;
    mqtt_bytes k, v;
    cr_assert(mqtt_user_prop_next(pr->user_props, &pos, &k, &v));
    cr_expect(mqtt_bytes_eq(k, MQTT_STR("k1")) && mqtt_bytes_eq(v, MQTT_STR("v1")));
    cr_assert(mqtt_user_prop_next(pr->user_props, &pos, &k, &v), "skips the session expiry between them");
    cr_expect(mqtt_bytes_eq(k, MQTT_STR("k2")) && mqtt_bytes_eq(v, MQTT_STR("v2")));
    cr_expect_not(mqtt_user_prop_next(pr->user_props, &pos, &k, &v));
    uint8_t out[128];
    round_trip(&p, MQTT_V5, out, sizeof out);
}
