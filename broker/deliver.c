/* Outgoing traffic: encoding into the shared buffer, routing a publish to the
 * matching sessions, QoS 1/2 in-flight windows, retained messages and wills. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

static bool send_publish(bk_conn *c, const bk_msg *m, uint8_t qos, bool retain, uint16_t id, bool dup)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    bk_msg_to_publish(m, qos, retain, id, dup, &p.u.publish);
    if (c->version != MQTT_V5)
        memset(&p.u.publish.props, 0, sizeof p.u.publish.props);
    return bk_send(c, &p);
}

void bk_pump(bk_broker *b, bk_session *s)
{
    (void)b;
    bk_conn *c = s->conn;
    bk_session_ext *x = s->x;
    if (!c || !c->connected || !x)
        return;
    while (x->cursor && x->inflight < c->peer_receive_max) {
        bk_out *o = x->cursor;
        x->cursor = o->next;
        x->queued--;
        x->inflight++;
        o->packet_id = bk_session_next_id(s);
        o->state = BK_OUT_WAIT_ACK;
        if (!send_publish(c, o->msg, o->qos, o->retain, o->packet_id, false))
            bk_session_drop(s, o); /* too large for this client: discarded, as for QoS 0 */
    }
}

void bk_resend_inflight(bk_broker *b, bk_session *s)
{
    bk_conn *c = s->conn;
    if (!s->x)
        return;
    for (bk_out *o = s->x->head, *next; o && o != s->x->cursor; o = next) {
        next = o->next;
        if (o->state == BK_OUT_WAIT_ACK) {
            if (!send_publish(c, o->msg, o->qos, o->retain, o->packet_id, true))
                bk_session_drop(s, o);
        } else if (o->state == BK_OUT_WAIT_COMP) {
            mqtt_packet p = { .type = MQTT_PUBREL };
            p.u.ack.packet_id = o->packet_id;
            bk_send(c, &p);
        }
    }
    bk_pump(b, s);
}

void bk_deliver(bk_broker *b, bk_session *s, bk_msg *msg, uint8_t qos, bool retain)
{
    if (qos == 0) {
        if (s->conn && s->conn->connected)
            send_publish(s->conn, msg, 0, retain, 0, false);
        return;
    }
    if (bk_session_queued(s) >= b->cfg.max_queued || !bk_session_x(b, s)) {
        b->dropped++;
        return;
    }
    if (!bk_session_enqueue(s, msg, qos, retain)) {
        b->dropped++;
        return;
    }
    bk_pump(b, s);
}

static void on_match(void *owner, uint8_t opts, void *ctx)
{
    bk_broker *b = ctx;
    bk_session *s = owner;
    if (s->match_gen == b->match_gen) {
        /* Overlapping filters: one copy at the highest QoS (MQTT-3.3.4-2 allows this). */
        uint8_t q = BK_OPT_QOS(s->match_opts) > BK_OPT_QOS(opts) ? BK_OPT_QOS(s->match_opts) : BK_OPT_QOS(opts);
        uint8_t nl = (s->match_opts & opts) & BK_OPT_NO_LOCAL;
        uint8_t rap = (s->match_opts | opts) & BK_OPT_RAP;
        s->match_opts = (uint8_t)(q | nl | rap);
        return;
    }
    if (b->nmatched == b->matched_cap) {
        size_t cap = b->matched_cap ? b->matched_cap * 2 : 16;
        bk_session **m = realloc(b->matched, cap * sizeof *m);
        if (!m)
            return;
        b->matched = m;
        b->matched_cap = cap;
    }
    s->match_gen = b->match_gen;
    s->match_opts = opts;
    b->matched[b->nmatched++] = s;
}

void bk_route(bk_broker *b, bk_msg *msg, const bk_session *publisher)
{
    if (++b->match_gen == 0)
        b->match_gen = 1;
    b->nmatched = 0;
    bk_tree_match(b->subs, msg->topic, on_match, b);
    for (size_t i = 0; i < b->nmatched; i++) {
        bk_session *s = b->matched[i];
        uint8_t opts = s->match_opts;
        if ((opts & BK_OPT_NO_LOCAL) && s == publisher)
            continue;
        uint8_t qos = msg->qos < BK_OPT_QOS(opts) ? msg->qos : BK_OPT_QOS(opts);
        bk_deliver(b, s, msg, qos, (opts & BK_OPT_RAP) ? msg->retain : false);
    }
    b->nmatched = 0;
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
    bk_emit(b, json_pack("{s:s, s:s, s:s%, s:s, s:I}", "ev", "will", "client_id", client_id, "topic",
                         (const char *)will->topic.data, will->topic.len, "conn", conn ? conn : "?", "delay",
                         (json_int_t)delay));
    if (will->retain)
        bk_retain(b, will);
    bk_route(b, will, NULL);
}
