/* The swarm: the clients in one process, their connect ramp, and what
 * they report turned into event lines (docs/events.md) and counters. */
#include "swarm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/client_core.h"
#include "clients/client_io.h"
#include "core/clock.h"
#include "core/wake.h"

struct swarm {
    fl_loop *loop;
    const swarm_config *cfg;
    fl_evlog *log;
    swarm_options opt;
    cc_env env; /* the clients' cores: clock, timers, patterns, reports */
    cio io;     /* the clients' sockets */
    char broker_text[64];
    char host[64];
    uint32_t nclients;
    uint32_t *queue; /* ring of client indices waiting for the ramp */
    uint32_t q_head, q_len;
    uint32_t inflight;
    fl_timer ramp_timer; /* waits out connect_rate */
    uint64_t next_start; /* the earliest the ramp may start the next connect */
    uint32_t ever_up;
    bool ready_sent, pumping;
    uint8_t *payload; /* the largest workload payload, shared */
    swarm_counters k;
    client clients[];
};

static void sw_emit(swarm *s, json_t *ev) { fl_evlog_emit(s->log, ev); }
static void sw_pump(swarm *s);

/* ---- the connect ramp ---------------------------------------------------- */

#define RAMP_CATCH_UP_NS (10 * FL_NS_PER_MS)

static void sw_enqueue(swarm *s, client *c)
{
    cc_queued(&c->cc);
    s->queue[(s->q_head + s->q_len) % s->nclients] = c->cc.index;
    s->q_len++;
}

static void sw_pump(swarm *s)
{
    /* A failing connect dies and pumps again: the flag keeps that from recursing. */
    if (s->pumping)
        return;
    s->pumping = true;
    uint64_t gap = s->cfg->connect_rate ? FL_NS_PER_S / s->cfg->connect_rate : 0;
    uint64_t now = gap ? fl_clock_now(s->env.clock) : 0;
    while (!s->env.stopping && s->q_len && s->inflight < s->cfg->inflight) {
        if (gap) {
            if (now < s->next_start) {
                fl_loop_timer_set(s->loop, &s->ramp_timer, s->next_start);
                break;
            }
            /* A late timer may catch up a little; a pause earns no credit. */
            if (s->next_start + RAMP_CATCH_UP_NS < now)
                s->next_start = now;
            s->next_start += gap;
        }
        client *c = &s->clients[s->queue[s->q_head]];
        s->q_head = (s->q_head + 1) % s->nclients;
        s->q_len--;
        s->inflight++; /* before the connect: a failure in it reports a death in flight */
        cio_connect(c);
    }
    s->pumping = false;
}

static void on_ramp_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    (void)now;
    sw_pump(arg);
}

/* ---- what the clients report: event lines and counters --------------------- */

static void on_connected(swarm *s, client *c, const char *id, const char *conn)
{
    const swarm_group *g = cc_group(&c->cc);
    s->inflight--;
    s->k.connected++;
    if (c->cc.attempts)
        s->k.reconnects++;
    sw_emit(s, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "ev", "connected", "client_id", id, "conn", conn,
                         "broker", s->broker_text, "keepalive", (int)c->cc.keepalive, "group", g->name, "attempt",
                         (int)c->cc.attempts));
    if (c->cc.attempts)
        sw_emit(s, json_pack("{s:s, s:s, s:s, s:i, s:s}", "ev", "reconnected", "client_id", id, "conn", conn,
                             "attempt", (int)c->cc.attempts, "group", g->name));
}

static void on_dead(swarm *s, client *c, const cc_event *ev, const char *id, const char *conn)
{
    const char *group = cc_group(&c->cc)->name;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "ev", "dead_detected", "client_id", id, "conn", conn,
                          "reason", ev->reason, "last_rx", (json_int_t)ev->last_rx, "group", group);
    if (j && ev->err)
        json_object_set_new(j, "errno", json_string(strerrorname_np(ev->err) ? strerrorname_np(ev->err) : "?"));
    if (j && ev->was != CC_UP)
        json_object_set_new(j, "phase", json_string(ev->was == CC_TCP ? "tcp_connect" : "connack"));
    if (j && ev->due)
        json_object_set_new(j, "due", json_integer((json_int_t)ev->due));
    if (j && ev->chain) {
        json_object_set_new(j, "last_tx", json_integer((json_int_t)ev->chain->from));
        json_object_set_new(j, "pings_first", json_integer((json_int_t)ev->chain->first_ping));
        json_object_set_new(j, "pings_queued", json_integer((json_int_t)ev->chain->queued_us * 1000));
        json_object_set_new(j, "pings_cpu_wait", json_integer((json_int_t)ev->chain->cpu_wait_us * 1000));
        if (ev->chain->stall_us)
            json_object_set_new(j, "pings_wake",
                                json_pack("[I, I, I]", (json_int_t)ev->chain->stall_from,
                                          (json_int_t)(ev->chain->stall_from + (uint64_t)ev->chain->stall_span_us * 1000),
                                          (json_int_t)ev->chain->stall_us * 1000));
    }
    fl_wake_annotate(s->env.timers->wake, j);
    sw_emit(s, j);
    s->k.dead++;
    if (ev->was == CC_UP)
        s->k.connected--;
    else
        s->inflight--;
    cio_close(c);
    if (ev->retry)
        sw_emit(s, json_pack("{s:s, s:s, s:i, s:I, s:s, s:s}", "ev", "reconnect_attempt", "client_id", id, "attempt",
                             (int)c->cc.attempts, "delay", (json_int_t)ev->delay_ns, "conn", conn, "group", group));
    sw_pump(s);
}

static void on_received(swarm *s, client *c, const cc_event *ev, const char *id, const char *conn)
{
    s->k.received++;
    if (!ev->whose)
        return;
    s->k.wills++;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "ev", "will_received", "client_id", id, "whose",
                          ev->whose, "topic", ev->topic, "retained", (int)ev->retained, "conn", conn, "group",
                          cc_group(&c->cc)->name);
    fl_wake_annotate(s->env.timers->wake, j); /* the will's latency includes this pass */
    sw_emit(s, j);
}

/* Events that log nothing skip formatting the id and the address. */
static bool needs_names(const swarm *s, const cc_event *ev)
{
    switch (ev->kind) {
    case CC_EV_CONNECTED:
    case CC_EV_DEAD:
        return true;
    case CC_EV_PING_SENT:
    case CC_EV_PINGRESP:
        return s->opt.log_pings;
    case CC_EV_RECEIVED:
        return ev->whose != NULL;
    default:
        return false;
    }
}

static void on_report(void *ctx, cc_conn *cc, const cc_event *ev)
{
    swarm *s = ctx;
    client *c = client_of(cc);
    char id[CC_ID_MAX] = "", conn[64] = "";
    if (needs_names(s, ev)) {
        cc_client_id(cc, id, sizeof id);
        cio_conn_text(c, conn, sizeof conn);
    }
    switch (ev->kind) {
    case CC_EV_CONNECTED:
        on_connected(s, c, id, conn);
        break;
    case CC_EV_SETTLED:
        if (ev->first && ++s->ever_up == s->nclients && !s->ready_sent) {
            s->ready_sent = true;
            sw_emit(s, json_pack("{s:s, s:I}", "ev", "ready", "clients", (json_int_t)s->nclients));
        }
        sw_pump(s);
        break;
    case CC_EV_DEAD:
        on_dead(s, c, ev, id, conn);
        break;
    case CC_EV_STOPPED:
        if (ev->was == CC_UP)
            s->k.connected--;
        else if (ev->was == CC_TCP || ev->was == CC_CONNACK)
            s->inflight--;
        cio_close(c);
        break;
    case CC_EV_REQUEUE:
        sw_enqueue(s, c);
        sw_pump(s);
        break;
    case CC_EV_PING_SENT:
        s->k.pings++;
        if (s->opt.log_pings)
            sw_emit(s, json_pack("{s:s, s:s, s:s, s:s}", "ev", "ping_sent", "client_id", id, "conn", conn, "group",
                                 cc_group(cc)->name));
        break;
    case CC_EV_PINGRESP:
        s->k.pingresps++;
        if (s->opt.log_pings)
            sw_emit(s, json_pack("{s:s, s:s, s:s, s:I, s:s}", "ev", "pingresp", "client_id", id, "conn", conn, "rtt",
                                 (json_int_t)ev->rtt_ns, "group", cc_group(cc)->name));
        break;
    case CC_EV_RECEIVED:
        on_received(s, c, ev, id, conn);
        break;
    case CC_EV_PUBLISHED:
        s->k.published++;
        break;
    case CC_EV_SKIPPED:
        s->k.skipped++;
        break;
    }
}

/* ---- the swarm ---------------------------------------------------------- */

/* "1.2.3.4:1883", "[fd00::1]:1883", "localhost:1883" (need_port), or an
 * address without a port ("127.0.0.2", "fd00::2", "[fd00::2]"). */
static int resolve(const char *text, bool need_port, struct sockaddr_storage *out, socklen_t *len)
{
    char host[256];
    const char *port = NULL;
    size_t hl;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        hl = (size_t)(end - text - 1);
        text++;
        port = end[1] == ':' ? end + 2 : NULL;
    } else if (strchr(text, ':') && strchr(text, ':') == strrchr(text, ':')) {
        hl = (size_t)(strchr(text, ':') - text);
        port = text + hl + 1;
    } else {
        hl = strlen(text); /* no port, or a bare IPv6 address */
    }
    if (hl == 0 || hl >= sizeof host || (need_port && (!port || !*port)) || (!need_port && port))
        return -1;
    memcpy(host, text, hl);
    host[hl] = '\0';
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res;
    if (getaddrinfo(host, port ? port : "0", &hints, &res) != 0)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

swarm *swarm_new(fl_loop *loop, const swarm_config *cfg, fl_evlog *log, const swarm_options *opt, char *err,
                 size_t errlen)
{
    uint64_t total = swarm_config_total_clients(cfg);
    if (total == 0 || total > UINT32_MAX / 2) {
        snprintf(err, errlen, "groups: %llu clients in all; need 1 or more", (unsigned long long)total);
        return NULL;
    }
    swarm *s = calloc(1, sizeof *s + total * sizeof(client));
    if (!s) {
        snprintf(err, errlen, "out of memory for %llu clients", (unsigned long long)total);
        return NULL;
    }
    s->loop = loop;
    s->cfg = cfg;
    s->log = log;
    if (opt)
        s->opt = *opt;
    s->nclients = (uint32_t)total;
    fl_timer_init(&s->ramp_timer, on_ramp_timer, s);
    if (gethostname(s->host, sizeof s->host) < 0)
        snprintf(s->host, sizeof s->host, "host");
    s->host[sizeof s->host - 1] = '\0';
    cio *io = &s->io;
    io->loop = loop;
    if (resolve(cfg->broker, true, &io->broker, &io->broker_len) < 0) {
        snprintf(err, errlen, "broker: '%s' is not ADDR:PORT", cfg->broker);
        goto fail;
    }
    fl_format_addr((struct sockaddr *)&io->broker, s->broker_text, sizeof s->broker_text);
    io->sources = calloc(cfg->nsources + 1, sizeof *io->sources);
    s->queue = calloc(total, sizeof *s->queue);
    uint32_t maxpay = 0;
    for (size_t i = 0; i < cfg->ngroups; i++)
        if (cfg->groups[i].workload.payload > maxpay)
            maxpay = cfg->groups[i].workload.payload;
    s->payload = malloc(maxpay + 1);
    if (!io->sources || !s->queue || !s->payload) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memset(s->payload, 'x', maxpay + 1);
    for (size_t i = 0; i < cfg->nsources; i++) {
        socklen_t l;
        if (resolve(cfg->sources[i], false, &io->sources[i], &l) < 0 ||
            io->sources[i].ss_family != io->broker.ss_family) {
            snprintf(err, errlen, "sources[%zu]: '%s' is not an address of the broker's family", i, cfg->sources[i]);
            goto fail;
        }
    }
    io->nsources = cfg->nsources;
    s->env = (cc_env){
        .cfg = cfg,
        .clock = &fl_clock_monotonic,
        .timers = fl_loop_timers(loop),
        .host = s->host,
        .pid = (long)getpid(),
        .payload = s->payload,
        .send = cio_send,
        .reason = cio_reason,
        .report = on_report,
        .ctx = s,
        .transport = io,
    };
    s->k.clients = total;
    uint32_t idx = 0;
    for (size_t gi = 0; gi < cfg->ngroups; gi++) {
        for (uint32_t n = 0; n < cfg->groups[gi].clients; n++, idx++) {
            client *c = &s->clients[idx];
            cc_init(&c->cc, &s->env, idx, n, (uint16_t)gi);
            cio_client_init(c);
        }
    }
    return s;
fail:
    free(s->io.sources);
    free(s->queue);
    free(s->payload);
    free(s);
    return NULL;
}

int swarm_start(swarm *s)
{
    for (uint32_t i = 0; i < s->nclients; i++)
        sw_enqueue(s, &s->clients[i]);
    sw_pump(s);
    return 0;
}

void swarm_stop(swarm *s)
{
    s->env.stopping = true;
    for (uint32_t i = 0; i < s->nclients; i++)
        cc_stop(&s->clients[i].cc);
    s->q_len = 0;
    fl_loop_timer_cancel(s->loop, &s->ramp_timer);
    fl_loop_stop(s->loop);
}

void swarm_free(swarm *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nclients; i++) {
        cio_close(&s->clients[i]);
        cc_release(&s->clients[i].cc);
    }
    fl_loop_timer_cancel(s->loop, &s->ramp_timer);
    free(s->io.sources);
    free(s->queue);
    free(s->payload);
    free(s);
}

void swarm_get_counters(const swarm *s, swarm_counters *out)
{
    *out = s->k;
    out->connecting = s->inflight;
    out->bytes_in = s->io.bytes_in;
    out->bytes_out = s->io.bytes_out;
}

void swarm_emit_counters(swarm *s)
{
    swarm_counters k;
    swarm_get_counters(s, &k);
    json_t *ev = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ev", "counters", "clients",
                           (json_int_t)k.clients, "connected", (json_int_t)k.connected, "connecting",
                           (json_int_t)k.connecting, "dead", (json_int_t)k.dead, "reconnects", (json_int_t)k.reconnects,
                           "pings", (json_int_t)k.pings, "pingresps", (json_int_t)k.pingresps);
    json_t *more = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "bytes_in", (json_int_t)k.bytes_in, "bytes_out",
                             (json_int_t)k.bytes_out, "published", (json_int_t)k.published, "skipped",
                             (json_int_t)k.skipped, "received", (json_int_t)k.received, "wills", (json_int_t)k.wills);
    if (ev && more)
        json_object_update(ev, more);
    json_decref(more);
    sw_emit(s, ev);
}

void swarm_print_counters(const swarm *s, FILE *f)
{
    swarm_counters k;
    swarm_get_counters(s, &k);
    fprintf(f,
            "clients %llu connected %llu connecting %llu dead %llu reconnects %llu pings %llu pingresps %llu "
            "bytes_in %llu bytes_out %llu published %llu skipped %llu received %llu wills %llu\n",
            (unsigned long long)k.clients, (unsigned long long)k.connected, (unsigned long long)k.connecting,
            (unsigned long long)k.dead, (unsigned long long)k.reconnects, (unsigned long long)k.pings,
            (unsigned long long)k.pingresps, (unsigned long long)k.bytes_in, (unsigned long long)k.bytes_out,
            (unsigned long long)k.published, (unsigned long long)k.skipped, (unsigned long long)k.received,
            (unsigned long long)k.wills);
    fflush(f);
}
