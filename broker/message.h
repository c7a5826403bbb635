/* An application message as the broker keeps it: one reference-counted copy
 * shared by every session queue, the retained store and pending wills, so
 * that fanning a publish out to many subscribers copies nothing. */
#ifndef FLATLINE_BROKER_MESSAGE_H
#define FLATLINE_BROKER_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/mqtt.h"

typedef struct bk_msg {
    uint32_t refs;
    uint8_t qos;
    bool retain;
    /* v5 properties forwarded unchanged (MQTT-3.3.2-14 .. -20). */
    bool has_payload_format, has_expiry;
    uint8_t payload_format;
    uint32_t expiry;   /* s, as the publisher sent it */
    uint64_t expire_at; /* ns (the broker's clock) when the expiry runs out; 0 = never */
    mqtt_bytes topic, payload, content_type, response_topic, correlation_data, user_props;
    uint16_t user_prop_count;
    uint8_t data[]; /* the bytes the runs above point into */
} bk_msg;

/* Copies topic, payload and the forwardable properties of props (may be NULL). */
bk_msg *bk_msg_new(mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, bool retain, const mqtt_props *props);
static inline bk_msg *bk_msg_ref(bk_msg *m)
{
    m->refs++;
    return m;
}
void bk_msg_unref(bk_msg *m);

/* The Message Expiry Interval starts counting at `at` (the message reached
 * the broker, or a will was published). */
void bk_msg_start_expiry(bk_msg *m, uint64_t at);
/* MQTT-3.3.2-5: the interval has passed (a copy not yet on its way is deleted). */
static inline bool bk_msg_expired(const bk_msg *m, uint64_t now) { return m->expire_at && now >= m->expire_at; }
/* MQTT-3.3.2-6: what is left of the interval at now, whole seconds rounded up
 * (a message forwarded at once keeps its interval), 0 once it has run out. */
uint32_t bk_msg_expiry_left(const bk_msg *m, uint64_t now);

/* The PUBLISH for m as delivered at now: the given QoS, retain flag, packet
 * id, dup, and the Message Expiry Interval counted down. */
void bk_msg_to_publish(const bk_msg *m, uint8_t qos, bool retain, uint16_t packet_id, bool dup, uint64_t now,
                       mqtt_publish *out);

#endif
