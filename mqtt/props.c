/* v5 properties (MQTT 5.0 section 2.2.2): decoding with the per-packet rules
 * of table 2-4, and encoding. */
#include "mqtt/wire.h"

#include <stddef.h>

enum prop_kind { K_BYTE, K_U16, K_U32, K_VBI, K_STR, K_BIN, K_PAIR };

#define T(type) (1u << (type))
#define ACKS (T(MQTT_PUBACK) | T(MQTT_PUBREC) | T(MQTT_PUBREL) | T(MQTT_PUBCOMP))
#define ALL_V5 (0xFFFEu | MQTT_PROPS_WILL)
#define MSG (T(MQTT_PUBLISH) | MQTT_PROPS_WILL)

typedef struct prop_rule {
    uint8_t kind;
    bool boolean; /* a byte that must be 0 or 1 */
    bool nonzero;
    unsigned allowed;
    size_t field; /* offset in mqtt_props */
    const char *name;
} prop_rule;

#define F(m) offsetof(mqtt_props, m)
static const prop_rule rules[0x2B] = {
    [MQTT_PROP_PAYLOAD_FORMAT] = { K_BYTE, true, false, MSG, F(payload_format), "payload format indicator" },
    [MQTT_PROP_MESSAGE_EXPIRY] = { K_U32, false, false, MSG, F(message_expiry), "message expiry interval" },
    [MQTT_PROP_CONTENT_TYPE] = { K_STR, false, false, MSG, F(content_type), "content type" },
    [MQTT_PROP_RESPONSE_TOPIC] = { K_STR, false, false, MSG, F(response_topic), "response topic" },
    [MQTT_PROP_CORRELATION_DATA] = { K_BIN, false, false, MSG, F(correlation_data), "correlation data" },
    [MQTT_PROP_SUBSCRIPTION_ID] = { K_VBI, false, true, T(MQTT_PUBLISH) | T(MQTT_SUBSCRIBE), F(subscription_id),
                                    "subscription identifier" },
    [MQTT_PROP_SESSION_EXPIRY] = { K_U32, false, false, T(MQTT_CONNECT) | T(MQTT_CONNACK) | T(MQTT_DISCONNECT),
                                   F(session_expiry), "session expiry interval" },
    [MQTT_PROP_ASSIGNED_CLIENT_ID] = { K_STR, false, false, T(MQTT_CONNACK), F(assigned_client_id),
                                       "assigned client identifier" },
    [MQTT_PROP_SERVER_KEEP_ALIVE] = { K_U16, false, false, T(MQTT_CONNACK), F(server_keep_alive),
                                      "server keep alive" },
    [MQTT_PROP_AUTH_METHOD] = { K_STR, false, false, T(MQTT_CONNECT) | T(MQTT_CONNACK) | T(MQTT_AUTH),
                                F(auth_method), "authentication method" },
    [MQTT_PROP_AUTH_DATA] = { K_BIN, false, false, T(MQTT_CONNECT) | T(MQTT_CONNACK) | T(MQTT_AUTH), F(auth_data),
                              "authentication data" },
    [MQTT_PROP_REQUEST_PROBLEM_INFO] = { K_BYTE, true, false, T(MQTT_CONNECT), F(request_problem_info),
                                         "request problem information" },
    [MQTT_PROP_WILL_DELAY] = { K_U32, false, false, MQTT_PROPS_WILL, F(will_delay), "will delay interval" },
    [MQTT_PROP_REQUEST_RESPONSE_INFO] = { K_BYTE, true, false, T(MQTT_CONNECT), F(request_response_info),
                                          "request response information" },
    [MQTT_PROP_RESPONSE_INFO] = { K_STR, false, false, T(MQTT_CONNACK), F(response_info), "response information" },
    [MQTT_PROP_SERVER_REFERENCE] = { K_STR, false, false, T(MQTT_CONNACK) | T(MQTT_DISCONNECT), F(server_reference),
                                     "server reference" },
    [MQTT_PROP_REASON_STRING] = { K_STR, false, false,
                                  T(MQTT_CONNACK) | ACKS | T(MQTT_SUBACK) | T(MQTT_UNSUBACK) | T(MQTT_DISCONNECT) |
                                      T(MQTT_AUTH),
                                  F(reason_string), "reason string" },
    [MQTT_PROP_RECEIVE_MAXIMUM] = { K_U16, false, true, T(MQTT_CONNECT) | T(MQTT_CONNACK), F(receive_maximum),
                                    "receive maximum" },
    [MQTT_PROP_TOPIC_ALIAS_MAXIMUM] = { K_U16, false, false, T(MQTT_CONNECT) | T(MQTT_CONNACK),
                                        F(topic_alias_maximum), "topic alias maximum" },
    [MQTT_PROP_TOPIC_ALIAS] = { K_U16, false, true, T(MQTT_PUBLISH), F(topic_alias), "topic alias" },
    [MQTT_PROP_MAXIMUM_QOS] = { K_BYTE, true, false, T(MQTT_CONNACK), F(maximum_qos), "maximum QoS" },
    [MQTT_PROP_RETAIN_AVAILABLE] = { K_BYTE, true, false, T(MQTT_CONNACK), F(retain_available), "retain available" },
    [MQTT_PROP_USER_PROPERTY] = { K_PAIR, false, false, ALL_V5 & ~(T(MQTT_PINGREQ) | T(MQTT_PINGRESP)), 0,
                                  "user property" },
    [MQTT_PROP_MAXIMUM_PACKET_SIZE] = { K_U32, false, true, T(MQTT_CONNECT) | T(MQTT_CONNACK),
                                        F(maximum_packet_size), "maximum packet size" },
    [MQTT_PROP_WILDCARD_SUB_AVAILABLE] = { K_BYTE, true, false, T(MQTT_CONNACK), F(wildcard_sub_available),
                                           "wildcard subscription available" },
    [MQTT_PROP_SUB_ID_AVAILABLE] = { K_BYTE, true, false, T(MQTT_CONNACK), F(sub_id_available),
                                     "subscription identifier available" },
    [MQTT_PROP_SHARED_SUB_AVAILABLE] = { K_BYTE, true, false, T(MQTT_CONNACK), F(shared_sub_available),
                                         "shared subscription available" },
};
#undef F

static const prop_rule *rule_for(unsigned id)
{
    if (id >= sizeof rules / sizeof rules[0] || rules[id].name == NULL)
        return NULL;
    return &rules[id];
}

/* Reads one property value of rule's kind into the right field of out. */
static bool read_value(mqtt_reader *r, const prop_rule *rule, mqtt_props *out, bool store)
{
    char *field = (char *)out + rule->field;
    size_t at = r->pos;
    uint32_t n = 0;
    mqtt_bytes b, b2;
    switch ((enum prop_kind)rule->kind) {
    case K_BYTE: {
        uint8_t v;
        if (!mqtt__read_u8(r, &v, "property: byte value"))
            return false;
        if (rule->boolean && v > 1)
            return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_PROTOCOL_ERROR, "property: value must be 0 or 1");
        if (store)
            *(uint8_t *)field = v;
        return true;
    }
    case K_U16: {
        uint16_t v;
        if (!mqtt__read_u16(r, &v, "property: two-byte value"))
            return false;
        n = v;
        if (store)
            *(uint16_t *)field = v;
        break;
    }
    case K_U32:
        if (!mqtt__read_u32(r, &n, "property: four-byte value"))
            return false;
        if (store)
            *(uint32_t *)field = n;
        break;
    case K_VBI:
        if (!mqtt__read_vbi(r, &n, MQTT_E_PROPERTY, "property: variable byte integer"))
            return false;
        if (store)
            *(uint32_t *)field = n;
        break;
    case K_STR:
        if (!mqtt__read_str(r, &b, "property: string value"))
            return false;
        if (rule == &rules[MQTT_PROP_RESPONSE_TOPIC] && mqtt__topic_name_bad_at(b) != MQTT_NOT_FOUND)
            return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_PROTOCOL_ERROR,
                              "property: response topic is not a valid topic name");
        if (store)
            *(mqtt_bytes *)field = b;
        return true;
    case K_BIN:
        if (!mqtt__read_bin(r, &b, "property: binary value"))
            return false;
        if (store)
            *(mqtt_bytes *)field = b;
        return true;
    case K_PAIR:
        return mqtt__read_str(r, &b, "user property: key") && mqtt__read_str(r, &b2, "user property: value");
    }
    if (rule->nonzero && n == 0)
        return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_PROTOCOL_ERROR, "property: value must not be 0");
    return true;
}

bool mqtt__read_props(mqtt_reader *r, unsigned set, mqtt_props *out)
{
    *out = (mqtt_props){ 0 };
    size_t len_at = r->pos;
    uint32_t len;
    if (!mqtt__read_vbi(r, &len, MQTT_E_PROPERTY, "property length"))
        return false;
    if (len > mqtt__left(r))
        return mqtt__fail(r->err, MQTT_E_TRUNCATED, len_at, MQTT_RC_MALFORMED, "property length: beyond the packet");
    mqtt_reader pr = { .buf = r->buf, .end = r->pos + len, .pos = r->pos, .err = r->err };
    size_t user_start = 0, user_end = 0, sub_start = 0, sub_end = 0;
    while (pr.pos < pr.end) {
        size_t at = pr.pos;
        uint8_t id = pr.buf[pr.pos++];
        const prop_rule *rule = rule_for(id);
        if (!rule)
            return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_MALFORMED, "property: unknown identifier");
        if (!(rule->allowed & set))
            return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_MALFORMED, "property: not allowed in this packet");
        bool repeatable = id == MQTT_PROP_USER_PROPERTY || (id == MQTT_PROP_SUBSCRIPTION_ID && set == T(MQTT_PUBLISH));
        bool seen = mqtt_prop_has(out, (enum mqtt_prop_id)id);
        if (seen && !repeatable)
            return mqtt__fail(r->err, MQTT_E_PROPERTY, at, MQTT_RC_PROTOCOL_ERROR, "property: included more than once");
        /* A value that runs past the property length surfaces as truncated. */
        if (!read_value(&pr, rule, out, !seen))
            return false;
        if (id == MQTT_PROP_USER_PROPERTY) {
            if (out->user_prop_count == 0)
                user_start = at;
            user_end = pr.pos;
            out->user_prop_count++;
        } else {
            out->present |= MQTT_PROP_BIT(id);
        }
        if (id == MQTT_PROP_SUBSCRIPTION_ID) {
            if (out->sub_id_count == 0)
                sub_start = at;
            sub_end = pr.pos;
            out->sub_id_count++;
        }
    }
    if (out->sub_id_count)
        out->sub_ids = (mqtt_bytes){ r->buf + sub_start, sub_end - sub_start };
    if (out->user_prop_count) {
        out->present |= MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
        out->user_props = (mqtt_bytes){ r->buf + user_start, user_end - user_start };
    }
    r->pos = pr.end;
    return true;
}

/* The user_props run may hold other properties between the user properties
 * (as decoded from a packet that interleaves them); they are skipped. */
bool mqtt_user_prop_next(mqtt_bytes run, size_t *pos, mqtt_bytes *key, mqtt_bytes *value)
{
    mqtt_props scratch;
    mqtt_reader r = { .buf = run.data, .end = run.len, .pos = *pos, .err = NULL };
    while (r.pos < r.end) {
        const prop_rule *rule = rule_for(r.buf[r.pos++]);
        if (!rule)
            return false;
        if (rule->kind == K_PAIR) {
            if (!mqtt__read_str(&r, key, "user property: key") || !mqtt__read_str(&r, value, "user property: value"))
                return false;
            *pos = r.pos;
            return true;
        }
        scratch = (mqtt_props){ 0 };
        if (!read_value(&r, rule, &scratch, true))
            return false;
    }
    *pos = r.pos;
    return false;
}

bool mqtt_sub_id_next(mqtt_bytes run, size_t *pos, uint32_t *id)
{
    mqtt_props scratch;
    mqtt_reader r = { .buf = run.data, .end = run.len, .pos = *pos, .err = NULL };
    while (r.pos < r.end) {
        uint8_t pid = r.buf[r.pos++];
        const prop_rule *rule = rule_for(pid);
        if (!rule)
            return false;
        scratch = (mqtt_props){ 0 };
        if (!read_value(&r, rule, &scratch, true))
            return false;
        if (pid == MQTT_PROP_SUBSCRIPTION_ID) {
            *id = scratch.subscription_id;
            *pos = r.pos;
            return true;
        }
    }
    *pos = r.pos;
    return false;
}

void mqtt_sub_id_put(uint8_t *out, size_t *len, uint32_t id)
{
    mqtt_writer w = { .buf = out + *len, .cap = 5, .pos = 0 };
    mqtt__put_u8(&w, MQTT_PROP_SUBSCRIPTION_ID);
    mqtt__put_vbi(&w, id);
    *len += w.pos;
}

static size_t value_size(const prop_rule *rule, const mqtt_props *p)
{
    const char *field = (const char *)p + rule->field;
    switch ((enum prop_kind)rule->kind) {
    case K_BYTE:
        return 1;
    case K_U16:
        return 2;
    case K_U32:
        return 4;
    case K_VBI:
        return mqtt__vbi_size(*(const uint32_t *)field);
    case K_STR:
    case K_BIN:
        return 2 + ((const mqtt_bytes *)field)->len;
    case K_PAIR:
        break;
    }
    return 0;
}

/* The single-valued properties present, one bit each. Encoding walks the set
 * bits, lowest id first: a packet carries few properties, and walking all 43
 * ids of every property block took 40 % of fuzz_broker_input's time. User
 * properties are a list, walked apart. */
static uint64_t single_props(const mqtt_props *p)
{
    return p->present & ~MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
}

/* Subscription identifiers from the sub_ids run (when sub_id_count says so),
 * written where the single one would be, so that a decoded packet encodes
 * to the same bytes. */
static bool listed_sub_ids(const mqtt_props *p) { return p->sub_id_count && mqtt_prop_has(p, MQTT_PROP_SUBSCRIPTION_ID); }

static size_t listed_sub_ids_size(const mqtt_props *p, bool *ok)
{
    uint32_t id;
    size_t n = 0, size = 0, pos = 0;
    while (mqtt_sub_id_next(p->sub_ids, &pos, &id)) {
        if (id == 0 || id > MQTT_VBI_MAX)
            *ok = false;
        size += 1 + mqtt__vbi_size(id);
        n++;
    }
    if (pos != p->sub_ids.len || n != p->sub_id_count)
        *ok = false;
    return size;
}

size_t mqtt__props_size(const mqtt_props *p, unsigned set, bool *ok)
{
    size_t size = 0;
    for (uint64_t bits = single_props(p); bits; bits &= bits - 1) {
        unsigned id = (unsigned)__builtin_ctzll(bits);
        const prop_rule *rule = rule_for(id);
        if (!rule || !(rule->allowed & set)) {
            *ok = false;
            continue;
        }
        if (id == MQTT_PROP_SUBSCRIPTION_ID && listed_sub_ids(p)) {
            size += listed_sub_ids_size(p, ok);
            continue;
        }
        const void *field = (const char *)p + rule->field;
        if (rule->kind == K_VBI && (*(const uint32_t *)field == 0 || *(const uint32_t *)field > MQTT_VBI_MAX))
            *ok = false;
        if ((rule->kind == K_STR || rule->kind == K_BIN) && ((const mqtt_bytes *)field)->len > UINT16_MAX)
            *ok = false;
        size += 1 + value_size(rule, p);
    }
    if (p->present & ~UINT64_C(0) << (sizeof rules / sizeof rules[0]))
        *ok = false;
    mqtt_bytes key, value;
    size_t pos = 0;
    while (mqtt_user_prop_next(p->user_props, &pos, &key, &value))
        size += 1 + 2 + key.len + 2 + value.len;
    if (pos != p->user_props.len)
        *ok = false;
    if (p->user_props.len && !(rules[MQTT_PROP_USER_PROPERTY].allowed & set))
        *ok = false;
    return size;
}

void mqtt__put_props(mqtt_writer *w, const mqtt_props *p, unsigned set)
{
    bool ok = true;
    mqtt__put_vbi(w, (uint32_t)mqtt__props_size(p, set, &ok));
    for (uint64_t bits = single_props(p); bits; bits &= bits - 1) {
        unsigned id = (unsigned)__builtin_ctzll(bits);
        const prop_rule *rule = rule_for(id);
        if (!rule)
            continue;
        if (id == MQTT_PROP_SUBSCRIPTION_ID && listed_sub_ids(p)) {
            uint32_t sid;
            size_t at = 0;
            while (mqtt_sub_id_next(p->sub_ids, &at, &sid)) {
                mqtt__put_u8(w, MQTT_PROP_SUBSCRIPTION_ID);
                mqtt__put_vbi(w, sid);
            }
            continue;
        }
        const char *field = (const char *)p + rule->field;
        mqtt__put_u8(w, (uint8_t)id);
        switch ((enum prop_kind)rule->kind) {
        case K_BYTE:
            mqtt__put_u8(w, *(const uint8_t *)field);
            break;
        case K_U16:
            mqtt__put_u16(w, *(const uint16_t *)field);
            break;
        case K_U32:
            mqtt__put_u32(w, *(const uint32_t *)field);
            break;
        case K_VBI:
            mqtt__put_vbi(w, *(const uint32_t *)field);
            break;
        case K_STR:
        case K_BIN:
            mqtt__put_bin(w, *(const mqtt_bytes *)field);
            break;
        case K_PAIR:
            break;
        }
    }
    mqtt_bytes key, value;
    size_t pos = 0;
    while (mqtt_user_prop_next(p->user_props, &pos, &key, &value)) {
        mqtt__put_u8(w, MQTT_PROP_USER_PROPERTY);
        mqtt__put_bin(w, key);
        mqtt__put_bin(w, value);
    }
}
