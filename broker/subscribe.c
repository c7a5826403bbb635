/* SUBSCRIBE and UNSUBSCRIBE: plain and shared ($share/...) subscriptions,
 * Subscription Identifiers, and the retained messages a subscription gets. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void bk_unsubscribe_filter(bk_broker *b, bk_session *s, mqtt_bytes filter, bool session_ends)
{
    mqtt_bytes inner;
    if (bk_share_parse(filter, &inner) == 1)
        bk_share_unsubscribe(b, filter, s, session_ends);
    else
        bk_tree_unsubscribe(b->subs, filter, s);
}

typedef struct retained_ctx {
    bk_broker *b;
    bk_session *s;
    uint8_t qos;
    uint32_t sub_id;
    bk_msg **expired; /* expired retained messages met on the way, deleted afterwards */
    size_t nexpired, cap;
} retained_ctx;

static void send_retained(void *value, void *ctx)
{
    retained_ctx *r = ctx;
    bk_msg *m = value;
    if (bk_msg_expired(m, bk_now(r->b))) {
        /* MQTT 5.0 section 3.3.2.3.3: an expired retained message is not sent; it is deleted. */
        if (r->nexpired == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 8;
            bk_msg **e = realloc(r->expired, cap * sizeof *e);
            if (!e)
                return;
            r->expired = e;
            r->cap = cap;
        }
        r->expired[r->nexpired++] = bk_msg_ref(m);
        return;
    }
    bk_deliver(r->b, r->s, m, m->qos < r->qos ? m->qos : r->qos, true, r->sub_id ? &r->sub_id : NULL,
               r->sub_id ? 1 : 0, NULL);
}

static void drop_expired_retained(bk_broker *b, retained_ctx *r)
{
    for (size_t i = 0; i < r->nexpired; i++) {
        void *old = NULL;
        bk_tree_retain(b->retained, r->expired[i]->topic, NULL, &old);
        if (old) {
            b->nretained--;
            bk_msg_unref(old);
        }
        bk_msg_unref(r->expired[i]);
    }
    free(r->expired);
}

void bk_handle_subscribe(bk_conn *c, const mqtt_subscribe *sub)
{
    bk_broker *b = c->b;
    bk_session *s = c->s;
    const bk_config *cfg = &b->cfg;
    bool v5 = c->version == MQTT_V5;
    uint32_t sub_id = v5 && mqtt_prop_has(&sub->props, MQTT_PROP_SUBSCRIPTION_ID) ? sub->props.subscription_id : 0;
    uint8_t *codes = malloc(sub->count * 2);
    if (!codes) {
        bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "SUBSCRIBE: out of memory");
        return;
    }
    uint8_t *fresh = codes + sub->count;
    size_t pos = 0, i = 0;
    mqtt_topic_entry e;
    while (i < sub->count && mqtt_topic_next(sub, true, &pos, &e)) {
        fresh[i] = 0;
        if (cfg->max_topic_length && e.filter.len > cfg->max_topic_length) {
            codes[i++] = v5 ? MQTT_RC_TOPIC_FILTER_INVALID : 0x80;
            continue;
        }
        mqtt_bytes inner;
        int shared = bk_share_parse(e.filter, &inner);
        if (shared < 0) {
            codes[i++] = v5 ? MQTT_RC_TOPIC_FILTER_INVALID : 0x80;
            continue;
        }
        if (shared && e.no_local) {
            free(codes);
            bk_violation(c, MQTT_RC_PROTOCOL_ERROR, "SUBSCRIBE: No Local on a shared subscription (MQTT-3.8.3-4)");
            return;
        }
        uint8_t opts = (uint8_t)(e.qos | (e.no_local ? BK_OPT_NO_LOCAL : 0) |
                                 (e.retain_as_published ? BK_OPT_RAP : 0) | (e.retain_handling << 4));
        /* The limit counts distinct filters; re-subscribing replaces (MQTT-3.8.4-3). */
        bool known = false;
        for (uint32_t k = 0; k < s->nsubs && !known; k++)
            known = s->subs[k].len == e.filter.len && memcmp(s->subs[k].data, e.filter.data, e.filter.len) == 0;
        if (!known && cfg->max_subscriptions && s->nsubs >= cfg->max_subscriptions) {
            codes[i++] = v5 ? MQTT_RC_QUOTA_EXCEEDED : 0x80;
            continue;
        }
        int r = shared ? bk_share_subscribe(b, e.filter, s, opts, sub_id)
                       : bk_tree_subscribe(b->subs, e.filter, s, opts, sub_id);
        if (r < 0 || (r == 1 && bk_session_filter_add(s, e.filter) < 0)) {
            if (r == 1)
                bk_unsubscribe_filter(b, s, e.filter, false);
            codes[i++] = v5 ? MQTT_RC_UNSPECIFIED : 0x80;
            continue;
        }
        fresh[i] = r == 1;
        codes[i++] = e.qos;
    }
    mqtt_packet p = { .type = MQTT_SUBACK };
    p.u.suback.packet_id = sub->packet_id;
    p.u.suback.codes = codes;
    p.u.suback.count = i;
    bk_send(c, &p);
    /* Retained messages after the SUBACK (retain handling 0: always, 1: new
     * subscriptions only), none for a shared subscription (MQTT 5.0 section 4.8.2). */
    pos = 0;
    retained_ctx r = { .b = b, .s = s, .sub_id = sub_id };
    for (size_t k = 0; k < i && mqtt_topic_next(sub, true, &pos, &e); k++) {
        mqtt_bytes inner;
        if (codes[k] >= 0x80 || e.retain_handling == 2 || (e.retain_handling == 1 && !fresh[k]) ||
            bk_share_parse(e.filter, &inner) != 0)
            continue;
        r.qos = e.qos;
        bk_tree_match_retained(b->retained, e.filter, send_retained, &r);
    }
    drop_expired_retained(b, &r);
    free(codes);
}

void bk_handle_unsubscribe(bk_conn *c, const mqtt_subscribe *uns)
{
    bk_broker *b = c->b;
    bk_session *s = c->s;
    uint8_t *codes = malloc(uns->count);
    if (!codes) {
        bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "UNSUBSCRIBE: out of memory");
        return;
    }
    size_t pos = 0, i = 0;
    mqtt_topic_entry e;
    while (i < uns->count && mqtt_topic_next(uns, false, &pos, &e)) {
        bool had = bk_session_filter_remove(s, e.filter);
        if (had)
            bk_unsubscribe_filter(b, s, e.filter, false);
        codes[i++] = had ? MQTT_RC_SUCCESS : 0x11; /* 0x11: no subscription existed */
    }
    mqtt_packet p = { .type = MQTT_UNSUBACK };
    p.u.suback.packet_id = uns->packet_id;
    p.u.suback.codes = codes;
    p.u.suback.count = c->version == MQTT_V5 ? i : 0;
    bk_send(c, &p);
    free(codes);
}
