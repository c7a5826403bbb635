/* MQTT sessions (MQTT-4.1): what outlives a network connection. A table by
 * client id, and per session its subscriptions (as filters, to undo them),
 * its outgoing QoS 1/2 messages (in flight, then queued) and the ids of
 * incoming QoS 2 messages awaiting PUBREL. The protocol decides; this file
 * only keeps the books. */
#ifndef FLATLINE_BROKER_SESSION_H
#define FLATLINE_BROKER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/timer.h"
#include "message.h"

#define BK_EXPIRY_NEVER UINT32_MAX

typedef enum bk_out_state {
    BK_OUT_QUEUED = 0,  /* not sent yet (offline or over the in-flight limit) */
    BK_OUT_WAIT_ACK,    /* sent; awaiting PUBACK (QoS 1) or PUBREC (QoS 2) */
    BK_OUT_WAIT_COMP,   /* PUBREL sent; awaiting PUBCOMP; msg already released */
} bk_out_state;

struct bk_share;

typedef struct bk_out {
    struct bk_out *next;
    bk_msg *msg;
    struct bk_share *share; /* came through this shared subscription (while a member), else NULL */
    uint32_t *sub_ids;      /* the Subscription Identifiers it carries (v5), NULL for none */
    uint16_t nsub_ids;
    uint16_t packet_id;
    uint8_t qos;
    uint8_t state;
    bool retain;
} bk_out;

typedef struct bk_filter {
    uint8_t *data;
    uint16_t len;
} bk_filter;

struct bk_conn;

/* What only some sessions need, allocated on first use so that an idle
 * clean session stays small: outgoing QoS 1/2 messages, incoming QoS 2 ids,
 * a will waiting out its delay, and the expiry timer. */
typedef struct bk_session_ext {
    void *broker; /* the owner, for the timer */
    /* Outgoing: sent entries come first, then queued ones from `cursor` on. */
    bk_out *head, *tail, *cursor;
    uint32_t inflight, queued;
    uint16_t *qos2_in;
    uint16_t nqos2_in, qos2_cap;
    bk_msg *will;
    char *will_conn;
    uint32_t will_delay;
    uint64_t will_at, expire_at; /* 0 = none */
    fl_timer timer;
    struct bk_alias *alias; /* the connection's topic aliases (v5), NULL when none in use */
} bk_session_ext;

typedef struct bk_session {
    struct bk_session *hnext;
    struct bk_conn *conn; /* NULL while offline */
    bk_session_ext *x;    /* NULL until needed */
    bk_filter *subs;
    uint32_t nsubs, subs_cap;
    uint32_t expiry; /* s after the connection ends; BK_EXPIRY_NEVER */
    /* Deduplicates overlapping subscriptions within one publish. */
    uint32_t match_gen;
    uint16_t next_packet_id;
    uint32_t match_idx; /* its entry in the broker's list of matches for that publish */
    char id[];
} bk_session;

typedef struct bk_sessions {
    bk_session **buckets;
    size_t nbuckets, count;
} bk_sessions;

void bk_sessions_init(bk_sessions *t);
/* Frees the table only; the caller frees the sessions (bk_session_free). */
void bk_sessions_free(bk_sessions *t);
bk_session *bk_sessions_find(const bk_sessions *t, const char *id, size_t len);
/* Creates and inserts an empty session for id; NULL out of memory. */
bk_session *bk_sessions_add(bk_sessions *t, const char *id, size_t len);
void bk_sessions_remove(bk_sessions *t, bk_session *s);
/* Calls fn for every session; fn may remove the one it is given. */
void bk_sessions_each(bk_sessions *t, void (*fn)(bk_session *s, void *ctx), void *ctx);

/* Releases everything the session holds (not its subscriptions in the tree;
 * the caller cancels the timer). */
void bk_session_free(bk_session *s);
/* The session's extension, allocated on first use (NULL: out of memory). */
bk_session_ext *bk_session_ext_get(bk_session *s, void *broker, fl_timer_fn timer_fn);
static inline uint32_t bk_session_inflight(const bk_session *s) { return s->x ? s->x->inflight : 0; }
static inline uint32_t bk_session_queued(const bk_session *s) { return s->x ? s->x->queued : 0; }

/* Outgoing messages (enqueue needs s->x). */
bk_out *bk_session_enqueue(bk_session *s, bk_msg *msg, uint8_t qos, bool retain, const uint32_t *sub_ids,
                           uint16_t nsub_ids, struct bk_share *share);
bk_out *bk_session_find_sent(bk_session *s, uint16_t packet_id);
void bk_session_drop(bk_session *s, bk_out *o);
/* The next unused packet id (never 0, not in flight). */
uint16_t bk_session_next_id(bk_session *s);
/* Drops every queued and in-flight message (a clean session). */
void bk_session_clear_messages(bk_session *s);

/* Incoming QoS 2 packet ids awaiting PUBREL. */
bool bk_session_qos2_has(const bk_session *s, uint16_t id);
int bk_session_qos2_add(bk_session *s, uint16_t id); /* needs s->x */
bool bk_session_qos2_remove(bk_session *s, uint16_t id);

/* The session's own list of filters (to undo them when it ends). */
int bk_session_filter_add(bk_session *s, mqtt_bytes filter);
bool bk_session_filter_remove(bk_session *s, mqtt_bytes filter);

#endif
