/* The streaming decoder: any split of a long mixed stream gives the same
 * packets; nothing is buffered between packets; a failure is final. */
#include <string.h>

#include "helpers.h"

/* A small deterministic generator so that a failing split can be replayed. */
static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

#define NPACKETS 400
static mqtt_packet packets[NPACKETS];
static mqtt_topic_entry entries[3] = {
    { .filter = MQTT_STR("sensors/+/temp"), .qos = 1 },
    { .filter = MQTT_STR("alerts/#"), .qos = 2 },
    { .filter = MQTT_STR("a"), .qos = 0 },
};
static const uint8_t codes[3] = { 0, 1, 0x80 };
static uint8_t payload[3000];

static void make_packet(mqtt_packet *p, mqtt_version v, size_t i)
{
    static const mqtt_type types[] = { MQTT_PUBLISH, MQTT_PUBLISH, MQTT_PUBLISH, MQTT_PUBACK, MQTT_PUBREC,
                                       MQTT_PUBREL, MQTT_PUBCOMP, MQTT_SUBSCRIBE, MQTT_SUBACK, MQTT_UNSUBSCRIBE,
                                       MQTT_UNSUBACK, MQTT_PINGREQ, MQTT_PINGRESP, MQTT_CONNACK };
    *p = (mqtt_packet){ .type = types[rnd() % (sizeof types / sizeof types[0])] };
    uint16_t id = (uint16_t)(1 + rnd() % 65535);
    switch (p->type) {
    case MQTT_PUBLISH:
        p->u.publish.qos = (uint8_t)(rnd() % 3);
        p->u.publish.retain = rnd() & 1;
        p->u.publish.dup = p->u.publish.qos && (rnd() & 1);
        p->u.publish.packet_id = p->u.publish.qos ? id : 0;
        p->u.publish.topic = MQTT_STR("sensors/line-1/temp");
        /* sizes around the 1/2/3-byte remaining-length boundaries */
        p->u.publish.payload = (mqtt_bytes){ payload, rnd() % 4 ? rnd() % 200 : rnd() % sizeof payload };
        if (v == MQTT_V5 && (rnd() & 1)) {
            p->u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY);
            p->u.publish.props.message_expiry = (uint32_t)i;
        }
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        p->u.ack.packet_id = id;
        break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        p->u.subscribe.packet_id = id;
        p->u.subscribe.entries = entries;
        p->u.subscribe.count = 1 + rnd() % 3;
        break;
    case MQTT_SUBACK:
        p->u.suback = (mqtt_suback){ .packet_id = id, .codes = codes, .count = 1 + rnd() % 3 };
        break;
    case MQTT_UNSUBACK:
        p->u.suback = (mqtt_suback){ .packet_id = id, .codes = codes, .count = v == MQTT_V5 ? 1 : 0 };
        break;
    case MQTT_CONNACK:
        p->u.connack.session_present = rnd() & 1;
        break;
    default:
        break;
    }
}

/* Encodes NPACKETS mixed packets into one buffer (caller frees). */
static uint8_t *make_stream(mqtt_version v, uint64_t seed, size_t *len)
{
    rng_state = seed;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t cap = NPACKETS * 3100, n = 0;
    uint8_t *buf = malloc(cap);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < NPACKETS; i++) {
        make_packet(&packets[i], v, i);
        mqtt_error e = { 0 };
        size_t m = mqtt_encode(&packets[i], v, buf + n, cap - n, &e);
        cr_assert_gt(m, 0, "packet %zu: %s", i, e.what);
        n += m;
    }
    *len = n;
    return buf;
}

/* Feeds buf in chunks chosen by next_chunk and checks every packet. */
static void feed_and_check(const uint8_t *buf, size_t len, mqtt_version v, size_t (*next_chunk)(void))
{
    mqtt_stream s;
    mqtt_stream_init(&s, v, 0);
    size_t got = 0, off = 0;
    while (off < len) {
        size_t n = next_chunk();
        if (n > len - off)
            n = len - off;
        mqtt_stream_feed(&s, buf + off, n);
        off += n;
        mqtt_packet p;
        mqtt_error e = { 0 };
        mqtt_result r;
        while ((r = mqtt_stream_next(&s, &p, &e)) == MQTT_PACKET) {
            cr_assert_lt(got, NPACKETS);
            cr_assert(mqtt_packet_equal(&packets[got], &p, v), "packet %zu (%s) differs", got,
                      mqtt_type_name(p.type));
            got++;
        }
        cr_assert_eq(r, MQTT_NEED_MORE, "stream failed: %s at %zu", e.what, e.offset);
    }
    cr_expect_eq(got, NPACKETS);
    cr_expect_eq(s.consumed, len);
    cr_expect_null(s.partial, "no buffer held between packets");
    mqtt_stream_free(&s);
}

static size_t one(void) { return 1; }
static size_t random_small(void) { return 1 + rnd() % 7; }
static size_t random_mixed(void) { return rnd() % 4 ? 1 + rnd() % 64 : 1 + rnd() % 5000; }
static size_t everything(void) { return SIZE_MAX; }

Test(stream, byte_at_a_time)
{
    for (int v = MQTT_V311; v <= MQTT_V5; v++) {
        size_t len;
        uint8_t *buf = make_stream((mqtt_version)v, 0x5eed + (uint64_t)v, &len);
        feed_and_check(buf, len, (mqtt_version)v, one);
        free(buf);
    }
}

Test(stream, random_splits_seeded)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        mqtt_version v = seed & 1 ? MQTT_V5 : MQTT_V311;
        size_t len;
        uint8_t *buf = make_stream(v, seed * 0x9E3779B97F4A7C15u, &len);
        rng_state = seed; /* the split sequence */
        feed_and_check(buf, len, v, seed % 2 ? random_small : random_mixed);
        free(buf);
    }
}

Test(stream, all_at_once_is_zero_copy)
{
    size_t len;
    uint8_t *buf = make_stream(MQTT_V5, 42, &len);
    feed_and_check(buf, len, MQTT_V5, everything);
    free(buf);
}

Test(stream, whole_packets_are_not_copied)
{
    uint8_t buf[] = { 0x30, 0x03, 0x00, 0x01, 'a', 0xc0, 0x00 };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_stream_feed(&s, buf, sizeof buf);
    mqtt_packet p;
    mqtt_error e;
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET);
    cr_expect_eq(p.u.publish.topic.data, buf + 4, "points into the fed bytes");
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET);
    cr_expect_eq(p.type, MQTT_PINGREQ);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_eq(s.partial_cap, 0);
    mqtt_stream_free(&s);
}

Test(stream, split_packet_buffer_is_freed_after_delivery)
{
    uint8_t buf[] = { 0x30, 0x03, 0x00, 0x01, 'a' };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e;
    mqtt_stream_feed(&s, buf, 3);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_not_null(s.partial);
    cr_expect_eq(s.partial_len, 3);
    mqtt_stream_feed(&s, buf + 3, 2);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET);
    cr_expect(mqtt_bytes_eq(p.u.publish.topic, MQTT_STR("a")));
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_null(s.partial);
    cr_expect_eq(s.partial_cap, 0);
    cr_expect_eq(s.consumed, 5);
    mqtt_stream_free(&s);
}

Test(stream, large_announced_packet_is_not_allocated_up_front)
{
    /* A PUBLISH announcing 2 MB, of which 10 bytes arrived. */
    uint8_t head[] = { 0x30, 0x80, 0x80, 0x80, 0x01, 0x00, 0x01, 'a', 1, 2, 3, 4, 5, 6, 7 };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e;
    mqtt_stream_feed(&s, head, sizeof head);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_eq(s.partial_need, 5 + 2097152);
    cr_expect_leq(s.partial_cap, 64);
    mqtt_stream_free(&s);
    cr_expect_null(s.partial);
}

Test(stream, too_large_rejected_from_the_fixed_header)
{
    uint8_t head[] = { 0x30, 0xe8, 0x07 }; /* 1000 bytes follow */
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 512);
    mqtt_packet p;
    mqtt_error e = { 0 };
    mqtt_stream_feed(&s, head, sizeof head);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TOO_LARGE);
    cr_expect_eq(e.reason, MQTT_RC_PACKET_TOO_LARGE);
    cr_expect_eq(e.offset, 1);
    cr_expect_eq(s.partial_cap, 0, "nothing buffered");
    mqtt_stream_free(&s);

    /* the same, one byte at a time, after a good packet: offsets count from
     * the start of the failing packet */
    uint8_t two[] = { 0xc0, 0x00, 0x30, 0xe8, 0x07 };
    mqtt_stream_init(&s, MQTT_V311, 512);
    mqtt_result r = MQTT_NEED_MORE;
    size_t i;
    for (i = 0; i < sizeof two; i++) {
        mqtt_stream_feed(&s, two + i, 1);
        while ((r = mqtt_stream_next(&s, &p, &e)) == MQTT_PACKET)
            ;
        if (r == MQTT_MALFORMED)
            break;
    }
    cr_expect_eq(i, 4, "fails on the last remaining-length byte");
    cr_expect_eq(e.code, MQTT_E_TOO_LARGE);
    cr_expect_eq(e.offset, 1);
    cr_expect_eq(s.consumed, 2);
    mqtt_stream_free(&s);
}

Test(stream, failure_is_final)
{
    uint8_t bad[] = { 0x00, 0x00 };
    uint8_t good[] = { 0xc0, 0x00 };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e = { 0 }, again = { 0 };
    mqtt_stream_feed(&s, bad, sizeof bad);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_PACKET_TYPE);
    cr_expect(s.failed);
    mqtt_stream_feed(&s, good, sizeof good);
    cr_assert_eq(mqtt_stream_next(&s, &p, &again), MQTT_MALFORMED);
    cr_expect_eq(again.code, e.code);
    cr_expect_eq(again.offset, e.offset);
    cr_expect_str_eq(again.what, e.what);
    mqtt_stream_free(&s);
}

Test(stream, failure_inside_a_split_packet_frees_it)
{
    /* PUBLISH with a wildcard topic, split in two */
    uint8_t buf[] = { 0x30, 0x05, 0x00, 0x03, 'a', '/', '#' };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e = { 0 };
    mqtt_stream_feed(&s, buf, 4);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    mqtt_stream_feed(&s, buf + 4, 3);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_TOPIC_NAME);
    cr_expect_eq(e.offset, 6);
    cr_expect_null(s.partial);
    mqtt_stream_free(&s);
}

Test(stream, connect_sets_the_version)
{
    /* v5 CONNECT, then a v5 PUBLISH with a property, in one feed */
    uint8_t buf[64];
    size_t n = hex("10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00"
                   " 30 09 00 01 61 05 02 00 00 00 07",
                   buf, sizeof buf);
    mqtt_stream s;
    mqtt_stream_init(&s, 0, 0);
    mqtt_packet p;
    mqtt_error e = { 0 };
    mqtt_stream_feed(&s, buf, n);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET);
    cr_expect_eq(s.version, MQTT_V5);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET, "%s", e.what);
    cr_expect_eq(p.u.publish.props.message_expiry, 7);
    cr_expect_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    mqtt_stream_free(&s);
}

Test(stream, header_split_across_feeds)
{
    /* a 200-byte PUBLISH whose two remaining-length bytes arrive apart */
    uint8_t buf[203] = { 0x30, 0xc8, 0x01, 0x00, 0x01, 'x' };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e = { 0 };
    mqtt_stream_feed(&s, buf, 2);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_eq(s.partial_need, 0, "length not known yet");
    mqtt_stream_feed(&s, buf + 2, 1);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_NEED_MORE);
    cr_expect_eq(s.partial_need, 203);
    mqtt_stream_feed(&s, buf + 3, 200);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET, "%s", e.what);
    cr_expect_eq(p.u.publish.payload.len, 197);
    mqtt_stream_free(&s);
}

Test(stream, feeding_before_need_more_fails_loudly)
{
    uint8_t two[] = { 0xc0, 0x00, 0xc0, 0x00 };
    mqtt_stream s;
    mqtt_stream_init(&s, MQTT_V311, 0);
    mqtt_packet p;
    mqtt_error e = { 0 };
    mqtt_stream_feed(&s, two, sizeof two);
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_PACKET);
    mqtt_stream_feed(&s, two, 2); /* the second PINGREQ was not taken out yet */
    cr_assert_eq(mqtt_stream_next(&s, &p, &e), MQTT_MALFORMED);
    cr_expect_eq(e.code, MQTT_E_BUFFER);
    cr_expect_eq(s.in_len, 0);
    mqtt_stream_free(&s);
}
