/* mqtt: a pure MQTT 3.1.1 and 5.0 packet codec. No I/O, no time, no sockets,
 * no allocation except the streaming decoder's buffer for a partial packet.
 *
 * Decoded packets point into the bytes they were decoded from (mqtt_bytes):
 * they stay valid until the buffer is changed (for mqtt_stream: until the next
 * mqtt_stream_feed / mqtt_stream_next call). */
#ifndef FLATLINE_MQTT_H
#define FLATLINE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mqtt_version {
    MQTT_V311 = 4, /* protocol level 4 */
    MQTT_V5 = 5,
} mqtt_version;

typedef enum mqtt_type {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_PUBREC = 5,
    MQTT_PUBREL = 6,
    MQTT_PUBCOMP = 7,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_UNSUBSCRIBE = 10,
    MQTT_UNSUBACK = 11,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
    MQTT_AUTH = 15, /* v5 only */
} mqtt_type;

/* v5 reason codes that flatline uses by name (MQTT 5.0 section 2.4). */
enum mqtt_reason {
    MQTT_RC_SUCCESS = 0x00,
    MQTT_RC_GRANTED_QOS1 = 0x01,
    MQTT_RC_GRANTED_QOS2 = 0x02,
    MQTT_RC_DISCONNECT_WITH_WILL = 0x04,
    MQTT_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
    MQTT_RC_UNSPECIFIED = 0x80,
    MQTT_RC_MALFORMED = 0x81,
    MQTT_RC_PROTOCOL_ERROR = 0x82,
    MQTT_RC_IMPLEMENTATION_SPECIFIC = 0x83,
    MQTT_RC_UNSUPPORTED_VERSION = 0x84,
    MQTT_RC_CLIENT_ID_NOT_VALID = 0x85,
    MQTT_RC_BAD_USER_OR_PASSWORD = 0x86,
    MQTT_RC_NOT_AUTHORIZED = 0x87,
    MQTT_RC_SERVER_UNAVAILABLE = 0x88,
    MQTT_RC_SERVER_BUSY = 0x89,
    MQTT_RC_SERVER_SHUTTING_DOWN = 0x8B,
    MQTT_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
    MQTT_RC_SESSION_TAKEN_OVER = 0x8E,
    MQTT_RC_TOPIC_FILTER_INVALID = 0x8F,
    MQTT_RC_TOPIC_NAME_INVALID = 0x90,
    MQTT_RC_PACKET_ID_IN_USE = 0x91,
    MQTT_RC_PACKET_ID_NOT_FOUND = 0x92,
    MQTT_RC_RECEIVE_MAX_EXCEEDED = 0x93,
    MQTT_RC_TOPIC_ALIAS_INVALID = 0x94,
    MQTT_RC_PACKET_TOO_LARGE = 0x95,
    MQTT_RC_QUOTA_EXCEEDED = 0x97,
    MQTT_RC_PAYLOAD_FORMAT_INVALID = 0x99,
    MQTT_RC_RETAIN_NOT_SUPPORTED = 0x9A,
    MQTT_RC_QOS_NOT_SUPPORTED = 0x9B,
    MQTT_RC_SHARED_SUB_NOT_SUPPORTED = 0x9E,
    MQTT_RC_SUB_IDS_NOT_SUPPORTED = 0xA1,
    MQTT_RC_WILDCARD_SUB_NOT_SUPPORTED = 0xA2,
};

/* v3.1.1 CONNACK return codes. */
enum mqtt_connack_v3 {
    MQTT_V3_ACCEPTED = 0,
    MQTT_V3_REFUSED_PROTOCOL = 1,
    MQTT_V3_REFUSED_IDENTIFIER = 2,
    MQTT_V3_REFUSED_UNAVAILABLE = 3,
    MQTT_V3_REFUSED_BAD_CREDENTIALS = 4,
    MQTT_V3_REFUSED_NOT_AUTHORIZED = 5,
};

/* A run of bytes inside a decoded packet or owned by the caller when encoding.
 * Strings are not NUL-terminated. data may be NULL when len is 0. */
typedef struct mqtt_bytes {
    const uint8_t *data;
    size_t len;
} mqtt_bytes;

#define MQTT_STR(s) ((mqtt_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })
mqtt_bytes mqtt_cstr(const char *s); /* NULL gives an empty run */
bool mqtt_bytes_eq(mqtt_bytes a, mqtt_bytes b);

/* ---- v5 properties ------------------------------------------------------ */

/* Identifiers (MQTT 5.0 section 2.2.2.2). */
enum mqtt_prop_id {
    MQTT_PROP_PAYLOAD_FORMAT = 0x01,
    MQTT_PROP_MESSAGE_EXPIRY = 0x02,
    MQTT_PROP_CONTENT_TYPE = 0x03,
    MQTT_PROP_RESPONSE_TOPIC = 0x08,
    MQTT_PROP_CORRELATION_DATA = 0x09,
    MQTT_PROP_SUBSCRIPTION_ID = 0x0B,
    MQTT_PROP_SESSION_EXPIRY = 0x11,
    MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
    MQTT_PROP_SERVER_KEEP_ALIVE = 0x13,
    MQTT_PROP_AUTH_METHOD = 0x15,
    MQTT_PROP_AUTH_DATA = 0x16,
    MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
    MQTT_PROP_WILL_DELAY = 0x18,
    MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
    MQTT_PROP_RESPONSE_INFO = 0x1A,
    MQTT_PROP_SERVER_REFERENCE = 0x1C,
    MQTT_PROP_REASON_STRING = 0x1F,
    MQTT_PROP_RECEIVE_MAXIMUM = 0x21,
    MQTT_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
    MQTT_PROP_TOPIC_ALIAS = 0x23,
    MQTT_PROP_MAXIMUM_QOS = 0x24,
    MQTT_PROP_RETAIN_AVAILABLE = 0x25,
    MQTT_PROP_USER_PROPERTY = 0x26,
    MQTT_PROP_MAXIMUM_PACKET_SIZE = 0x27,
    MQTT_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
    MQTT_PROP_SUB_ID_AVAILABLE = 0x29,
    MQTT_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/* The properties of one packet. A property is present when its bit
 * (MQTT_PROP_BIT(id)) is set in `present`. Which properties a packet may carry
 * is checked by the decoder (MQTT 5.0 table 2-4); a property that is not
 * allowed in that packet, or an unknown identifier, is malformed (the spec
 * gives no way to skip an unknown property: its length is unknowable). */
#define MQTT_PROP_BIT(id) (UINT64_C(1) << (id))
typedef struct mqtt_props {
    uint64_t present;
    uint8_t payload_format, request_problem_info, request_response_info;
    uint8_t maximum_qos, retain_available, wildcard_sub_available;
    uint8_t sub_id_available, shared_sub_available;
    uint16_t server_keep_alive, receive_maximum, topic_alias_maximum, topic_alias;
    uint32_t message_expiry, session_expiry, will_delay, maximum_packet_size;
    uint32_t subscription_id; /* the first one; PUBLISH may carry several */
    mqtt_bytes content_type, response_topic, correlation_data, assigned_client_id;
    mqtt_bytes auth_method, auth_data, response_info, server_reference, reason_string;
    /* User properties, as their encoded run of (0x26, key, value) triples, in
     * order, so that a broker can forward them unchanged. Iterate with
     * mqtt_user_prop_next. When decoded, the run spans the first to the last
     * user property and may hold other properties between them, which the
     * iterator skips. When encoding, the user properties of the run are
     * written in order (a run that does not parse is refused). */
    mqtt_bytes user_props;
    uint16_t user_prop_count;
    /* Every Subscription Identifier of a PUBLISH (a Server sends one for each
     * matching subscription, MQTT-3.3.4-3), as the encoded run of (0x0B,
     * variable byte integer) pairs; walk with mqtt_sub_id_next. When decoded,
     * the run spans the first to the last and may hold other properties
     * between them, and subscription_id is the first. When encoding with
     * sub_id_count > 0 (and the SUBSCRIPTION_ID bit set), the run's
     * identifiers are written in order and subscription_id is ignored. */
    mqtt_bytes sub_ids;
    uint16_t sub_id_count;
} mqtt_props;

static inline bool mqtt_prop_has(const mqtt_props *p, enum mqtt_prop_id id)
{
    return (p->present & MQTT_PROP_BIT(id)) != 0;
}

/* Walks a user_props run. *pos starts at 0. Returns false at the end. */
bool mqtt_user_prop_next(mqtt_bytes run, size_t *pos, mqtt_bytes *key, mqtt_bytes *value);
/* Walks a sub_ids run the same way. */
bool mqtt_sub_id_next(mqtt_bytes run, size_t *pos, uint32_t *id);
/* Appends (0x0B, id) to a sub_ids run being built at out[*len] (5 bytes at
 * most). */
void mqtt_sub_id_put(uint8_t *out, size_t *len, uint32_t id);

/* ---- packets ------------------------------------------------------------ */

typedef struct mqtt_connect {
    mqtt_version version;
    bool clean_session; /* v5: clean start */
    uint16_t keep_alive; /* seconds; 0 disables */
    mqtt_bytes client_id;
    bool has_will;
    uint8_t will_qos;
    bool will_retain;
    mqtt_bytes will_topic, will_payload;
    mqtt_props will_props; /* v5 */
    bool has_username, has_password;
    mqtt_bytes username, password;
    mqtt_props props; /* v5 */
} mqtt_connect;

typedef struct mqtt_connack {
    bool session_present;
    uint8_t code; /* v3: mqtt_connack_v3; v5: reason code */
    mqtt_props props;
} mqtt_connack;

typedef struct mqtt_publish {
    uint8_t qos;
    bool retain, dup;
    mqtt_bytes topic;
    uint16_t packet_id; /* QoS 1 and 2 only */
    mqtt_bytes payload;
    mqtt_props props;
} mqtt_publish;

/* PUBACK, PUBREC, PUBREL, PUBCOMP. v5 reason code 0 with no properties is
 * encoded in the short form. */
typedef struct mqtt_ack {
    uint16_t packet_id;
    uint8_t reason;
    mqtt_props props;
} mqtt_ack;

/* One entry of SUBSCRIBE (filter + options) or UNSUBSCRIBE (filter only). */
typedef struct mqtt_topic_entry {
    mqtt_bytes filter;
    uint8_t qos; /* maximum QoS */
    bool no_local, retain_as_published; /* v5 */
    uint8_t retain_handling; /* v5: 0..2 */
} mqtt_topic_entry;

/* SUBSCRIBE and UNSUBSCRIBE. When encoding, set entries/count. When decoded,
 * entries is NULL, count is the number of entries (at least 1, checked), and
 * the validated entries are walked with mqtt_topic_next over `list`. */
typedef struct mqtt_subscribe {
    uint16_t packet_id;
    mqtt_props props;
    const mqtt_topic_entry *entries;
    size_t count;
    mqtt_bytes list;
} mqtt_subscribe;

/* Walks a decoded SUBSCRIBE (is_subscribe true) or UNSUBSCRIBE list.
 * *pos starts at 0. Returns false at the end. */
bool mqtt_topic_next(const mqtt_subscribe *s, bool is_subscribe, size_t *pos, mqtt_topic_entry *out);

/* SUBACK and UNSUBACK (v3 UNSUBACK has no codes). codes points at count codes:
 * v3 SUBACK 0,1,2 or 0x80; v5 reason codes. */
typedef struct mqtt_suback {
    uint16_t packet_id;
    mqtt_props props;
    const uint8_t *codes;
    size_t count;
} mqtt_suback;

/* DISCONNECT (v5 reason and properties; v3 has neither) and AUTH (v5). */
typedef struct mqtt_disconnect {
    uint8_t reason;
    mqtt_props props;
} mqtt_disconnect;

typedef struct mqtt_packet {
    mqtt_type type;
    uint8_t flags; /* the fixed header's low nibble, as received */
    union {
        mqtt_connect connect;
        mqtt_connack connack;
        mqtt_publish publish;
        mqtt_ack ack; /* PUBACK PUBREC PUBREL PUBCOMP */
        mqtt_subscribe subscribe; /* SUBSCRIBE UNSUBSCRIBE */
        mqtt_suback suback; /* SUBACK UNSUBACK */
        mqtt_disconnect disconnect; /* DISCONNECT AUTH */
    } u;
} mqtt_packet;

/* ---- errors ------------------------------------------------------------- */

typedef enum mqtt_err {
    MQTT_OK = 0,
    MQTT_E_PACKET_TYPE,      /* reserved type 0, or AUTH in 3.1.1 */
    MQTT_E_HEADER_FLAGS,     /* fixed-header flags wrong for the type */
    MQTT_E_REMAINING_LENGTH, /* more than 4 bytes, or a non-minimal encoding */
    MQTT_E_TOO_LARGE,        /* over the configured maximum packet size */
    MQTT_E_TRUNCATED,        /* the packet ends inside a field */
    MQTT_E_TRAILING,         /* bytes left after the last field */
    MQTT_E_PROTOCOL_NAME,    /* not "MQTT" */
    MQTT_E_PROTOCOL_LEVEL,   /* not 4 or 5 */
    MQTT_E_RESERVED_FLAG,    /* CONNECT reserved flag set */
    MQTT_E_WILL_FLAGS,       /* will QoS/retain without the will flag, or QoS 3 */
    MQTT_E_CREDENTIALS,      /* 3.1.1: password without username */
    MQTT_E_UTF8,             /* ill-formed UTF-8, U+0000 or a surrogate */
    MQTT_E_TOPIC_NAME,       /* empty, or wildcards in a topic name */
    MQTT_E_TOPIC_FILTER,     /* empty, or a misplaced + or # */
    MQTT_E_QOS,              /* QoS 3 */
    MQTT_E_PACKET_ID,        /* packet identifier 0 where one is required */
    MQTT_E_NO_TOPICS,        /* SUBSCRIBE/UNSUBSCRIBE without entries */
    MQTT_E_SUB_OPTIONS,      /* reserved subscription option bits, retain handling 3 */
    MQTT_E_PROPERTY,         /* unknown id, not allowed here, duplicated, bad value */
    MQTT_E_REASON_CODE,      /* a reason code not allowed for the packet */
    MQTT_E_CLIENT_ID,        /* 3.1.1: empty client id with clean session 0 */
    MQTT_E_BUFFER,           /* stream: fed before the previous bytes were consumed
                                (mqtt_encode reports a short buffer by its return value) */
    MQTT_E_NO_MEMORY,        /* stream: no memory to buffer an unfinished packet */
} mqtt_err;

typedef struct mqtt_error {
    mqtt_err code;
    size_t offset;  /* byte offset from the start of the packet (or of the stream
                       since the last complete packet) where the fault lies */
    uint8_t reason; /* the v5 reason code to send (0x81 malformed, 0x82 protocol
                       error, 0x95 too large, ...) */
    const char *what; /* a fixed message naming the field, e.g. "CONNECT: will QoS 3" */
} mqtt_error;

const char *mqtt_err_name(mqtt_err code); /* "remaining_length", ... */
const char *mqtt_type_name(mqtt_type type); /* "CONNECT", ... */

/* ---- decoding ----------------------------------------------------------- */

typedef enum mqtt_result {
    MQTT_NEED_MORE = 0,
    MQTT_PACKET = 1,
    MQTT_MALFORMED = -1,
} mqtt_result;

/* Finds the frame of the packet at the start of buf: on MQTT_PACKET sets
 * *packet_len (fixed header included). max_packet 0 means the protocol limit
 * (268,435,460 bytes). */
mqtt_result mqtt_frame(const uint8_t *buf, size_t len, size_t max_packet, size_t *packet_len, mqtt_error *err);

/* Decodes one whole packet (as framed by mqtt_frame; a shorter or longer buf is
 * malformed). version is the session's protocol version; for CONNECT it is
 * ignored and read from the packet; any value other than MQTT_V5 (0 too)
 * decodes as 3.1.1. */
mqtt_result mqtt_decode(const uint8_t *buf, size_t len, mqtt_version version, mqtt_packet *out, mqtt_error *err);

/* A streaming decoder for one connection: feed bytes as they arrive, in any
 * split; take packets out with mqtt_stream_next. It copies only the bytes of an
 * unfinished packet, so a connection that is between packets holds no buffer. */
typedef struct mqtt_stream {
    mqtt_version version; /* 0 until a CONNECT was decoded or it was set */
    size_t max_packet;
    const uint8_t *in; /* the fed bytes not yet consumed (borrowed) */
    size_t in_len;
    uint8_t *partial; /* owned: the start of an unfinished packet */
    size_t partial_len, partial_cap;
    size_t consumed; /* bytes taken out as packets since init, for offsets */
    bool failed;
    size_t partial_need; /* the unfinished packet's length once its fixed header is in, else 0 */
    bool partial_done;   /* partial holds the packet handed out last; freed on the next call */
    mqtt_error error;    /* why it failed: every later call answers the same */
} mqtt_stream;

void mqtt_stream_init(mqtt_stream *s, mqtt_version version, size_t max_packet);
void mqtt_stream_free(mqtt_stream *s);
/* The bytes stay borrowed until mqtt_stream_next returns MQTT_NEED_MORE; then
 * what remains of them has been copied. Feeding again before that would drop
 * unread bytes, so it fails the stream (MQTT_E_BUFFER). */
void mqtt_stream_feed(mqtt_stream *s, const uint8_t *data, size_t len);
/* MQTT_PACKET: *out is valid until the next call. MQTT_NEED_MORE: feed more.
 * MQTT_MALFORMED: err says what and where (offset from the start of the
 * failing packet, which starts at stream byte s->consumed); the stream stays
 * failed. A decoded CONNECT sets s->version; until then (version 0) other
 * packets decode as 3.1.1. */
mqtt_result mqtt_stream_next(mqtt_stream *s, mqtt_packet *out, mqtt_error *err);

/* ---- encoding ----------------------------------------------------------- */

/* Encodes p for version into out (for CONNECT, p->u.connect.version wins when
 * set). p->flags is ignored: the fixed-header flags follow from the fields.
 * Properties are ignored in 3.1.1. The encoded bytes are decoded again before
 * returning, so whatever mqtt_decode rejects is refused here as well (err then
 * points into the encoded bytes). Returns the encoded size. If it is larger
 * than cap, nothing is written and the caller retries with a larger buffer
 * (the same contract as snprintf; the size is known before the check by
 * decoding, so the retry may still return 0). Returns 0 if p cannot be encoded
 * (a field out of range; err says which) — err may be NULL. */
size_t mqtt_encode(const mqtt_packet *p, mqtt_version version, uint8_t *out, size_t cap, mqtt_error *err);

/* Whether two decoded (or to-be-encoded) packets of version carry the same
 * content: the same fields, properties and user properties in order, topic
 * entries whether given as an array or a decoded list. */
bool mqtt_packet_equal(const mqtt_packet *a, const mqtt_packet *b, mqtt_version version);

/* ---- validation and topics (pure functions) ----------------------------- */

/* MQTT UTF-8 string rules: well-formed (no overlong forms, nothing above
 * U+10FFFF), no U+0000, no surrogates. */
bool mqtt_utf8_valid(mqtt_bytes s);
bool mqtt_topic_name_valid(mqtt_bytes topic);   /* non-empty, no + or # */
bool mqtt_topic_filter_valid(mqtt_bytes filter); /* + alone in a level, # alone and last */
/* Whether topic name matches filter; $-topics are not matched by a filter that
 * starts with + or # (MQTT-4.7.2-1). Both are assumed valid. */
bool mqtt_topic_matches(mqtt_bytes filter, mqtt_bytes topic);

#endif
