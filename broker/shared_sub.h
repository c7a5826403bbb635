/* v5 Shared Subscriptions (MQTT 5.0 section 4.8.2), `$share/{group}/{filter}`:
 * each message matching the filter goes to one member of the group, chosen
 * round-robin among the members that are connected (an offline member is
 * chosen only when none is). A group is one owner in the subscription tree
 * under its filter (flagged BK_OPT_SHARED); its members keep their own QoS
 * and Subscription Identifier. Accepted from 3.1.1 clients too, as mosquitto
 * does. */
#ifndef FLATLINE_BROKER_SHARED_SUB_H
#define FLATLINE_BROKER_SHARED_SUB_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/mqtt.h"

struct bk_broker;
struct bk_session;
struct bk_msg;

typedef struct bk_share_member {
    struct bk_session *s;
    uint32_t sub_id;
    uint8_t opts;
} bk_share_member;

typedef struct bk_share {
    struct bk_share *next;
    bk_share_member *m;
    uint32_t n, cap, rr; /* rr: where the next round-robin pick starts */
    mqtt_bytes filter;   /* the topic filter, inside name */
    uint16_t name_len;
    uint8_t name[];      /* the whole "$share/{group}/{filter}" */
} bk_share;

/* 1: f is a well-formed shared subscription ("$share/" ShareName "/" filter,
 * the ShareName non-empty without / + #: MQTT-4.8.2-1, -2) and *filter is
 * its topic filter; 0: not a shared subscription; -1: starts "$share/" but
 * is not well formed. */
int bk_share_parse(mqtt_bytes f, mqtt_bytes *filter);
/* Adds s to the group of `full` (or replaces its options). Returns 1 new, 0
 * replaced, -1 out of memory. */
int bk_share_subscribe(struct bk_broker *b, mqtt_bytes full, struct bk_session *s, uint8_t opts, uint32_t sub_id);
/* Removes s from the group. When the session ends (session_ends), what it
 * still holds from the group that has not completed (queued, or sent and
 * unacknowledged) goes to another member, as MQTT 5.0 section 4.8.2 says a
 * Server SHOULD; after an UNSUBSCRIBE it stays with s (section 3.10.4 allows
 * buffered messages to be delivered). Returns whether s was a member. */
bool bk_share_unsubscribe(struct bk_broker *b, mqtt_bytes full, struct bk_session *s, bool session_ends);
/* A message matched the group: one member gets it. */
void bk_share_route(struct bk_broker *b, bk_share *g, struct bk_msg *msg);
void bk_shares_free(struct bk_broker *b);

#endif
