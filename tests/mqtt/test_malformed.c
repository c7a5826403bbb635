/* One test per malformed-input rule: the exact mqtt_err code, byte offset
 * (from the packet start) and v5 reason code, through mqtt_decode and through
 * the byte-at-a-time stream (expect_malformed checks both). */
#include "helpers.h"

#define V3 MQTT_V311
#define V5 MQTT_V5
#define MAL MQTT_RC_MALFORMED
#define PROTO MQTT_RC_PROTOCOL_ERROR

/* ---- fixed header ---- */

Test(fixed_header, reserved_type_0) { expect_malformed("00 00", V3, MQTT_E_PACKET_TYPE, 0, MAL); }
Test(fixed_header, auth_in_v311) { expect_malformed("f0 00", V3, MQTT_E_PACKET_TYPE, 0, MAL); }

Test(fixed_header, flags_must_be_0010)
{
    expect_malformed("60 02 00 01", V3, MQTT_E_HEADER_FLAGS, 0, MAL);                /* PUBREL 0000 */
    expect_malformed("80 06 00 01 00 01 61 00", V3, MQTT_E_HEADER_FLAGS, 0, MAL);    /* SUBSCRIBE 0000 */
    expect_malformed("a3 05 00 01 00 01 61", V5, MQTT_E_HEADER_FLAGS, 0, MAL);       /* UNSUBSCRIBE 0011 */
}

Test(fixed_header, flags_must_be_0000)
{
    expect_malformed("c1 00", V3, MQTT_E_HEADER_FLAGS, 0, MAL); /* PINGREQ */
    expect_malformed("d8 00", V5, MQTT_E_HEADER_FLAGS, 0, MAL); /* PINGRESP */
    expect_malformed("42 02 00 01", V3, MQTT_E_HEADER_FLAGS, 0, MAL); /* PUBACK */
    expect_malformed("12 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", V3, MQTT_E_HEADER_FLAGS, 0, MAL); /* CONNECT */
    expect_malformed("e2 00", V5, MQTT_E_HEADER_FLAGS, 0, MAL); /* DISCONNECT */
}

Test(fixed_header, publish_qos_3) { expect_malformed("36 05 00 01 61 00 01", V3, MQTT_E_QOS, 0, MAL); }

Test(fixed_header, publish_dup_with_qos0_is_v5_protocol_error)
{
    expect_malformed("38 04 00 01 61 00", V5, MQTT_E_HEADER_FLAGS, 0, PROTO);
    uint8_t buf[16];
    mqtt_packet p;
    decode_ok("38 03 00 01 61", V3, buf, sizeof buf, &p); /* 3.1.1 leaves it to the sender */
    cr_expect(p.u.publish.dup);
}

Test(fixed_header, remaining_length_over_4_bytes)
{
    expect_malformed("30 ff ff ff ff 01", V3, MQTT_E_REMAINING_LENGTH, 4, MAL);
}

Test(fixed_header, remaining_length_not_minimal)
{
    expect_malformed("c0 80 00", V3, MQTT_E_REMAINING_LENGTH, 2, MAL);
    expect_malformed("30 83 80 00", V3, MQTT_E_REMAINING_LENGTH, 3, MAL);
}

Test(fixed_header, too_large_before_the_body)
{
    uint8_t hdr[] = { 0x30, 0x64 }; /* 100 bytes follow: 102 in all */
    size_t len = 0;
    mqtt_error e = { 0 };
    cr_expect_eq(mqtt_frame(hdr, 2, 100, &len, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TOO_LARGE);
    cr_expect_eq(e.offset, 1);
    cr_expect_eq(e.reason, MQTT_RC_PACKET_TOO_LARGE);
    cr_expect_eq(mqtt_frame(hdr, 2, 102, &len, &e), MQTT_NEED_MORE);
    /* 0 means the protocol limit: 2 + 268,435,455 fits */
    uint8_t biggest[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
    cr_expect_eq(mqtt_frame(biggest, sizeof biggest, 0, &len, &e), MQTT_NEED_MORE);
    cr_expect_eq(mqtt_frame(biggest, sizeof biggest, 1000, &len, &e), MQTT_MALFORMED);
}

Test(fixed_header, decode_length_must_match_frame)
{
    uint8_t buf[] = { 0xc0, 0x00, 0xc0, 0x00 };
    mqtt_packet p;
    mqtt_error e = { 0 };
    cr_expect_eq(mqtt_decode(buf, 4, V3, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TRAILING);
    cr_expect_eq(e.offset, 2);
    uint8_t pub[] = { 0x30, 0x05, 0x00, 0x01, 'a' };
    cr_expect_eq(mqtt_decode(pub, sizeof pub, V3, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TRUNCATED);
    cr_expect_eq(e.offset, 5);
    cr_expect_eq(mqtt_decode(pub, 1, V3, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TRUNCATED);
    cr_expect_eq(e.offset, 1);
}

/* ---- CONNECT ---- */

Test(connect, protocol_name)
{
    expect_malformed("10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00", V3, MQTT_E_PROTOCOL_NAME, 2,
                     MQTT_RC_UNSUPPORTED_VERSION);
    /* MQTT 3.1's "MQIsdp" is not supported */
    expect_malformed("10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00", V3, MQTT_E_PROTOCOL_NAME, 2,
                     MQTT_RC_UNSUPPORTED_VERSION);
}

Test(connect, protocol_level)
{
    expect_malformed("10 0c 00 04 4d 51 54 54 03 02 00 3c 00 00", V3, MQTT_E_PROTOCOL_LEVEL, 8,
                     MQTT_RC_UNSUPPORTED_VERSION);
    expect_malformed("10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00", V5, MQTT_E_PROTOCOL_LEVEL, 8,
                     MQTT_RC_UNSUPPORTED_VERSION);
}

Test(connect, reserved_flag)
{
    expect_malformed("10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", V3, MQTT_E_RESERVED_FLAG, 9, MAL);
}

Test(connect, will_qos_3) { expect_malformed("10 0c 00 04 4d 51 54 54 04 1e 00 3c 00 00", V3, MQTT_E_WILL_FLAGS, 9, MAL); }

Test(connect, will_qos_or_retain_without_will)
{
    expect_malformed("10 0c 00 04 4d 51 54 54 04 22 00 3c 00 00", V3, MQTT_E_WILL_FLAGS, 9, MAL);
    expect_malformed("10 0c 00 04 4d 51 54 54 05 0a 00 3c 00 00", V5, MQTT_E_WILL_FLAGS, 9, MAL);
}

Test(connect, password_without_username_v311_only)
{
    expect_malformed("10 0f 00 04 4d 51 54 54 04 42 00 3c 00 00 00 01 70", V3, MQTT_E_CREDENTIALS, 9, MAL);
    uint8_t buf[32];
    mqtt_packet p;
    decode_ok("10 10 00 04 4d 51 54 54 05 42 00 3c 00 00 00 00 01 70", V5, buf, sizeof buf, &p);
    cr_expect(p.u.connect.has_password && !p.u.connect.has_username);
}

Test(connect, empty_client_id_needs_clean_session_v311)
{
    expect_malformed("10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00", V3, MQTT_E_CLIENT_ID, 12,
                     MQTT_RC_CLIENT_ID_NOT_VALID);
    uint8_t buf[32];
    mqtt_packet p;
    decode_ok("10 0d 00 04 4d 51 54 54 05 00 00 3c 00 00 00", V5, buf, sizeof buf, &p);
}

Test(connect, will_topic_with_wildcard)
{
    expect_malformed("10 13 00 04 4d 51 54 54 04 06 00 3c 00 00 00 03 61 2f 23 00 00", V3, MQTT_E_TOPIC_NAME, 18,
                     MQTT_RC_TOPIC_NAME_INVALID);
}

Test(connect, truncated_field)
{
    expect_malformed("10 0a 00 04 4d 51 54 54 04 02 00 3c", V3, MQTT_E_TRUNCATED, 12, MAL);
    expect_malformed("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 05 61 62", V3, MQTT_E_TRUNCATED, 12, MAL);
    expect_malformed("10 03 00 04 4d", V3, MQTT_E_TRUNCATED, 2, MAL);
}

Test(connect, trailing_bytes)
{
    expect_malformed("10 0d 00 04 4d 51 54 54 04 02 00 3c 00 00 ff", V3, MQTT_E_TRAILING, 14, MAL);
}

/* ---- UTF-8 (in the client identifier at offset 14) ---- */

Test(utf8, overlong_two_byte)
{
    expect_malformed("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 c0 af", V3, MQTT_E_UTF8, 14, MAL);
}
Test(utf8, overlong_three_and_four_byte)
{
    expect_malformed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 e0 80 af", V3, MQTT_E_UTF8, 14, MAL);
    expect_malformed("10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 f0 80 80 af", V3, MQTT_E_UTF8, 14, MAL);
}
Test(utf8, null_character)
{
    expect_malformed("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 61 00", V3, MQTT_E_UTF8, 15, MAL);
}
Test(utf8, surrogate)
{
    expect_malformed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 ed a0 80", V3, MQTT_E_UTF8, 14, MAL);
}
Test(utf8, above_u10ffff)
{
    expect_malformed("10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 f4 90 80 80", V3, MQTT_E_UTF8, 14, MAL);
    expect_malformed("10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 f5 80 80 80", V3, MQTT_E_UTF8, 14, MAL);
}
Test(utf8, stray_continuation_and_cut_sequence)
{
    expect_malformed("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 61 80", V3, MQTT_E_UTF8, 15, MAL);
    expect_malformed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 61 e2 82", V3, MQTT_E_UTF8, 15, MAL);
    expect_malformed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 e2 41 82", V3, MQTT_E_UTF8, 14, MAL);
}

/* ---- PUBLISH ---- */

Test(publish, topic_with_wildcard)
{
    expect_malformed("30 05 00 03 61 2f 2b", V3, MQTT_E_TOPIC_NAME, 6, MQTT_RC_TOPIC_NAME_INVALID);
    expect_malformed("30 03 00 01 23", V5, MQTT_E_TOPIC_NAME, 4, MQTT_RC_TOPIC_NAME_INVALID);
}

Test(publish, empty_topic)
{
    expect_malformed("30 02 00 00", V3, MQTT_E_TOPIC_NAME, 2, MQTT_RC_TOPIC_NAME_INVALID);
    expect_malformed("30 03 00 00 00", V5, MQTT_E_TOPIC_NAME, 2, PROTO); /* no topic alias */
    uint8_t buf[16];
    mqtt_packet p;
    decode_ok("30 06 00 00 03 23 00 01", V5, buf, sizeof buf, &p);
    cr_expect_eq(p.u.publish.props.topic_alias, 1);
}

Test(publish, packet_id_zero) { expect_malformed("32 07 00 03 61 2f 62 00 00", V3, MQTT_E_PACKET_ID, 7, PROTO); }

Test(publish, topic_utf8) { expect_malformed("30 04 00 02 c1 81", V3, MQTT_E_UTF8, 4, MAL); }

/* ---- v5 properties (PUBLISH "a": the property length is at 5, the first id at 6) ---- */

Test(properties, unknown_identifier)
{
    expect_malformed("30 06 00 01 61 02 05 00", V5, MQTT_E_PROPERTY, 6, MAL);
    expect_malformed("30 06 00 01 61 02 80 00", V5, MQTT_E_PROPERTY, 6, MAL);
}

Test(properties, not_allowed_in_packet)
{
    expect_malformed("30 09 00 01 61 05 11 00 00 00 01", V5, MQTT_E_PROPERTY, 6, MAL); /* session expiry */
    expect_malformed("30 09 00 01 61 05 18 00 00 00 01", V5, MQTT_E_PROPERTY, 6, MAL); /* will delay */
    /* will delay among CONNECT's own properties (it belongs to the will) */
    expect_malformed("10 12 00 04 4d 51 54 54 05 02 00 3c 05 18 00 00 00 01 00 00", V5, MQTT_E_PROPERTY, 13, MAL);
    /* server keep alive is CONNACK only */
    expect_malformed("10 10 00 04 4d 51 54 54 05 02 00 3c 03 13 00 0a 00 00", V5, MQTT_E_PROPERTY, 13, MAL);
    /* reason string is not allowed in PUBLISH */
    expect_malformed("30 08 00 01 61 04 1f 00 01 78", V5, MQTT_E_PROPERTY, 6, MAL);
}

Test(properties, duplicated)
{
    expect_malformed("30 0e 00 01 61 0a 02 00 00 00 01 02 00 00 00 02", V5, MQTT_E_PROPERTY, 11, PROTO);
    /* subscription identifier: repeatable in PUBLISH, once in SUBSCRIBE */
    expect_malformed("82 0b 00 01 04 0b 01 0b 02 00 01 61 00", V5, MQTT_E_PROPERTY, 7, PROTO);
    /* server keep alive twice in CONNACK */
    expect_malformed("20 09 00 00 06 13 00 0a 13 00 0b", V5, MQTT_E_PROPERTY, 8, PROTO);
}

Test(properties, bad_values)
{
    expect_malformed("30 06 00 01 61 02 01 02", V5, MQTT_E_PROPERTY, 7, PROTO); /* payload format 2 */
    expect_malformed("30 07 00 01 61 03 23 00 00", V5, MQTT_E_PROPERTY, 7, PROTO); /* topic alias 0 */
    expect_malformed("30 06 00 01 61 02 0b 00", V5, MQTT_E_PROPERTY, 7, PROTO); /* subscription id 0 */
    expect_malformed("30 09 00 01 61 05 08 00 02 61 23", V5, MQTT_E_PROPERTY, 7, PROTO); /* response topic a# */
    expect_malformed("20 05 00 00 02 24 02", V5, MQTT_E_PROPERTY, 6, PROTO); /* maximum QoS 2 */
    /* receive maximum 0 in CONNECT */
    expect_malformed("10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 00 00 00", V5, MQTT_E_PROPERTY, 14, PROTO);
    /* maximum packet size 0 in CONNECT */
    expect_malformed("10 12 00 04 4d 51 54 54 05 02 00 3c 05 27 00 00 00 00 00 00", V5, MQTT_E_PROPERTY, 14, PROTO);
}

Test(properties, string_values_are_utf8)
{
    expect_malformed("30 09 00 01 61 05 03 00 02 ed b0", V5, MQTT_E_UTF8, 9, MAL); /* content type */
    expect_malformed("30 0a 00 01 61 06 26 00 00 00 01 00", V5, MQTT_E_UTF8, 11, MAL); /* user property value */
}

Test(properties, length_beyond_packet) { expect_malformed("30 05 00 01 61 05 01", V5, MQTT_E_TRUNCATED, 5, MAL); }

Test(properties, value_beyond_property_length)
{
    expect_malformed("30 08 00 01 61 02 02 00 00 00", V5, MQTT_E_TRUNCATED, 7, MAL);
}

Test(properties, length_not_minimal) { expect_malformed("30 05 00 01 61 80 00", V5, MQTT_E_PROPERTY, 6, MAL); }

Test(properties, subscription_id_over_4_bytes)
{
    expect_malformed("30 0a 00 01 61 06 0b ff ff ff ff 01", V5, MQTT_E_PROPERTY, 10, MAL);
}

/* ---- SUBSCRIBE / UNSUBSCRIBE ---- */

Test(subscribe, no_topic_filters)
{
    expect_malformed("82 02 00 01", V3, MQTT_E_NO_TOPICS, 4, PROTO);
    expect_malformed("82 03 00 01 00", V5, MQTT_E_NO_TOPICS, 5, PROTO);
    expect_malformed("a2 02 00 01", V3, MQTT_E_NO_TOPICS, 4, PROTO);
}

Test(subscribe, packet_id_zero) { expect_malformed("82 06 00 00 00 01 61 00", V3, MQTT_E_PACKET_ID, 2, PROTO); }

Test(subscribe, hash_not_last_or_not_whole_level)
{
    expect_malformed("82 0a 00 01 00 00 04 61 2f 62 23 00", V5, MQTT_E_TOPIC_FILTER, 10,
                     MQTT_RC_TOPIC_FILTER_INVALID);
    expect_malformed("82 08 00 01 00 03 23 2f 61 00", V3, MQTT_E_TOPIC_FILTER, 6, MQTT_RC_TOPIC_FILTER_INVALID);
    expect_malformed("a2 09 00 01 00 05 61 2f 23 2f 62", V3, MQTT_E_TOPIC_FILTER, 8, MQTT_RC_TOPIC_FILTER_INVALID);
}

Test(subscribe, plus_not_whole_level)
{
    expect_malformed("82 09 00 01 00 04 61 2b 2f 62 00", V3, MQTT_E_TOPIC_FILTER, 7, MQTT_RC_TOPIC_FILTER_INVALID);
    expect_malformed("82 07 00 01 00 02 2b 2b 00", V3, MQTT_E_TOPIC_FILTER, 6, MQTT_RC_TOPIC_FILTER_INVALID);
}

Test(subscribe, empty_filter)
{
    expect_malformed("82 05 00 01 00 00 00", V3, MQTT_E_TOPIC_FILTER, 4, MQTT_RC_TOPIC_FILTER_INVALID);
}

Test(subscribe, reserved_option_bits)
{
    expect_malformed("82 06 00 01 00 01 61 04", V3, MQTT_E_SUB_OPTIONS, 7, MAL); /* no local is v5 only */
    expect_malformed("82 07 00 01 00 00 01 61 40", V5, MQTT_E_SUB_OPTIONS, 8, MAL);
}

Test(subscribe, retain_handling_3) { expect_malformed("82 07 00 01 00 00 01 61 30", V5, MQTT_E_SUB_OPTIONS, 8, PROTO); }

Test(subscribe, qos_3) { expect_malformed("82 06 00 01 00 01 61 03", V3, MQTT_E_QOS, 7, MAL); }

Test(subscribe, options_missing) { expect_malformed("82 05 00 01 00 01 61", V3, MQTT_E_TRUNCATED, 7, MAL); }

/* ---- acknowledgements and reason codes ---- */

Test(reason_codes, suback)
{
    expect_malformed("90 03 00 01 03", V3, MQTT_E_REASON_CODE, 4, MAL);
    expect_malformed("90 05 00 01 00 00 85", V5, MQTT_E_REASON_CODE, 6, MAL);
    expect_malformed("90 03 00 01 00", V5, MQTT_E_NO_TOPICS, 5, PROTO);
}

Test(reason_codes, unsuback)
{
    expect_malformed("b0 03 00 01 00", V3, MQTT_E_TRAILING, 4, MAL); /* 3.1.1 UNSUBACK has no codes */
    expect_malformed("b0 04 00 01 00 02", V5, MQTT_E_REASON_CODE, 5, MAL);
}

Test(reason_codes, connack)
{
    expect_malformed("20 02 00 06", V3, MQTT_E_REASON_CODE, 3, MAL);
    expect_malformed("20 03 00 8d 00", V5, MQTT_E_REASON_CODE, 3, MAL);
    expect_malformed("20 02 02 00", V3, MQTT_E_RESERVED_FLAG, 2, MAL);
    expect_malformed("20 02 00 00", V5, MQTT_E_TRUNCATED, 4, MAL); /* v5 needs the property length */
}

Test(reason_codes, puback_pubrel)
{
    expect_malformed("40 03 00 01 92", V5, MQTT_E_REASON_CODE, 4, MAL);
    expect_malformed("62 03 00 01 10", V5, MQTT_E_REASON_CODE, 4, MAL);
    expect_malformed("40 03 00 01 00", V3, MQTT_E_TRAILING, 4, MAL);
    expect_malformed("50 02 00 00", V3, MQTT_E_PACKET_ID, 2, PROTO);
    expect_malformed("70 01 00", V5, MQTT_E_TRUNCATED, 2, MAL);
    /* PUBACK may not carry, e.g., a topic alias */
    expect_malformed("40 07 00 01 00 03 23 00 01", V5, MQTT_E_PROPERTY, 6, MAL);
}

Test(reason_codes, disconnect_and_auth)
{
    expect_malformed("e0 01 05", V5, MQTT_E_REASON_CODE, 2, MAL);
    expect_malformed("e0 01 00", V3, MQTT_E_TRAILING, 2, MAL);
    expect_malformed("f0 01 8d", V5, MQTT_E_REASON_CODE, 2, MAL);
    expect_malformed("e0 03 00 00 ff", V5, MQTT_E_TRAILING, 4, MAL);
}

Test(ping, body_not_allowed)
{
    expect_malformed("c0 01 00", V3, MQTT_E_TRAILING, 2, MAL);
    expect_malformed("d0 01 00", V5, MQTT_E_TRAILING, 2, MAL);
}
