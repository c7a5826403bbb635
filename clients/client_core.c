#include "client_core.h"
#include "core/reason.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/pattern.h"
#include "core/tcpclass.h"
#include "core/wake.h"

static void on_timer(fl_timer *t, uint64_t now, void *arg);
static void die(cc_conn *c, const char *reason, int err);
static void die_due(cc_conn *c, const char *reason, int err, uint64_t due);

static uint64_t now_of(const cc_conn *c) { return fl_clock_now(c->env->clock); }

static void report(cc_conn *c, const cc_event *ev) { c->env->report(c->env->ctx, c, ev); }

static void report_kind(cc_conn *c, cc_event_kind kind)
{
    cc_event ev = { .kind = kind };
    report(c, &ev);
}

void cc_init(cc_conn *c, cc_env *env, uint32_t index, uint32_t n, uint16_t group)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->index = index;
    c->n = n;
    c->group = group;
    c->state = CC_DEAD;
    fl_timer_init(&c->timer, on_timer, c);
}

void cc_client_id(const cc_conn *c, char *buf, size_t len)
{
    const swarm_group *g = cc_group(c);
    pattern_vars v = { .n = c->n, .i = c->index, .group = g->name, .host = c->env->host, .pid = c->env->pid };
    pattern_expand(g->id_pattern, &v, buf, len);
}

void cc_expand(const cc_conn *c, const char *pattern, const char *id, char *buf, size_t len)
{
    const swarm_group *g = cc_group(c);
    pattern_vars v = {
        .n = c->n, .i = c->index, .id = id, .group = g->name, .host = c->env->host, .pid = c->env->pid
    };
    pattern_expand(pattern, &v, buf, len);
}

/* ---- the timer ------------------------------------------------------------ */

uint64_t cc_deadline(const cc_conn *c)
{
    switch (c->state) {
    case CC_TCP:
    case CC_CONNACK:
    case CC_WAIT:
        return c->deadline;
    case CC_UP: {
        uint64_t t = hb_deadline(&c->hb, &cc_group(c)->strategy);
        if (c->next_publish && c->next_publish < t)
            t = c->next_publish;
        return t;
    }
    default:
        return UINT64_MAX;
    }
}

static void arm(cc_conn *c)
{
    uint64_t t = cc_deadline(c);
    if (t == UINT64_MAX)
        fl_timer_cancel(c->env->timers, &c->timer);
    else
        fl_timer_set(c->env->timers, &c->timer, t);
}

/* ---- sending -------------------------------------------------------------- */

/* Returns -1 if c died doing it. */
static int send_packet(cc_conn *c, const mqtt_packet *p)
{
    cc_env *env = c->env;
    mqtt_error e;
    mqtt_version version = (mqtt_version)cc_group(c)->version;
    size_t n = mqtt_encode(p, version, env->obuf, sizeof env->obuf, &e);
    if (n == 0) {
        fprintf(stderr, "flatline-swarm: cannot encode %s: %s\n", mqtt_type_name(p->type), e.what ? e.what : "?");
        die(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0);
        return -1;
    }
    int err;
    if (n <= sizeof env->obuf) {
        err = env->send(c, env->obuf, n);
    } else {
        uint8_t *big = malloc(n);
        if (!big || mqtt_encode(p, version, big, n, &e) != n) {
            free(big);
            die(c, NULL, ENOMEM);
            return -1;
        }
        err = env->send(c, big, n);
        free(big);
    }
    if (err) {
        die(c, NULL, err);
        return -1;
    }
    hb_on_sent(&c->hb, now_of(c));
    return 0;
}

static uint16_t next_packet_id(cc_conn *c)
{
    if (++c->next_pid == 0)
        c->next_pid = 1;
    return c->next_pid;
}

/* ---- connecting ----------------------------------------------------------- */

void cc_queued(cc_conn *c)
{
    c->state = CC_QUEUED;
    fl_timer_cancel(c->env->timers, &c->timer);
}

void cc_connecting(cc_conn *c)
{
    c->state = CC_TCP;
    memset(&c->hb, 0, sizeof c->hb);
    c->deadline = now_of(c) + c->env->cfg->connect_timeout_ns;
    arm(c);
}

void cc_transport_up(cc_conn *c)
{
    if (c->state != CC_TCP)
        return;
    const swarm_group *g = cc_group(c);
    mqtt_stream_init(&c->in, (mqtt_version)g->version, CC_MAX_PACKET);
    char id[CC_ID_MAX], wt[CC_ID_MAX], wp[CC_ID_MAX];
    cc_client_id(c, id, sizeof id);
    mqtt_packet p = { .type = MQTT_CONNECT };
    mqtt_connect *m = &p.u.connect;
    m->version = (mqtt_version)g->version;
    m->clean_session = g->clean;
    m->keep_alive = g->keepalive_s;
    m->client_id = mqtt_cstr(id);
    if (g->will.present) {
        cc_expand(c, g->will.topic, id, wt, sizeof wt);
        cc_expand(c, g->will.payload, id, wp, sizeof wp);
        m->has_will = true;
        m->will_qos = g->will.qos;
        m->will_retain = g->will.retain;
        m->will_topic = mqtt_cstr(wt);
        m->will_payload = mqtt_cstr(wp);
    }
    if (send_packet(c, &p) == 0)
        c->state = CC_CONNACK;
}

static void send_subscribe(cc_conn *c, const char *id)
{
    const swarm_group *g = cc_group(c);
    if (!g->nsubscribe)
        return;
    mqtt_topic_entry *e = calloc(g->nsubscribe, sizeof *e);
    char(*filters)[CC_ID_MAX] = calloc(g->nsubscribe, CC_ID_MAX);
    if (!e || !filters) {
        free(e);
        free(filters);
        die(c, NULL, ENOMEM);
        return;
    }
    for (size_t i = 0; i < g->nsubscribe; i++) {
        cc_expand(c, g->subscribe[i], id, filters[i], CC_ID_MAX);
        /* QoS 1: a will published at QoS 1 must not be lost on the way to a watcher. */
        e[i] = (mqtt_topic_entry){ .filter = mqtt_cstr(filters[i]), .qos = 1 };
    }
    mqtt_packet p = { .type = MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = next_packet_id(c);
    p.u.subscribe.entries = e;
    p.u.subscribe.count = g->nsubscribe;
    send_packet(c, &p);
    free(e);
    free(filters);
}

/* ---- dying and reconnecting ------------------------------------------------ */

void cc_release(cc_conn *c)
{
    fl_timer_cancel(c->env->timers, &c->timer);
    mqtt_stream_free(&c->in);
    memset(&c->in, 0, sizeof c->in);
}

void cc_stop(cc_conn *c)
{
    cc_env *env = c->env;
    cc_state was = (cc_state)c->state;
    if (was == CC_UP && !c->blocked) {
        /* Best effort: a backed-up transport means the broker is gone anyway. */
        mqtt_packet p = { .type = MQTT_DISCONNECT };
        size_t n = mqtt_encode(&p, (mqtt_version)cc_group(c)->version, env->obuf, sizeof env->obuf, NULL);
        if (n && n <= sizeof env->obuf)
            (void)env->send(c, env->obuf, n);
    }
    c->state = CC_DEAD;
    cc_release(c);
    cc_event ev = { .kind = CC_EV_STOPPED, .was = was };
    report(c, &ev);
}

void cc_lost(cc_conn *c, const char *reason, int err) { die(c, reason, err); }

static void die(cc_conn *c, const char *reason, int err) { die_due(c, reason, err, 0); }

/* reason NULL: the transport names err. due: the deadline of the timer that
 * decided it (0: the transport did). */
static void die_due(cc_conn *c, const char *reason, int err, uint64_t due)
{
    if (!cc_alive(c))
        return; /* already dead: an error found twice in one dispatch */
    cc_env *env = c->env;
    const swarm_group *g = cc_group(c);
    if (!reason && err == ECONNREFUSED) {
        reason = fl_reason_name(FL_REASON_REFUSED);
    } else if (!reason && env->reason) {
        reason = env->reason(c, err);
    } else if (!reason) {
        fl_tcp_facts f;
        memset(&f, 0, sizeof f);
        f.unsent_output = c->blocked;
        reason = fl_classify_socket_error(err, &f);
    }
    cc_event ev = { .kind = CC_EV_DEAD, .reason = reason, .err = err, .was = (cc_state)c->state, .last_rx = c->hb.last_rx,
                    .due = due, .chain = due && c->hb.unanswered ? &c->chain : NULL };
    cc_release(c);
    c->next_publish = 0;
    if (!env->stopping && reconnect_delay(&g->reconnect, env->cfg->seed, c->index, c->fails, &ev.delay_ns)) {
        ev.retry = true;
        if (c->fails < UINT8_MAX)
            c->fails++;
        if (c->attempts < UINT16_MAX)
            c->attempts++;
        c->state = CC_WAIT;
        c->deadline = now_of(c) + ev.delay_ns;
    } else {
        c->state = CC_DEAD;
    }
    arm(c);
    report(c, &ev);
}

/* ---- receiving -------------------------------------------------------------- */

static void on_connack(cc_conn *c, const mqtt_connack *ack)
{
    const swarm_group *g = cc_group(c);
    if (ack->code != 0) {
        die(c, fl_reason_name(FL_REASON_REFUSED), 0);
        return;
    }
    uint64_t now = now_of(c);
    c->keepalive = g->keepalive_s;
    if (g->version == 5 && mqtt_prop_has(&ack->props, MQTT_PROP_SERVER_KEEP_ALIVE))
        c->keepalive = ack->props.server_keep_alive; /* MQTT-3.2.2-21: the client must use it */
    c->state = CC_UP;
    c->fails = 0;
    hb_start(&c->hb, &g->strategy, c->keepalive, now);
    report_kind(c, CC_EV_CONNECTED);
    char id[CC_ID_MAX];
    cc_client_id(c, id, sizeof id);
    send_subscribe(c, id);
    if (c->state != CC_UP)
        return;
    if (g->workload.publish_interval_ns) {
        /* Spread the first publishes over one interval so that clients do not publish in step. */
        uint64_t r = fl_rand64(c->env->cfg->seed ^ UINT64_C(0x7075626c), c->index, c->attempts);
        c->next_publish = now + r % g->workload.publish_interval_ns + 1;
    }
    arm(c);
    cc_event ev = { .kind = CC_EV_SETTLED, .first = !c->ever_up };
    c->ever_up = 1;
    report(c, &ev);
}

static void on_publish(cc_conn *c, const mqtt_publish *pub)
{
    const swarm_group *g = cc_group(c);
    cc_event ev = { .kind = CC_EV_RECEIVED, .retained = pub->retain };
    char whose[CC_ID_MAX], topic[CC_ID_MAX];
    if (g->role == ROLE_WATCHER) {
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
        ev.whose = whose;
        ev.topic = topic;
    }
    report(c, &ev);
    if (pub->qos == 1) {
        mqtt_packet a = { .type = MQTT_PUBACK, .u.ack.packet_id = pub->packet_id };
        send_packet(c, &a);
    } else if (pub->qos == 2) {
        mqtt_packet a = { .type = MQTT_PUBREC, .u.ack.packet_id = pub->packet_id };
        send_packet(c, &a);
    }
}

static void on_packet(cc_conn *c, const mqtt_packet *p, uint64_t now)
{
    const swarm_group *g = cc_group(c);
    if (c->state == CC_CONNACK) {
        if (p->type != MQTT_CONNACK) {
            die(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0);
            return;
        }
        on_connack(c, &p->u.connack);
        return;
    }
    uint64_t rtt = hb_on_received(&c->hb, &g->strategy, p->type == MQTT_PINGRESP, now);
    switch (p->type) {
    case MQTT_PINGRESP: {
        cc_event ev = { .kind = CC_EV_PINGRESP, .rtt_ns = rtt };
        report(c, &ev);
        break;
    }
    case MQTT_PUBLISH:
        on_publish(c, &p->u.publish);
        break;
    case MQTT_PUBREC: {
        mqtt_packet a = { .type = MQTT_PUBREL, .u.ack.packet_id = p->u.ack.packet_id };
        send_packet(c, &a);
        break;
    }
    case MQTT_PUBREL: {
        mqtt_packet a = { .type = MQTT_PUBCOMP, .u.ack.packet_id = p->u.ack.packet_id };
        send_packet(c, &a);
        break;
    }
    case MQTT_DISCONNECT:
        die(c, fl_reason_name(FL_REASON_BROKER_DISCONNECT), 0);
        return;
    case MQTT_PUBACK:
    case MQTT_PUBCOMP:
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        break;
    default:
        die(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0);
        return;
    }
    if (c->state == CC_UP)
        arm(c);
}

void cc_input(cc_conn *c, const uint8_t *buf, size_t len)
{
    if (c->state != CC_UP && c->state != CC_CONNACK)
        return;
    uint64_t now = now_of(c);
    mqtt_stream_feed(&c->in, buf, len);
    mqtt_packet p;
    mqtt_error e;
    mqtt_result r;
    while ((r = mqtt_stream_next(&c->in, &p, &e)) == MQTT_PACKET) {
        on_packet(c, &p, now);
        if (c->state != CC_UP && c->state != CC_CONNACK)
            return; /* died, and the stream with it */
    }
    if (r == MQTT_MALFORMED) {
        if (c->env->complaints++ < 5)
            fprintf(stderr, "flatline-swarm: malformed packet from the broker at byte %zu: %s\n", e.offset,
                    e.what ? e.what : mqtt_err_name(e.code));
        die(c, fl_reason_name(FL_REASON_PROTOCOL_ERROR), 0);
    }
}

/* ---- the workload and the heartbeat ------------------------------------------ */

static void publish(cc_conn *c, uint64_t now)
{
    const swarm_group *g = cc_group(c);
    char id[CC_ID_MAX], topic[CC_ID_MAX];
    cc_client_id(c, id, sizeof id);
    cc_expand(c, g->workload.topic, id, topic, sizeof topic);
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.qos = g->workload.qos;
    p.u.publish.topic = mqtt_cstr(topic);
    p.u.publish.payload = (mqtt_bytes){ c->env->payload, g->workload.payload };
    if (g->workload.qos)
        p.u.publish.packet_id = next_packet_id(c);
    if (c->blocked) {
        /* The transport is backed up (the broker reads nothing): skip rather
         * than pile the workload up in this process. */
        report_kind(c, CC_EV_SKIPPED);
    } else if (send_packet(c, &p) < 0) {
        return;
    } else {
        report_kind(c, CC_EV_PUBLISHED);
    }
    /* Keep the cadence; after a stall, resume from now instead of bursting. */
    c->next_publish += g->workload.publish_interval_ns;
    if (c->next_publish <= now)
        c->next_publish = now + g->workload.publish_interval_ns;
}

static uint32_t add_us(uint32_t us, uint64_t ns)
{
    uint64_t sum = us + ns / 1000;
    return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* A ping due at `due` left at now: a new chain starts with the first
 * unanswered one (tx_before: the strategy's last send before it), and each
 * adds how late its loop pass ran, as the pass's record says. */
static void chain_ping(cc_conn *c, bool first, uint64_t tx_before, uint64_t due, uint64_t now)
{
    if (first)
        c->chain = (cc_ping_chain){ .from = tx_before, .first_ping = now };
    const fl_wake *w = c->env->timers->wake;
    if (!w || !w->woke_ns || now <= due)
        return;
    fl_late_split late = fl_wake_split(due, w->wait_began_ns, w->woke_ns, w->cpu_wait_known ? w->cpu_wait_ns : 0, now);
    c->chain.queued_us = add_us(c->chain.queued_us, late.queued);
    c->chain.cpu_wait_us = add_us(c->chain.cpu_wait_us, late.cpu);
    /* What the CPU wait leaves of the wake-up's lateness only a stall of the
     * machine's timers explains (the runner's probe): the worst one's
     * interval and CPU, for the analysis to look up. */
    if (late.uncovered / 1000 > c->chain.stall_us) {
        c->chain.stall_from = late.slept_from;
        c->chain.stall_span_us = add_us(0, w->woke_ns - late.slept_from);
        c->chain.stall_us = add_us(0, late.uncovered);
    }
}

static void on_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    cc_conn *c = arg;
    const swarm_group *g = cc_group(c);
    switch (c->state) {
    case CC_TCP:
    case CC_CONNACK:
        die_due(c, fl_reason_name(FL_REASON_CONNECT_TIMEOUT), 0, c->deadline);
        return;
    case CC_WAIT:
        c->state = CC_QUEUED; /* the owner's ramp queue has it from here */
        report_kind(c, CC_EV_REQUEUE);
        return;
    case CC_UP:
        break;
    default:
        return;
    }
    if (c->next_publish && now >= c->next_publish) {
        publish(c, now);
        if (c->state != CC_UP)
            return;
    }
    uint64_t due;
    while (now >= (due = hb_deadline(&c->hb, &g->strategy))) {
        uint64_t tx_before = c->hb.last_tx;
        bool first = c->hb.unanswered == 0;
        hb_action a = hb_on_timer(&c->hb, &g->strategy, now);
        if (a == HB_DEAD) {
            die_due(c, fl_reason_name(FL_REASON_PING_TIMEOUT), 0, due);
            return;
        }
        if (a != HB_SEND_PING)
            break;
        chain_ping(c, first, tx_before, due, now);
        report_kind(c, CC_EV_PING_SENT);
        mqtt_packet p = { .type = MQTT_PINGREQ };
        if (send_packet(c, &p) < 0)
            return;
    }
    arm(c);
}
