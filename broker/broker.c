/* Broker state, connection and session lifetimes, deadlines and the events
 * that record them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "core/reason.h"
#include "core/wake.h"

bk_broker *bk_broker_new(const bk_config *cfg, fl_timer_heap *timers, const fl_clock *clock, fl_evlog *log,
                         const bk_transport *tx)
{
    bk_broker *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cfg = *cfg;
    b->cfg.listen = NULL;
    b->cfg.nlisten = 0;
    b->cfg.events = NULL;
    b->timers = timers;
    b->clock = clock;
    b->log = log;
    b->tx = *tx;
    bk_sessions_init(&b->sessions);
    b->subs = bk_tree_new();
    b->retained = bk_tree_new();
    if (!b->subs || !b->retained) {
        bk_broker_free(b);
        return NULL;
    }
    return b;
}

void bk_conn_free(bk_conn *c)
{
    free(c->partial);
    bk_msg_unref(c->will);
    free(c->out);
    free(c);
}

static void free_session(bk_session *s, void *ctx)
{
    bk_broker *b = ctx;
    if (s->x)
        fl_timer_cancel(b->timers, &s->x->timer);
    bk_session_free(s);
}

static void free_retained(void *value) { bk_msg_unref(value); }

void bk_broker_free(bk_broker *b)
{
    if (!b)
        return;
    for (bk_conn *c = b->conns, *next; c; c = next) {
        next = c->next;
        fl_timer_cancel(b->timers, &c->timer);
        b->tx.release(c, b->tx.ctx);
        bk_conn_free(c);
    }
    bk_sessions_each(&b->sessions, free_session, b);
    bk_sessions_free(&b->sessions);
    bk_shares_free(b);
    bk_tree_free(b->subs, NULL);
    bk_tree_free(b->retained, free_retained);
    free(b->scratch);
    free(b->matched);
    free(b->ids);
    free(b->share_hits);
    free(b->idbuf);
    free(b->idrun);
    free(b);
}

void bk_emit(bk_broker *b, json_t *ev) { fl_evlog_emit_at(b->log, bk_now(b), ev); }

const char *bk_conn_name(const bk_conn *c, char *buf, size_t len)
{
    if (c->peer_family == AF_INET) {
        struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = c->peer_port };
        memcpy(&in4.sin_addr, c->peer_addr, 4);
        return fl_format_addr((struct sockaddr *)&in4, buf, len);
    }
    if (c->peer_family == AF_INET6) {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = c->peer_port };
        memcpy(&in6.sin6_addr, c->peer_addr, 16);
        return fl_format_addr((struct sockaddr *)&in6, buf, len);
    }
    snprintf(buf, len, "?");
    return buf;
}

bk_stats bk_broker_stats(const bk_broker *b)
{
    return (bk_stats){ b->nconns, b->sessions.count, b->nretained, b->dropped, b->expired };
}

static uint64_t conn_ka_deadline(const bk_conn *c)
{
    return bk_ka_deadline(c->last_rx, bk_ka_period_ns(c->b->cfg.ka.grace, c->keepalive));
}

static void conn_timer_fired(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    bk_conn *c = arg;
    if (!c->connected) {
        bk_conn_close(c, fl_reason_name(FL_REASON_KEEPALIVE_TIMEOUT), 0, c->timer.deadline_ns, json_pack("{s:s}", "phase", "connect"), 0);
        return;
    }
    uint64_t deadline;
    bk_ka_due due = bk_ka_check(now, conn_ka_deadline(c),
                                bk_idle_deadline(&c->b->cfg.ka, c->last_app_rx), &deadline);
    if (due == BK_KA_NOT_DUE) {
        bk_conn_arm_timer(c);
        return;
    }
    bool ka = due == BK_KA_KEEPALIVE;
    bk_send_disconnect(c, ka ? MQTT_RC_KEEP_ALIVE_TIMEOUT : BK_RC_ADMINISTRATIVE_ACTION);
    bk_conn_close(c, fl_reason_name(ka ? FL_REASON_KEEPALIVE_TIMEOUT : FL_REASON_IDLE_TIMEOUT), 0, deadline, NULL,
                  BK_CLOSE_WILL);
}

void bk_conn_arm_timer(bk_conn *c)
{
    if (!c->connected)
        return; /* the CONNECT deadline set at accept stands */
    uint64_t d = bk_min_deadline(conn_ka_deadline(c),
                                 bk_idle_deadline(&c->b->cfg.ka, c->last_app_rx));
    if (d == BK_NEVER)
        fl_timer_cancel(c->b->timers, &c->timer);
    else
        fl_timer_set(c->b->timers, &c->timer, d);
}

bk_conn *bk_conn_new(bk_broker *b, int fd, const struct sockaddr *peer, const char *local, const void *listener)
{
    bk_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->b = b;
    c->fd = fd;
    c->listener = listener;
    if (peer && peer->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)peer;
        c->peer_family = AF_INET;
        c->peer_port = in4->sin_port;
        memcpy(c->peer_addr, &in4->sin_addr, 4);
    } else if (peer && peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
        c->peer_family = AF_INET6;
        c->peer_port = in6->sin6_port;
        memcpy(c->peer_addr, &in6->sin6_addr, 16);
    }
    uint64_t now = bk_now(b);
    c->last_rx = c->last_app_rx = now;
    fl_timer_init(&c->timer, conn_timer_fired, c);
    fl_timer_watch(&c->timer, fd);
    if (fl_timer_set(b->timers, &c->timer, now + (uint64_t)b->cfg.connect_timeout * FL_NS_PER_S) < 0) {
        bk_conn_free(c);
        return NULL;
    }
    c->next = b->conns;
    if (b->conns)
        b->conns->prev = c;
    b->conns = c;
    b->nconns++;
    char name[64];
    bk_emit(b, json_pack("{s:s, s:s, s:s}", "ev", "accept", "conn", bk_conn_name(c, name, sizeof name), "local",
                         local ? local : "?"));
    return c;
}

static void publish_pending_will(bk_broker *b, bk_session *s)
{
    bk_session_ext *x = s->x;
    if (!x || !x->will)
        return;
    bk_msg *w = x->will;
    x->will = NULL;
    bk_publish_will(b, s->id, w, x->will_conn, x->will_delay);
    bk_msg_unref(w);
    free(x->will_conn);
    x->will_conn = NULL;
}

void bk_session_drop_pending_will(bk_session *s)
{
    if (!s->x)
        return;
    bk_msg_unref(s->x->will);
    s->x->will = NULL;
    free(s->x->will_conn);
    s->x->will_conn = NULL;
}

static void session_due(bk_broker *b, bk_session *s, uint64_t now)
{
    bk_session_ext *x = s->x;
    if (x->will && now >= x->will_at)
        publish_pending_will(b, s);
    if (!s->conn && x->expire_at && now >= x->expire_at) {
        bk_session_end(b, s);
        return;
    }
    bk_session_arm_timer(b, s);
}

static void session_timer_fired(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    bk_session *s = arg;
    session_due(s->x->broker, s, now);
}

bk_session_ext *bk_session_x(bk_broker *b, bk_session *s) { return bk_session_ext_get(s, b, session_timer_fired); }

bk_session *bk_session_create(bk_broker *b, const char *id, size_t len)
{
    return bk_sessions_add(&b->sessions, id, len);
}

void bk_session_arm_timer(bk_broker *b, bk_session *s)
{
    bk_session_ext *x = s->x;
    if (!x)
        return;
    uint64_t d = BK_NEVER;
    if (x->will)
        d = x->will_at;
    if (!s->conn && x->expire_at)
        d = bk_min_deadline(d, x->expire_at);
    if (d == BK_NEVER)
        fl_timer_cancel(b->timers, &x->timer);
    else
        fl_timer_set(b->timers, &x->timer, d);
}

void bk_session_end(bk_broker *b, bk_session *s)
{
    /* A will still waiting out its delay goes when the session ends (MQTT-3.1.3-9). */
    publish_pending_will(b, s);
    if (s->x)
        fl_timer_cancel(b->timers, &s->x->timer);
    for (uint32_t i = 0; i < s->nsubs; i++)
        bk_unsubscribe_filter(b, s, (mqtt_bytes){ s->subs[i].data, s->subs[i].len }, true);
    bk_sessions_remove(&b->sessions, s);
    bk_session_free(s);
}

void bk_conn_close(bk_conn *c, const char *reason, int err, uint64_t deadline, json_t *extra, unsigned flags)
{
    if (c->closed) {
        json_decref(extra);
        return;
    }
    bk_broker *b = c->b;
    uint64_t now = bk_now(b);
    c->closed = true;
    fl_timer_cancel(b->timers, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    b->nconns--;

    char name[64];
    bk_conn_name(c, name, sizeof name);
    json_t *ev = json_pack("{s:s, s:s}", "ev", "close", "conn", name);
    if (ev && c->s)
        json_object_set_new(ev, "client_id", json_string(c->s->id));
    if (ev) {
        json_object_set_new(ev, "reason", json_string(reason));
        json_object_set_new(ev, "last_rx", json_integer((json_int_t)c->last_rx));
        json_object_set_new(ev, "last_read", json_integer((json_int_t)(c->last_rx + c->rx_lag)));
        json_object_set_new(ev, "bytes_in", json_integer((json_int_t)c->bytes_in));
        json_object_set_new(ev, "bytes_out", json_integer((json_int_t)c->bytes_out));
        if (err) {
            const char *en = strerrorname_np(err);
            json_object_set_new(ev, "errno", json_string(en ? en : "?"));
        }
        if (deadline)
            json_object_set_new(ev, "deadline", json_integer((json_int_t)deadline));
        fl_wake_annotate(b->timers->wake, ev);
        if (extra)
            json_object_update(ev, extra);
    }
    json_decref(extra);
    bk_emit(b, ev);

    bk_session *s = c->s;
    if (s) {
        s->conn = NULL;
        c->s = NULL;
        if (s->x) {
            /* Topic alias mappings end with the connection (MQTT-3.3.2-7). */
            bk_alias_free(s->x->alias);
            s->x->alias = NULL;
        }
        if (c->will && (flags & BK_CLOSE_WILL)) {
            bool session_ends = s->expiry == 0 && !(flags & BK_CLOSE_HANDOVER);
            bk_session_ext *x = NULL;
            if (c->will_delay == 0 || session_ends || !(x = bk_session_x(b, s))) {
                bk_publish_will(b, s->id, c->will, name, 0);
            } else {
                bk_session_drop_pending_will(s);
                x->will = c->will;
                c->will = NULL;
                x->will_conn = strdup(name);
                x->will_delay = c->will_delay;
                x->will_at = now + (uint64_t)c->will_delay * FL_NS_PER_S;
            }
        }
        if (!(flags & BK_CLOSE_HANDOVER)) {
            if (s->expiry == 0) {
                bk_session_end(b, s);
                s = NULL;
            } else if (s->expiry != BK_EXPIRY_NEVER) {
                bk_session_ext *x = bk_session_x(b, s);
                if (x)
                    x->expire_at = now + (uint64_t)s->expiry * FL_NS_PER_S;
            }
            if (s)
                bk_session_arm_timer(b, s);
        }
    }
    bk_msg_unref(c->will);
    c->will = NULL;
    b->tx.release(c, b->tx.ctx);
    if (!c->busy)
        bk_conn_free(c);
}

void bk_conn_lost(bk_conn *c, const char *reason, int err, json_t *extra)
{
    bk_conn_close(c, reason, err, 0, extra, BK_CLOSE_WILL);
}

size_t bk_broker_shutdown(bk_broker *b)
{
    size_t n = 0;
    while (b->conns) {
        bk_conn *c = b->conns;
        if (c->connected)
            bk_send_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN);
        bk_conn_close(c, fl_reason_name(FL_REASON_SHUTDOWN), 0, 0, NULL, 0);
        n++;
    }
    bk_emit(b, json_pack("{s:s, s:I}", "ev", "shutdown", "connections", (json_int_t)n));
    return n;
}
