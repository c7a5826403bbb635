/* The per-connection input path: bytes -> codec -> one handler a packet type.
 * Runs without sockets (tests and the fuzz target drive it directly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "core/reason.h"

/* CONNACK 0x8C, Bad authentication method (the codec has no name for it). */
enum { BK_RC_BAD_AUTH_METHOD = 0x8C };

void bk_violation(bk_conn *c, uint8_t reason, const char *what)
{
    bk_send_disconnect(c, reason);
    bk_conn_close(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0, 0, json_pack("{s:s, s:i}", "what", what, "reason_code", reason),
                  BK_CLOSE_WILL);
}

/* The protocol level of the CONNECT at the start of buf (framed or not), 0 if
 * it is not a CONNECT or the bytes do not reach the level. */
static uint8_t connect_level(const uint8_t *buf, size_t len)
{
    if (len < 2 || (buf[0] >> 4) != MQTT_CONNECT)
        return 0;
    size_t i = 1;
    while (i < len && i < 5 && (buf[i] & 0x80))
        i++;
    i++; /* past the remaining length */
    /* protocol name "MQTT" (00 04 M Q T T), then the level */
    if (len < i + 7 || buf[i] != 0 || buf[i + 1] != 4 || memcmp(buf + i + 2, "MQTT", 4) != 0)
        return 0;
    return buf[i + 6];
}

static void protocol_error_at(bk_conn *c, const mqtt_error *e, const uint8_t *packet, size_t len)
{
    if (!c->connected && (e->code == MQTT_E_PROTOCOL_LEVEL || e->code == MQTT_E_PROTOCOL_NAME)) {
        /* An unknown protocol level gets the 3.1.1 refusal (MQTT-3.1.2-2).
         * So does another protocol name (MQTT-3.1.2-1 lets the Server either
         * disconnect or go on by that protocol's rules): an MQTT 3.1 client
         * ("MQIsdp") is told 0x01, unacceptable protocol version, in its own
         * words, rather than seeing the connection drop. */
        static const uint8_t refuse[] = { 0x20, 0x02, 0x00, MQTT_V3_REFUSED_PROTOCOL };
        c->bytes_out += sizeof refuse;
        c->b->tx.write(c, refuse, sizeof refuse, c->b->tx.ctx);
    } else if (!c->connected && e->code == MQTT_E_CLIENT_ID) {
        /* 3.1.1, empty ClientId with CleanSession 0: CONNACK 0x02, then the
         * close (MQTT-3.1.3-8). */
        static const uint8_t refuse[] = { 0x20, 0x02, 0x00, MQTT_V3_REFUSED_IDENTIFIER };
        c->bytes_out += sizeof refuse;
        c->b->tx.write(c, refuse, sizeof refuse, c->b->tx.ctx);
    } else if (!c->connected && connect_level(packet, len) == MQTT_V5) {
        /* A v5 CONNECT the codec rejects: CONNACK with the reason code
         * (0x81 malformed, 0x82 protocol error, 0x95 too large), then the
         * close (MQTT-3.1.4-1, -2; MQTT 5.0 section 4.13.1). */
        uint8_t rc = e->reason ? e->reason : MQTT_RC_MALFORMED;
        const uint8_t connack[] = { 0x20, 0x03, 0x00, rc, 0x00 };
        c->bytes_out += sizeof connack;
        c->b->tx.write(c, connack, sizeof connack, c->b->tx.ctx);
    }
    bk_send_disconnect(c, e->reason ? e->reason : MQTT_RC_MALFORMED);
    bk_conn_close(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0, 0,
                  json_pack("{s:s, s:I, s:s}", "error", mqtt_err_name(e->code), "offset", (json_int_t)e->offset,
                            "what", e->what ? e->what : "?"),
                  BK_CLOSE_WILL);
}

void bk_protocol_error(bk_conn *c, const mqtt_error *e) { protocol_error_at(c, e, NULL, 0); }

static int keep_partial(bk_conn *c, const uint8_t *data, size_t len)
{
    size_t need = (size_t)c->partial_len + len;
    if (need > UINT32_MAX)
        return -1;
    if (need > c->partial_cap) {
        size_t cap = c->partial_cap ? c->partial_cap : 64;
        while (cap < need)
            cap *= 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        uint8_t *p = realloc(c->partial, cap);
        if (!p)
            return -1;
        c->partial = p;
        c->partial_cap = (uint32_t)cap;
    }
    memcpy(c->partial + c->partial_len, data, len);
    c->partial_len = (uint32_t)need;
    return 0;
}

/* The codec frames and decodes straight from the read buffer; a connection
 * keeps bytes only while a packet is unfinished (no per-connection stream). */
int bk_conn_input(bk_conn *c, const uint8_t *data, size_t len) { return bk_conn_input_at(c, data, len, 0); }

int bk_conn_input_at(bk_conn *c, const uint8_t *data, size_t len, uint64_t arrived)
{
    if (c->closed)
        return -1;
    c->busy++;
    c->bytes_in += len;
    uint64_t read_at = bk_now(c->b);
    /* The arrival, kept between the last packet's and now (a timestamp from
     * a clock that stepped cannot move a deadline backwards or into the
     * future). The CONNECT may have arrived before the accept: in a connect
     * storm it waits in the socket while the backlog is worked through, and
     * its keep-alive counts from then all the same. */
    uint64_t now = arrived && arrived < read_at ? arrived : read_at;
    if (c->connected && now < c->last_rx)
        now = c->last_rx;
    uint64_t lag = read_at - now;
    const uint8_t *buf = data;
    size_t n = len, pos = 0;
    bool received = false;
    if (c->partial_len) {
        if (keep_partial(c, data, len) < 0) {
            bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "out of memory for a partial packet");
            goto out;
        }
        buf = c->partial;
        n = c->partial_len;
    }
    while (!c->closed) {
        size_t plen;
        mqtt_error e;
        mqtt_packet p;
        mqtt_result r = mqtt_frame(buf + pos, n - pos, c->b->cfg.max_packet_size, &plen, &e);
        if (r == MQTT_NEED_MORE)
            break;
        if (r == MQTT_PACKET)
            r = mqtt_decode(buf + pos, plen, c->version ? (mqtt_version)c->version : MQTT_V311, &p, &e);
        if (r != MQTT_PACKET) {
            protocol_error_at(c, &e, buf + pos, n - pos);
            break;
        }
        pos += plen;
        /* MQTT-3.1.2-24: the deadline counts from the last packet received. */
        c->last_rx = now;
        c->rx_lag = lag > UINT32_MAX ? UINT32_MAX : (uint32_t)lag;
        if (bk_ka_counts_as_activity(p.type))
            c->last_app_rx = now;
        received = true;
        bk_handle_packet(c, &p);
    }
    if (!c->closed) {
        size_t rest = n - pos;
        if (buf == c->partial) {
            if (rest)
                memmove(c->partial, c->partial + pos, rest);
            c->partial_len = (uint32_t)rest;
            if (!rest) {
                free(c->partial);
                c->partial = NULL;
                c->partial_cap = 0;
            }
        } else if (rest && keep_partial(c, buf + pos, rest) < 0) {
            bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "out of memory for a partial packet");
        }
    }
    if (received && !c->closed)
        bk_conn_arm_timer(c);
out:
    c->busy--;
    if (c->closed) {
        if (!c->busy)
            bk_conn_free(c);
        return -1;
    }
    return 0;
}

/* ---- CONNECT ---- */

static void send_connack(bk_conn *c, bool session_present, uint8_t code, const mqtt_props *props)
{
    mqtt_packet p = { .type = MQTT_CONNACK };
    p.u.connack.session_present = session_present;
    p.u.connack.code = code;
    if (props)
        p.u.connack.props = *props;
    bk_send(c, &p);
}

/* A refusal: CONNACK with the code, then close (no will: never connected). */
static void refuse(bk_conn *c, uint8_t v3_code, uint8_t v5_code, const char *reason, json_t *extra)
{
    send_connack(c, false, c->version == MQTT_V5 ? v5_code : v3_code, NULL);
    bk_conn_close(c, reason, 0, 0, extra, 0);
}

static void handle_connect(bk_conn *c, const mqtt_connect *cn)
{
    bk_broker *b = c->b;
    const bk_config *cfg = &b->cfg;
    c->version = (uint8_t)cn->version;
    bk_ka_grant grant = bk_ka_decide(&cfg->ka, cn->version, cn->keep_alive);
    if (grant.refuse) {
        refuse(c, MQTT_V3_REFUSED_IDENTIFIER, MQTT_RC_IMPLEMENTATION_SPECIFIC, fl_reason_name(FL_REASON_PROTOCOL_ERROR),
               json_pack("{s:s, s:i}", "what", "keepalive over max_keepalive", "keepalive_asked", cn->keep_alive));
        return;
    }
    if (cn->version == MQTT_V5 && mqtt_prop_has(&cn->props, MQTT_PROP_AUTH_METHOD)) {
        /* No enhanced authentication here: an Authentication Method gets
         * CONNACK 0x8C and the close (MQTT-4.12.0-1; mosquitto 2.0.11 answers
         * the same without an auth plugin, measured). */
        refuse(c, MQTT_V3_REFUSED_NOT_AUTHORIZED, BK_RC_BAD_AUTH_METHOD, fl_reason_name(FL_REASON_PROTOCOL_ERROR),
               json_pack("{s:s}", "what", "CONNECT: authentication method not supported (MQTT-4.12.0-1)"));
        return;
    }
    if (cn->has_will && cfg->max_topic_length && cn->will_topic.len > cfg->max_topic_length) {
        refuse(c, MQTT_V3_REFUSED_IDENTIFIER, MQTT_RC_TOPIC_NAME_INVALID, fl_reason_name(FL_REASON_PROTOCOL_ERROR),
               json_pack("{s:s}", "what", "will topic longer than max_topic_length"));
        return;
    }

    char idbuf[32];
    const char *id = (const char *)cn->client_id.data;
    size_t idlen = cn->client_id.len;
    bool assigned = idlen == 0;
    if (assigned) {
        idlen = (size_t)snprintf(idbuf, sizeof idbuf, "flatline-%llu", (unsigned long long)++b->next_auto_id);
        id = idbuf;
    }

    bk_session *s = bk_sessions_find(&b->sessions, id, idlen);
    if (s && s->conn) {
        if (cfg->duplicate_reject) {
            /* The ghost keeps the id; the newcomer is turned away (what a
             * half-open old connection does to a reconnecting device). */
            refuse(c, MQTT_V3_REFUSED_IDENTIFIER, MQTT_RC_CLIENT_ID_NOT_VALID, fl_reason_name(FL_REASON_REJECTED_DUPLICATE),
                   json_pack("{s:s%}", "client_id", id, idlen));
            return;
        }
        bk_conn *old = s->conn;
        bk_send_disconnect(old, MQTT_RC_SESSION_TAKEN_OVER);
        char name[64];
        /* A session that was to end with its connection (3.1.1 CleanSession 1,
         * v5 Session Expiry 0) ends now, with the old connection: there is
         * none to resume (MQTT-3.1.2-6, MQTT-3.2.2-2), so Session Present is
         * 0 and its will goes as the session ends. A durable session passes
         * to the newcomer; the old will goes at once when its Will Delay is 0,
         * and is cancelled otherwise, the new connection having come before
         * the delay ran out (MQTT-3.1.3-9; MQTT 5.0 section 3.1.4). */
        bool ends = s->expiry == 0;
        bk_conn_close(old, fl_reason_name(FL_REASON_TAKEOVER), 0, 0, json_pack("{s:s}", "by", bk_conn_name(c, name, sizeof name)),
                      BK_CLOSE_WILL | (ends ? 0 : BK_CLOSE_HANDOVER));
        if (ends)
            s = NULL;
    }
    bool session_present = false;
    if (s && cn->clean_session) {
        bk_session_end(b, s);
        s = NULL;
    }
    if (s) {
        session_present = true;
        /* A new connection before the will delay ran out: no will (MQTT-3.1.3-9). */
        bk_session_drop_pending_will(s);
        if (s->x)
            s->x->expire_at = 0;
    } else if (!(s = bk_session_create(b, id, idlen))) {
        refuse(c, MQTT_V3_REFUSED_UNAVAILABLE, MQTT_RC_SERVER_UNAVAILABLE, fl_reason_name(FL_REASON_PROTOCOL_ERROR),
               json_pack("{s:s}", "what", "out of memory"));
        return;
    }
    if (cn->version == MQTT_V5)
        s->expiry = mqtt_prop_has(&cn->props, MQTT_PROP_SESSION_EXPIRY) ? cn->props.session_expiry : 0;
    else
        s->expiry = cn->clean_session ? 0 : BK_EXPIRY_NEVER;
    s->conn = c;
    c->s = s;
    bk_session_arm_timer(b, s);

    if (cn->has_will) {
        const mqtt_props *wp = cn->version == MQTT_V5 ? &cn->will_props : NULL;
        c->will = bk_msg_new(cn->will_topic, cn->will_payload, cn->will_qos, cn->will_retain, wp);
        c->will_delay = wp && mqtt_prop_has(wp, MQTT_PROP_WILL_DELAY) ? wp->will_delay : 0;
    }
    c->peer_receive_max = cfg->max_inflight;
    if (cn->version == MQTT_V5) {
        if (mqtt_prop_has(&cn->props, MQTT_PROP_RECEIVE_MAXIMUM) && cn->props.receive_maximum < c->peer_receive_max)
            c->peer_receive_max = cn->props.receive_maximum;
        if (mqtt_prop_has(&cn->props, MQTT_PROP_MAXIMUM_PACKET_SIZE))
            c->peer_max_packet = cn->props.maximum_packet_size;
        /* Server-to-client aliases: up to the client's maximum, and no more
         * than ours; the table is made now, its slots on first use. */
        uint16_t out_max = mqtt_prop_has(&cn->props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM) ? cn->props.topic_alias_maximum : 0;
        if (out_max > cfg->topic_alias_max)
            out_max = cfg->topic_alias_max;
        bk_session_ext *x = out_max ? bk_session_x(b, s) : NULL;
        if (x && !x->alias)
            x->alias = bk_alias_new(cfg->topic_alias_max, out_max);
    }
    c->keepalive = grant.granted;

    mqtt_props props = { 0 };
    if (cn->version == MQTT_V5) {
        props.present |= MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) | MQTT_PROP_BIT(MQTT_PROP_SUB_ID_AVAILABLE) |
                         MQTT_PROP_BIT(MQTT_PROP_SHARED_SUB_AVAILABLE);
        props.receive_maximum = cfg->max_inflight;
        props.sub_id_available = 1;
        props.shared_sub_available = 1;
        if (cfg->topic_alias_max) {
            props.present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM);
            props.topic_alias_maximum = cfg->topic_alias_max;
        }
        if (cfg->max_packet_size) {
            props.present |= MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE);
            props.maximum_packet_size = cfg->max_packet_size;
        }
        if (grant.send_server_ka) {
            props.present |= MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
            props.server_keep_alive = grant.granted;
        }
        if (assigned) {
            props.present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_ID);
            props.assigned_client_id = (mqtt_bytes){ (const uint8_t *)s->id, idlen };
        }
    }
    c->connected = true;
    send_connack(c, session_present, 0, &props);

    char name[64];
    bk_emit(b, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:b, s:b}", "ev", "connect", "conn",
                         bk_conn_name(c, name, sizeof name), "client_id", s->id, "version", (int)cn->version,
                         "keepalive_asked", (int)cn->keep_alive, "keepalive_granted", (int)grant.granted, "clean",
                         cn->clean_session, "will", cn->has_will, "session_present", session_present));
    if (session_present)
        bk_resend_inflight(b, s);
}

/* ---- PUBLISH and its acknowledgements ---- */

static void send_ack(bk_conn *c, mqtt_type type, uint16_t id, uint8_t reason)
{
    mqtt_packet p = { .type = type };
    p.u.ack.packet_id = id;
    p.u.ack.reason = c->version == MQTT_V5 ? reason : 0;
    bk_send(c, &p);
}

static void handle_publish(bk_conn *c, const mqtt_publish *pub)
{
    bk_broker *b = c->b;
    bk_session *s = c->s;
    if (b->cfg.max_topic_length && pub->topic.len > b->cfg.max_topic_length) {
        bk_violation(c, MQTT_RC_TOPIC_NAME_INVALID, "PUBLISH: topic longer than max_topic_length");
        return;
    }
    mqtt_bytes topic = pub->topic;
    if (c->version == MQTT_V5 && mqtt_prop_has(&pub->props, MQTT_PROP_TOPIC_ALIAS)) {
        bk_session_ext *x = b->cfg.topic_alias_max ? bk_session_x(b, s) : NULL;
        if (x && !x->alias)
            x->alias = bk_alias_new(b->cfg.topic_alias_max, 0);
        const char *what = "PUBLISH: topic alias (Topic Alias Maximum is 0)";
        uint8_t rc = x && x->alias ? bk_alias_in(x->alias, pub->props.topic_alias, &topic, &what)
                                   : MQTT_RC_TOPIC_ALIAS_INVALID;
        if (rc) {
            bk_violation(c, rc, what);
            return;
        }
    }
    if (pub->qos == 2) {
        if (bk_session_qos2_has(s, pub->packet_id)) {
            send_ack(c, MQTT_PUBREC, pub->packet_id, 0); /* a resend: delivered once already */
            return;
        }
        if (!bk_session_x(b, s)) {
            bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "PUBLISH: out of memory");
            return;
        }
        if (s->x->nqos2_in >= b->cfg.max_inflight) {
            bk_violation(c, MQTT_RC_RECEIVE_MAX_EXCEEDED, "PUBLISH: more QoS 2 in flight than Receive Maximum");
            return;
        }
        if (bk_session_qos2_add(s, pub->packet_id) < 0) {
            bk_violation(c, MQTT_RC_RECEIVE_MAX_EXCEEDED, "PUBLISH: too many QoS 2 in flight");
            return;
        }
    }
    bk_msg *m = bk_msg_new(topic, pub->payload, pub->qos, pub->retain, c->version == MQTT_V5 ? &pub->props : NULL);
    if (!m) {
        bk_violation(c, MQTT_RC_IMPLEMENTATION_SPECIFIC, "PUBLISH: out of memory");
        return;
    }
    /* The Message Expiry Interval counts from the packet's arrival. */
    bk_msg_start_expiry(m, c->last_rx);
    if (m->retain)
        bk_retain(b, m);
    bk_route(b, m, s);
    bk_msg_unref(m);
    if (pub->qos == 1)
        send_ack(c, MQTT_PUBACK, pub->packet_id, 0);
    else if (pub->qos == 2)
        send_ack(c, MQTT_PUBREC, pub->packet_id, 0);
}

static void handle_ack(bk_conn *c, mqtt_type type, const mqtt_ack *a)
{
    bk_broker *b = c->b;
    bk_session *s = c->s;
    bk_out *o;
    switch (type) {
    case MQTT_PUBACK:
        if ((o = bk_session_find_sent(s, a->packet_id)) && o->qos == 1 && o->state == BK_OUT_WAIT_ACK)
            bk_session_drop(s, o);
        break;
    case MQTT_PUBREC:
        o = bk_session_find_sent(s, a->packet_id);
        if (o && o->qos == 2 && o->state == BK_OUT_WAIT_ACK) {
            if (c->version == MQTT_V5 && a->reason >= 0x80) {
                bk_session_drop(s, o); /* the receiver refused it: the flow ends here */
                break;
            }
            o->state = BK_OUT_WAIT_COMP;
            bk_msg_unref(o->msg);
            o->msg = NULL;
            send_ack(c, MQTT_PUBREL, a->packet_id, 0);
        } else {
            send_ack(c, MQTT_PUBREL, a->packet_id, o ? 0 : MQTT_RC_PACKET_ID_NOT_FOUND);
        }
        break;
    case MQTT_PUBCOMP:
        if ((o = bk_session_find_sent(s, a->packet_id)) && o->state == BK_OUT_WAIT_COMP)
            bk_session_drop(s, o);
        break;
    case MQTT_PUBREL: {
        bool known = bk_session_qos2_remove(s, a->packet_id);
        send_ack(c, MQTT_PUBCOMP, a->packet_id, known ? 0 : MQTT_RC_PACKET_ID_NOT_FOUND);
        break;
    }
    default:
        break;
    }
    bk_pump(b, s);
}

static void handle_disconnect(bk_conn *c, const mqtt_disconnect *d)
{
    unsigned flags = 0;
    json_t *extra = NULL;
    if (c->version == MQTT_V5) {
        if (mqtt_prop_has(&d->props, MQTT_PROP_SESSION_EXPIRY)) {
            if (c->s->expiry == 0 && d->props.session_expiry != 0) {
                bk_violation(c, MQTT_RC_PROTOCOL_ERROR, "DISCONNECT: session expiry set after 0 (MQTT-3.14.2-2)");
                return;
            }
            c->s->expiry = d->props.session_expiry;
        }
        if (d->reason == MQTT_RC_DISCONNECT_WITH_WILL)
            flags |= BK_CLOSE_WILL;
        extra = json_pack("{s:i}", "reason_code", d->reason);
    }
    bk_conn_close(c, fl_reason_name(FL_REASON_CLIENT_DISCONNECT), 0, 0, extra, flags);
}

void bk_handle_packet(bk_conn *c, const mqtt_packet *p)
{
    if (!c->connected) {
        if (p->type == MQTT_CONNECT)
            handle_connect(c, &p->u.connect);
        else
            bk_violation(c, MQTT_RC_PROTOCOL_ERROR, "the first packet must be CONNECT (MQTT-3.1.0-1)");
        return;
    }
    switch (p->type) {
    case MQTT_PUBLISH:
        handle_publish(c, &p->u.publish);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        handle_ack(c, p->type, &p->u.ack);
        break;
    case MQTT_SUBSCRIBE:
        bk_handle_subscribe(c, &p->u.subscribe);
        break;
    case MQTT_UNSUBSCRIBE:
        bk_handle_unsubscribe(c, &p->u.subscribe);
        break;
    case MQTT_PINGREQ: {
        mqtt_packet r = { .type = MQTT_PINGRESP };
        bk_send(c, &r);
        break;
    }
    case MQTT_DISCONNECT:
        handle_disconnect(c, &p->u.disconnect);
        break;
    case MQTT_CONNECT:
        bk_violation(c, MQTT_RC_PROTOCOL_ERROR, "a second CONNECT (MQTT-3.1.0-2)");
        break;
    default: {
        char what[64];
        snprintf(what, sizeof what, "%s from a client", mqtt_type_name(p->type));
        bk_violation(c, MQTT_RC_PROTOCOL_ERROR, what);
        break;
    }
    }
}
