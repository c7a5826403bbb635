#include "alias.h"

#include <stdlib.h>
#include <string.h>

bk_alias *bk_alias_new(uint16_t in_max, uint16_t out_max)
{
    bk_alias *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->in_max = in_max;
    a->out_max = out_max;
    return a;
}

static void free_slots(bk_alias_slot *s, uint16_t n)
{
    for (uint16_t i = 0; s && i < n; i++)
        free(s[i].data);
    free(s);
}

void bk_alias_free(bk_alias *a)
{
    if (!a)
        return;
    free_slots(a->in, a->in_max);
    free_slots(a->out, a->out_max);
    free(a);
}

static int slot_set(bk_alias_slot *s, mqtt_bytes topic)
{
    uint8_t *d = malloc(topic.len ? topic.len : 1);
    if (!d)
        return -1;
    memcpy(d, topic.data, topic.len);
    free(s->data);
    s->data = d;
    s->len = (uint16_t)topic.len;
    return 0;
}

uint8_t bk_alias_in(bk_alias *a, uint16_t alias, mqtt_bytes *topic, const char **what)
{
    if (alias == 0 || alias > a->in_max) {
        *what = "PUBLISH: topic alias 0 or above the Topic Alias Maximum (MQTT-3.3.2-9)";
        return MQTT_RC_TOPIC_ALIAS_INVALID;
    }
    if (!a->in && !(a->in = calloc(a->in_max, sizeof *a->in))) {
        *what = "PUBLISH: out of memory for a topic alias";
        return MQTT_RC_IMPLEMENTATION_SPECIFIC;
    }
    bk_alias_slot *s = &a->in[alias - 1];
    if (topic->len) {
        if (slot_set(s, *topic) < 0) {
            *what = "PUBLISH: out of memory for a topic alias";
            return MQTT_RC_IMPLEMENTATION_SPECIFIC;
        }
        return 0;
    }
    if (!s->data) {
        *what = "PUBLISH: empty topic with a topic alias that has no mapping";
        return MQTT_RC_PROTOCOL_ERROR;
    }
    *topic = (mqtt_bytes){ s->data, s->len };
    return 0;
}

uint16_t bk_alias_out_pick(const bk_alias *a, mqtt_bytes topic, bool *known)
{
    *known = false;
    for (uint16_t i = 0; a->out && i < a->out_used; i++) {
        if (a->out[i].len == topic.len && memcmp(a->out[i].data, topic.data, topic.len) == 0) {
            *known = true;
            return (uint16_t)(i + 1);
        }
    }
    return a->out_used < a->out_max ? (uint16_t)(a->out_used + 1) : 0;
}

int bk_alias_out_commit(bk_alias *a, uint16_t alias, mqtt_bytes topic)
{
    if (alias != a->out_used + 1 || alias > a->out_max)
        return -1;
    if (!a->out && !(a->out = calloc(a->out_max, sizeof *a->out)))
        return -1;
    if (slot_set(&a->out[alias - 1], topic) < 0)
        return -1;
    a->out_used++;
    return 0;
}
