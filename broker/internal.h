/* What broker.c, protocol.c and deliver.c share; not an interface for others. */
#ifndef FLATLINE_BROKER_INTERNAL_H
#define FLATLINE_BROKER_INTERNAL_H

#include "alias.h"
#include "broker.h"
#include "shared_sub.h"
#include "topic_tree.h"

/* One session a publish matched: its merged options and the Subscription
 * Identifiers of every subscription that matched (a list in bk_broker.ids). */
typedef struct bk_match {
    bk_session *s;
    uint32_t ids_head; /* index into ids, UINT32_MAX = none */
    uint16_t nids;
    uint8_t opts;
} bk_match;

typedef struct bk_match_id {
    uint32_t id, next;
} bk_match_id;

struct bk_broker {
    bk_config cfg; /* listen and events are not kept */
    fl_timer_heap *timers;
    const fl_clock *clock;
    fl_evlog *log;
    bk_transport tx;
    bk_sessions sessions;
    bk_tree *subs, *retained;
    size_t nretained, dropped;
    bk_conn *conns;
    size_t nconns;
    uint8_t *scratch; /* one encode buffer for every outgoing packet */
    size_t scratch_cap;
    uint32_t match_gen;
    bk_match *matched;
    size_t nmatched, matched_cap;
    bk_match_id *ids;
    size_t nids, ids_cap;
    bk_share **share_hits; /* the shared groups a publish matched */
    size_t nshare_hits, share_hits_cap;
    uint32_t *idbuf; /* one delivery's identifiers, and their encoded run */
    uint8_t *idrun;
    size_t idbuf_cap, idrun_cap;
    bk_share *shares;
    size_t expired; /* copies deleted unsent because their Message Expiry Interval passed */
    uint64_t next_auto_id;
};

/* Subscription options in the tree's opaque byte. */
#define BK_OPT_QOS(o) ((uint8_t)((o) & 3u))
#define BK_OPT_NO_LOCAL 0x04u
#define BK_OPT_RAP 0x08u
#define BK_OPT_RH(o) ((uint8_t)(((o) >> 4) & 3u))
#define BK_OPT_SHARED 0x40u /* the owner is a bk_share, not a session */

/* conn_close flags */
enum {
    BK_CLOSE_WILL = 1,     /* an abnormal end: publish (or schedule) the will */
    BK_CLOSE_HANDOVER = 2, /* the session passes to a new connection (takeover) */
};

/* The v5 reason for an administrative close (idle limit): MQTT 5.0 table 2-6. */
#define BK_RC_ADMINISTRATIVE_ACTION 0x98

static inline uint64_t bk_now(const bk_broker *b) { return fl_clock_now(b->clock); }

/* broker.c */
void bk_conn_free(bk_conn *c);
void bk_conn_close(bk_conn *c, const char *reason, int err, uint64_t deadline, json_t *extra, unsigned flags);
void bk_conn_arm_timer(bk_conn *c);
bk_session *bk_session_create(bk_broker *b, const char *id, size_t len);
/* The session's extension with its timer wired to the broker; NULL out of memory. */
bk_session_ext *bk_session_x(bk_broker *b, bk_session *s);
/* A new connection arrived before the will delay ran out: no will (MQTT-3.1.3-9). */
void bk_session_drop_pending_will(bk_session *s);
void bk_session_end(bk_broker *b, bk_session *s);
void bk_session_arm_timer(bk_broker *b, bk_session *s);
void bk_emit(bk_broker *b, json_t *ev);

/* deliver.c */
bool bk_send(bk_conn *c, const mqtt_packet *p);
void bk_send_disconnect(bk_conn *c, uint8_t reason);
void bk_route(bk_broker *b, bk_msg *msg, const bk_session *publisher);
/* One copy of msg for s, carrying nids Subscription Identifiers; share: the
 * shared group it came through (NULL for none). */
void bk_deliver(bk_broker *b, bk_session *s, bk_msg *msg, uint8_t qos, bool retain, const uint32_t *ids,
                uint16_t nids, bk_share *share);
void bk_pump(bk_broker *b, bk_session *s);
void bk_resend_inflight(bk_broker *b, bk_session *s);
/* Stores (or, with an empty payload, deletes) msg as retained for its topic. */
void bk_retain(bk_broker *b, bk_msg *msg);
void bk_publish_will(bk_broker *b, const char *client_id, bk_msg *will, const char *conn, uint32_t delay);

/* subscribe.c */
void bk_handle_subscribe(bk_conn *c, const mqtt_subscribe *sub);
void bk_handle_unsubscribe(bk_conn *c, const mqtt_subscribe *uns);
/* Undoes one of s's filters (plain or $share) in the broker's trees. */
void bk_unsubscribe_filter(bk_broker *b, bk_session *s, mqtt_bytes filter, bool session_ends);

/* protocol.c */
void bk_handle_packet(bk_conn *c, const mqtt_packet *p);
void bk_protocol_error(bk_conn *c, const mqtt_error *e);
void bk_violation(bk_conn *c, uint8_t reason, const char *what);

#endif
