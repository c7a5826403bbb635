#include "message.h"

#include <stdlib.h>
#include <string.h>

static mqtt_bytes put(uint8_t **at, mqtt_bytes b)
{
    mqtt_bytes out = { *at, b.len };
    if (b.len)
        memcpy(*at, b.data, b.len);
    *at += b.len;
    return out;
}

bk_msg *bk_msg_new(mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, bool retain, const mqtt_props *props)
{
    static const mqtt_props none;
    if (!props)
        props = &none;
    size_t extra = topic.len + payload.len + props->content_type.len + props->response_topic.len +
                   props->correlation_data.len + props->user_props.len;
    bk_msg *m = malloc(sizeof *m + extra);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->refs = 1;
    m->qos = qos;
    m->retain = retain;
    m->has_payload_format = mqtt_prop_has(props, MQTT_PROP_PAYLOAD_FORMAT);
    m->payload_format = props->payload_format;
    m->has_expiry = mqtt_prop_has(props, MQTT_PROP_MESSAGE_EXPIRY);
    m->expiry = props->message_expiry;
    uint8_t *at = m->data;
    m->topic = put(&at, topic);
    m->payload = put(&at, payload);
    if (mqtt_prop_has(props, MQTT_PROP_CONTENT_TYPE))
        m->content_type = put(&at, props->content_type);
    if (mqtt_prop_has(props, MQTT_PROP_RESPONSE_TOPIC))
        m->response_topic = put(&at, props->response_topic);
    if (mqtt_prop_has(props, MQTT_PROP_CORRELATION_DATA))
        m->correlation_data = put(&at, props->correlation_data);
    if (props->user_prop_count) {
        m->user_props = put(&at, props->user_props);
        m->user_prop_count = props->user_prop_count;
    }
    return m;
}

void bk_msg_unref(bk_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

void bk_msg_start_expiry(bk_msg *m, uint64_t at)
{
    if (m->has_expiry)
        m->expire_at = at + (uint64_t)m->expiry * UINT64_C(1000000000);
}

uint32_t bk_msg_expiry_left(const bk_msg *m, uint64_t now)
{
    if (!m->expire_at)
        return m->expiry;
    if (now >= m->expire_at)
        return 0;
    uint64_t left = m->expire_at - now;
    return (uint32_t)((left + UINT64_C(999999999)) / UINT64_C(1000000000));
}

void bk_msg_to_publish(const bk_msg *m, uint8_t qos, bool retain, uint16_t packet_id, bool dup, uint64_t now,
                       mqtt_publish *out)
{
    memset(out, 0, sizeof *out);
    out->qos = qos;
    out->retain = retain;
    out->dup = dup && qos > 0;
    out->topic = m->topic;
    out->packet_id = qos ? packet_id : 0;
    out->payload = m->payload;
    mqtt_props *p = &out->props;
    if (m->has_payload_format) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT);
        p->payload_format = m->payload_format;
    }
    if (m->has_expiry) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY);
        p->message_expiry = bk_msg_expiry_left(m, now);
    }
    if (m->content_type.data) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE);
        p->content_type = m->content_type;
    }
    if (m->response_topic.data) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC);
        p->response_topic = m->response_topic;
    }
    if (m->correlation_data.data) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
        p->correlation_data = m->correlation_data;
    }
    if (m->user_prop_count) {
        p->present |= MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
        p->user_props = m->user_props;
        p->user_prop_count = m->user_prop_count;
    }
}
