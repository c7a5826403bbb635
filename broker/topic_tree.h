/* A topic tree: one node a topic level, children kept sorted for binary
 * search. The broker keeps two: subscriptions (filters, with + and # as
 * ordinary levels) and retained messages (topic names). A publish visits only
 * the nodes its levels reach (exact, + and # at each level), never every
 * subscriber. Owners and retained payloads are opaque pointers. */
#ifndef FLATLINE_BROKER_TOPIC_TREE_H
#define FLATLINE_BROKER_TOPIC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/mqtt.h"

typedef struct bk_tree bk_tree;

bk_tree *bk_tree_new(void);
/* Frees the nodes; free_value (may be NULL) is called on each retained value. */
void bk_tree_free(bk_tree *t, void (*free_value)(void *value));

/* ---- subscriptions ---- */

/* Adds owner's subscription to filter with opts (caller-defined byte) and
 * sub_id (the v5 Subscription Identifier, 0 = none), or replaces both.
 * Returns 1 when new, 0 when replaced, -1 out of memory. */
int bk_tree_subscribe(bk_tree *t, mqtt_bytes filter, void *owner, uint8_t opts, uint32_t sub_id);
/* Returns true when owner had a subscription to filter. */
bool bk_tree_unsubscribe(bk_tree *t, mqtt_bytes filter, void *owner);

typedef void (*bk_match_fn)(void *owner, uint8_t opts, uint32_t sub_id, void *ctx);
/* Calls fn for every subscription whose filter matches topic (a valid topic
 * name). An owner with overlapping filters is reported once per filter. */
void bk_tree_match(const bk_tree *t, mqtt_bytes topic, bk_match_fn fn, void *ctx);

/* ---- retained values ---- */

/* Stores value under topic (NULL deletes). The previous value, if any, is
 * returned in *old for the caller to release. Returns -1 out of memory. */
int bk_tree_retain(bk_tree *t, mqtt_bytes topic, void *value, void **old);
typedef void (*bk_value_fn)(void *value, void *ctx);
/* Calls fn for every retained value whose topic matches filter. */
void bk_tree_match_retained(const bk_tree *t, mqtt_bytes filter, bk_value_fn fn, void *ctx);

size_t bk_tree_node_count(const bk_tree *t); /* for tests: pruning works */

#endif
