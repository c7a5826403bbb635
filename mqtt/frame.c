/* The fixed header (MQTT 5.0 section 2.1): type, flags, remaining length. Its
 * rules are checked byte by byte as soon as each byte is there, so that a
 * stream rejects a bad or oversized packet before buffering its body. */
#include "mqtt/wire.h"

static bool check_first_byte(uint8_t b, mqtt_version version, mqtt_error *err)
{
    mqtt_type type = (mqtt_type)(b >> 4);
    uint8_t flags = b & 0x0F;
    if (type == 0)
        return mqtt__fail(err, MQTT_E_PACKET_TYPE, 0, MQTT_RC_MALFORMED, "fixed header: reserved packet type 0");
    if (type == MQTT_AUTH && version == MQTT_V311)
        return mqtt__fail(err, MQTT_E_PACKET_TYPE, 0, MQTT_RC_MALFORMED, "fixed header: AUTH in MQTT 3.1.1");
    if (type == MQTT_PUBLISH) {
        uint8_t qos = (flags >> 1) & 3;
        if (qos == 3)
            return mqtt__fail(err, MQTT_E_QOS, 0, MQTT_RC_MALFORMED, "PUBLISH: QoS 3 in the fixed header");
        if (version == MQTT_V5 && qos == 0 && (flags & 0x08))
            return mqtt__fail(err, MQTT_E_HEADER_FLAGS, 0, MQTT_RC_PROTOCOL_ERROR, "PUBLISH: DUP set with QoS 0");
        return true;
    }
    uint8_t want = (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE) ? 2 : 0;
    if (flags != want)
        return mqtt__fail(err, MQTT_E_HEADER_FLAGS, 0, MQTT_RC_MALFORMED,
                          want ? "fixed header: flags must be 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE"
                               : "fixed header: flags must be 0000 for this packet type");
    return true;
}

mqtt_result mqtt__header(const uint8_t *buf, size_t len, mqtt_version version, size_t max_packet, mqtt_header *h,
                         mqtt_error *err)
{
    if (len == 0)
        return MQTT_NEED_MORE;
    if (!check_first_byte(buf[0], version, err))
        return MQTT_MALFORMED;
    if (max_packet == 0 || max_packet > MQTT_MAX_PACKET)
        max_packet = MQTT_MAX_PACKET;
    uint32_t remaining = 0;
    for (size_t i = 1; i <= 4; i++) {
        if (i >= len)
            return MQTT_NEED_MORE;
        uint8_t b = buf[i];
        remaining |= (uint32_t)(b & 0x7F) << (7 * (i - 1));
        if (b & 0x80) {
            if (i == 4) {
                mqtt__fail(err, MQTT_E_REMAINING_LENGTH, i, MQTT_RC_MALFORMED,
                           "fixed header: remaining length longer than 4 bytes");
                return MQTT_MALFORMED;
            }
            continue;
        }
        if (b == 0 && i > 1) {
            mqtt__fail(err, MQTT_E_REMAINING_LENGTH, i, MQTT_RC_MALFORMED,
                       "fixed header: remaining length not minimally encoded");
            return MQTT_MALFORMED;
        }
        size_t total = i + 1 + (size_t)remaining;
        if (total > max_packet) {
            mqtt__fail(err, MQTT_E_TOO_LARGE, 1, MQTT_RC_PACKET_TOO_LARGE,
                       "fixed header: packet larger than the maximum packet size");
            return MQTT_MALFORMED;
        }
        *h = (mqtt_header){ .type = (mqtt_type)(buf[0] >> 4), .flags = buf[0] & 0x0F, .header_len = i + 1,
                            .packet_len = total };
        return MQTT_PACKET;
    }
    return MQTT_NEED_MORE; /* not reached: the loop returns at i == 4 */
}

mqtt_result mqtt_frame(const uint8_t *buf, size_t len, size_t max_packet, size_t *packet_len, mqtt_error *err)
{
    mqtt_header h;
    mqtt_result r = mqtt__header(buf, len, 0, max_packet, &h, err);
    if (r != MQTT_PACKET)
        return r;
    if (len < h.packet_len)
        return MQTT_NEED_MORE;
    *packet_len = h.packet_len;
    return MQTT_PACKET;
}
