/* Internal to mqtt/: the byte reader and writer the decoder and encoder share,
 * the error helper, and the cross-file functions that are not public API. */
#ifndef FLATLINE_MQTT_WIRE_H
#define FLATLINE_MQTT_WIRE_H

#include "mqtt/mqtt.h"

#define MQTT_VBI_MAX 268435455u
#define MQTT_MAX_PACKET (1u + 4u + MQTT_VBI_MAX)
#define MQTT_NOT_FOUND ((size_t)-1)

/* Fills *err (which may be NULL) and returns false, so that a failing check
 * reads `return mqtt__fail(...)`. */
bool mqtt__fail(mqtt_error *err, mqtt_err code, size_t offset, uint8_t reason, const char *what);

/* A cursor over one packet. Offsets in errors are from buf, the packet start. */
typedef struct mqtt_reader {
    const uint8_t *buf;
    size_t end; /* the end of the region being read (packet or property block) */
    size_t pos;
    mqtt_error *err;
} mqtt_reader;

static inline size_t mqtt__left(const mqtt_reader *r) { return r->end - r->pos; }

bool mqtt__read_u8(mqtt_reader *r, uint8_t *v, const char *what);
bool mqtt__read_u16(mqtt_reader *r, uint16_t *v, const char *what);
bool mqtt__read_u32(mqtt_reader *r, uint32_t *v, const char *what);
/* A Variable Byte Integer: at most 4 bytes, minimally encoded. Ill-formed
 * ones fail with bad_code. */
bool mqtt__read_vbi(mqtt_reader *r, uint32_t *v, mqtt_err bad_code, const char *what);
/* A two-byte length then that many bytes. */
bool mqtt__read_bin(mqtt_reader *r, mqtt_bytes *v, const char *what);
/* As read_bin, then the MQTT UTF-8 rules; the error points at the bad byte. */
bool mqtt__read_str(mqtt_reader *r, mqtt_bytes *v, const char *what);

/* Where the first byte breaking the MQTT UTF-8 rules is, or MQTT_NOT_FOUND. */
size_t mqtt__utf8_bad_at(mqtt_bytes s);
/* Where a topic name / filter breaks its rules (the offending byte; 0 when it
 * is empty), or MQTT_NOT_FOUND. UTF-8 is checked separately. */
size_t mqtt__topic_name_bad_at(mqtt_bytes topic);
size_t mqtt__topic_filter_bad_at(mqtt_bytes filter);

/* A writer that counts past its capacity without writing, so one pass gives
 * the size and a second pass the bytes. */
typedef struct mqtt_writer {
    uint8_t *buf;
    size_t cap;
    size_t pos;
} mqtt_writer;

void mqtt__put(mqtt_writer *w, const void *data, size_t n);
void mqtt__put_u8(mqtt_writer *w, uint8_t v);
void mqtt__put_u16(mqtt_writer *w, uint16_t v);
void mqtt__put_u32(mqtt_writer *w, uint32_t v);
void mqtt__put_vbi(mqtt_writer *w, uint32_t v);
void mqtt__put_bin(mqtt_writer *w, mqtt_bytes b);
size_t mqtt__vbi_size(uint32_t v);

/* The fixed header: type, flags, and the whole packet length. version 0 means
 * not known yet (the version-dependent rules are then left to mqtt_decode). */
typedef struct mqtt_header {
    mqtt_type type;
    uint8_t flags;
    size_t header_len; /* 2..5 */
    size_t packet_len; /* header_len + remaining length */
} mqtt_header;

mqtt_result mqtt__header(const uint8_t *buf, size_t len, mqtt_version version, size_t max_packet, mqtt_header *h,
                         mqtt_error *err);

/* Property sets: the packet type's bit (1 << type) or MQTT_PROPS_WILL. */
#define MQTT_PROPS_WILL (1u << 16)
bool mqtt__read_props(mqtt_reader *r, unsigned set, mqtt_props *out);
/* The encoded size of the property block without its length prefix; sets
 * *ok false when a present property is not allowed in set or the user
 * property run is ill-formed. */
size_t mqtt__props_size(const mqtt_props *p, unsigned set, bool *ok);
void mqtt__put_props(mqtt_writer *w, const mqtt_props *p, unsigned set);

#endif
