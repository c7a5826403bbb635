#include "harness/analysis/analyze_internal.h"
#include "core/clock.h"
#include "core/grow.h"
#include "core/reason.h"
#include "core/stallwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A field of nanoseconds (or any count); 0 when it is not logged. */
static uint64_t u64_field(const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static uint64_t u64_at(const json_t *arr, size_t i)
{
    const json_t *v = json_array_get(arr, i);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

pass_late fl_an_pass_late(const json_t *ev, const char *due_key)
{
    const json_t *cpu = json_object_get(ev, "cpu_wait"), *wake = json_object_get(ev, "pings_wake");
    return (pass_late){ .due = u64_field(ev, due_key), .wait_began = u64_field(ev, "wait_began"),
                        .woke = u64_field(ev, "woke"),
                        .cpu_wait = u64_field(ev, "cpu_wait"), .cpu_known = json_is_integer(cpu),
                        .chain_queued = u64_field(ev, "pings_queued"),
                        .chain_cpu_wait = u64_field(ev, "pings_cpu_wait"),
                        .chain_wake_from = u64_at(wake, 0), .chain_wake_to = u64_at(wake, 1),
                        .chain_wake_uncovered = u64_at(wake, 2) };
}

static char *dup_str(const json_t *ev, const char *key)
{
    const char *s = json_string_value(json_object_get(ev, key));
    return strdup(s ? s : "");
}

fl_analysis *fl_analysis_new(void)
{
    fl_analysis *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->open_client = json_object();
    a->dead_client = json_object();
    a->open_broker = json_object();
    a->accepted = json_object();
    a->last_broker = json_object();
    a->wire = json_object();
    return a;
}

void fl_analysis_free(fl_analysis *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->ncc; i++) {
        free(a->cc[i].client_id);
        free(a->cc[i].conn);
        free(a->cc[i].dead_reason);
        free(a->cc[i].group);
    }
    for (size_t i = 0; i < a->nbc; i++) {
        free(a->bc[i].client_id);
        free(a->bc[i].conn);
        free(a->bc[i].reason);
    }
    for (size_t i = 0; i < a->nwills; i++)
        free(a->wills[i].whose);
    free(a->cc);
    free(a->bc);
    free(a->wills);
    json_decref(a->open_client);
    json_decref(a->dead_client);
    json_decref(a->open_broker);
    json_decref(a->accepted);
    json_decref(a->last_broker);
    json_decref(a->wire);
    free(a->stalls);
    free(a->busy);
    free(a);
}

long fl_an_lookup(json_t *map, const char *conn)
{
    json_t *v = json_object_get(map, conn);
    return v ? (long)json_integer_value(v) : -1;
}

static int client_up(fl_analysis *a, const json_t *ev, uint64_t t)
{
    /* flatline-swarm logs a reconnect as `connected` and `reconnected`: one connection. */
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    const char *id = json_string_value(json_object_get(ev, "client_id"));
    long open = conn ? fl_an_lookup(a->open_client, conn) : -1;
    if (open >= 0 && !a->cc[open].dead && id && strcmp(a->cc[open].client_id, id) == 0)
        return 0;
    if (fl_grow(&a->cc, &a->capcc, a->ncc + 1, 256) < 0)
        return -1;
    client_conn *c = &a->cc[a->ncc];
    *c = (client_conn){ .client_id = dup_str(ev, "client_id"), .conn = dup_str(ev, "conn"),
                        .group = dup_str(ev, "group"), .up = t,
                        .last_rx = t, .broker = -1, .fault = -1 };
    json_object_set_new(a->open_client, c->conn, json_integer((json_int_t)a->ncc));
    a->ncc++;
    a->up++;
    return 0;
}

static void client_dead(fl_analysis *a, const json_t *ev, uint64_t t)
{
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    long i = conn ? fl_an_lookup(a->open_client, conn) : -1;
    if (i < 0 || a->cc[i].dead)
        return;
    a->cc[i].dead = t;
    a->cc[i].dead_reason = dup_str(ev, "reason");
    a->cc[i].dead_last_rx = u64_field(ev, "last_rx");
    a->cc[i].dead_late = fl_an_pass_late(ev, "due");
    a->cc[i].dead_last_tx = u64_field(ev, "last_tx");
    a->cc[i].dead_first_ping = u64_field(ev, "pings_first");
    json_object_del(a->open_client, conn);
    json_object_set_new(a->dead_client, conn, json_integer(i));
    if (!a->cc[i].down) {
        a->cc[i].down = true;
        a->up--;
    }
    a->client_detected++;
}

/* The client will try again after `delay`: that SYN may end the broker's
 * ghost of the dead connection before the CONNECT does (model/instant.h). */
static void reconnect_attempt(fl_analysis *a, const json_t *ev, uint64_t t)
{
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    long i = conn ? fl_an_lookup(a->dead_client, conn) : -1;
    if (i >= 0 && !a->cc[i].retry_at && json_is_integer(json_object_get(ev, "delay")))
        a->cc[i].retry_at = t + u64_field(ev, "delay");
}

/* A connection from conn completed its handshake at t: if the broker's
 * previous one from that address and port was reset within a SYN's
 * retransmission before (or is still open in the log), that socket met this
 * connection's first SYN (two cannot share the four-tuple). Any accept
 * counts, a CONNECT it then refused (a rejected duplicate) too. One that
 * ended otherwise, or earlier, only made room for it. */
#define REUSE_WINDOW_NS (3 * FL_NS_PER_S / 2) /* the SYN's 1 s RTO, a wheel slot, the handshake */
static void reused(fl_analysis *a, const char *conn, uint64_t t)
{
    long prev = fl_an_lookup(a->last_broker, conn);
    if (prev < 0)
        return;
    broker_conn *p = &a->bc[prev];
    bool met = !p->close || (p->close + REUSE_WINDOW_NS >= t && fl_reason_parse(p->reason) == FL_REASON_RESET);
    if (!p->reused_at && p->connect < t && met)
        p->reused_at = t;
}

static int broker_connect(fl_analysis *a, const json_t *ev, uint64_t t)
{
    if (fl_grow(&a->bc, &a->capbc, a->nbc + 1, 256) < 0)
        return -1;
    broker_conn *b = &a->bc[a->nbc];
    *b = (broker_conn){ .client_id = dup_str(ev, "client_id"), .conn = dup_str(ev, "conn"), .connect = t,
                        .client = -1 };
    const json_t *acc = json_object_get(a->accepted, b->conn);
    if (json_is_integer(acc)) {
        b->accept = (uint64_t)json_integer_value(acc);
        json_object_del(a->accepted, b->conn);
    }
    reused(a, b->conn, b->accept ? b->accept : t);
    json_object_set_new(a->last_broker, b->conn, json_integer((json_int_t)a->nbc));
    json_object_set_new(a->open_broker, b->conn, json_integer((json_int_t)a->nbc));
    a->nbc++;
    return 0;
}

static void broker_close(fl_analysis *a, const json_t *ev, uint64_t t)
{
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    long i = conn ? fl_an_lookup(a->open_broker, conn) : -1;
    if (i < 0 || a->bc[i].close) /* closes before CONNECT have no client to join */
        return;
    a->bc[i].close = t;
    a->bc[i].reason = dup_str(ev, "reason");
    a->bc[i].last_rx = u64_field(ev, "last_rx");
    a->bc[i].close_late = fl_an_pass_late(ev, "deadline");
    json_object_del(a->open_broker, conn);
    /* Live numbers only: the broker closing a connection takes it down even
     * when its client is gone (power loss) and will never say so. */
    long c = fl_an_lookup(a->open_client, conn);
    if (c >= 0 && !a->cc[c].down) {
        a->cc[c].down = true;
        a->up--;
    }
    a->broker_detected++;
}

static int will_received(fl_analysis *a, const json_t *ev, uint64_t t)
{
    if (fl_grow(&a->wills, &a->capwills, a->nwills + 1, 256) < 0)
        return -1;
    a->wills[a->nwills++] = (will_seen){ .whose = dup_str(ev, "whose"), .t = t, .late = fl_an_pass_late(ev, "due") };
    return 0;
}

int fl_analysis_add(fl_analysis *a, const json_t *ev)
{
    const char *src = json_string_value(json_object_get(ev, "src"));
    const char *name = json_string_value(json_object_get(ev, "ev"));
    const json_t *tv = json_object_get(ev, "t");
    if (!src || !name || !json_is_integer(tv))
        return 0;
    uint64_t t = (uint64_t)json_integer_value(tv);
    if (strcmp(src, "swarm") == 0) {
        if (strcmp(name, "connected") == 0)
            return client_up(a, ev, t);
        if (strcmp(name, "reconnected") == 0) {
            a->reconnects++;
            return client_up(a, ev, t);
        }
        if (strcmp(name, "dead_detected") == 0) {
            client_dead(a, ev, t);
        } else if (strcmp(name, "pingresp") == 0) {
            const char *conn = json_string_value(json_object_get(ev, "conn"));
            long i = conn ? fl_an_lookup(a->open_client, conn) : -1;
            if (i >= 0 && t > a->cc[i].last_rx)
                a->cc[i].last_rx = t;
        }
        else if (strcmp(name, "reconnect_attempt") == 0)
            reconnect_attempt(a, ev, t);
        else if (strcmp(name, "will_received") == 0)
            return will_received(a, ev, t);
    } else if (strcmp(src, "wire") == 0) {
        const char *conn = json_string_value(json_object_get(ev, "conn"));
        if (!conn)
            return 0;
        json_t *list = json_object_get(a->wire, conn);
        if (!list) {
            list = json_array();
            json_object_set_new(a->wire, conn, list);
        }
        const char *kind = strcmp(name, "broker_rst") == 0 ? "reset" : strcmp(name, "broker_fin") == 0 ? "fin" : "closed";
        json_array_append_new(list, json_pack("[I, s]", (json_int_t)t, kind));
    } else if (strcmp(src, "runner") == 0 && strcmp(name, "stall") == 0) {
        uint64_t due = u64_field(ev, "due"), late = u64_field(ev, "late"), since = u64_field(ev, "since");
        if (due && late) {
            if (fl_grow(&a->stalls, &a->capstalls, a->nstalls + 1, 64) < 0)
                return -1;
            /* a line without since (or a bad one) counts from its due */
            a->stalls[a->nstalls++] = (fl_stall){ due, late, (int)json_integer_value(json_object_get(ev, "cpu")),
                                                  since && since < due ? since : due };
        }
    } else if (strcmp(src, "broker") == 0) {
        if (strcmp(name, "connect") == 0)
            return broker_connect(a, ev, t);
        if (strcmp(name, "will") == 0) {
            /* joined by the dead connection's conn: its newest record */
            const char *conn = json_string_value(json_object_get(ev, "conn"));
            long i = conn ? fl_an_lookup(a->last_broker, conn) : -1;
            if (i >= 0 && !a->bc[i].will) {
                a->bc[i].will = t;
                a->bc[i].will_late = fl_an_pass_late(ev, "due");
            }
        }
        if (strcmp(name, "accept") == 0) {
            const char *conn = json_string_value(json_object_get(ev, "conn"));
            if (conn) {
                json_object_set_new(a->accepted, conn, json_integer((json_int_t)t));
                reused(a, conn, t);
            }
        }
        if (strcmp(name, "close") == 0)
            broker_close(a, ev, t);
    }
    return 0;
}

void fl_analysis_live(const fl_analysis *a, fl_live *out)
{
    out->up = a->up;
    out->broker_detected = a->broker_detected;
    out->client_detected = a->client_detected;
    out->reconnects = a->reconnects;
}

/* How long an untouched connection was up before end_ns (0: touched by a
 * fault, or never up before it); *until_ns: when its time ends. */
static uint64_t idle_span(const fl_analysis *a, const client_conn *c, uint64_t end_ns, uint64_t *until_ns)
{
    if ((c->fault >= 0 || c->behind_fault) && !c->idle_ok)
        return 0;
    const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
    uint64_t until = c->dead && c->dead < end_ns ? c->dead : end_ns;
    if (b && b->close && b->close < until)
        until = b->close;
    *until_ns = until;
    return until > c->up ? until - c->up : 0;
}

/* One untouched connection's share of the overhead: its whole heartbeat
 * cycles and what the wire counted in them (analyze.h). hb NULL: the wire
 * never saw it (or its traffic went to another connection on the same port):
 * its whole time, with nothing. Returns false when it does not count. */
static bool idle_share(const fl_analysis *a, const client_conn *c, const fl_conn_heartbeats *hb, uint64_t end_ns,
                       fl_idle_overhead *out)
{
    uint64_t until = 0, span = idle_span(a, c, end_ns, &until);
    if (!span)
        return false;
    memset(out, 0, sizeof *out);
    out->connections = 1;
    if (hb) {
        out->mqtt_packets = (double)hb->mqtt_packets;
        out->mqtt_bytes = (double)hb->mqtt_bytes;
        out->tcp_packets = (double)hb->tcp_packets;
        out->tcp_bytes = (double)hb->tcp_bytes;
        /* Its cycles end at its last PINGREQ (a probe only fills a ping's
         * cycle), with none at its last probe; with neither it has none. */
        bool pings = hb->ping_ns[0] != 0;
        const uint64_t *beat = pings ? hb->ping_ns : hb->probe_ns;
        uint64_t last = beat[0], before = beat[1] > c->up ? beat[1] : c->up;
        /* A heartbeat outside its time is another connection's (a reused port). */
        if (last > c->up && last <= until && before < last) {
            uint64_t cycle = last - before, tail = until - last;
            if (tail < cycle + cycle / 2) {
                span = last - c->up;
                if (pings) {
                    out->tcp_packets = (double)hb->tcp_packets_at_ping;
                    out->tcp_bytes = (double)hb->tcp_bytes_at_ping;
                }
            }
        }
    }
    out->connection_hours = (double)span / 3.6e12;
    return true;
}

/* Sums the shares of the untouched connections of group (NULL: all); each
 * wire entry is counted once (a reused port: the first connection's). */
static void idle_sum(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, const char *group,
                     uint64_t end_ns, fl_idle_overhead *out)
{
    memset(out, 0, sizeof *out);
    json_t *index = json_object(); /* conn -> index into wire */
    bool *used = calloc(nwire + 1, sizeof *used);
    for (size_t i = 0; i < nwire; i++)
        json_object_set_new(index, wire[i].conn, json_integer((json_int_t)i));
    for (size_t i = 0; i < a->ncc; i++) {
        const client_conn *c = &a->cc[i];
        if (group && (!c->group || strcmp(c->group, group) != 0))
            continue;
        const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
        /* Behind a NAT only the broker's conn is the one on its wire. */
        long w = fl_an_lookup(index, b ? b->conn : c->conn);
        const fl_conn_heartbeats *hb = w >= 0 && used && !used[w] ? &wire[w] : NULL;
        fl_idle_overhead share;
        if (!idle_share(a, c, hb, end_ns, &share))
            continue;
        if (hb)
            used[w] = true;
        out->mqtt_packets += share.mqtt_packets;
        out->mqtt_bytes += share.mqtt_bytes;
        out->tcp_packets += share.tcp_packets;
        out->tcp_bytes += share.tcp_bytes;
        out->connection_hours += share.connection_hours;
        out->connections++;
    }
    free(used);
    json_decref(index);
}

double fl_analysis_idle_hours(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, const char *group,
                              uint64_t end_ns)
{
    fl_idle_overhead o;
    idle_sum(a, wire, nwire, group, end_ns, &o);
    return o.connection_hours;
}

void fl_analysis_idle_overhead(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, uint64_t end_ns,
                               fl_idle_overhead *out)
{
    idle_sum(a, wire, nwire, NULL, end_ns, out);
}

const char *fl_idle_overhead_unmeasured(const fl_idle_overhead *o, bool counted)
{
    if (!counted)
        return "the broker host's wire was not counted (no capture, or the run stopped before the measurement ended)";
    if (o->connections == 0 || !(o->connection_hours > 0))
        return "no connection was left untouched by the faults";
    return NULL;
}

const char *fl_conn_addr(const char *conn, char *buf, size_t len)
{
    if (conn[0] == '[') {
        const char *end = strchr(conn, ']');
        size_t n = end ? (size_t)(end - conn - 1) : 0;
        snprintf(buf, len, "%.*s", (int)n, conn + 1);
    } else {
        const char *colon = strrchr(conn, ':');
        size_t n = colon ? (size_t)(colon - conn) : strlen(conn);
        snprintf(buf, len, "%.*s", (int)n, conn);
    }
    return buf;
}

/* Records sorted by (client id, time), to join the two sides by client id. */
int fl_an_by_client_up(const void *x, const void *y, void *ctx)
{
    const fl_analysis *an = ctx;
    const client_conn *a = &an->cc[*(const long *)x], *b = &an->cc[*(const long *)y];
    int c = strcmp(a->client_id, b->client_id);
    return c ? c : (a->up > b->up) - (a->up < b->up);
}
static int key_cmp(const client_conn *c, const char *conn, const char *client_id)
{
    int k = strcmp(c->conn ? c->conn : "", conn);
    return k ? k : strcmp(c->client_id ? c->client_id : "", client_id);
}

static int by_conn_key_up(const void *x, const void *y, void *ctx)
{
    const fl_analysis *an = ctx;
    const client_conn *a = &an->cc[*(const long *)x], *b = &an->cc[*(const long *)y];
    int c = key_cmp(a, b->conn ? b->conn : "", b->client_id ? b->client_id : "");
    return c ? c : (a->up > b->up) - (a->up < b->up);
}

static int by_broker_connect(const void *x, const void *y, void *ctx)
{
    const fl_analysis *an = ctx;
    const broker_conn *a = &an->bc[*(const long *)x], *b = &an->bc[*(const long *)y];
    int c = strcmp(a->client_id, b->client_id);
    return c ? c : (a->connect > b->connect) - (a->connect < b->connect);
}

/* The broker logs `connect` around the time it sends CONNACK and the client
 * logs `connected` after reading it; the two processes' lines can land either
 * way round by a scheduling quantum. A client connection belongs to the latest
 * broker connection of the same client id that began no later than it (give
 * or take JOIN_SLACK_NS). The same conn on both sides (no NAT) is joined
 * first: duplicate client ids stay apart. */
#define JOIN_SLACK_NS UINT64_C(100000000)
void fl_an_join(fl_analysis *a)
{
    /* Same conn and client id: a client that reconnects from the dead
     * connection's source port (the case where its SYN resets the broker's
     * ghost) has two records with one key, so each broker connection takes
     * the first of that key's records, in time order, that came up no earlier
     * than it began (give or take JOIN_SLACK_NS). */
    long *by_key = malloc((a->ncc + 1) * sizeof *by_key);
    for (size_t k = 0; by_key && k < a->ncc; k++)
        by_key[k] = (long)k;
    if (by_key)
        qsort_r(by_key, a->ncc, sizeof *by_key, by_conn_key_up, a);
    for (size_t i = 0; by_key && i < a->nbc; i++) {
        broker_conn *b = &a->bc[i];
        if (!b->conn || !b->client_id)
            continue;
        size_t lo = 0, hi = a->ncc; /* the first record >= (conn, client id, connect - slack) */
        uint64_t from = b->connect > JOIN_SLACK_NS ? b->connect - JOIN_SLACK_NS : 0;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const client_conn *c = &a->cc[by_key[mid]];
            int cmp = key_cmp(c, b->conn, b->client_id);
            if (cmp < 0 || (cmp == 0 && c->up < from))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < a->ncc && key_cmp(&a->cc[by_key[lo]], b->conn, b->client_id) == 0; lo++) {
            client_conn *c = &a->cc[by_key[lo]];
            if (c->broker < 0) {
                c->broker = (long)i;
                b->client = by_key[lo];
                break;
            }
        }
    }
    free(by_key);
    long *ci = malloc((a->ncc + 1) * sizeof *ci), *bi = malloc((a->nbc + 1) * sizeof *bi);
    size_t nci = 0, nbi = 0;
    for (size_t i = 0; ci && i < a->ncc; i++)
        if (a->cc[i].broker < 0)
            ci[nci++] = (long)i;
    for (size_t i = 0; bi && i < a->nbc; i++)
        if (a->bc[i].client < 0)
            bi[nbi++] = (long)i;
    if (ci)
        qsort_r(ci, nci, sizeof *ci, fl_an_by_client_up, a);
    if (bi)
        qsort_r(bi, nbi, sizeof *bi, by_broker_connect, a);
    size_t j = 0;
    for (size_t i = 0; i < nci; i++) {
        client_conn *c = &a->cc[ci[i]];
        while (j < nbi && strcmp(a->bc[bi[j]].client_id, c->client_id) < 0)
            j++;
        long best = -1;
        for (size_t k = j; k < nbi && strcmp(a->bc[bi[k]].client_id, c->client_id) == 0; k++) {
            broker_conn *b = &a->bc[bi[k]];
            if (b->connect > c->up + JOIN_SLACK_NS)
                break;
            if (b->client < 0)
                best = bi[k];
        }
        if (best >= 0) {
            c->broker = best;
            a->bc[best].client = ci[i];
        }
    }
    free(ci);
    free(bi);
}

