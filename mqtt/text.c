/* Byte runs and the MQTT UTF-8 string rules (MQTT 5.0 section 1.5.4). */
#include "mqtt/wire.h"

#include <string.h>

mqtt_bytes mqtt_cstr(const char *s)
{
    return s ? (mqtt_bytes){ (const uint8_t *)s, strlen(s) } : (mqtt_bytes){ NULL, 0 };
}

bool mqtt_bytes_eq(mqtt_bytes a, mqtt_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* RFC 3629 well-formedness, which already excludes overlong forms, surrogates
 * and code points above U+10FFFF; MQTT adds U+0000. */
size_t mqtt__utf8_bad_at(mqtt_bytes s)
{
    const uint8_t *p = s.data;
    size_t i = 0;
    while (i < s.len) {
        uint8_t c = p[i];
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* U+D800..U+DFFF surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return i; /* continuation byte, C0/C1 overlong lead, or F5..FF */
        }
        if (s.len - i <= n)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return MQTT_NOT_FOUND;
}

bool mqtt_utf8_valid(mqtt_bytes s)
{
    return mqtt__utf8_bad_at(s) == MQTT_NOT_FOUND;
}
