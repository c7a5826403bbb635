/* Content equality of packets: the oracle of the round-trip tests and the
 * fuzzer (decode, encode, decode again, compare). */
#include "mqtt/wire.h"

static bool user_props_eq(mqtt_bytes a, mqtt_bytes b)
{
    size_t pa = 0, pb = 0;
    mqtt_bytes ka, va, kb, vb;
    for (;;) {
        bool more_a = mqtt_user_prop_next(a, &pa, &ka, &va);
        bool more_b = mqtt_user_prop_next(b, &pb, &kb, &vb);
        if (more_a != more_b)
            return false;
        if (!more_a)
            return true;
        if (!mqtt_bytes_eq(ka, kb) || !mqtt_bytes_eq(va, vb))
            return false;
    }
}

static bool sub_ids_eq(const mqtt_props *a, const mqtt_props *b)
{
    if (!a->sub_id_count || !b->sub_id_count)
        return true; /* one of them given as subscription_id alone: compared there */
    size_t pa = 0, pb = 0;
    uint32_t ia, ib;
    for (;;) {
        bool more_a = mqtt_sub_id_next(a->sub_ids, &pa, &ia);
        bool more_b = mqtt_sub_id_next(b->sub_ids, &pb, &ib);
        if (more_a != more_b)
            return false;
        if (!more_a)
            return true;
        if (ia != ib)
            return false;
    }
}

static bool props_eq(const mqtt_props *a, const mqtt_props *b)
{
    uint64_t user = MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
    if ((a->present & ~user) != (b->present & ~user) || a->user_prop_count != b->user_prop_count)
        return false;
    if (a->sub_id_count && b->sub_id_count && (a->sub_id_count != b->sub_id_count || !sub_ids_eq(a, b)))
        return false;
#define SAME(id, field) (!mqtt_prop_has(a, id) || a->field == b->field)
#define SAME_BYTES(id, field) (!mqtt_prop_has(a, id) || mqtt_bytes_eq(a->field, b->field))
    return SAME(MQTT_PROP_PAYLOAD_FORMAT, payload_format) && SAME(MQTT_PROP_MESSAGE_EXPIRY, message_expiry) &&
           SAME_BYTES(MQTT_PROP_CONTENT_TYPE, content_type) && SAME_BYTES(MQTT_PROP_RESPONSE_TOPIC, response_topic) &&
           SAME_BYTES(MQTT_PROP_CORRELATION_DATA, correlation_data) &&
           SAME(MQTT_PROP_SUBSCRIPTION_ID, subscription_id) && SAME(MQTT_PROP_SESSION_EXPIRY, session_expiry) &&
           SAME_BYTES(MQTT_PROP_ASSIGNED_CLIENT_ID, assigned_client_id) &&
           SAME(MQTT_PROP_SERVER_KEEP_ALIVE, server_keep_alive) && SAME_BYTES(MQTT_PROP_AUTH_METHOD, auth_method) &&
           SAME_BYTES(MQTT_PROP_AUTH_DATA, auth_data) &&
           SAME(MQTT_PROP_REQUEST_PROBLEM_INFO, request_problem_info) && SAME(MQTT_PROP_WILL_DELAY, will_delay) &&
           SAME(MQTT_PROP_REQUEST_RESPONSE_INFO, request_response_info) &&
           SAME_BYTES(MQTT_PROP_RESPONSE_INFO, response_info) &&
           SAME_BYTES(MQTT_PROP_SERVER_REFERENCE, server_reference) &&
           SAME_BYTES(MQTT_PROP_REASON_STRING, reason_string) && SAME(MQTT_PROP_RECEIVE_MAXIMUM, receive_maximum) &&
           SAME(MQTT_PROP_TOPIC_ALIAS_MAXIMUM, topic_alias_maximum) && SAME(MQTT_PROP_TOPIC_ALIAS, topic_alias) &&
           SAME(MQTT_PROP_MAXIMUM_QOS, maximum_qos) && SAME(MQTT_PROP_RETAIN_AVAILABLE, retain_available) &&
           SAME(MQTT_PROP_MAXIMUM_PACKET_SIZE, maximum_packet_size) &&
           SAME(MQTT_PROP_WILDCARD_SUB_AVAILABLE, wildcard_sub_available) &&
           SAME(MQTT_PROP_SUB_ID_AVAILABLE, sub_id_available) &&
           SAME(MQTT_PROP_SHARED_SUB_AVAILABLE, shared_sub_available) && user_props_eq(a->user_props, b->user_props);
#undef SAME
#undef SAME_BYTES
}

static bool connect_eq(const mqtt_connect *a, const mqtt_connect *b)
{
    bool v5 = a->version == MQTT_V5;
    if (a->version != b->version || a->clean_session != b->clean_session || a->keep_alive != b->keep_alive ||
        !mqtt_bytes_eq(a->client_id, b->client_id) || a->has_will != b->has_will ||
        a->has_username != b->has_username || a->has_password != b->has_password)
        return false;
    if (v5 && !props_eq(&a->props, &b->props))
        return false;
    if (a->has_will && (a->will_qos != b->will_qos || a->will_retain != b->will_retain ||
                        !mqtt_bytes_eq(a->will_topic, b->will_topic) ||
                        !mqtt_bytes_eq(a->will_payload, b->will_payload) ||
                        (v5 && !props_eq(&a->will_props, &b->will_props))))
        return false;
    return (!a->has_username || mqtt_bytes_eq(a->username, b->username)) &&
           (!a->has_password || mqtt_bytes_eq(a->password, b->password));
}

static bool next_entry(const mqtt_subscribe *s, bool is_sub, size_t *pos, size_t *n, mqtt_topic_entry *e)
{
    if (s->entries) {
        if (*n == s->count)
            return false;
        *e = s->entries[(*n)++];
        return true;
    }
    return mqtt_topic_next(s, is_sub, pos, e);
}

static bool subscribe_eq(const mqtt_subscribe *a, const mqtt_subscribe *b, bool is_sub, bool v5)
{
    if (a->packet_id != b->packet_id || (v5 && !props_eq(&a->props, &b->props)))
        return false;
    size_t pa = 0, pb = 0, na = 0, nb = 0;
    mqtt_topic_entry ea, eb;
    for (;;) {
        bool more_a = next_entry(a, is_sub, &pa, &na, &ea);
        bool more_b = next_entry(b, is_sub, &pb, &nb, &eb);
        if (more_a != more_b)
            return false;
        if (!more_a)
            return true;
        if (!mqtt_bytes_eq(ea.filter, eb.filter))
            return false;
        if (is_sub && (ea.qos != eb.qos || (v5 && (ea.no_local != eb.no_local ||
                                                   ea.retain_as_published != eb.retain_as_published ||
                                                   ea.retain_handling != eb.retain_handling))))
            return false;
    }
}

bool mqtt_packet_equal(const mqtt_packet *a, const mqtt_packet *b, mqtt_version version)
{
    bool v5 = version == MQTT_V5;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MQTT_CONNECT:
        return connect_eq(&a->u.connect, &b->u.connect);
    case MQTT_CONNACK:
        return a->u.connack.session_present == b->u.connack.session_present &&
               a->u.connack.code == b->u.connack.code && (!v5 || props_eq(&a->u.connack.props, &b->u.connack.props));
    case MQTT_PUBLISH: {
        const mqtt_publish *x = &a->u.publish, *y = &b->u.publish;
        return x->qos == y->qos && x->retain == y->retain && x->dup == y->dup && mqtt_bytes_eq(x->topic, y->topic) &&
               (x->qos == 0 || x->packet_id == y->packet_id) && mqtt_bytes_eq(x->payload, y->payload) &&
               (!v5 || props_eq(&x->props, &y->props));
    }
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        return a->u.ack.packet_id == b->u.ack.packet_id &&
               (!v5 || (a->u.ack.reason == b->u.ack.reason && props_eq(&a->u.ack.props, &b->u.ack.props)));
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        return subscribe_eq(&a->u.subscribe, &b->u.subscribe, a->type == MQTT_SUBSCRIBE, v5);
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: {
        const mqtt_suback *x = &a->u.suback, *y = &b->u.suback;
        return x->packet_id == y->packet_id && (!v5 || props_eq(&x->props, &y->props)) &&
               mqtt_bytes_eq((mqtt_bytes){ x->codes, x->count }, (mqtt_bytes){ y->codes, y->count });
    }
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
        return true;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        return !v5 || (a->u.disconnect.reason == b->u.disconnect.reason &&
                       props_eq(&a->u.disconnect.props, &b->u.disconnect.props));
    }
    return false;
}
