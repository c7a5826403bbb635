/* Encoding: one pass counts, a second writes (the snprintf contract), and the
 * result is decoded again so that the encoder never emits a packet that the
 * decoder would reject. */
#include "mqtt/wire.h"

#include <string.h>

#define FAIL(err, code, reason, what) mqtt__fail(err, code, 0, reason, what)

static bool put_str(mqtt_writer *w, mqtt_bytes b, mqtt_error *err, const char *what)
{
    if (b.len > UINT16_MAX)
        return FAIL(err, MQTT_E_TOO_LARGE, MQTT_RC_MALFORMED, what);
    mqtt__put_bin(w, b);
    return true;
}

static bool props_empty(const mqtt_props *p)
{
    return p->present == 0 && p->user_props.len == 0;
}

static bool put_props(mqtt_writer *w, const mqtt_props *p, unsigned set, mqtt_error *err, const char *what)
{
    bool ok = true;
    mqtt__props_size(p, set, &ok);
    if (!ok)
        return FAIL(err, MQTT_E_PROPERTY, MQTT_RC_MALFORMED, what);
    mqtt__put_props(w, p, set);
    return true;
}

static bool packet_id_ok(uint16_t id, mqtt_error *err, const char *what)
{
    return id != 0 || FAIL(err, MQTT_E_PACKET_ID, MQTT_RC_PROTOCOL_ERROR, what);
}

static bool put_connect(mqtt_writer *w, const mqtt_connect *c, mqtt_version v, mqtt_error *err)
{
    if (c->has_will && c->will_qos > 2)
        return FAIL(err, MQTT_E_WILL_FLAGS, MQTT_RC_MALFORMED, "CONNECT: will QoS above 2");
    uint8_t flags = (uint8_t)((c->has_username ? 0x80 : 0) | (c->has_password ? 0x40 : 0) |
                              (c->clean_session ? 0x02 : 0));
    if (c->has_will)
        flags |= (uint8_t)(0x04 | c->will_qos << 3 | (c->will_retain ? 0x20 : 0));
    mqtt__put_bin(w, MQTT_STR("MQTT"));
    mqtt__put_u8(w, (uint8_t)v);
    mqtt__put_u8(w, flags);
    mqtt__put_u16(w, c->keep_alive);
    if (v == MQTT_V5 && !put_props(w, &c->props, 1u << MQTT_CONNECT, err, "CONNECT: properties"))
        return false;
    if (!put_str(w, c->client_id, err, "CONNECT: client identifier longer than 65535 bytes"))
        return false;
    if (c->has_will) {
        if (v == MQTT_V5 && !put_props(w, &c->will_props, MQTT_PROPS_WILL, err, "CONNECT: will properties"))
            return false;
        if (!put_str(w, c->will_topic, err, "CONNECT: will topic longer than 65535 bytes") ||
            !put_str(w, c->will_payload, err, "CONNECT: will payload longer than 65535 bytes"))
            return false;
    }
    if (c->has_username && !put_str(w, c->username, err, "CONNECT: user name longer than 65535 bytes"))
        return false;
    if (c->has_password && !put_str(w, c->password, err, "CONNECT: password longer than 65535 bytes"))
        return false;
    return true;
}

static bool put_publish(mqtt_writer *w, const mqtt_publish *p, mqtt_version v, mqtt_error *err)
{
    if (p->qos > 2)
        return FAIL(err, MQTT_E_QOS, MQTT_RC_MALFORMED, "PUBLISH: QoS above 2");
    if (!put_str(w, p->topic, err, "PUBLISH: topic name longer than 65535 bytes"))
        return false;
    if (p->qos) {
        if (!packet_id_ok(p->packet_id, err, "PUBLISH: packet identifier 0 with QoS 1 or 2"))
            return false;
        mqtt__put_u16(w, p->packet_id);
    }
    if (v == MQTT_V5 && !put_props(w, &p->props, 1u << MQTT_PUBLISH, err, "PUBLISH: properties"))
        return false;
    mqtt__put(w, p->payload.data, p->payload.len);
    return true;
}

/* A v5 reason code and properties that may both be left out when they are
 * 0 and empty (acks, DISCONNECT, AUTH). */
static bool put_reason_tail(mqtt_writer *w, uint8_t reason, const mqtt_props *props, mqtt_type type,
                            mqtt_error *err)
{
    if (reason == 0 && props_empty(props))
        return true;
    mqtt__put_u8(w, reason);
    if (props_empty(props))
        return true;
    return put_props(w, props, 1u << type, err, "properties not allowed in this packet");
}

static bool put_subscribe(mqtt_writer *w, const mqtt_subscribe *s, mqtt_version v, bool is_sub, mqtt_error *err)
{
    mqtt_type type = is_sub ? MQTT_SUBSCRIBE : MQTT_UNSUBSCRIBE;
    if (!packet_id_ok(s->packet_id, err, "SUBSCRIBE/UNSUBSCRIBE: packet identifier 0"))
        return false;
    mqtt__put_u16(w, s->packet_id);
    if (v == MQTT_V5 && !put_props(w, &s->props, 1u << type, err, "SUBSCRIBE/UNSUBSCRIBE: properties"))
        return false;
    size_t pos = 0, n = 0;
    for (;;) {
        mqtt_topic_entry e;
        if (s->entries) {
            if (n == s->count)
                break;
            e = s->entries[n];
        } else if (!mqtt_topic_next(s, is_sub, &pos, &e)) {
            break;
        }
        n++;
        if (!put_str(w, e.filter, err, "SUBSCRIBE/UNSUBSCRIBE: topic filter longer than 65535 bytes"))
            return false;
        if (!is_sub)
            continue;
        if (e.qos > 2)
            return FAIL(err, MQTT_E_QOS, MQTT_RC_MALFORMED, "SUBSCRIBE: maximum QoS above 2");
        if (e.retain_handling > 2)
            return FAIL(err, MQTT_E_SUB_OPTIONS, MQTT_RC_PROTOCOL_ERROR, "SUBSCRIBE: retain handling above 2");
        uint8_t o = e.qos;
        if (v == MQTT_V5)
            o |= (uint8_t)((e.no_local ? 0x04 : 0) | (e.retain_as_published ? 0x08 : 0) | e.retain_handling << 4);
        mqtt__put_u8(w, o);
    }
    if (n == 0)
        return FAIL(err, MQTT_E_NO_TOPICS, MQTT_RC_PROTOCOL_ERROR, "SUBSCRIBE/UNSUBSCRIBE: no topic filters");
    return true;
}

static bool put_suback(mqtt_writer *w, const mqtt_suback *s, mqtt_version v, mqtt_type type, mqtt_error *err)
{
    if (!packet_id_ok(s->packet_id, err, "SUBACK/UNSUBACK: packet identifier 0"))
        return false;
    mqtt__put_u16(w, s->packet_id);
    if (v == MQTT_V5 && !put_props(w, &s->props, 1u << type, err, "SUBACK/UNSUBACK: properties"))
        return false;
    if (v == MQTT_V5 || type == MQTT_SUBACK)
        mqtt__put(w, s->codes, s->count);
    return true;
}

static bool put_body(mqtt_writer *w, const mqtt_packet *p, mqtt_version v, mqtt_error *err)
{
    switch (p->type) {
    case MQTT_CONNECT:
        return put_connect(w, &p->u.connect, v, err);
    case MQTT_CONNACK:
        mqtt__put_u8(w, p->u.connack.session_present ? 1 : 0);
        mqtt__put_u8(w, p->u.connack.code);
        return v != MQTT_V5 || put_props(w, &p->u.connack.props, 1u << MQTT_CONNACK, err, "CONNACK: properties");
    case MQTT_PUBLISH:
        return put_publish(w, &p->u.publish, v, err);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        if (!packet_id_ok(p->u.ack.packet_id, err, "acknowledgement: packet identifier 0"))
            return false;
        mqtt__put_u16(w, p->u.ack.packet_id);
        return v != MQTT_V5 || put_reason_tail(w, p->u.ack.reason, &p->u.ack.props, p->type, err);
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        return put_subscribe(w, &p->u.subscribe, v, p->type == MQTT_SUBSCRIBE, err);
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        return put_suback(w, &p->u.suback, v, p->type, err);
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
        return true;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        return v != MQTT_V5 || put_reason_tail(w, p->u.disconnect.reason, &p->u.disconnect.props, p->type, err);
    }
    return FAIL(err, MQTT_E_PACKET_TYPE, MQTT_RC_MALFORMED, "encode: unknown packet type");
}

static uint8_t first_byte(const mqtt_packet *p)
{
    uint8_t flags = 0;
    if (p->type == MQTT_PUBLISH) {
        const mqtt_publish *pub = &p->u.publish;
        flags = (uint8_t)((pub->dup ? 0x08 : 0) | pub->qos << 1 | (pub->retain ? 0x01 : 0));
    } else if (p->type == MQTT_PUBREL || p->type == MQTT_SUBSCRIBE || p->type == MQTT_UNSUBSCRIBE) {
        flags = 0x02;
    }
    return (uint8_t)(p->type << 4 | flags);
}

size_t mqtt_encode(const mqtt_packet *p, mqtt_version version, uint8_t *out, size_t cap, mqtt_error *err)
{
    mqtt_version v = version;
    if (p->type == MQTT_CONNECT && p->u.connect.version)
        v = p->u.connect.version;
    if (v != MQTT_V311 && v != MQTT_V5) {
        FAIL(err, MQTT_E_PROTOCOL_LEVEL, MQTT_RC_UNSUPPORTED_VERSION, "encode: version not 4 or 5");
        return 0;
    }
    if (p->type == MQTT_AUTH && v != MQTT_V5) {
        FAIL(err, MQTT_E_PACKET_TYPE, MQTT_RC_MALFORMED, "encode: AUTH in MQTT 3.1.1");
        return 0;
    }
    mqtt_writer count = { 0 };
    if (!put_body(&count, p, v, err))
        return 0;
    if (count.pos > MQTT_VBI_MAX) {
        FAIL(err, MQTT_E_TOO_LARGE, MQTT_RC_PACKET_TOO_LARGE, "encode: remaining length above 268,435,455");
        return 0;
    }
    uint32_t remaining = (uint32_t)count.pos;
    size_t total = 1 + mqtt__vbi_size(remaining) + remaining;
    if (total > cap)
        return total;
    mqtt_writer w = { .buf = out, .cap = cap, .pos = 0 };
    mqtt__put_u8(&w, first_byte(p));
    mqtt__put_vbi(&w, remaining);
    put_body(&w, p, v, NULL);

    mqtt_packet check;
    if (mqtt_decode(out, total, v, &check, err) != MQTT_PACKET)
        return 0;
    return total;
}
