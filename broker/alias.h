/* v5 Topic Aliases (MQTT 5.0 section 3.3.2.3.4) of one network connection:
 * client to server (the broker's Topic Alias Maximum, topic_alias_maximum)
 * and server to client (up to the client's Topic Alias Maximum, and no more
 * than topic_alias_maximum). Mappings never outlive the connection
 * (MQTT-3.3.2-7); each table is allocated on first use. */
#ifndef FLATLINE_BROKER_ALIAS_H
#define FLATLINE_BROKER_ALIAS_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/mqtt.h"

typedef struct bk_alias_slot {
    uint8_t *data;
    uint16_t len;
} bk_alias_slot;

typedef struct bk_alias {
    bk_alias_slot *in;  /* in[a - 1]: the topic client alias a stands for */
    bk_alias_slot *out; /* out[a - 1]: the topic the broker's alias a stands for */
    uint16_t in_max, out_max, out_used;
} bk_alias;

bk_alias *bk_alias_new(uint16_t in_max, uint16_t out_max);
void bk_alias_free(bk_alias *a);

/* Client to server: a PUBLISH with Topic Alias `alias` and topic *topic.
 * A topic sets (or replaces) the mapping; an empty one is replaced by the
 * mapped topic. Returns 0, or the reason code of the protocol error with
 * *what naming it: 0x94 (Topic Alias invalid: 0 or above the maximum,
 * MQTT-3.3.2-9), 0x82 (no mapping for the alias), 0x83 (out of memory).
 * *topic points into the table until the mapping changes. */
uint8_t bk_alias_in(bk_alias *a, uint16_t alias, mqtt_bytes *topic, const char **what);

/* Server to client: the alias to send topic with (0: none, the table is
 * full). *known: the client has the mapping already (send an empty topic). */
uint16_t bk_alias_out_pick(const bk_alias *a, mqtt_bytes topic, bool *known);
/* Records that alias (from pick, not known) was sent with topic. */
int bk_alias_out_commit(bk_alias *a, uint16_t alias, mqtt_bytes topic);

#endif
