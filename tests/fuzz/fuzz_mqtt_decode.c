/* libFuzzer target for the MQTT decoder.
 *
 * Input: byte 0 picks the stream's starting version (bits 0-1: unknown,
 * 3.1.1, 5.0) and byte 1 seeds the split sizes; the rest is the byte stream.
 * Oracles:
 *   - the stream, fed in data-derived splits, agrees with framing + decoding
 *     the same bytes whole: the same packets, then the same error or the same
 *     unfinished tail;
 *   - every decoded packet encodes, the encoding decodes to an equal packet,
 *     and encoding that again gives the same bytes (a canonical form);
 *   - a PUBLISH topic matches itself as a filter, and "#" matches it unless it
 *     starts with '$'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                             \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

#define MAX_PACKETS 4096

static mqtt_version start_version(uint8_t b)
{
    static const mqtt_version v[] = { 0, MQTT_V311, MQTT_V5, MQTT_V5 };
    return v[b & 3];
}

/* The version the packet was decoded with, for encoding it again. */
static mqtt_version decoded_version(const mqtt_packet *p, mqtt_version stream_version)
{
    if (p->type == MQTT_CONNECT)
        return p->u.connect.version;
    return stream_version == MQTT_V5 ? MQTT_V5 : MQTT_V311;
}

static void check_round_trip(const mqtt_packet *p, mqtt_version v)
{
    mqtt_error e;
    size_t n = mqtt_encode(p, v, NULL, 0, &e);
    CHECK(n > 0);
    uint8_t *a = malloc(n), *b = malloc(n);
    CHECK(a && b);
    CHECK(mqtt_encode(p, v, a, n, &e) == n);
    mqtt_packet q;
    CHECK(mqtt_decode(a, n, v, &q, &e) == MQTT_PACKET);
    CHECK(mqtt_packet_equal(p, &q, v));
    CHECK(mqtt_encode(&q, v, b, n, &e) == n);
    CHECK(memcmp(a, b, n) == 0);
    free(a);
    free(b);

    if (p->type == MQTT_PUBLISH && p->u.publish.topic.len) {
        mqtt_bytes t = p->u.publish.topic;
        CHECK(mqtt_topic_name_valid(t));
        CHECK(mqtt_topic_filter_valid(t));
        CHECK(mqtt_topic_matches(t, t));
        CHECK(mqtt_topic_matches(MQTT_STR("#"), t) == (t.data[0] != '$'));
    }
}

typedef struct outcome {
    size_t packets;
    mqtt_result last; /* MQTT_NEED_MORE or MQTT_MALFORMED */
    mqtt_error err;
    mqtt_type types[MAX_PACKETS];
} outcome;

static outcome by_stream, by_frame;

static void run_stream(const uint8_t *bytes, size_t len, mqtt_version v, uint8_t seed, outcome *o)
{
    mqtt_stream s;
    mqtt_stream_init(&s, v, 0);
    uint32_t x = 0x9E3779B9u ^ seed;
    size_t off = 0;
    o->last = MQTT_NEED_MORE;
    while (off < len && o->last == MQTT_NEED_MORE) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = (seed & 0x80) ? 1 + x % 8 : 1 + x % 300;
        if (n > len - off)
            n = len - off;
        mqtt_stream_feed(&s, bytes + off, n);
        off += n;
        mqtt_packet p;
        mqtt_result r;
        while ((r = mqtt_stream_next(&s, &p, &o->err)) == MQTT_PACKET) {
            CHECK(o->packets < MAX_PACKETS);
            o->types[o->packets++] = p.type;
            check_round_trip(&p, decoded_version(&p, s.version));
        }
        o->last = r;
    }
    if (o->last == MQTT_NEED_MORE)
        CHECK(s.partial_len == len - s.consumed);
    else
        CHECK(s.partial == NULL);
    mqtt_stream_free(&s);
}

static void run_frames(const uint8_t *bytes, size_t len, mqtt_version v, outcome *o)
{
    size_t off = 0;
    o->last = MQTT_NEED_MORE;
    while (off < len) {
        size_t plen;
        mqtt_result r = mqtt_frame(bytes + off, len - off, 0, &plen, &o->err);
        mqtt_packet p;
        if (r == MQTT_MALFORMED) {
            /* mqtt_frame does not know the version; mqtt_decode applies the
             * version's fixed-header rules first, as the stream does. */
            CHECK(mqtt_decode(bytes + off, len - off, v, &p, &o->err) == MQTT_MALFORMED);
            o->last = r;
            return;
        }
        if (r == MQTT_NEED_MORE) {
            /* An unfinished tail: only a fixed-header error can show yet. */
            mqtt_error e;
            if (mqtt_decode(bytes + off, len - off, v, &p, &e) == MQTT_MALFORMED && e.code != MQTT_E_TRUNCATED) {
                o->err = e;
                o->last = MQTT_MALFORMED;
            }
            return;
        }
        if (mqtt_decode(bytes + off, plen, v, &p, &o->err) != MQTT_PACKET) {
            o->last = MQTT_MALFORMED;
            return;
        }
        CHECK(o->packets < MAX_PACKETS);
        o->types[o->packets++] = p.type;
        if (p.type == MQTT_CONNECT)
            v = p.u.connect.version;
        off += plen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    mqtt_version v = start_version(data[0]);
    memset(&by_stream, 0, sizeof by_stream);
    memset(&by_frame, 0, sizeof by_frame);
    run_stream(data + 2, size - 2, v, data[1], &by_stream);
    run_frames(data + 2, size - 2, v, &by_frame);
    CHECK(by_stream.packets == by_frame.packets);
    CHECK(memcmp(by_stream.types, by_frame.types, by_stream.packets * sizeof by_stream.types[0]) == 0);
    CHECK(by_stream.last == by_frame.last);
    if (by_stream.last == MQTT_MALFORMED) {
        CHECK(by_stream.err.code == by_frame.err.code);
        CHECK(by_stream.err.offset == by_frame.err.offset);
        CHECK(by_stream.err.reason == by_frame.err.reason);
    }
    return 0;
}
