/* Every packet type both ways, in 3.1.1 and 5.0, and known byte vectors
 * (captured from mosquitto_pub 2.0.11 or written out from the spec). */
#include <string.h>

#include "helpers.h"

static const mqtt_version versions[] = { MQTT_V311, MQTT_V5 };

static mqtt_props user_props(void)
{
    /* Two user properties as their encoded run. */
    static const uint8_t run[] = { 0x26, 0, 3, 'k', 'e', 'y', 0, 1, 'v', 0x26, 0, 1, 'a', 0, 2, 'b', 'c' };
    return (mqtt_props){ .present = MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY),
                         .user_props = { run, sizeof run },
                         .user_prop_count = 2 };
}

Test(roundtrip, connect_full)
{
    for (size_t i = 0; i < 2; i++) {
        mqtt_version v = versions[i];
        mqtt_packet p = { .type = MQTT_CONNECT };
        mqtt_connect *c = &p.u.connect;
        *c = (mqtt_connect){ .version = v, .clean_session = true, .keep_alive = 45, .client_id = MQTT_STR("dev-17"),
                             .has_will = true, .will_qos = 2, .will_retain = true,
                             .will_topic = MQTT_STR("status/dev-17"), .will_payload = MQTT_STR("offline"),
                             .has_username = true, .username = MQTT_STR("alice"), .has_password = true,
                             .password = { (const uint8_t *)"\0\1\2", 3 } };
        if (v == MQTT_V5) {
            c->props = user_props();
            c->props.present |= MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
                                MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) |
                                MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
                                MQTT_PROP_BIT(MQTT_PROP_REQUEST_PROBLEM_INFO) |
                                MQTT_PROP_BIT(MQTT_PROP_REQUEST_RESPONSE_INFO) | MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD) |
                                MQTT_PROP_BIT(MQTT_PROP_AUTH_DATA);
            c->props.session_expiry = 3600;
            c->props.receive_maximum = 100;
            c->props.maximum_packet_size = 65536;
            c->props.topic_alias_maximum = 10;
            c->props.request_problem_info = 1;
            c->props.request_response_info = 1;
            c->props.auth_method = MQTT_STR("SCRAM-SHA-1");
            c->props.auth_data = MQTT_STR("nonce");
            c->will_props.present = MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY) | MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT) |
                                    MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) |
                                    MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) |
                                    MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
            c->will_props.will_delay = 10;
            c->will_props.payload_format = 1;
            c->will_props.message_expiry = 60;
            c->will_props.content_type = MQTT_STR("text/plain");
            c->will_props.response_topic = MQTT_STR("reply/dev-17");
            c->will_props.correlation_data = MQTT_STR("\x01\x02");
        }
        uint8_t buf[512];
        size_t n = round_trip(&p, v, buf, sizeof buf);
        mqtt_packet q;
        mqtt_error e;
        cr_assert_eq(mqtt_decode(buf, n, v, &q, &e), MQTT_PACKET);
        cr_expect_eq(q.u.connect.version, v);
        cr_expect_eq(q.u.connect.will_qos, 2);
        cr_expect(q.u.connect.will_retain);
        if (v == MQTT_V5) {
            cr_expect_eq(q.u.connect.props.session_expiry, 3600);
            cr_expect_eq(q.u.connect.will_props.will_delay, 10);
            cr_expect_eq(q.u.connect.props.user_prop_count, 2);
            size_t pos = 0;
            mqtt_bytes k, val;
            cr_assert(mqtt_user_prop_next(q.u.connect.props.user_props, &pos, &k, &val));
            cr_expect(mqtt_bytes_eq(k, MQTT_STR("key")) && mqtt_bytes_eq(val, MQTT_STR("v")));
            cr_assert(mqtt_user_prop_next(q.u.connect.props.user_props, &pos, &k, &val));
            cr_expect(mqtt_bytes_eq(k, MQTT_STR("a")) && mqtt_bytes_eq(val, MQTT_STR("bc")));
            cr_expect_not(mqtt_user_prop_next(q.u.connect.props.user_props, &pos, &k, &val));
        }
    }
}

Test(roundtrip, connect_minimal)
{
    for (size_t i = 0; i < 2; i++) {
        mqtt_packet p = { .type = MQTT_CONNECT };
        p.u.connect = (mqtt_connect){ .version = versions[i], .clean_session = true };
        uint8_t buf[64];
        size_t n = round_trip(&p, versions[i], buf, sizeof buf);
        cr_expect_eq(n, versions[i] == MQTT_V5 ? 15u : 14u);
    }
}

Test(roundtrip, connack)
{
    for (size_t i = 0; i < 2; i++) {
        mqtt_version v = versions[i];
        mqtt_packet p = { .type = MQTT_CONNACK };
        p.u.connack.session_present = true;
        uint8_t buf[256];
        cr_expect_eq(round_trip(&p, v, buf, sizeof buf), v == MQTT_V5 ? 5u : 4u);
        p.u.connack.session_present = false;
        p.u.connack.code = v == MQTT_V5 ? MQTT_RC_BAD_USER_OR_PASSWORD : MQTT_V3_REFUSED_BAD_CREDENTIALS;
        round_trip(&p, v, buf, sizeof buf);
        if (v == MQTT_V5) {
            mqtt_props *pr = &p.u.connack.props;
            p.u.connack.code = 0;
            *pr = user_props();
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE) | MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_ID) |
                           MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_QOS) | MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE) |
                           MQTT_PROP_BIT(MQTT_PROP_WILDCARD_SUB_AVAILABLE) |
                           MQTT_PROP_BIT(MQTT_PROP_SUB_ID_AVAILABLE) | MQTT_PROP_BIT(MQTT_PROP_SHARED_SUB_AVAILABLE) |
                           MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFO) | MQTT_PROP_BIT(MQTT_PROP_SERVER_REFERENCE) |
                           MQTT_PROP_BIT(MQTT_PROP_REASON_STRING) | MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
            pr->server_keep_alive = 20;
            pr->assigned_client_id = MQTT_STR("auto-1");
            pr->maximum_qos = 1;
            pr->retain_available = 0;
            pr->wildcard_sub_available = 1;
            pr->sub_id_available = 1;
            pr->shared_sub_available = 0;
            pr->response_info = MQTT_STR("resp");
            pr->server_reference = MQTT_STR("other:1883");
            pr->reason_string = MQTT_STR("welcome");
            pr->session_expiry = 0;
            round_trip(&p, v, buf, sizeof buf);
        }
    }
}

Test(roundtrip, publish_every_qos)
{
    for (size_t i = 0; i < 2; i++) {
        mqtt_version v = versions[i];
        for (uint8_t qos = 0; qos <= 2; qos++) {
            mqtt_packet p = { .type = MQTT_PUBLISH };
            p.u.publish = (mqtt_publish){ .qos = qos, .retain = qos == 1, .dup = qos == 2,
                                          .topic = MQTT_STR("plant/line-3/temp"),
                                          .packet_id = qos ? (uint16_t)(1000 + qos) : 0,
                                          .payload = MQTT_STR("{\"c\":21.5}") };
            if (v == MQTT_V5) {
                p.u.publish.props = user_props();
                p.u.publish.props.present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS) |
                                             MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID) |
                                             MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT);
                p.u.publish.props.topic_alias = 4;
                p.u.publish.props.subscription_id = 268435455;
                p.u.publish.props.payload_format = 1;
            }
            uint8_t buf[256];
            size_t n = round_trip(&p, v, buf, sizeof buf);
            cr_expect_eq(buf[0], 0x30 | qos << 1 | (qos == 1) | (qos == 2) << 3);
            cr_expect_eq(buf[1], n - 2);
        }
    }
}

Test(roundtrip, publish_empty_payload_and_v5_alias_only)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = MQTT_STR("t");
    uint8_t buf[64];
    cr_expect_eq(round_trip(&p, MQTT_V311, buf, sizeof buf), 5u);
    p.u.publish.topic = (mqtt_bytes){ NULL, 0 };
    p.u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
    p.u.publish.props.topic_alias = 1;
    cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 8u);
}

Test(roundtrip, acks_short_and_long_forms)
{
    static const mqtt_type types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP };
    for (size_t t = 0; t < 4; t++) {
        mqtt_packet p = { .type = types[t] };
        p.u.ack.packet_id = 0xBEEF;
        uint8_t buf[64];
        cr_expect_eq(round_trip(&p, MQTT_V311, buf, sizeof buf), 4u);
        cr_expect_eq(buf[0] & 0x0F, types[t] == MQTT_PUBREL ? 2 : 0);
        cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 4u); /* reason 0, no properties: short form */
        p.u.ack.reason = types[t] >= MQTT_PUBREL ? MQTT_RC_PACKET_ID_NOT_FOUND : MQTT_RC_NO_MATCHING_SUBSCRIBERS;
        cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 5u);
        p.u.ack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
        p.u.ack.props.reason_string = MQTT_STR("why");
        cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 12u);
    }
}

Test(roundtrip, subscribe_unsubscribe)
{
    mqtt_topic_entry entries[] = {
        { .filter = MQTT_STR("sport/+/score"), .qos = 1 },
        { .filter = MQTT_STR("#"), .qos = 2, .no_local = true, .retain_as_published = true, .retain_handling = 2 },
        { .filter = MQTT_STR("$SYS/broker/uptime"), .qos = 0, .retain_handling = 1 },
    };
    for (size_t i = 0; i < 2; i++) {
        mqtt_version v = versions[i];
        for (int sub = 0; sub < 2; sub++) {
            mqtt_packet p = { .type = sub ? MQTT_SUBSCRIBE : MQTT_UNSUBSCRIBE };
            p.u.subscribe.packet_id = 77;
            p.u.subscribe.entries = entries;
            p.u.subscribe.count = v == MQTT_V5 ? 3 : 1; /* v3 has no option bits beyond QoS */
            if (v == MQTT_V5) {
                p.u.subscribe.props = user_props();
                if (sub) {
                    p.u.subscribe.props.present |= MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID);
                    p.u.subscribe.props.subscription_id = 300;
                }
            }
            uint8_t buf[256];
            size_t n = round_trip(&p, v, buf, sizeof buf);
            mqtt_packet q;
            mqtt_error e;
            cr_assert_eq(mqtt_decode(buf, n, v, &q, &e), MQTT_PACKET);
            cr_expect_null(q.u.subscribe.entries);
            cr_expect_eq(q.u.subscribe.count, p.u.subscribe.count);
            /* The decoded form encodes again (a broker forwarding it). */
            uint8_t again[256];
            cr_expect_eq(mqtt_encode(&q, v, again, sizeof again, &e), n);
            cr_expect_eq(memcmp(buf, again, n), 0);
        }
    }
}

Test(roundtrip, suback_unsuback)
{
    static const uint8_t v3_codes[] = { 0, 1, 2, 0x80 };
    static const uint8_t v5_sub[] = { 0, 1, 2, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2 };
    static const uint8_t v5_unsub[] = { 0, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91 };
    uint8_t buf[128];
    mqtt_packet p = { .type = MQTT_SUBACK };
    p.u.suback = (mqtt_suback){ .packet_id = 5, .codes = v3_codes, .count = 4 };
    cr_expect_eq(round_trip(&p, MQTT_V311, buf, sizeof buf), 8u);
    p.u.suback = (mqtt_suback){ .packet_id = 5, .codes = v5_sub, .count = sizeof v5_sub };
    p.u.suback.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p.u.suback.props.reason_string = MQTT_STR("partly");
    round_trip(&p, MQTT_V5, buf, sizeof buf);
    p = (mqtt_packet){ .type = MQTT_UNSUBACK };
    p.u.suback.packet_id = 6;
    cr_expect_eq(round_trip(&p, MQTT_V311, buf, sizeof buf), 4u);
    p.u.suback.codes = v5_unsub;
    p.u.suback.count = sizeof v5_unsub;
    round_trip(&p, MQTT_V5, buf, sizeof buf);
}

Test(roundtrip, ping_disconnect_auth)
{
    uint8_t buf[64];
    for (size_t i = 0; i < 2; i++) {
        mqtt_packet p = { .type = MQTT_PINGREQ };
        cr_expect_eq(round_trip(&p, versions[i], buf, sizeof buf), 2u);
        cr_expect_eq(buf[0], 0xC0);
        p.type = MQTT_PINGRESP;
        cr_expect_eq(round_trip(&p, versions[i], buf, sizeof buf), 2u);
        cr_expect_eq(buf[0], 0xD0);
        p.type = MQTT_DISCONNECT;
        cr_expect_eq(round_trip(&p, versions[i], buf, sizeof buf), 2u);
    }
    mqtt_packet p = { .type = MQTT_DISCONNECT };
    p.u.disconnect.reason = MQTT_RC_KEEP_ALIVE_TIMEOUT;
    cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 3u);
    cr_expect_eq(buf[2], 0x8D);
    p.u.disconnect.reason = MQTT_RC_SESSION_TAKEN_OVER;
    p.u.disconnect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY) | MQTT_PROP_BIT(MQTT_PROP_SERVER_REFERENCE);
    p.u.disconnect.props.session_expiry = 0;
    p.u.disconnect.props.server_reference = MQTT_STR("b2");
    round_trip(&p, MQTT_V5, buf, sizeof buf);
    p = (mqtt_packet){ .type = MQTT_AUTH };
    cr_expect_eq(round_trip(&p, MQTT_V5, buf, sizeof buf), 2u);
    p.u.disconnect.reason = 0x18; /* continue authentication */
    p.u.disconnect.props.present = MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD) | MQTT_PROP_BIT(MQTT_PROP_AUTH_DATA);
    p.u.disconnect.props.auth_method = MQTT_STR("SCRAM-SHA-1");
    p.u.disconnect.props.auth_data = MQTT_STR("c=biws");
    round_trip(&p, MQTT_V5, buf, sizeof buf);
}

/* Re-encoding a decoded vector gives the same bytes. */
static void reencodes_exactly(const uint8_t *buf, size_t n, const mqtt_packet *p, mqtt_version v)
{
    uint8_t again[512];
    mqtt_error e = { 0 };
    size_t m = mqtt_encode(p, v, again, sizeof again, &e);
    cr_assert_eq(m, n, "re-encoded %zu bytes, had %zu (%s)", m, n, e.what ? e.what : "");
    cr_expect_eq(memcmp(again, buf, n), 0);
}

Test(vectors, mosquitto_pub_connect_v311)
{
    /* mosquitto_pub -i flatline-pub -t sensors/temp -m 21.5 -k 30 */
    uint8_t buf[128];
    mqtt_packet p;
    decode_ok("10 18 00 04 4d 51 54 54 04 02 00 1e 00 0c 66 6c 61 74 6c 69 6e 65 2d 70 75 62", MQTT_V311, buf,
              sizeof buf, &p);
    cr_expect_eq(p.type, MQTT_CONNECT);
    cr_expect_eq(p.u.connect.version, MQTT_V311);
    cr_expect(p.u.connect.clean_session);
    cr_expect_eq(p.u.connect.keep_alive, 30);
    cr_expect(mqtt_bytes_eq(p.u.connect.client_id, MQTT_STR("flatline-pub")));
    cr_expect_not(p.u.connect.has_will || p.u.connect.has_username || p.u.connect.has_password);
    reencodes_exactly(buf, 26, &p, MQTT_V311);
}

Test(vectors, mosquitto_pub_connect_v5)
{
    /* mosquitto_pub -V mqttv5 ... -k 30 -D connect session-expiry-interval 120:
     * properties session expiry 120 and receive maximum 20. */
    uint8_t buf[128];
    mqtt_packet p;
    decode_ok("10 21 00 04 4d 51 54 54 05 02 00 1e 08 11 00 00 00 78 21 00 14 00 0c 66 6c 61 74 6c 69 6e 65 2d 70 75 62",
              MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.connect.version, MQTT_V5);
    cr_expect_eq(p.u.connect.keep_alive, 30);
    cr_expect_eq(p.u.connect.props.present,
                 MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM));
    cr_expect_eq(p.u.connect.props.session_expiry, 120);
    cr_expect_eq(p.u.connect.props.receive_maximum, 20);
    reencodes_exactly(buf, 35, &p, MQTT_V5);
}

Test(vectors, mosquitto_pub_connect_will_and_credentials)
{
    /* mosquitto_pub -i c1 -u user -P pass --will-topic dead/c1 --will-payload gone
     * --will-qos 1 --will-retain -c: flags 0xEC, clean session 0. */
    uint8_t buf[128];
    mqtt_packet p;
    decode_ok("10 29 00 04 4d 51 54 54 04 ec 00 3c 00 02 63 31 00 07 64 65 61 64 2f 63 31 00 04 67 6f 6e 65"
              " 00 04 75 73 65 72 00 04 70 61 73 73",
              MQTT_V311, buf, sizeof buf, &p);
    const mqtt_connect *c = &p.u.connect;
    cr_expect_not(c->clean_session);
    cr_expect_eq(c->keep_alive, 60);
    cr_expect(c->has_will && c->will_qos == 1 && c->will_retain);
    cr_expect(mqtt_bytes_eq(c->will_topic, MQTT_STR("dead/c1")));
    cr_expect(mqtt_bytes_eq(c->will_payload, MQTT_STR("gone")));
    cr_expect(c->has_username && mqtt_bytes_eq(c->username, MQTT_STR("user")));
    cr_expect(c->has_password && mqtt_bytes_eq(c->password, MQTT_STR("pass")));
    reencodes_exactly(buf, 43, &p, MQTT_V311);
}

Test(vectors, spec_v5_connack_server_keep_alive)
{
    /* CONNACK, session present, success, properties: Server Keep Alive 20,
     * Topic Alias Maximum 10. */
    uint8_t buf[64];
    mqtt_packet p;
    decode_ok("20 09 01 00 06 13 00 14 22 00 0a", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.type, MQTT_CONNACK);
    cr_expect(p.u.connack.session_present);
    cr_expect(mqtt_prop_has(&p.u.connack.props, MQTT_PROP_SERVER_KEEP_ALIVE));
    cr_expect_eq(p.u.connack.props.server_keep_alive, 20);
    cr_expect_eq(p.u.connack.props.topic_alias_maximum, 10);
    reencodes_exactly(buf, 11, &p, MQTT_V5);
    /* v3.1.1 refusal: not authorized */
    decode_ok("20 02 00 05", MQTT_V311, buf, sizeof buf, &p);
    cr_expect_eq(p.u.connack.code, MQTT_V3_REFUSED_NOT_AUTHORIZED);
}

Test(vectors, publish_and_acks)
{
    uint8_t buf[64];
    mqtt_packet p;
    /* QoS 1, retain, topic "a/b", id 10, payload "hi" */
    decode_ok("33 09 00 03 61 2f 62 00 0a 68 69", MQTT_V311, buf, sizeof buf, &p);
    cr_expect_eq(p.u.publish.qos, 1);
    cr_expect(p.u.publish.retain);
    cr_expect_not(p.u.publish.dup);
    cr_expect_eq(p.u.publish.packet_id, 10);
    cr_expect(mqtt_bytes_eq(p.u.publish.topic, MQTT_STR("a/b")));
    cr_expect(mqtt_bytes_eq(p.u.publish.payload, MQTT_STR("hi")));
    /* v5 QoS 0 with message expiry 5 and two subscription identifiers (1 and 2) */
    decode_ok("30 10 00 01 74 09 02 00 00 00 05 0b 01 0b 02 78 79 7a", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.publish.props.message_expiry, 5);
    cr_expect_eq(p.u.publish.props.subscription_id, 1, "the first one is kept");
    cr_expect(mqtt_bytes_eq(p.u.publish.payload, MQTT_STR("xyz")));
    /* PUBREL v3 and v5 with reason 0x92 */
    decode_ok("62 02 00 0a", MQTT_V311, buf, sizeof buf, &p);
    cr_expect_eq(p.type, MQTT_PUBREL);
    cr_expect_eq(p.u.ack.packet_id, 10);
    decode_ok("62 03 00 0a 92", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.ack.reason, MQTT_RC_PACKET_ID_NOT_FOUND);
    decode_ok("40 04 00 0a 10 00", MQTT_V5, buf, sizeof buf, &p); /* PUBACK, no subscribers, empty properties */
    cr_expect_eq(p.u.ack.reason, MQTT_RC_NO_MATCHING_SUBSCRIBERS);
}

Test(vectors, subscribe_walk)
{
    uint8_t buf[64];
    mqtt_packet p;
    /* v5 SUBSCRIBE id 1, no properties, "a/#" options 0x2E (RH 2, RAP, NL, QoS 2), "+" QoS 0 */
    decode_ok("82 0d 00 01 00 00 03 61 2f 23 2e 00 01 2b 00", MQTT_V5, buf, sizeof buf, &p);
    cr_assert_eq(p.u.subscribe.count, 2);
    size_t pos = 0;
    mqtt_topic_entry e;
    cr_assert(mqtt_topic_next(&p.u.subscribe, true, &pos, &e));
    cr_expect(mqtt_bytes_eq(e.filter, MQTT_STR("a/#")));
    cr_expect(e.qos == 2 && e.no_local && e.retain_as_published && e.retain_handling == 2);
    cr_assert(mqtt_topic_next(&p.u.subscribe, true, &pos, &e));
    cr_expect(mqtt_bytes_eq(e.filter, MQTT_STR("+")));
    cr_expect(e.qos == 0 && !e.no_local && e.retain_handling == 0);
    cr_expect_not(mqtt_topic_next(&p.u.subscribe, true, &pos, &e));
    /* v3 UNSUBSCRIBE two filters */
    decode_ok("a2 0b 00 02 00 01 61 00 04 62 2f 2f 63", MQTT_V311, buf, sizeof buf, &p);
    cr_assert_eq(p.u.subscribe.count, 2);
    pos = 0;
    cr_assert(mqtt_topic_next(&p.u.subscribe, false, &pos, &e));
    cr_expect(mqtt_bytes_eq(e.filter, MQTT_STR("a")));
    cr_assert(mqtt_topic_next(&p.u.subscribe, false, &pos, &e));
    cr_expect(mqtt_bytes_eq(e.filter, MQTT_STR("b//c")));
}

Test(vectors, disconnect_forms)
{
    uint8_t buf[64];
    mqtt_packet p;
    decode_ok("e0 00", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.disconnect.reason, 0);
    decode_ok("e0 01 8d", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.disconnect.reason, MQTT_RC_KEEP_ALIVE_TIMEOUT);
    decode_ok("e0 02 8e 00", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.disconnect.reason, MQTT_RC_SESSION_TAKEN_OVER);
    decode_ok("e0 00", MQTT_V311, buf, sizeof buf, &p);
    decode_ok("f0 00", MQTT_V5, buf, sizeof buf, &p);
    cr_expect_eq(p.type, MQTT_AUTH);
}

Test(names, err_and_type)
{
    cr_expect_str_eq(mqtt_err_name(MQTT_E_REMAINING_LENGTH), "remaining_length");
    cr_expect_str_eq(mqtt_err_name(MQTT_E_NO_MEMORY), "no_memory");
    cr_expect_str_eq(mqtt_err_name((mqtt_err)999), "unknown");
    cr_expect_str_eq(mqtt_type_name(MQTT_CONNECT), "CONNECT");
    cr_expect_str_eq(mqtt_type_name(MQTT_AUTH), "AUTH");
    cr_expect_str_eq(mqtt_type_name((mqtt_type)0), "RESERVED");
}
