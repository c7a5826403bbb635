/* The streaming decoder: zero-copy when a whole packet is in the fed bytes,
 * otherwise it copies just the unfinished packet, growing its buffer as bytes
 * arrive (a peer announcing a large packet does not get it allocated up
 * front), and frees it as soon as the packet has been handed out. */
#include "mqtt/wire.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_CAP 8 /* a whole fixed header fits */

void mqtt_stream_init(mqtt_stream *s, mqtt_version version, size_t max_packet)
{
    *s = (mqtt_stream){ .version = version, .max_packet = max_packet };
}

static void drop_partial(mqtt_stream *s)
{
    free(s->partial);
    s->partial = NULL;
    s->partial_len = s->partial_cap = s->partial_need = 0;
    s->partial_done = false;
}

void mqtt_stream_free(mqtt_stream *s)
{
    drop_partial(s);
    s->in = NULL;
    s->in_len = 0;
}

void mqtt_stream_feed(mqtt_stream *s, const uint8_t *data, size_t len)
{
    /* Feeding again before mqtt_stream_next said NEED_MORE would lose the
     * unread bytes: fail loudly instead of corrupting the stream. */
    if (s->in_len && !s->failed) {
        s->failed = true;
        s->error = (mqtt_error){ MQTT_E_BUFFER, 0, MQTT_RC_IMPLEMENTATION_SPECIFIC,
                                 "stream: fed again before the previous bytes were consumed" };
        drop_partial(s);
    }
    s->in = data;
    s->in_len = s->failed ? 0 : len;
}

static mqtt_result fail(mqtt_stream *s, const mqtt_error *e, mqtt_error *err)
{
    s->failed = true;
    s->error = *e;
    drop_partial(s);
    s->in_len = 0;
    if (err)
        *err = *e;
    return MQTT_MALFORMED;
}

/* Appends n bytes of the fed input to the partial packet. */
static bool append(mqtt_stream *s, size_t n)
{
    size_t want = s->partial_len + n;
    if (want > s->partial_cap) {
        size_t cap = s->partial_cap ? s->partial_cap * 2 : HEADER_CAP;
        if (s->partial_need && cap > s->partial_need)
            cap = s->partial_need;
        if (cap < want)
            cap = want;
        uint8_t *p = realloc(s->partial, cap);
        if (!p)
            return false;
        s->partial = p;
        s->partial_cap = cap;
    }
    memcpy(s->partial + s->partial_len, s->in, n);
    s->partial_len += n;
    s->in += n;
    s->in_len -= n;
    return true;
}

static mqtt_result deliver(mqtt_stream *s, const uint8_t *pkt, size_t len, mqtt_packet *out, mqtt_error *err)
{
    mqtt_error e;
    if (mqtt_decode(pkt, len, s->version, out, &e) != MQTT_PACKET)
        return fail(s, &e, err);
    if (out->type == MQTT_CONNECT)
        s->version = out->u.connect.version;
    return MQTT_PACKET;
}

/* As mqtt_decode: an unknown version (before CONNECT) decodes as 3.1.1. */
static mqtt_version header_version(const mqtt_stream *s)
{
    return s->version == MQTT_V5 ? MQTT_V5 : MQTT_V311;
}

static mqtt_result out_of_memory(mqtt_stream *s, mqtt_error *err)
{
    mqtt_error e = { MQTT_E_NO_MEMORY, s->partial_len, MQTT_RC_IMPLEMENTATION_SPECIFIC,
                     "stream: out of memory buffering a packet" };
    return fail(s, &e, err);
}

mqtt_result mqtt_stream_next(mqtt_stream *s, mqtt_packet *out, mqtt_error *err)
{
    mqtt_error e;
    mqtt_header h;
    if (s->failed) {
        if (err)
            *err = s->error;
        return MQTT_MALFORMED;
    }
    if (s->partial_done) { /* the packet handed out last time is no longer in use */
        s->consumed += s->partial_len;
        drop_partial(s);
    }
    if (s->partial_len == 0) {
        if (s->in_len == 0)
            return MQTT_NEED_MORE;
        mqtt_result r = mqtt__header(s->in, s->in_len, header_version(s), s->max_packet, &h, &e);
        if (r == MQTT_MALFORMED)
            return fail(s, &e, err);
        if (r == MQTT_PACKET && h.packet_len <= s->in_len) {
            const uint8_t *pkt = s->in;
            s->in += h.packet_len;
            s->in_len -= h.packet_len;
            r = deliver(s, pkt, h.packet_len, out, err);
            if (r == MQTT_PACKET)
                s->consumed += h.packet_len;
            return r;
        }
        s->partial_need = r == MQTT_PACKET ? h.packet_len : 0;
        if (!append(s, s->in_len))
            return out_of_memory(s, err);
        return MQTT_NEED_MORE;
    }
    while (s->partial_need == 0) { /* the fixed header is still incomplete */
        if (s->in_len == 0)
            return MQTT_NEED_MORE;
        if (!append(s, 1))
            return out_of_memory(s, err);
        mqtt_result r = mqtt__header(s->partial, s->partial_len, header_version(s), s->max_packet, &h, &e);
        if (r == MQTT_MALFORMED)
            return fail(s, &e, err);
        if (r == MQTT_PACKET)
            s->partial_need = h.packet_len;
    }
    size_t take = s->partial_need - s->partial_len;
    if (take > s->in_len)
        take = s->in_len;
    if (take && !append(s, take))
        return out_of_memory(s, err);
    if (s->partial_len < s->partial_need)
        return MQTT_NEED_MORE;
    s->partial_done = true;
    return deliver(s, s->partial, s->partial_len, out, err);
}
