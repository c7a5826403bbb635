/* Shared by the codec tests: hex vectors, and the check that mqtt_decode and
 * the byte-at-a-time stream reject a packet with the same error. */
#ifndef FLATLINE_TESTS_MQTT_HELPERS_H
#define FLATLINE_TESTS_MQTT_HELPERS_H

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdlib.h>

#include "mqtt/mqtt.h"

/* Parses "10 1a 00 04" (spaces optional) into out; returns the byte count. */
static inline size_t hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        cr_assert(isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]), "bad hex at '%s'", s);
        cr_assert(n < cap, "hex vector longer than %zu", cap);
        char pair[3] = { s[0], s[1], 0 };
        out[n++] = (uint8_t)strtoul(pair, NULL, 16);
        s += 2;
    }
    return n;
}

/* Decodes a hex vector that must be a valid packet. */
static inline void decode_ok(const char *vec, mqtt_version v, uint8_t *buf, size_t cap, mqtt_packet *out)
{
    size_t n = hex(vec, buf, cap), len = 0;
    mqtt_error e = { 0 };
    cr_assert_eq(mqtt_frame(buf, n, 0, &len, &e), MQTT_PACKET, "frame: %s", e.what);
    cr_assert_eq(len, n);
    cr_assert_eq(mqtt_decode(buf, n, v, out, &e), MQTT_PACKET, "decode: %s (%s at %zu)", e.what,
                 mqtt_err_name(e.code), e.offset);
}

/* The vector must fail with code at offset and the v5 reason, both through
 * mqtt_decode and through a stream fed one byte at a time. */
static inline void expect_malformed(const char *vec, mqtt_version v, mqtt_err code, size_t offset, uint8_t reason)
{
    uint8_t buf[512];
    size_t n = hex(vec, buf, sizeof buf);
    mqtt_packet p;
    mqtt_error e = { 0 };
    cr_assert_eq(mqtt_decode(buf, n, v, &p, &e), MQTT_MALFORMED, "decode accepted %s", vec);
    cr_expect_eq(e.code, code, "decode code %s, want %s (%s)", mqtt_err_name(e.code), mqtt_err_name(code), e.what);
    cr_expect_eq(e.offset, offset, "decode offset %zu, want %zu (%s)", e.offset, offset, e.what);
    cr_expect_eq(e.reason, reason, "decode reason 0x%02x, want 0x%02x (%s)", e.reason, reason, e.what);
    cr_expect_not_null(e.what);

    mqtt_stream s;
    mqtt_stream_init(&s, v, 0);
    mqtt_result r = MQTT_NEED_MORE;
    mqtt_error se = { 0 };
    for (size_t i = 0; i < n && r == MQTT_NEED_MORE; i++) {
        mqtt_stream_feed(&s, buf + i, 1);
        r = mqtt_stream_next(&s, &p, &se);
    }
    cr_expect_eq(r, MQTT_MALFORMED, "stream did not fail on %s", vec);
    cr_expect_eq(se.code, code, "stream code %s, want %s", mqtt_err_name(se.code), mqtt_err_name(code));
    cr_expect_eq(se.offset, offset, "stream offset %zu, want %zu", se.offset, offset);
    cr_expect_eq(se.reason, reason);
    mqtt_stream_free(&s);
}

/* Encodes p, decodes the bytes and asserts the content survived; returns the
 * encoded length (the bytes are left in buf). */
static inline size_t round_trip(const mqtt_packet *p, mqtt_version v, uint8_t *buf, size_t cap)
{
    mqtt_error e = { 0 };
    size_t n = mqtt_encode(p, v, buf, cap, &e);
    cr_assert_gt(n, 0, "encode %s v%d: %s", mqtt_type_name(p->type), v, e.what);
    cr_assert_leq(n, cap);
    mqtt_packet q;
    cr_assert_eq(mqtt_decode(buf, n, v, &q, &e), MQTT_PACKET, "decode %s: %s at %zu", mqtt_type_name(p->type), e.what,
                 e.offset);
    cr_assert(mqtt_packet_equal(p, &q, v), "%s v%d changed in a round trip", mqtt_type_name(p->type), v);
    return n;
}

#endif
