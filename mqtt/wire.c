/* The byte reader and writer shared by the decoder and the encoder. */
#include "mqtt/wire.h"

#include <string.h>

bool mqtt__fail(mqtt_error *err, mqtt_err code, size_t offset, uint8_t reason, const char *what)
{
    if (err)
        *err = (mqtt_error){ .code = code, .offset = offset, .reason = reason, .what = what };
    return false;
}

static bool need(mqtt_reader *r, size_t n, const char *what)
{
    if (mqtt__left(r) >= n)
        return true;
    return mqtt__fail(r->err, MQTT_E_TRUNCATED, r->pos, MQTT_RC_MALFORMED, what);
}

bool mqtt__read_u8(mqtt_reader *r, uint8_t *v, const char *what)
{
    if (!need(r, 1, what))
        return false;
    *v = r->buf[r->pos++];
    return true;
}

bool mqtt__read_u16(mqtt_reader *r, uint16_t *v, const char *what)
{
    if (!need(r, 2, what))
        return false;
    *v = (uint16_t)(r->buf[r->pos] << 8 | r->buf[r->pos + 1]);
    r->pos += 2;
    return true;
}

bool mqtt__read_u32(mqtt_reader *r, uint32_t *v, const char *what)
{
    if (!need(r, 4, what))
        return false;
    const uint8_t *b = r->buf + r->pos;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    r->pos += 4;
    return true;
}

bool mqtt__read_vbi(mqtt_reader *r, uint32_t *v, mqtt_err bad_code, const char *what)
{
    uint32_t value = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (!need(r, 1, what))
            return false;
        uint8_t b = r->buf[r->pos];
        value |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            /* A last byte of 0 after the first adds nothing: not minimal. */
            if (b == 0 && i > 0)
                return mqtt__fail(r->err, bad_code, r->pos, MQTT_RC_MALFORMED, what);
            r->pos++;
            *v = value;
            return true;
        }
        r->pos++;
    }
    return mqtt__fail(r->err, bad_code, r->pos - 1, MQTT_RC_MALFORMED, what);
}

bool mqtt__read_bin(mqtt_reader *r, mqtt_bytes *v, const char *what)
{
    size_t start = r->pos;
    uint16_t n;
    if (!mqtt__read_u16(r, &n, what))
        return false;
    if (mqtt__left(r) < n)
        return mqtt__fail(r->err, MQTT_E_TRUNCATED, start, MQTT_RC_MALFORMED, what);
    *v = (mqtt_bytes){ n ? r->buf + r->pos : NULL, n };
    r->pos += n;
    return true;
}

bool mqtt__read_str(mqtt_reader *r, mqtt_bytes *v, const char *what)
{
    if (!mqtt__read_bin(r, v, what))
        return false;
    size_t bad = mqtt__utf8_bad_at(*v);
    if (bad != MQTT_NOT_FOUND)
        return mqtt__fail(r->err, MQTT_E_UTF8, r->pos - v->len + bad, MQTT_RC_MALFORMED, what);
    return true;
}

void mqtt__put(mqtt_writer *w, const void *data, size_t n)
{
    if (n && w->pos + n <= w->cap)
        memcpy(w->buf + w->pos, data, n);
    w->pos += n;
}

void mqtt__put_u8(mqtt_writer *w, uint8_t v) { mqtt__put(w, &v, 1); }

void mqtt__put_u16(mqtt_writer *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    mqtt__put(w, b, 2);
}

void mqtt__put_u32(mqtt_writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    mqtt__put(w, b, 4);
}

void mqtt__put_vbi(mqtt_writer *w, uint32_t v)
{
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        mqtt__put_u8(w, v ? (uint8_t)(b | 0x80) : b);
    } while (v);
}

size_t mqtt__vbi_size(uint32_t v)
{
    return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

void mqtt__put_bin(mqtt_writer *w, mqtt_bytes b)
{
    mqtt__put_u16(w, (uint16_t)b.len);
    mqtt__put(w, b.data, b.len);
}
