/* Decoding of one whole packet: the variable header and payload rules of
 * MQTT 3.1.1 and 5.0, each failure naming the field and its byte offset. */
#include "mqtt/wire.h"

#include <string.h>

#define FAIL(r, code, at, reason, what) mqtt__fail((r)->err, code, at, reason, what)

static bool no_trailing(mqtt_reader *r, mqtt_type type)
{
    static const char *const what[] = {
        [MQTT_CONNECT] = "CONNECT: bytes after the last field",
        [MQTT_CONNACK] = "CONNACK: bytes after the last field",
        [MQTT_PUBLISH] = "PUBLISH: bytes after the last field",
        [MQTT_PUBACK] = "PUBACK: bytes after the last field",
        [MQTT_PUBREC] = "PUBREC: bytes after the last field",
        [MQTT_PUBREL] = "PUBREL: bytes after the last field",
        [MQTT_PUBCOMP] = "PUBCOMP: bytes after the last field",
        [MQTT_SUBSCRIBE] = "SUBSCRIBE: bytes after the last field",
        [MQTT_SUBACK] = "SUBACK: bytes after the last field",
        [MQTT_UNSUBSCRIBE] = "UNSUBSCRIBE: bytes after the last field",
        [MQTT_UNSUBACK] = "UNSUBACK: return codes in MQTT 3.1.1",
        [MQTT_PINGREQ] = "PINGREQ: remaining length must be 0",
        [MQTT_PINGRESP] = "PINGRESP: remaining length must be 0",
        [MQTT_DISCONNECT] = "DISCONNECT: bytes after the last field",
        [MQTT_AUTH] = "AUTH: bytes after the last field",
    };
    if (r->pos == r->end)
        return true;
    return FAIL(r, MQTT_E_TRAILING, r->pos, MQTT_RC_MALFORMED, what[type]);
}

/* The v5 reason codes each packet may carry (MQTT 5.0 section 2.4). */
static bool reason_allowed(mqtt_type type, uint8_t rc)
{
    static const uint8_t connack[] = { 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                                       0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F };
    static const uint8_t puback[] = { 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99 };
    static const uint8_t pubrel[] = { 0x00, 0x92 };
    static const uint8_t suback[] = { 0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2 };
    static const uint8_t unsuback[] = { 0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91 };
    static const uint8_t disconnect[] = { 0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                          0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                          0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2 };
    static const uint8_t auth[] = { 0x00, 0x18, 0x19 };
    const uint8_t *set;
    size_t n;
#define USE(a) (set = (a), n = sizeof(a))
    switch (type) {
    case MQTT_CONNACK: USE(connack); break;
    case MQTT_PUBACK:
    case MQTT_PUBREC: USE(puback); break;
    case MQTT_PUBREL:
    case MQTT_PUBCOMP: USE(pubrel); break;
    case MQTT_SUBACK: USE(suback); break;
    case MQTT_UNSUBACK: USE(unsuback); break;
    case MQTT_DISCONNECT: USE(disconnect); break;
    case MQTT_AUTH: USE(auth); break;
    default: return false;
    }
#undef USE
    return memchr(set, rc, n) != NULL;
}

static bool read_topic_name(mqtt_reader *r, mqtt_bytes *topic, bool empty_ok, const char *what)
{
    size_t at = r->pos;
    if (!mqtt__read_str(r, topic, what))
        return false;
    if (topic->len == 0 && empty_ok)
        return true;
    size_t bad = mqtt__topic_name_bad_at(*topic);
    if (bad != MQTT_NOT_FOUND)
        return FAIL(r, MQTT_E_TOPIC_NAME, topic->len ? at + 2 + bad : at, MQTT_RC_TOPIC_NAME_INVALID, what);
    return true;
}

static bool decode_connect(mqtt_reader *r, mqtt_connect *c)
{
    size_t at = r->pos;
    mqtt_bytes name;
    uint8_t level, flags;
    if (!mqtt__read_bin(r, &name, "CONNECT: protocol name"))
        return false;
    if (!mqtt_bytes_eq(name, MQTT_STR("MQTT")))
        return FAIL(r, MQTT_E_PROTOCOL_NAME, at, MQTT_RC_UNSUPPORTED_VERSION, "CONNECT: protocol name is not \"MQTT\"");
    at = r->pos;
    if (!mqtt__read_u8(r, &level, "CONNECT: protocol level"))
        return false;
    if (level != MQTT_V311 && level != MQTT_V5)
        return FAIL(r, MQTT_E_PROTOCOL_LEVEL, at, MQTT_RC_UNSUPPORTED_VERSION, "CONNECT: protocol level not 4 or 5");
    c->version = (mqtt_version)level;
    at = r->pos;
    if (!mqtt__read_u8(r, &flags, "CONNECT: connect flags"))
        return false;
    if (flags & 0x01)
        return FAIL(r, MQTT_E_RESERVED_FLAG, at, MQTT_RC_MALFORMED, "CONNECT: reserved connect flag set");
    c->clean_session = flags & 0x02;
    c->has_will = flags & 0x04;
    c->will_qos = (flags >> 3) & 3;
    c->will_retain = flags & 0x20;
    c->has_password = flags & 0x40;
    c->has_username = flags & 0x80;
    if (c->will_qos == 3)
        return FAIL(r, MQTT_E_WILL_FLAGS, at, MQTT_RC_MALFORMED, "CONNECT: will QoS 3");
    if (!c->has_will && (c->will_qos || c->will_retain))
        return FAIL(r, MQTT_E_WILL_FLAGS, at, MQTT_RC_MALFORMED, "CONNECT: will QoS or retain without the will flag");
    if (level == MQTT_V311 && c->has_password && !c->has_username)
        return FAIL(r, MQTT_E_CREDENTIALS, at, MQTT_RC_MALFORMED, "CONNECT: password flag without user name flag");
    if (!mqtt__read_u16(r, &c->keep_alive, "CONNECT: keep alive"))
        return false;
    if (level == MQTT_V5 && !mqtt__read_props(r, 1u << MQTT_CONNECT, &c->props))
        return false;
    at = r->pos;
    if (!mqtt__read_str(r, &c->client_id, "CONNECT: client identifier"))
        return false;
    if (level == MQTT_V311 && c->client_id.len == 0 && !c->clean_session)
        return FAIL(r, MQTT_E_CLIENT_ID, at, MQTT_RC_CLIENT_ID_NOT_VALID,
                    "CONNECT: empty client identifier with clean session 0");
    if (c->has_will) {
        if (level == MQTT_V5 && !mqtt__read_props(r, MQTT_PROPS_WILL, &c->will_props))
            return false;
        if (!read_topic_name(r, &c->will_topic, false, "CONNECT: will topic"))
            return false;
        if (!mqtt__read_bin(r, &c->will_payload, "CONNECT: will payload"))
            return false;
    }
    if (c->has_username && !mqtt__read_str(r, &c->username, "CONNECT: user name"))
        return false;
    if (c->has_password && !mqtt__read_bin(r, &c->password, "CONNECT: password"))
        return false;
    return no_trailing(r, MQTT_CONNECT);
}

static bool decode_connack(mqtt_reader *r, mqtt_version v, mqtt_connack *c)
{
    size_t at = r->pos;
    uint8_t flags;
    if (!mqtt__read_u8(r, &flags, "CONNACK: acknowledge flags"))
        return false;
    if (flags & 0xFE)
        return FAIL(r, MQTT_E_RESERVED_FLAG, at, MQTT_RC_MALFORMED, "CONNACK: reserved acknowledge flags set");
    c->session_present = flags & 1;
    at = r->pos;
    if (!mqtt__read_u8(r, &c->code, "CONNACK: return code"))
        return false;
    if (v == MQTT_V311 ? c->code > MQTT_V3_REFUSED_NOT_AUTHORIZED : !reason_allowed(MQTT_CONNACK, c->code))
        return FAIL(r, MQTT_E_REASON_CODE, at, MQTT_RC_MALFORMED, "CONNACK: return code not defined");
    if (v == MQTT_V5 && !mqtt__read_props(r, 1u << MQTT_CONNACK, &c->props))
        return false;
    return no_trailing(r, MQTT_CONNACK);
}

static bool read_packet_id(mqtt_reader *r, uint16_t *id, const char *what)
{
    size_t at = r->pos;
    if (!mqtt__read_u16(r, id, what))
        return false;
    if (*id == 0)
        return FAIL(r, MQTT_E_PACKET_ID, at, MQTT_RC_PROTOCOL_ERROR, what);
    return true;
}

static bool decode_publish(mqtt_reader *r, mqtt_version v, uint8_t flags, mqtt_publish *p)
{
    p->qos = (flags >> 1) & 3;
    p->retain = flags & 1;
    p->dup = flags & 8;
    size_t topic_at = r->pos;
    if (!read_topic_name(r, &p->topic, v == MQTT_V5, "PUBLISH: topic name"))
        return false;
    if (p->qos && !read_packet_id(r, &p->packet_id, "PUBLISH: packet identifier"))
        return false;
    if (v == MQTT_V5) {
        if (!mqtt__read_props(r, 1u << MQTT_PUBLISH, &p->props))
            return false;
        if (p->topic.len == 0 && !mqtt_prop_has(&p->props, MQTT_PROP_TOPIC_ALIAS))
            return FAIL(r, MQTT_E_TOPIC_NAME, topic_at, MQTT_RC_PROTOCOL_ERROR,
                        "PUBLISH: empty topic name without a topic alias");
    }
    p->payload = (mqtt_bytes){ mqtt__left(r) ? r->buf + r->pos : NULL, mqtt__left(r) };
    r->pos = r->end;
    return true;
}

static bool decode_ack(mqtt_reader *r, mqtt_version v, mqtt_type type, mqtt_ack *a)
{
    static const char *const id_what[] = {
        [MQTT_PUBACK] = "PUBACK: packet identifier",
        [MQTT_PUBREC] = "PUBREC: packet identifier",
        [MQTT_PUBREL] = "PUBREL: packet identifier",
        [MQTT_PUBCOMP] = "PUBCOMP: packet identifier",
    };
    if (!read_packet_id(r, &a->packet_id, id_what[type]))
        return false;
    if (v == MQTT_V5 && mqtt__left(r)) {
        size_t at = r->pos;
        a->reason = r->buf[r->pos++];
        if (!reason_allowed(type, a->reason))
            return FAIL(r, MQTT_E_REASON_CODE, at, MQTT_RC_MALFORMED, "acknowledgement: reason code not allowed");
        if (mqtt__left(r) && !mqtt__read_props(r, 1u << type, &a->props))
            return false;
    }
    return no_trailing(r, type);
}

/* Reads one SUBSCRIBE/UNSUBSCRIBE entry; with check, applies every rule. */
static bool read_entry(mqtt_reader *r, mqtt_version v, bool is_sub, bool check, mqtt_topic_entry *e)
{
    size_t at = r->pos;
    *e = (mqtt_topic_entry){ 0 };
    if (!mqtt__read_str(r, &e->filter, is_sub ? "SUBSCRIBE: topic filter" : "UNSUBSCRIBE: topic filter"))
        return false;
    if (check) {
        size_t bad = mqtt__topic_filter_bad_at(e->filter);
        if (bad != MQTT_NOT_FOUND)
            return FAIL(r, MQTT_E_TOPIC_FILTER, e->filter.len ? at + 2 + bad : at, MQTT_RC_TOPIC_FILTER_INVALID,
                        is_sub ? "SUBSCRIBE: topic filter" : "UNSUBSCRIBE: topic filter");
    }
    if (!is_sub)
        return true;
    uint8_t o;
    at = r->pos;
    if (!mqtt__read_u8(r, &o, "SUBSCRIBE: subscription options"))
        return false;
    e->qos = o & 3;
    e->no_local = o & 0x04;
    e->retain_as_published = o & 0x08;
    e->retain_handling = (o >> 4) & 3;
    if (!check)
        return true;
    if (o & (v == MQTT_V5 ? 0xC0 : 0xFC))
        return FAIL(r, MQTT_E_SUB_OPTIONS, at, MQTT_RC_MALFORMED, "SUBSCRIBE: reserved subscription option bits set");
    if (e->qos == 3)
        return FAIL(r, MQTT_E_QOS, at, MQTT_RC_MALFORMED, "SUBSCRIBE: maximum QoS 3");
    if (e->retain_handling == 3)
        return FAIL(r, MQTT_E_SUB_OPTIONS, at, MQTT_RC_PROTOCOL_ERROR, "SUBSCRIBE: retain handling 3");
    return true;
}

static bool decode_subscribe(mqtt_reader *r, mqtt_version v, bool is_sub, mqtt_subscribe *s)
{
    mqtt_type type = is_sub ? MQTT_SUBSCRIBE : MQTT_UNSUBSCRIBE;
    if (!read_packet_id(r, &s->packet_id, is_sub ? "SUBSCRIBE: packet identifier" : "UNSUBSCRIBE: packet identifier"))
        return false;
    if (v == MQTT_V5 && !mqtt__read_props(r, 1u << type, &s->props))
        return false;
    if (mqtt__left(r) == 0)
        return FAIL(r, MQTT_E_NO_TOPICS, r->pos, MQTT_RC_PROTOCOL_ERROR,
                    is_sub ? "SUBSCRIBE: no topic filters" : "UNSUBSCRIBE: no topic filters");
    s->list = (mqtt_bytes){ r->buf + r->pos, mqtt__left(r) };
    s->entries = NULL;
    s->count = 0;
    while (mqtt__left(r)) {
        mqtt_topic_entry e;
        if (!read_entry(r, v, is_sub, true, &e))
            return false;
        s->count++;
    }
    return true;
}

bool mqtt_topic_next(const mqtt_subscribe *s, bool is_subscribe, size_t *pos, mqtt_topic_entry *out)
{
    mqtt_reader r = { .buf = s->list.data, .end = s->list.len, .pos = *pos, .err = NULL };
    if (r.pos >= r.end || !read_entry(&r, MQTT_V5, is_subscribe, false, out))
        return false;
    *pos = r.pos;
    return true;
}

static bool decode_suback(mqtt_reader *r, mqtt_version v, mqtt_type type, mqtt_suback *s)
{
    bool is_sub = type == MQTT_SUBACK;
    if (!read_packet_id(r, &s->packet_id, is_sub ? "SUBACK: packet identifier" : "UNSUBACK: packet identifier"))
        return false;
    if (v == MQTT_V5 && !mqtt__read_props(r, 1u << type, &s->props))
        return false;
    if (v == MQTT_V311 && !is_sub)
        return no_trailing(r, type);
    if (mqtt__left(r) == 0)
        return FAIL(r, MQTT_E_NO_TOPICS, r->pos, MQTT_RC_PROTOCOL_ERROR,
                    is_sub ? "SUBACK: no return codes" : "UNSUBACK: no reason codes");
    s->codes = r->buf + r->pos;
    s->count = mqtt__left(r);
    for (size_t i = 0; i < s->count; i++) {
        uint8_t c = s->codes[i];
        bool ok = v == MQTT_V5 ? reason_allowed(type, c) : (c <= 2 || c == 0x80);
        if (!ok)
            return FAIL(r, MQTT_E_REASON_CODE, r->pos + i, MQTT_RC_MALFORMED,
                        is_sub ? "SUBACK: return code not defined" : "UNSUBACK: reason code not defined");
    }
    r->pos = r->end;
    return true;
}

/* DISCONNECT and AUTH: in v5 the reason code and properties may be omitted. */
static bool decode_disconnect(mqtt_reader *r, mqtt_version v, mqtt_type type, mqtt_disconnect *d)
{
    if (v == MQTT_V5 && mqtt__left(r)) {
        size_t at = r->pos;
        d->reason = r->buf[r->pos++];
        if (!reason_allowed(type, d->reason))
            return FAIL(r, MQTT_E_REASON_CODE, at, MQTT_RC_MALFORMED,
                        type == MQTT_AUTH ? "AUTH: reason code not allowed" : "DISCONNECT: reason code not allowed");
        if (mqtt__left(r) && !mqtt__read_props(r, 1u << type, &d->props))
            return false;
    }
    return no_trailing(r, type);
}

mqtt_result mqtt_decode(const uint8_t *buf, size_t len, mqtt_version version, mqtt_packet *out, mqtt_error *err)
{
    mqtt_header h;
    if (len && buf[0] >> 4 == MQTT_CONNECT)
        version = MQTT_V311; /* the real one is in the packet; the header rules do not depend on it */
    else if (version != MQTT_V5)
        version = MQTT_V311;
    mqtt_result res = mqtt__header(buf, len, version, 0, &h, err);
    if (res == MQTT_MALFORMED)
        return res;
    if (res == MQTT_NEED_MORE || len < h.packet_len) {
        mqtt__fail(err, MQTT_E_TRUNCATED, len, MQTT_RC_MALFORMED, "packet shorter than its remaining length");
        return MQTT_MALFORMED;
    }
    if (len > h.packet_len) {
        mqtt__fail(err, MQTT_E_TRAILING, h.packet_len, MQTT_RC_MALFORMED, "bytes after the packet's remaining length");
        return MQTT_MALFORMED;
    }
    memset(out, 0, sizeof *out);
    out->type = h.type;
    out->flags = h.flags;
    mqtt_reader r = { .buf = buf, .end = len, .pos = h.header_len, .err = err };
    bool ok = false;
    switch (h.type) {
    case MQTT_CONNECT: ok = decode_connect(&r, &out->u.connect); break;
    case MQTT_CONNACK: ok = decode_connack(&r, version, &out->u.connack); break;
    case MQTT_PUBLISH: ok = decode_publish(&r, version, h.flags, &out->u.publish); break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP: ok = decode_ack(&r, version, h.type, &out->u.ack); break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE: ok = decode_subscribe(&r, version, h.type == MQTT_SUBSCRIBE, &out->u.subscribe); break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: ok = decode_suback(&r, version, h.type, &out->u.suback); break;
    case MQTT_PINGREQ:
    case MQTT_PINGRESP: ok = no_trailing(&r, h.type); break;
    case MQTT_DISCONNECT:
    case MQTT_AUTH: ok = decode_disconnect(&r, version, h.type, &out->u.disconnect); break;
    }
    return ok ? MQTT_PACKET : MQTT_MALFORMED;
}
