#include "harness/run/analyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One TCP connection as the client saw it (swarm `connected`/`reconnected`
 * up to `dead_detected`). */
typedef struct client_conn {
    char *client_id, *conn, *dead_reason;
    char *group;       /* the swarm group's name, NULL if not logged */
    uint64_t up, dead; /* dead 0: never detected */
    uint64_t last_rx;  /* the newest PINGRESP (with --log-pings), else up */
    long broker;       /* index into broker_conns, -1: not joined */
    bool down;         /* counted as down in the live numbers */
    int fault;         /* the fault that cut it, -1: none */
} client_conn;

/* The same connection as the broker saw it (`connect` up to `close`). */
typedef struct broker_conn {
    char *client_id, *conn, *reason;
    uint64_t connect, close; /* close 0: still open */
    long client;             /* index into client_conns, -1 */
} broker_conn;

typedef struct will_seen {
    char *whose;
    uint64_t t;
} will_seen;

struct fl_analysis {
    client_conn *cc;
    size_t ncc, capcc;
    broker_conn *bc;
    size_t nbc, capbc;
    will_seen *wills;
    size_t nwills, capwills;
    /* conn -> index of its newest record; jansson objects are the hash maps. */
    json_t *open_client, *open_broker;
    size_t up, detected, reconnects;
    json_t *wire; /* conn -> [[t, "fin"|"reset"], ...]: what the broker host sent (capture.h) */
};

static void *grow(void *items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return items;
    size_t n = *cap ? *cap * 2 : 256;
    void *p = realloc(items, n * size);
    if (p)
        *cap = n;
    return p;
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
    a->open_broker = json_object();
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
    json_decref(a->open_broker);
    json_decref(a->wire);
    free(a);
}

static long lookup(json_t *map, const char *conn)
{
    json_t *v = json_object_get(map, conn);
    return v ? (long)json_integer_value(v) : -1;
}

static int client_up(fl_analysis *a, const json_t *ev, uint64_t t)
{
    /* flatline-swarm logs a reconnect as `connected` and `reconnected`: one connection. */
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    const char *id = json_string_value(json_object_get(ev, "client_id"));
    long open = conn ? lookup(a->open_client, conn) : -1;
    if (open >= 0 && !a->cc[open].dead && id && strcmp(a->cc[open].client_id, id) == 0)
        return 0;
    client_conn *cc = grow(a->cc, &a->capcc, a->ncc, sizeof *cc);
    if (!cc)
        return -1;
    a->cc = cc;
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
    long i = conn ? lookup(a->open_client, conn) : -1;
    if (i < 0 || a->cc[i].dead)
        return;
    a->cc[i].dead = t;
    a->cc[i].dead_reason = dup_str(ev, "reason");
    json_object_del(a->open_client, conn);
    if (!a->cc[i].down) {
        a->cc[i].down = true;
        a->up--;
    }
    a->detected++;
}

static int broker_connect(fl_analysis *a, const json_t *ev, uint64_t t)
{
    broker_conn *bc = grow(a->bc, &a->capbc, a->nbc, sizeof *bc);
    if (!bc)
        return -1;
    a->bc = bc;
    broker_conn *b = &a->bc[a->nbc];
    *b = (broker_conn){ .client_id = dup_str(ev, "client_id"), .conn = dup_str(ev, "conn"), .connect = t,
                        .client = -1 };
    json_object_set_new(a->open_broker, b->conn, json_integer((json_int_t)a->nbc));
    a->nbc++;
    return 0;
}

static void broker_close(fl_analysis *a, const json_t *ev, uint64_t t)
{
    const char *conn = json_string_value(json_object_get(ev, "conn"));
    long i = conn ? lookup(a->open_broker, conn) : -1;
    if (i < 0 || a->bc[i].close) /* closes before CONNECT have no client to join */
        return;
    a->bc[i].close = t;
    a->bc[i].reason = dup_str(ev, "reason");
    json_object_del(a->open_broker, conn);
    /* Live numbers only: the broker closing a connection takes it down even
     * when its client is gone (power loss) and will never say so. */
    long c = lookup(a->open_client, conn);
    if (c >= 0 && !a->cc[c].down) {
        a->cc[c].down = true;
        a->up--;
    }
    a->detected++;
}

static int will_received(fl_analysis *a, const json_t *ev, uint64_t t)
{
    will_seen *w = grow(a->wills, &a->capwills, a->nwills, sizeof *w);
    if (!w)
        return -1;
    a->wills = w;
    a->wills[a->nwills++] = (will_seen){ .whose = dup_str(ev, "whose"), .t = t };
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
            long i = conn ? lookup(a->open_client, conn) : -1;
            if (i >= 0 && t > a->cc[i].last_rx)
                a->cc[i].last_rx = t;
        }
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
    } else if (strcmp(src, "broker") == 0) {
        if (strcmp(name, "connect") == 0)
            return broker_connect(a, ev, t);
        if (strcmp(name, "close") == 0)
            broker_close(a, ev, t);
    }
    return 0;
}

void fl_analysis_live(const fl_analysis *a, fl_live *out)
{
    out->up = a->up;
    out->detected = a->detected;
    out->reconnects = a->reconnects;
}

/* How long an untouched connection was up before end_ns (0: touched by a
 * fault, or never up before it). */
static uint64_t idle_span(const fl_analysis *a, const client_conn *c, uint64_t end_ns)
{
    if (c->fault >= 0)
        return 0;
    const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
    uint64_t until = c->dead && c->dead < end_ns ? c->dead : end_ns;
    if (b && b->close && b->close < until)
        until = b->close;
    return until > c->up ? until - c->up : 0;
}

double fl_analysis_idle_hours(const fl_analysis *a, const char *group, uint64_t end_ns)
{
    double ns = 0;
    for (size_t i = 0; i < a->ncc; i++)
        if (a->cc[i].group && strcmp(a->cc[i].group, group) == 0)
            ns += (double)idle_span(a, &a->cc[i], end_ns);
    return ns / 3.6e12;
}

void fl_analysis_idle_overhead(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, uint64_t end_ns,
                               fl_idle_overhead *out)
{
    memset(out, 0, sizeof *out);
    json_t *index = json_object(); /* conn -> index into wire */
    bool *used = calloc(nwire + 1, sizeof *used);
    for (size_t i = 0; i < nwire; i++)
        json_object_set_new(index, wire[i].conn, json_integer((json_int_t)i));
    double ns = 0;
    for (size_t i = 0; i < a->ncc; i++) {
        const client_conn *c = &a->cc[i];
        uint64_t span = idle_span(a, c, end_ns);
        if (!span)
            continue;
        const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
        ns += (double)span;
        out->connections++;
        /* Behind a NAT only the broker's conn is the one on its wire. */
        long w = lookup(index, b ? b->conn : c->conn);
        if (w < 0 || !used || used[w])
            continue; /* a reused port: its traffic is counted once */
        used[w] = true;
        out->mqtt_packets += (double)wire[w].mqtt_packets;
        out->mqtt_bytes += (double)wire[w].mqtt_bytes;
        out->tcp_packets += (double)wire[w].tcp_packets;
        out->tcp_bytes += (double)wire[w].tcp_bytes;
    }
    out->connection_hours = ns / 3.6e12;
    free(used);
    json_decref(index);
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
static int by_client_up(const void *x, const void *y, void *ctx)
{
    const fl_analysis *an = ctx;
    const client_conn *a = &an->cc[*(const long *)x], *b = &an->cc[*(const long *)y];
    int c = strcmp(a->client_id, b->client_id);
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
static void join(fl_analysis *a)
{
    /* "conn client_id" -> the newest client record with both (ports are reused rarely). */
    json_t *by_key = json_object();
    char key[512];
    for (size_t k = 0; k < a->ncc; k++) {
        snprintf(key, sizeof key, "%s %s", a->cc[k].conn, a->cc[k].client_id);
        json_object_set_new(by_key, key, json_integer((json_int_t)k));
    }
    for (size_t i = 0; i < a->nbc; i++) {
        broker_conn *b = &a->bc[i];
        snprintf(key, sizeof key, "%s %s", b->conn, b->client_id);
        long k = lookup(by_key, key);
        if (k >= 0 && a->cc[k].broker < 0 && b->connect <= a->cc[k].up + JOIN_SLACK_NS) {
            a->cc[k].broker = (long)i;
            b->client = k;
        }
    }
    json_decref(by_key);
    long *ci = malloc((a->ncc + 1) * sizeof *ci), *bi = malloc((a->nbc + 1) * sizeof *bi);
    size_t nci = 0, nbi = 0;
    for (size_t i = 0; ci && i < a->ncc; i++)
        if (a->cc[i].broker < 0)
            ci[nci++] = (long)i;
    for (size_t i = 0; bi && i < a->nbc; i++)
        if (a->bc[i].client < 0)
            bi[nbi++] = (long)i;
    if (ci)
        qsort_r(ci, nci, sizeof *ci, by_client_up, a);
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

static bool in_set(const fl_truth *f, const char *conn)
{
    char addr[64];
    fl_conn_addr(conn, addr, sizeof addr);
    for (size_t i = 0; i < f->naddrs; i++)
        if (strcmp(f->addrs[i], addr) == 0)
            return true;
    return false;
}

/* Up when the fault hit: connected before, neither side had noticed a death. */
static bool alive_at(const fl_analysis *a, const client_conn *c, uint64_t t)
{
    if (c->up >= t || (c->dead && c->dead < t))
        return false;
    if (c->broker >= 0) {
        const broker_conn *b = &a->bc[c->broker];
        if (b->close && b->close < t)
            return false;
    }
    return true;
}

static int will_order(const void *x, const void *y)
{
    const will_seen *a = x, *b = y;
    int c = strcmp(a->whose, b->whose);
    return c ? c : (a->t > b->t) - (a->t < b->t);
}

/* The first will for whose at or after `after`: wills are sorted by (whose, t). */
static uint64_t first_will(const fl_analysis *a, const char *whose, uint64_t after, uint64_t end)
{
    size_t lo = 0, hi = a->nwills;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const will_seen *w = &a->wills[mid];
        int c = strcmp(w->whose, whose);
        if (c < 0 || (c == 0 && w->t < after))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->nwills && strcmp(a->wills[lo].whose, whose) == 0 && a->wills[lo].t <= end)
        return a->wills[lo].t;
    return 0;
}

/* The client's next connection after t, if it came back; order holds every
 * client record's index sorted by (client id, up). */
static uint64_t next_up(const fl_analysis *a, const long *order, const char *client_id, uint64_t t, uint64_t end)
{
    size_t lo = 0, hi = a->ncc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const client_conn *c = &a->cc[order[mid]];
        int cmp = strcmp(c->client_id, client_id);
        if (cmp < 0 || (cmp == 0 && c->up <= t))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->ncc) {
        const client_conn *c = &a->cc[order[lo]];
        if (strcmp(c->client_id, client_id) == 0 && c->up <= end)
            return c->up;
    }
    return 0;
}

static bool expected_close(const char *reason)
{
    /* A refused duplicate never was an established connection. */
    return !reason || strcmp(reason, "client_disconnect") == 0 || strcmp(reason, "shutdown") == 0 ||
           strcmp(reason, "rejected_duplicate") == 0;
}

/* The first FIN or RST the broker host sent on conn at or after t. */
static uint64_t first_wire_close(const fl_analysis *a, const char *conn, uint64_t t, uint64_t end, const char **kind)
{
    const json_t *list = json_object_get(a->wire, conn);
    uint64_t best = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *item = json_array_get(list, i);
        uint64_t at = (uint64_t)json_integer_value(json_array_get(item, 0));
        if (at >= t && at <= end && (!best || at < best)) {
            best = at;
            *kind = json_string_value(json_array_get(item, 1));
        }
    }
    return best;
}

/* Behind a masquerading NAT the broker's wire names the NAT's address with,
 * as a rule, the client's own source port: the one wire conn on that port
 * (none if two share it). */
static const char *wire_conn_behind_nat(const fl_analysis *a, const char *conn)
{
    const char *port = strrchr(conn, ':'), *found = NULL, *key;
    const json_t *v;
    if (!port)
        return conn;
    json_object_foreach((json_t *)a->wire, key, v) {
        const char *p = strrchr(key, ':');
        if (p && strcmp(p, port) == 0 && strcmp(key, conn) != 0) {
            if (found)
                return conn;
            found = key;
        }
    }
    return found ? found : conn;
}

static double seconds(uint64_t from, uint64_t to) { return (double)(int64_t)(to - from) / 1e9; }

int fl_analysis_report(fl_analysis *a, const fl_truth *faults, size_t n, uint64_t steady_ns, uint64_t end_ns,
                       fl_report *r)
{
    join(a);
    fl_report_set_connections(r, a->ncc);
    if (a->nwills)
        qsort(a->wills, a->nwills, sizeof *a->wills, will_order);
    long *order = malloc((a->ncc + 1) * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < a->ncc; i++)
        order[i] = (long)i;
    qsort_r(order, a->ncc, sizeof *order, by_client_up, a);
    for (size_t f = 0; f < n; f++) {
        const fl_truth *truth = &faults[f];
        fl_report_fault *rf = fl_report_add_fault(r, truth->kind, truth->target, truth->inject_ns);
        if (!rf) {
            free(order);
            return -1;
        }
        if (truth->model)
            fl_report_fault_set_model(rf, truth->model);
        if (!truth->inject_ns)
            continue;
        if (truth->heal_ns)
            fl_report_fault_heal(rf, truth->heal_ns);
        size_t undetected[FL_SIDE_COUNT] = { 0 };
        for (size_t i = 0; i < a->ncc; i++) {
            client_conn *c = &a->cc[i];
            if (c->fault >= 0 || !in_set(truth, c->conn) || !alive_at(a, c, truth->inject_ns))
                continue;
            c->fault = (int)f;
            fl_report_fault_add_conn(rf, c->conn);
            /* A NAT's idle timeout cuts a connection when it has been quiet for
             * that long: the model's reference for nat-expiry. */
            uint64_t t0 = truth->inject_ns;
            if (truth->nat_timeout_ns && c->last_rx + truth->nat_timeout_ns > t0)
                t0 = c->last_rx + truth->nat_timeout_ns;
            const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
            const char *kind = NULL;
            const char *wire_conn = c->conn;
            if (truth->behind_nat && !truth->broker_side && !json_object_get(a->wire, c->conn))
                wire_conn = wire_conn_behind_nat(a, c->conn);
            uint64_t wire = truth->broker_wire ? first_wire_close(a, wire_conn, t0, end_ns, &kind) : 0;
            if (truth->broker_wire && !truth->broker_side) {
                /* no event log (a black-box broker): the first FIN or RST its host sent */
                if (wire)
                    fl_report_fault_detected(rf, FL_SIDE_BROKER, kind, seconds(t0, wire));
                else
                    undetected[FL_SIDE_BROKER]++;
            } else if (!truth->broker_side)
                ; /* neither an event log nor a capture: the will tells */
            else if (b && b->close && b->close <= end_ns)
                fl_report_fault_detected(rf, FL_SIDE_BROKER, b->reason, seconds(t0, b->close));
            else
                undetected[FL_SIDE_BROKER]++;
            if (truth->client_side) {
                if (c->dead && c->dead <= end_ns)
                    fl_report_fault_detected(rf, FL_SIDE_CLIENT, c->dead_reason, seconds(t0, c->dead));
                else
                    undetected[FL_SIDE_CLIENT]++;
            }
            if (truth->will) {
                uint64_t w = first_will(a, c->client_id, t0, end_ns);
                if (w)
                    fl_report_fault_detected(rf, FL_SIDE_WILL, "will", seconds(t0, w));
                else
                    undetected[FL_SIDE_WILL]++;
            }
            uint64_t back = next_up(a, order, c->client_id, t0, end_ns);
            if (back)
                fl_report_fault_recovered(rf, seconds(t0, back));
        }
        for (int s = 0; s < FL_SIDE_COUNT; s++)
            fl_report_fault_undetected(rf, (fl_side)s, undetected[s]);
    }
    free(order);
    /* Closes that no fault explains, one per connection: the side that closed
     * first (the other side then only learns of it). */
    for (size_t i = 0; i < a->ncc; i++) {
        const client_conn *c = &a->cc[i];
        if (c->fault >= 0)
            continue;
        const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
        bool client_counts = c->dead && c->dead >= steady_ns && c->dead <= end_ns;
        bool broker_counts = b && b->close && b->close >= steady_ns && b->close <= end_ns && !expected_close(b->reason);
        if (broker_counts && (!client_counts || b->close <= c->dead))
            fl_report_false_disconnect(r, b->conn, FL_SIDE_BROKER, b->reason, b->close);
        else if (client_counts && !(b && b->close && b->close <= c->dead && expected_close(b->reason)))
            fl_report_false_disconnect(r, c->conn, FL_SIDE_CLIENT, c->dead_reason, c->dead);
    }
    for (size_t i = 0; i < a->nbc; i++) {
        const broker_conn *b = &a->bc[i];
        if (b->client < 0 && b->close >= steady_ns && b->close <= end_ns && b->close && !expected_close(b->reason))
            fl_report_false_disconnect(r, b->conn, FL_SIDE_BROKER, b->reason, b->close);
    }
    return 0;
}
