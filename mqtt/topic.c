/* Topic name and filter rules and matching (MQTT 5.0 section 4.7). */
#include "mqtt/wire.h"

size_t mqtt__topic_name_bad_at(mqtt_bytes topic)
{
    if (topic.len == 0)
        return 0;
    for (size_t i = 0; i < topic.len; i++)
        if (topic.data[i] == '+' || topic.data[i] == '#')
            return i;
    return MQTT_NOT_FOUND;
}

size_t mqtt__topic_filter_bad_at(mqtt_bytes filter)
{
    const uint8_t *f = filter.data;
    if (filter.len == 0)
        return 0;
    for (size_t i = 0; i < filter.len; i++) {
        bool level_start = i == 0 || f[i - 1] == '/';
        bool level_end = i + 1 == filter.len || f[i + 1] == '/';
        if (f[i] == '+' && !(level_start && level_end))
            return i;
        if (f[i] == '#' && !(level_start && i + 1 == filter.len))
            return i;
    }
    return MQTT_NOT_FOUND;
}

bool mqtt_topic_name_valid(mqtt_bytes topic)
{
    return mqtt__topic_name_bad_at(topic) == MQTT_NOT_FOUND && mqtt_utf8_valid(topic);
}

bool mqtt_topic_filter_valid(mqtt_bytes filter)
{
    return mqtt__topic_filter_bad_at(filter) == MQTT_NOT_FOUND && mqtt_utf8_valid(filter);
}

bool mqtt_topic_matches(mqtt_bytes filter, mqtt_bytes topic)
{
    const uint8_t *f = filter.data, *t = topic.data;
    size_t fi = 0, ti = 0;
    if (topic.len && t[0] == '$' && filter.len && (f[0] == '+' || f[0] == '#'))
        return false;
    for (;;) {
        /* At the start of a level in both. */
        if (fi < filter.len && f[fi] == '#')
            return true; /* "#" and "a/#" also match the parent level: handled below */
        if (fi < filter.len && f[fi] == '+') {
            fi++;
            while (ti < topic.len && t[ti] != '/')
                ti++;
        } else {
            while (fi < filter.len && ti < topic.len && f[fi] != '/' && t[ti] != '/' && f[fi] == t[ti]) {
                fi++;
                ti++;
            }
            bool f_level_end = fi == filter.len || f[fi] == '/';
            bool t_level_end = ti == topic.len || t[ti] == '/';
            if (!f_level_end || !t_level_end)
                return false;
        }
        /* Both are at the end of a level. */
        if (fi == filter.len && ti == topic.len)
            return true;
        if (ti == topic.len) /* "sport/#" matches "sport" */
            return filter.len - fi == 2 && f[fi + 1] == '#';
        if (fi == filter.len)
            return false;
        fi++; /* skip the '/' in both */
        ti++;
    }
}
