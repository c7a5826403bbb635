#include "swarm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/pattern.h"
#include "clients/swarm_internal.h"
#include "core/clock.h"

void sw_client_id(swarm *s, const client *c, char *buf, size_t len)
{
    const swarm_group *g = &s->cfg->groups[c->group];
    pattern_vars v = { .n = c->n, .i = c->index, .group = g->name, .host = s->host, .pid = s->pid };
    pattern_expand(g->id_pattern, &v, buf, len);
}

void sw_expand(swarm *s, const client *c, const char *pattern, const char *id, char *buf, size_t len)
{
    const swarm_group *g = &s->cfg->groups[c->group];
    pattern_vars v = { .n = c->n, .i = c->index, .id = id, .group = g->name, .host = s->host, .pid = s->pid };
    pattern_expand(pattern, &v, buf, len);
}

const char *sw_conn_text(swarm *s, const client *c, char *buf, size_t len)
{
    if (c->laddr >= s->nladdrs) {
        snprintf(buf, len, "?");
        return buf;
    }
    struct sockaddr_storage a = s->laddrs[c->laddr];
    if (a.ss_family == AF_INET)
        ((struct sockaddr_in *)&a)->sin_port = htons(c->lport);
    else
        ((struct sockaddr_in6 *)&a)->sin6_port = htons(c->lport);
    return fl_format_addr((struct sockaddr *)&a, buf, len);
}

void sw_emit(swarm *s, json_t *ev) { fl_evlog_emit(s->log, ev); }

/* ---- the connect ramp ---------------------------------------------------- */

#define RAMP_CATCH_UP_NS (10 * FL_NS_PER_MS)

void sw_enqueue(swarm *s, client *c)
{
    c->state = C_QUEUED;
    s->queue[(s->q_head + s->q_len) % s->nclients] = c->index;
    s->q_len++;
}

uint8_t sw_remember_laddr(swarm *s, const struct sockaddr_storage *a)
{
    struct sockaddr_storage key;
    memset(&key, 0, sizeof key);
    if (a->ss_family == AF_INET) {
        struct sockaddr_in *k = (struct sockaddr_in *)&key;
        k->sin_family = AF_INET;
        k->sin_addr = ((const struct sockaddr_in *)a)->sin_addr;
    } else {
        struct sockaddr_in6 *k = (struct sockaddr_in6 *)&key;
        k->sin6_family = AF_INET6;
        k->sin6_addr = ((const struct sockaddr_in6 *)a)->sin6_addr;
    }
    for (size_t i = 0; i < s->nladdrs; i++)
        if (memcmp(&s->laddrs[i], &key, sizeof key) == 0)
            return (uint8_t)i;
    if (s->nladdrs == MAX_LADDRS)
        return MAX_LADDRS; /* printed as "?" */
    s->laddrs[s->nladdrs] = key;
    return (uint8_t)s->nladdrs++;
}

void sw_pump(swarm *s)
{
    /* A failing connect dies and pumps again: the flag keeps that from recursing. */
    if (s->pumping)
        return;
    s->pumping = true;
    uint64_t gap = s->cfg->connect_rate ? FL_NS_PER_S / s->cfg->connect_rate : 0;
    uint64_t now = gap ? fl_now_ns() : 0;
    while (!s->stopping && s->q_len && s->inflight < s->cfg->inflight) {
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
        client_start_connect(s, c);
    }
    s->pumping = false;
}

static void on_ramp_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    (void)now;
    sw_pump(arg);
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
    s->pid = (long)getpid();
    if (gethostname(s->host, sizeof s->host) < 0)
        snprintf(s->host, sizeof s->host, "host");
    s->host[sizeof s->host - 1] = '\0';
    if (resolve(cfg->broker, true, &s->broker, &s->broker_len) < 0) {
        snprintf(err, errlen, "broker: '%s' is not ADDR:PORT", cfg->broker);
        goto fail;
    }
    fl_format_addr((struct sockaddr *)&s->broker, s->broker_text, sizeof s->broker_text);
    s->sources = calloc(cfg->nsources + 1, sizeof *s->sources);
    s->queue = calloc(total, sizeof *s->queue);
    uint32_t maxpay = 0;
    for (size_t i = 0; i < cfg->ngroups; i++)
        if (cfg->groups[i].workload.payload > maxpay)
            maxpay = cfg->groups[i].workload.payload;
    s->payload = malloc(maxpay + 1);
    if (!s->sources || !s->queue || !s->payload) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memset(s->payload, 'x', maxpay + 1);
    for (size_t i = 0; i < cfg->nsources; i++) {
        socklen_t l;
        if (resolve(cfg->sources[i], false, &s->sources[i], &l) < 0 || s->sources[i].ss_family != s->broker.ss_family) {
            snprintf(err, errlen, "sources[%zu]: '%s' is not an address of the broker's family", i, cfg->sources[i]);
            goto fail;
        }
    }
    s->nsources = cfg->nsources;
    s->k.clients = total;
    uint32_t idx = 0;
    for (size_t gi = 0; gi < cfg->ngroups; gi++) {
        for (uint32_t n = 0; n < cfg->groups[gi].clients; n++, idx++) {
            client *c = &s->clients[idx];
            c->index = idx;
            c->n = n;
            c->group = (uint16_t)gi;
            c->fd = -1;
            c->state = C_DEAD;
            fl_timer_init(&c->timer, client_on_timer, c);
        }
    }
    return s;
fail:
    free(s->sources);
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
    s->stopping = true;
    for (uint32_t i = 0; i < s->nclients; i++)
        client_stop(s, &s->clients[i]);
    s->q_len = 0;
    fl_loop_timer_cancel(s->loop, &s->ramp_timer);
    fl_loop_stop(s->loop);
}

void swarm_free(swarm *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nclients; i++) {
        client_close(s, &s->clients[i]);
        fl_loop_timer_cancel(s->loop, &s->clients[i].timer);
    }
    fl_loop_timer_cancel(s->loop, &s->ramp_timer);
    free(s->sources);
    free(s->queue);
    free(s->payload);
    free(s);
}

void swarm_get_counters(const swarm *s, swarm_counters *out)
{
    *out = s->k;
    out->connecting = s->inflight;
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
