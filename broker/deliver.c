/* Outgoing traffic: encoding into the shared buffer, routing a publish to the
 * matching sessions, QoS 1/2 in-flight windows, retained messages and wills. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "core/wake.h"

bool bk_send(bk_conn *c, const mqtt_packet *p)
{
    bk_broker *b = c->b;
    if (c->closed || c->write_failed)
        return false;
    mqtt_version v = c->version ? (mqtt_version)c->version : MQTT_V311;
    mqtt_error err;
    size_t n = mqtt_encode(p, v, b->scratch, b->scratch_cap, &err);
    if (n > b->scratch_cap) {
        size_t cap = b->scratch_cap ? b->scratch_cap : 256;
        while (cap < n)
            cap *= 2;
        uint8_t *buf = realloc(b->scratch, cap);
        if (!buf)
            return false;
        b->scratch = buf;
        b->scratch_cap = cap;
        n = mqtt_encode(p, v, b->scratch, b->scratch_cap, &err);
    }
    if (n == 0 || n > b->scratch_cap)
        return false;
    /* The client's Maximum Packet Size (v5): such a message is not sent to it at all (MQTT-3.1.2-25). */
    if (c->peer_max_packet && n > c->peer_max_packet)
        return false;
    c->bytes_out += n;
    b->tx.write(c, b->scratch, n, b->tx.ctx);
    return true;
}

void bk_send_disconnect(bk_conn *c, uint8_t reason)
{
    if (c->version != MQTT_V5 || !c->connected)
        return;
    mqtt_packet p = { .type = MQTT_DISCONNECT };
    p.u.disconnect.reason = reason;
    bk_send(c, &p);
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* One PUBLISH to c: Message Expiry counted down, the Subscription
 * Identifiers, and a topic alias when the client takes them. */
static bool send_publish(bk_conn *c, const bk_msg *m, uint8_t qos, bool retain, uint16_t id, bool dup,
                         const uint32_t *ids, uint16_t nids)
{
    bk_broker *b = c->b;
    mqtt_packet p = { .type = MQTT_PUBLISH };
    bk_msg_to_publish(m, qos, retain, id, dup, bk_now(b), &p.u.publish);
    if (c->version != MQTT_V5) {
        memset(&p.u.publish.props, 0, sizeof p.u.publish.props);
        return bk_send(c, &p);
    }
    mqtt_props *pp = &p.u.publish.props;
    if (nids) {
        if (!grow((void **)&b->idrun, &b->idrun_cap, (size_t)nids * 5, 1))
            return false;
        size_t len = 0;
        for (uint16_t i = 0; i < nids; i++)
            mqtt_sub_id_put(b->idrun, &len, ids[i]);
        pp->present |= MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID);
        pp->subscription_id = ids[0];
        pp->sub_ids = (mqtt_bytes){ b->idrun, len };
        pp->sub_id_count = nids;
    }
    bk_alias *al = c->s && c->s->x ? c->s->x->alias : NULL;
    uint16_t alias = 0;
    bool known = false;
    if (al && al->out_max) {
        alias = bk_alias_out_pick(al, m->topic, &known);
        if (alias) {
            pp->present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
            pp->topic_alias = alias;
            if (known)
                p.u.publish.topic = (mqtt_bytes){ (const uint8_t *)"", 0 };
        }
    }
    if (!bk_send(c, &p))
        return false;
    if (alias && !known)
        bk_alias_out_commit(al, alias, m->topic);
    return true;
}

static bool send_out(bk_conn *c, const bk_out *o, bool dup)
{
    return send_publish(c, o->msg, o->qos, o->retain, o->packet_id, dup, o->sub_ids, o->nsub_ids);
}

void bk_pump(bk_broker *b, bk_session *s)
{
    bk_conn *c = s->conn;
    bk_session_ext *x = s->x;
    if (!c || !c->connected || !x)
        return;
    uint64_t now = bk_now(b);
    while (x->cursor && x->inflight < c->peer_receive_max) {
        bk_out *o = x->cursor;
        if (bk_msg_expired(o->msg, now)) {
            /* MQTT-3.3.2-5: expired before its onward delivery started. */
            b->expired++;
            bk_session_drop(s, o);
            continue;
        }
        x->cursor = o->next;
        x->queued--;
        x->inflight++;
        o->packet_id = bk_session_next_id(s);
        o->state = BK_OUT_WAIT_ACK;
        if (!send_out(c, o, false))
            bk_session_drop(s, o); /* too large for this client: discarded, as for QoS 0 */
    }
}

void bk_resend_inflight(bk_broker *b, bk_session *s)
{
    bk_conn *c = s->conn;
    if (!s->x)
        return;
    /* Messages whose delivery started are resent even if their expiry has
     * passed since (MQTT-3.3.2-5 deletes only those not yet on their way),
     * with what is left of the interval: 0. */
    for (bk_out *o = s->x->head, *next; o && o != s->x->cursor; o = next) {
        next = o->next;
        if (o->state == BK_OUT_WAIT_ACK) {
            if (!send_out(c, o, true))
                bk_session_drop(s, o);
        } else if (o->state == BK_OUT_WAIT_COMP) {
            mqtt_packet p = { .type = MQTT_PUBREL };
            p.u.ack.packet_id = o->packet_id;
            bk_send(c, &p);
        }
    }
    bk_pump(b, s);
}

void bk_deliver(bk_broker *b, bk_session *s, bk_msg *msg, uint8_t qos, bool retain, const uint32_t *ids,
                uint16_t nids, bk_share *share)
{
    if (bk_msg_expired(msg, bk_now(b))) {
        b->expired++;
        return;
    }
    if (qos == 0) {
        if (s->conn && s->conn->connected)
            send_publish(s->conn, msg, 0, retain, 0, false, ids, nids);
        return;
    }
    if (bk_session_queued(s) >= b->cfg.max_queued || !bk_session_x(b, s)) {
        b->dropped++;
        return;
    }
    if (!bk_session_enqueue(s, msg, qos, retain, ids, nids, share)) {
        b->dropped++;
        return;
    }
    bk_pump(b, s);
}

static void on_match(void *owner, uint8_t opts, uint32_t sub_id, void *ctx)
{
    bk_broker *b = ctx;
    if (opts & BK_OPT_SHARED) {
        if (grow((void **)&b->share_hits, &b->share_hits_cap, b->nshare_hits + 1, sizeof *b->share_hits))
            b->share_hits[b->nshare_hits++] = owner;
        return;
    }
    bk_session *s = owner;
    bk_match *m;
    if (s->match_gen == b->match_gen) {
        /* Overlapping filters: one copy at the highest QoS (MQTT-3.3.4-2 allows
         * this), carrying every matching Subscription Identifier (MQTT-3.3.4-3). */
        m = &b->matched[s->match_idx];
        uint8_t q = BK_OPT_QOS(m->opts) > BK_OPT_QOS(opts) ? BK_OPT_QOS(m->opts) : BK_OPT_QOS(opts);
        uint8_t nl = (m->opts & opts) & BK_OPT_NO_LOCAL;
        uint8_t rap = (m->opts | opts) & BK_OPT_RAP;
        m->opts = (uint8_t)(q | nl | rap);
    } else {
        if (!grow((void **)&b->matched, &b->matched_cap, b->nmatched + 1, sizeof *b->matched))
            return;
        s->match_gen = b->match_gen;
        s->match_idx = (uint32_t)b->nmatched;
        m = &b->matched[b->nmatched++];
        *m = (bk_match){ s, UINT32_MAX, 0, opts };
    }
    if (sub_id && m->nids < UINT16_MAX &&
        grow((void **)&b->ids, &b->ids_cap, b->nids + 1, sizeof *b->ids)) {
        b->ids[b->nids] = (bk_match_id){ sub_id, m->ids_head };
        m->ids_head = (uint32_t)b->nids++;
        m->nids++;
    }
}

void bk_route(bk_broker *b, bk_msg *msg, const bk_session *publisher)
{
    if (++b->match_gen == 0)
        b->match_gen = 1;
    b->nmatched = b->nids = b->nshare_hits = 0;
    bk_tree_match(b->subs, msg->topic, on_match, b);
    for (size_t i = 0; i < b->nmatched; i++) {
        bk_match *m = &b->matched[i];
        uint8_t opts = m->opts;
        if ((opts & BK_OPT_NO_LOCAL) && m->s == publisher)
            continue;
        uint16_t n = 0;
        if (m->nids && grow((void **)&b->idbuf, &b->idbuf_cap, m->nids, sizeof *b->idbuf)) {
            /* Ascending, so that the order on the wire does not depend on the tree. */
            for (uint32_t k = m->ids_head; k != UINT32_MAX; k = b->ids[k].next) {
                uint16_t j = n++;
                while (j > 0 && b->idbuf[j - 1] > b->ids[k].id) {
                    b->idbuf[j] = b->idbuf[j - 1];
                    j--;
                }
                b->idbuf[j] = b->ids[k].id;
            }
        }
        uint8_t qos = msg->qos < BK_OPT_QOS(opts) ? msg->qos : BK_OPT_QOS(opts);
        bk_deliver(b, m->s, msg, qos, (opts & BK_OPT_RAP) ? msg->retain : false, b->idbuf, n, NULL);
    }
    /* Shared groups after the plain subscribers; a delivery may re-enter
     * bk_route only through a will, which no delivery publishes. */
    size_t nshared = b->nshare_hits;
    for (size_t i = 0; i < nshared; i++)
        bk_share_route(b, b->share_hits[i], msg);
    b->nmatched = b->nids = b->nshare_hits = 0;
}

void bk_retain(bk_broker *b, bk_msg *msg)
{
    void *old = NULL;
    if (msg->payload.len == 0) {
        bk_tree_retain(b->retained, msg->topic, NULL, &old);
    } else if (bk_tree_retain(b->retained, msg->topic, msg, &old) == 0) {
        bk_msg_ref(msg);
        if (!old)
            b->nretained++;
    }
    if (old) {
        if (msg->payload.len == 0)
            b->nretained--;
        bk_msg_unref(old);
    }
}

void bk_publish_will(bk_broker *b, const char *client_id, bk_msg *will, const char *conn, uint32_t delay)
{
    /* The will's Message Expiry Interval counts from its publication. */
    bk_msg_start_expiry(will, bk_now(b));
    json_t *ev = json_pack("{s:s, s:s, s:s%, s:s, s:I}", "ev", "will", "client_id", client_id, "topic",
                           (const char *)will->topic.data, will->topic.len, "conn", conn ? conn : "?", "delay",
                           (json_int_t)delay);
    fl_wake_annotate(b->timers->wake, ev); /* a delayed will is its own timer's pass */
    bk_emit(b, ev);
    if (will->retain)
        bk_retain(b, will);
    bk_route(b, will, NULL);
}
