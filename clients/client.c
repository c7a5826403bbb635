/* One client connection: connect, CONNECT/CONNACK, subscriptions, the
 * workload, the heartbeat strategy's timer, death and reconnect. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tcpclass.h"
#include "clients/swarm_internal.h"
#include "clients/tcpopt.h"
#include "core/clock.h"

static void on_io(fl_loop *loop, int fd, unsigned events, void *arg);

static void emit_connected(swarm *s, client *c)
{
    char id[ID_MAX], conn[64];
    sw_client_id(s, c, id, sizeof id);
    sw_conn_text(s, c, conn, sizeof conn);
    sw_emit(s, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "ev", "connected", "client_id", id, "conn", conn,
                         "broker", s->broker_text, "keepalive", (int)c->keepalive, "group", group_of(s, c)->name,
                         "attempt", (int)c->attempts));
    if (c->attempts)
        sw_emit(s, json_pack("{s:s, s:s, s:s, s:i, s:s}", "ev", "reconnected", "client_id", id, "conn", conn, "attempt",
                             (int)c->attempts, "group", group_of(s, c)->name));
}

static void die(swarm *s, client *c, const char *reason, int err);

static void flush_out(swarm *s, client *c)
{
    while (c->out && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            die(s, c, NULL, errno);
            return;
        }
        c->out_off += (uint32_t)n;
        s->k.bytes_out += (uint64_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    fl_loop_modify(s->loop, c->fd, FL_READ);
}

/* Writes what the kernel takes now and keeps the rest. Returns -1 if the
 * client died doing it. */
static int send_bytes(swarm *s, client *c, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    if (!c->out) {
        while (off < len) {
            ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    break;
                die(s, c, NULL, errno);
                return -1;
            }
            off += (size_t)n;
            s->k.bytes_out += (uint64_t)n;
        }
        if (off == len)
            return 0;
    }
    size_t rest = len - off, keep = c->out ? c->out_len - c->out_off : 0;
    uint8_t *nb = malloc(keep + rest);
    if (!nb) {
        die(s, c, NULL, ENOMEM);
        return -1;
    }
    if (keep)
        memcpy(nb, c->out + c->out_off, keep);
    memcpy(nb + keep, buf + off, rest);
    free(c->out);
    c->out = nb;
    c->out_off = 0;
    c->out_len = (uint32_t)(keep + rest);
    fl_loop_modify(s->loop, c->fd, FL_READ | FL_WRITE);
    return 0;
}

static int send_packet(swarm *s, client *c, const mqtt_packet *p)
{
    mqtt_error e;
    uint8_t version = group_of(s, c)->version;
    size_t n = mqtt_encode(p, (mqtt_version)version, s->obuf, sizeof s->obuf, &e);
    if (n == 0) {
        fprintf(stderr, "flatline-swarm: cannot encode %s: %s\n", mqtt_type_name(p->type), e.what ? e.what : "?");
        die(s, c, "protocol_error", 0);
        return -1;
    }
    int rc;
    if (n <= sizeof s->obuf) {
        rc = send_bytes(s, c, s->obuf, n);
    } else {
        uint8_t *big = malloc(n);
        if (!big || mqtt_encode(p, (mqtt_version)version, big, n, &e) != n) {
            free(big);
            die(s, c, NULL, ENOMEM);
            return -1;
        }
        rc = send_bytes(s, c, big, n);
        free(big);
    }
    if (rc == 0)
        hb_on_sent(&c->hb, fl_now_ns());
    return rc;
}

static uint16_t next_packet_id(client *c)
{
    if (++c->next_pid == 0)
        c->next_pid = 1;
    return c->next_pid;
}

/* ---- timers ------------------------------------------------------------- */

static void arm(swarm *s, client *c)
{
    uint64_t t = UINT64_MAX;
    if (c->state == C_TCP || c->state == C_CONNACK) {
        t = c->connect_deadline;
    } else if (c->state == C_UP) {
        t = hb_deadline(&c->hb, &group_of(s, c)->strategy);
        if (c->next_publish && c->next_publish < t)
            t = c->next_publish;
    }
    if (t == UINT64_MAX)
        fl_loop_timer_cancel(s->loop, &c->timer);
    else
        fl_loop_timer_set(s->loop, &c->timer, t);
}

/* ---- connecting --------------------------------------------------------- */

void client_leave_inflight(swarm *s, client *c)
{
    if (c->state == C_TCP || c->state == C_CONNACK)
        s->inflight--;
}

void client_start_connect(swarm *s, client *c)
{
    const swarm_group *g = group_of(s, c);
    const char *what = "socket";
    /* In flight from here on, so that every failure below goes through die(). */
    c->state = C_TCP;
    s->inflight++;
    c->laddr = MAX_LADDRS;
    c->lport = 0;
    memset(&c->hb, 0, sizeof c->hb);
    c->fd = socket(s->broker.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    fl_timer_watch(&c->timer, c->fd);
    if (tcpopt_apply(c->fd, &g->tcp, &what) < 0)
        goto fail;
    if (s->nsources) {
        const struct sockaddr_storage *src = &s->sources[c->index % s->nsources];
        /* The port is chosen at connect() from the whole 4-tuple, so one
         * source address serves far more than the ephemeral range per broker. */
        int one = 1;
        what = "bind";
        if (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
            bind(c->fd, (const struct sockaddr *)src,
                 src->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0)
            goto fail;
    }
    if (connect(c->fd, (struct sockaddr *)&s->broker, s->broker_len) < 0 && errno != EINPROGRESS) {
        /* ECONNREFUSED, EADDRNOTAVAIL (ports exhausted): a failed attempt like any other. */
        die(s, c, NULL, errno);
        return;
    }
    struct sockaddr_storage local;
    socklen_t llen = sizeof local;
    if (getsockname(c->fd, (struct sockaddr *)&local, &llen) == 0) {
        c->laddr = sw_remember_laddr(s, &local);
        c->lport = ntohs(local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                                    : ((struct sockaddr_in6 *)&local)->sin6_port);
    }
    what = "epoll";
    if (fl_loop_add(s->loop, c->fd, FL_WRITE, on_io, c) < 0)
        goto fail;
    c->connect_deadline = fl_now_ns() + s->cfg->connect_timeout_ns;
    arm(s, c);
    return;
fail:;
    int e = errno;
    if (s->setup_errors++ < 5)
        fprintf(stderr, "flatline-swarm: client %u: %s: %s\n", c->index, what, strerror(e));
    die(s, c, NULL, e);
}

static void send_connect(swarm *s, client *c)
{
    const swarm_group *g = group_of(s, c);
    char id[ID_MAX], wt[ID_MAX], wp[ID_MAX];
    sw_client_id(s, c, id, sizeof id);
    mqtt_packet p = { .type = MQTT_CONNECT };
    mqtt_connect *m = &p.u.connect;
    m->version = (mqtt_version)g->version;
    m->clean_session = g->clean;
    m->keep_alive = g->keepalive_s;
    m->client_id = mqtt_cstr(id);
    if (g->will.present) {
        sw_expand(s, c, g->will.topic, id, wt, sizeof wt);
        sw_expand(s, c, g->will.payload, id, wp, sizeof wp);
        m->has_will = true;
        m->will_qos = g->will.qos;
        m->will_retain = g->will.retain;
        m->will_topic = mqtt_cstr(wt);
        m->will_payload = mqtt_cstr(wp);
    }
    if (send_packet(s, c, &p) == 0) {
        c->state = C_CONNACK;
        fl_loop_modify(s->loop, c->fd, c->out ? FL_READ | FL_WRITE : FL_READ);
    }
}

static void send_subscribe(swarm *s, client *c, const char *id)
{
    const swarm_group *g = group_of(s, c);
    if (!g->nsubscribe)
        return;
    mqtt_topic_entry *e = calloc(g->nsubscribe, sizeof *e);
    char(*filters)[ID_MAX] = calloc(g->nsubscribe, ID_MAX);
    if (!e || !filters) {
        free(e);
        free(filters);
        die(s, c, NULL, ENOMEM);
        return;
    }
    for (size_t i = 0; i < g->nsubscribe; i++) {
        sw_expand(s, c, g->subscribe[i], id, filters[i], ID_MAX);
        /* QoS 1: a will published at QoS 1 must not be lost on the way to a watcher. */
        e[i] = (mqtt_topic_entry){ .filter = mqtt_cstr(filters[i]), .qos = 1 };
    }
    mqtt_packet p = { .type = MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = next_packet_id(c);
    p.u.subscribe.entries = e;
    p.u.subscribe.count = g->nsubscribe;
    send_packet(s, c, &p);
    free(e);
    free(filters);
}

/* ---- dying and reconnecting --------------------------------------------- */

void client_close(swarm *s, client *c)
{
    if (c->fd >= 0) {
        fl_loop_remove(s->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    fl_timer_watch(&c->timer, -1);
    mqtt_stream_free(&c->in);
    memset(&c->in, 0, sizeof c->in);
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
}

void client_stop(swarm *s, client *c)
{
    if (c->state == C_UP && !c->out) {
        /* Best effort: a full socket buffer means the broker is gone anyway. */
        mqtt_packet p = { .type = MQTT_DISCONNECT };
        size_t n = mqtt_encode(&p, (mqtt_version)group_of(s, c)->version, s->obuf, sizeof s->obuf, NULL);
        if (n && n <= sizeof s->obuf && send(c->fd, s->obuf, n, MSG_NOSIGNAL) == (ssize_t)n)
            s->k.bytes_out += n;
    }
    if (c->state == C_UP)
        s->k.connected--;
    client_leave_inflight(s, c);
    client_close(s, c);
    fl_loop_timer_cancel(s->loop, &c->timer);
    c->state = C_DEAD;
}

/* reason NULL: classify err. */
static void die(swarm *s, client *c, const char *reason, int err)
{
    if (c->state != C_TCP && c->state != C_CONNACK && c->state != C_UP)
        return; /* already dead: an error found twice in one dispatch */
    const swarm_group *g = group_of(s, c);
    if (!reason && err == ECONNREFUSED) {
        reason = "refused";
    } else if (!reason) {
        fl_tcp_facts f;
        if (c->fd < 0 || fl_tcp_facts_read(c->fd, &f) < 0)
            memset(&f, 0, sizeof f);
        f.unsent_output = c->out != NULL;
        reason = fl_classify_socket_error(err, &f);
    }
    char id[ID_MAX], conn[64];
    sw_client_id(s, c, id, sizeof id);
    sw_conn_text(s, c, conn, sizeof conn);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "ev", "dead_detected", "client_id", id, "conn", conn,
                           "reason", reason, "last_rx", (json_int_t)c->hb.last_rx, "group", g->name);
    if (ev && err)
        json_object_set_new(ev, "errno", json_string(strerrorname_np(err) ? strerrorname_np(err) : "?"));
    if (ev && c->state != C_UP)
        json_object_set_new(ev, "phase", json_string(c->state == C_TCP ? "tcp_connect" : "connack"));
    sw_emit(s, ev);
    s->k.dead++;
    if (c->state == C_UP)
        s->k.connected--;
    client_leave_inflight(s, c);
    client_close(s, c);
    fl_loop_timer_cancel(s->loop, &c->timer);
    c->next_publish = 0;
    uint64_t delay;
    if (!s->stopping && reconnect_delay(&g->reconnect, s->cfg->seed, c->index, c->fails, &delay)) {
        if (c->fails < UINT8_MAX)
            c->fails++;
        if (c->attempts < UINT16_MAX)
            c->attempts++;
        sw_emit(s, json_pack("{s:s, s:s, s:i, s:I, s:s, s:s}", "ev", "reconnect_attempt", "client_id", id, "attempt",
                             (int)c->attempts, "delay", (json_int_t)delay, "conn", conn, "group", g->name));
        c->state = C_WAIT;
        fl_loop_timer_set(s->loop, &c->timer, fl_now_ns() + delay);
    } else {
        c->state = C_DEAD;
    }
    sw_pump(s);
}

/* ---- receiving ---------------------------------------------------------- */

static void on_connack(swarm *s, client *c, const mqtt_connack *ack)
{
    const swarm_group *g = group_of(s, c);
    if (ack->code != 0) {
        die(s, c, "refused", 0);
        return;
    }
    uint64_t now = fl_now_ns();
    c->keepalive = g->keepalive_s;
    if (g->version == 5 && mqtt_prop_has(&ack->props, MQTT_PROP_SERVER_KEEP_ALIVE))
        c->keepalive = ack->props.server_keep_alive; /* MQTT-3.2.2-21: the client must use it */
    s->inflight--;
    c->state = C_UP;
    c->fails = 0;
    s->k.connected++;
    if (c->attempts)
        s->k.reconnects++;
    hb_start(&c->hb, &g->strategy, c->keepalive, now);
    emit_connected(s, c);
    char id[ID_MAX];
    sw_client_id(s, c, id, sizeof id);
    send_subscribe(s, c, id);
    if (c->state != C_UP)
        return;
    if (g->workload.publish_interval_ns) {
        /* Spread the first publishes over one interval so that clients do not publish in step. */
        uint64_t r = fl_rand64(s->cfg->seed ^ UINT64_C(0x7075626c), c->index, c->attempts);
        c->next_publish = now + r % g->workload.publish_interval_ns + 1;
    }
    arm(s, c);
    if (!c->ever_up) {
        c->ever_up = 1;
        if (++s->ever_up == s->nclients && !s->ready_sent) {
            s->ready_sent = true;
            sw_emit(s, json_pack("{s:s, s:I}", "ev", "ready", "clients", (json_int_t)s->nclients));
        }
    }
    sw_pump(s);
}

static void on_publish(swarm *s, client *c, const mqtt_publish *pub)
{
    const swarm_group *g = group_of(s, c);
    s->k.received++;
    if (g->role == ROLE_WATCHER) {
        char whose[ID_MAX], topic[ID_MAX], id[ID_MAX], conn[64];
        mqtt_bytes src = pub->payload;
        if (!src.len) {
            /* No payload: the id is the topic's last level ("will/dev-7"). */
            src = pub->topic;
            const uint8_t *slash = src.len ? memrchr(src.data, '/', src.len) : NULL;
            if (slash) {
                src.len -= (size_t)(slash + 1 - src.data);
                src.data = slash + 1;
            }
        }
        snprintf(whose, sizeof whose, "%.*s", (int)src.len, (const char *)src.data);
        snprintf(topic, sizeof topic, "%.*s", (int)pub->topic.len, (const char *)pub->topic.data);
        sw_client_id(s, c, id, sizeof id);
        s->k.wills++;
        sw_emit(s, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "ev", "will_received", "client_id", id, "whose",
                             whose, "topic", topic, "retained", (int)pub->retain, "conn",
                             sw_conn_text(s, c, conn, sizeof conn), "group", g->name));
    }
    if (pub->qos == 1) {
        mqtt_packet a = { .type = MQTT_PUBACK, .u.ack.packet_id = pub->packet_id };
        send_packet(s, c, &a);
    } else if (pub->qos == 2) {
        mqtt_packet a = { .type = MQTT_PUBREC, .u.ack.packet_id = pub->packet_id };
        send_packet(s, c, &a);
    }
}

static void on_packet(swarm *s, client *c, const mqtt_packet *p, uint64_t now)
{
    const swarm_group *g = group_of(s, c);
    if (c->state == C_CONNACK) {
        if (p->type != MQTT_CONNACK) {
            die(s, c, "protocol_error", 0);
            return;
        }
        on_connack(s, c, &p->u.connack);
        return;
    }
    uint64_t rtt = hb_on_received(&c->hb, &g->strategy, p->type == MQTT_PINGRESP, now);
    switch (p->type) {
    case MQTT_PINGRESP:
        s->k.pingresps++;
        if (s->opt.log_pings) {
            char id[ID_MAX], conn[64];
            sw_client_id(s, c, id, sizeof id);
            sw_emit(s, json_pack("{s:s, s:s, s:s, s:I, s:s}", "ev", "pingresp", "client_id", id, "conn",
                                 sw_conn_text(s, c, conn, sizeof conn), "rtt", (json_int_t)rtt, "group", g->name));
        }
        break;
    case MQTT_PUBLISH:
        on_publish(s, c, &p->u.publish);
        break;
    case MQTT_PUBREC: {
        mqtt_packet a = { .type = MQTT_PUBREL, .u.ack.packet_id = p->u.ack.packet_id };
        send_packet(s, c, &a);
        break;
    }
    case MQTT_PUBREL: {
        mqtt_packet a = { .type = MQTT_PUBCOMP, .u.ack.packet_id = p->u.ack.packet_id };
        send_packet(s, c, &a);
        break;
    }
    case MQTT_DISCONNECT:
        die(s, c, "broker_disconnect", 0);
        return;
    case MQTT_PUBACK:
    case MQTT_PUBCOMP:
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        break;
    default:
        die(s, c, "protocol_error", 0);
        return;
    }
    if (c->state == C_UP)
        arm(s, c);
}

static void on_readable(swarm *s, client *c)
{
    /* A few reads a wakeup: one chatty client must not starve the others. */
    for (int round = 0; round < 4; round++) {
        ssize_t n = recv(c->fd, s->ibuf, sizeof s->ibuf, 0);
        if (n == 0) {
            die(s, c, "eof", 0);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                die(s, c, NULL, errno);
            return;
        }
        s->k.bytes_in += (uint64_t)n;
        uint64_t now = fl_now_ns();
        mqtt_stream_feed(&c->in, s->ibuf, (size_t)n);
        mqtt_packet p;
        mqtt_error e;
        mqtt_result r;
        while ((r = mqtt_stream_next(&c->in, &p, &e)) == MQTT_PACKET) {
            on_packet(s, c, &p, now);
            if (c->state != C_UP && c->state != C_CONNACK)
                return; /* died, and the stream with it */
        }
        if (r == MQTT_MALFORMED) {
            if (s->setup_errors++ < 5)
                fprintf(stderr, "flatline-swarm: malformed packet from the broker at byte %zu: %s\n", e.offset,
                        e.what ? e.what : mqtt_err_name(e.code));
            die(s, c, "protocol_error", 0);
            return;
        }
        if ((size_t)n < sizeof s->ibuf)
            return;
    }
}

static void on_writable_connecting(swarm *s, client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        die(s, c, NULL, err);
        return;
    }
    mqtt_stream_init(&c->in, (mqtt_version)group_of(s, c)->version, MAX_PACKET);
    send_connect(s, c);
}

static void on_io(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    client *c = arg;
    swarm *s = swarm_of(c);
    if (c->state == C_TCP) {
        /* A refused connect shows as readable and writable; SO_ERROR says which. */
        on_writable_connecting(s, c);
        return;
    }
    if ((events & FL_WRITE) && c->out)
        flush_out(s, c);
    if ((events & FL_READ) && (c->state == C_UP || c->state == C_CONNACK))
        on_readable(s, c);
}

static void publish(swarm *s, client *c, uint64_t now)
{
    const swarm_group *g = group_of(s, c);
    char id[ID_MAX], topic[ID_MAX];
    sw_client_id(s, c, id, sizeof id);
    sw_expand(s, c, g->workload.topic, id, topic, sizeof topic);
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.qos = g->workload.qos;
    p.u.publish.topic = mqtt_cstr(topic);
    p.u.publish.payload = (mqtt_bytes){ s->payload, g->workload.payload };
    if (g->workload.qos)
        p.u.publish.packet_id = next_packet_id(c);
    if (c->out) {
        /* The socket buffer is full (the broker reads nothing): skip rather
         * than pile the workload up in this process. */
        s->k.skipped++;
    } else if (send_packet(s, c, &p) < 0) {
        return;
    } else {
        s->k.published++;
    }
    /* Keep the cadence; after a stall, resume from now instead of bursting. */
    c->next_publish += g->workload.publish_interval_ns;
    if (c->next_publish <= now)
        c->next_publish = now + g->workload.publish_interval_ns;
}

void client_on_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    client *c = arg;
    swarm *s = swarm_of(c);
    const swarm_group *g = group_of(s, c);
    switch (c->state) {
    case C_TCP:
    case C_CONNACK:
        die(s, c, "connect_timeout", 0);
        return;
    case C_WAIT:
        sw_enqueue(s, c);
        sw_pump(s);
        return;
    case C_UP:
        break;
    default:
        return;
    }
    if (c->next_publish && now >= c->next_publish) {
        publish(s, c, now);
        if (c->state != C_UP)
            return;
    }
    while (now >= hb_deadline(&c->hb, &g->strategy)) {
        hb_action a = hb_on_timer(&c->hb, &g->strategy, now);
        if (a == HB_DEAD) {
            die(s, c, "ping_timeout", 0);
            return;
        }
        if (a != HB_SEND_PING)
            break;
        s->k.pings++;
        if (s->opt.log_pings) {
            char id[ID_MAX], conn[64];
            sw_client_id(s, c, id, sizeof id);
            sw_emit(s, json_pack("{s:s, s:s, s:s, s:s}", "ev", "ping_sent", "client_id", id, "conn",
                                 sw_conn_text(s, c, conn, sizeof conn), "group", g->name));
        }
        mqtt_packet p = { .type = MQTT_PINGREQ };
        if (send_packet(s, c, &p) < 0)
            return;
    }
    arm(s, c);
}
