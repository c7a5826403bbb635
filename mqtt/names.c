/* Names of error codes and packet types, for logs and error messages. */
#include "mqtt/mqtt.h"

const char *mqtt_err_name(mqtt_err code)
{
    static const char *const names[] = {
        [MQTT_OK] = "ok",
        [MQTT_E_PACKET_TYPE] = "packet_type",
        [MQTT_E_HEADER_FLAGS] = "header_flags",
        [MQTT_E_REMAINING_LENGTH] = "remaining_length",
        [MQTT_E_TOO_LARGE] = "too_large",
        [MQTT_E_TRUNCATED] = "truncated",
        [MQTT_E_TRAILING] = "trailing",
        [MQTT_E_PROTOCOL_NAME] = "protocol_name",
        [MQTT_E_PROTOCOL_LEVEL] = "protocol_level",
        [MQTT_E_RESERVED_FLAG] = "reserved_flag",
        [MQTT_E_WILL_FLAGS] = "will_flags",
        [MQTT_E_CREDENTIALS] = "credentials",
        [MQTT_E_UTF8] = "utf8",
        [MQTT_E_TOPIC_NAME] = "topic_name",
        [MQTT_E_TOPIC_FILTER] = "topic_filter",
        [MQTT_E_QOS] = "qos",
        [MQTT_E_PACKET_ID] = "packet_id",
        [MQTT_E_NO_TOPICS] = "no_topics",
        [MQTT_E_SUB_OPTIONS] = "sub_options",
        [MQTT_E_PROPERTY] = "property",
        [MQTT_E_REASON_CODE] = "reason_code",
        [MQTT_E_CLIENT_ID] = "client_id",
        [MQTT_E_BUFFER] = "buffer",
        [MQTT_E_NO_MEMORY] = "no_memory",
    };
    if ((unsigned)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "unknown";
}

const char *mqtt_type_name(mqtt_type type)
{
    static const char *const names[] = {
        [MQTT_CONNECT] = "CONNECT",         [MQTT_CONNACK] = "CONNACK",   [MQTT_PUBLISH] = "PUBLISH",
        [MQTT_PUBACK] = "PUBACK",           [MQTT_PUBREC] = "PUBREC",     [MQTT_PUBREL] = "PUBREL",
        [MQTT_PUBCOMP] = "PUBCOMP",         [MQTT_SUBSCRIBE] = "SUBSCRIBE", [MQTT_SUBACK] = "SUBACK",
        [MQTT_UNSUBSCRIBE] = "UNSUBSCRIBE", [MQTT_UNSUBACK] = "UNSUBACK", [MQTT_PINGREQ] = "PINGREQ",
        [MQTT_PINGRESP] = "PINGRESP",       [MQTT_DISCONNECT] = "DISCONNECT", [MQTT_AUTH] = "AUTH",
    };
    if ((unsigned)type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "RESERVED";
}
