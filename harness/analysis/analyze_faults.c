/* Measuring each fault: which connections it cut, when each side noticed,
 * and the closes no fault explains. */
#include "harness/analysis/analyze_internal.h"
#include "core/reason.h"
#include "model/instant.h"
#include "core/clock.h"
#include "core/stallwatch.h"
#include "core/wake.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static const will_seen *first_will(const fl_analysis *a, const char *whose, uint64_t after, uint64_t end)
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
        return &a->wills[lo];
    return NULL;
}

/* The client's next connection after t, if it came back; order holds every
 * client record's index sorted by (client id, up). */
static long next_conn(const fl_analysis *a, const long *order, const char *client_id, uint64_t t, uint64_t end)
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
            return order[lo];
    }
    return -1;
}

static uint64_t next_up(const fl_analysis *a, const long *order, const char *client_id, uint64_t t, uint64_t end)
{
    long k = next_conn(a, order, client_id, t, end);
    return k >= 0 ? a->cc[k].up : 0;
}

/* That next connection's CONNECT, as a takeover answers it: from its
 * handshake (the broker's `accept`: the CONNECT follows at once) to when the
 * broker had handled it (its `connect` line, written after the takeover);
 * the client's own `connected` (after CONNACK) without a broker log. */
typedef struct reconnect {
    uint64_t from, done; /* 0: none */
} reconnect;

static reconnect next_connect(const fl_analysis *a, const long *order, const char *client_id, uint64_t t,
                              uint64_t end)
{
    long k = next_conn(a, order, client_id, t, end);
    if (k < 0)
        return (reconnect){ 0 };
    if (a->cc[k].broker < 0)
        return (reconnect){ a->cc[k].up, a->cc[k].up };
    const broker_conn *b = &a->bc[a->cc[k].broker];
    return (reconnect){ b->accept && b->accept <= b->connect ? b->accept : b->connect, b->connect };
}

static bool expected_close(const char *reason)
{
    /* A refused duplicate never was an established connection. */
    fl_reason r = fl_reason_parse(reason);
    return !reason || r == FL_REASON_CLIENT_DISCONNECT || r == FL_REASON_SHUTDOWN || r == FL_REASON_REJECTED_DUPLICATE;
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

/* When each side noticed connection c was dead (0: not by end_ns), latencies
 * counting from t0. */
typedef struct detections {
    uint64_t at[FL_SIDE_COUNT];
    const char *reason[FL_SIDE_COUNT];
    bool watched[FL_SIDE_COUNT]; /* the side can tell us (a log, a capture, a will) */
    const will_seen *will;       /* the will that told, if any */
} detections;

static void detect(const fl_analysis *a, const fl_truth *truth, const client_conn *c, uint64_t t0, uint64_t end_ns,
                   detections *d)
{
    memset(d, 0, sizeof *d);
    const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
    if (truth->broker_wire && !truth->broker_side) {
        /* no event log (a black-box broker): the first FIN or RST its host sent */
        const char *wire_conn = c->conn;
        if (truth->behind_nat && !json_object_get(a->wire, c->conn))
            wire_conn = wire_conn_behind_nat(a, c->conn);
        d->watched[FL_SIDE_BROKER] = true;
        d->at[FL_SIDE_BROKER] = first_wire_close(a, wire_conn, t0, end_ns, &d->reason[FL_SIDE_BROKER]);
    } else if (truth->broker_side) { /* else neither an event log nor a capture: the will tells */
        d->watched[FL_SIDE_BROKER] = true;
        if (b && b->close && b->close <= end_ns) {
            d->at[FL_SIDE_BROKER] = b->close;
            d->reason[FL_SIDE_BROKER] = b->reason;
        }
    }
    if (truth->client_side) {
        d->watched[FL_SIDE_CLIENT] = true;
        if (c->dead && c->dead <= end_ns) {
            d->at[FL_SIDE_CLIENT] = c->dead;
            d->reason[FL_SIDE_CLIENT] = c->dead_reason;
        }
    }
    if (truth->will) {
        d->watched[FL_SIDE_WILL] = true;
        d->will = first_will(a, c->client_id, t0, end_ns);
        d->at[FL_SIDE_WILL] = d->will ? d->will->t : 0;
        d->reason[FL_SIDE_WILL] = "will";
    }
}

/* Still up at end_ns on both sides. */
static bool open_at_end(const fl_analysis *a, const client_conn *c, uint64_t end_ns)
{
    const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
    return !(c->dead && c->dead <= end_ns) && !(b && b->close && b->close <= end_ns);
}

/* The NAT this fault stands for never forgets a healthy connection of this
 * configuration (its heartbeat is shorter than the idle timeout). */
static bool nat_never_expires(const fl_truth *truth)
{
    return truth->nat_timeout_ns && truth->model && truth->model->nat.present && !truth->model->nat.expires;
}

/* The moment fault truth cut c (the reference of its latencies): the inject,
 * or the connection's own start when it came up under a standing fault; for
 * a NAT's idle timeout, when the connection had been quiet for that long. */
static uint64_t cut_at(const fl_truth *truth, const client_conn *c)
{
    uint64_t t0 = c->up > truth->inject_ns ? c->up : truth->inject_ns;
    if (truth->nat_timeout_ns && !nat_never_expires(truth) && c->last_rx + truth->nat_timeout_ns > t0)
        t0 = c->last_rx + truth->nat_timeout_ns;
    return t0;
}

/* The latest end of the fault's model windows (seconds after the cut), with
 * the tolerance; INFINITY without a model or when a window never closes. */
static double due_s(const fl_truth *truth)
{
    if (!truth->model)
        return INFINITY;
    double hi = 0;
    for (int s = 0; s < FL_SIDE_COUNT; s++) {
        const fl_side_prediction *sp = &truth->model->side[s];
        if (sp->applicable && !sp->unknown && sp->expect != FL_EXPECT_NONE && sp->window.hi_s > hi) {
            fl_tolerance tol = FL_TOLERANCE_DEFAULT;
            hi = sp->window.hi_s + tol.abs_s + (isfinite(sp->window.hi_s) ? tol.rel * sp->window.hi_s : 0);
        }
    }
    return hi > 0 ? hi : INFINITY;
}

/* The connection's own last reads, as the logs have them: the broker's from
 * its close (without a broker log, the client's last read stands for it: the
 * broker read that PINGREQ half a round trip before), the client's from its
 * dead_detected (else its newest PINGRESP, else its connect). */
static void history(const fl_analysis *a, const client_conn *c, uint64_t t0, reconnect back, fl_conn_history *h)
{
    *h = (fl_conn_history){ .reconnected = back.from != 0, .reconnect_s = back.from ? seconds(t0, back.from) : 0,
                            .reconnect_done_s = back.done ? seconds(t0, back.done) : 0 };
    const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
    uint64_t client_rx = c->dead_last_rx ? c->dead_last_rx : c->last_rx;
    uint64_t broker_rx = b && b->last_rx ? b->last_rx : client_rx;
    h->broker_last_rx_s = seconds(t0, broker_rx);
    h->client_last_rx_s = seconds(t0, client_rx);
    if (b && b->reused_at > t0) {
        h->port_reused = true;
        h->reused_accept_s = seconds(t0, b->reused_at);
    }
    if (c->dead_last_tx && c->dead_last_tx <= t0) {
        h->client_tx_known = true;
        h->client_last_tx_s = seconds(t0, c->dead_last_tx);
    }
}

/* Every detection of one process, sorted by (process, time): the broker is
 * one event loop, and each client host runs one swarm process. */
typedef struct busy {
    char proc[64];
    uint64_t t;
} busy;

static int busy_order(const void *x, const void *y)
{
    const busy *a = x, *b = y;
    int c = strcmp(a->proc, b->proc);
    return c ? c : (a->t > b->t) - (a->t < b->t);
}

static busy *busy_list(const fl_analysis *a, size_t *n)
{
    busy *v = malloc((a->ncc + a->nbc + 1) * sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < a->nbc; i++)
        if (a->bc[i].close)
            v[(*n)++] = (busy){ .proc = "broker", .t = a->bc[i].close };
    for (size_t i = 0; i < a->ncc; i++)
        if (a->cc[i].dead) {
            v[*n] = (busy){ .t = a->cc[i].dead };
            fl_conn_addr(a->cc[i].conn, v[*n].proc, sizeof v[*n].proc);
            (*n)++;
        }
    qsort(v, *n, sizeof *v, busy_order);
    return v;
}

/* The process's latest detection before t (0: none). */
static uint64_t busy_before(const busy *v, size_t n, const char *proc, uint64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry >= (proc, t) */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].proc, proc);
        if (c < 0 || (c == 0 && v[mid].t < t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && strcmp(v[lo - 1].proc, proc) == 0 ? v[lo - 1].t : 0;
}

static int stall_order(const void *x, const void *y)
{
    const fl_stall *a = x, *b = y;
    return (a->due_ns > b->due_ns) - (a->due_ns < b->due_ns);
}

/* The longest time in [from, to] that the runner's timer probe found the
 * machine's timers stalled (core/stallwatch.h), on any CPU: a process's
 * timer fires on the CPU that armed it, which need not be the one it then
 * runs on. A wake-up in that interval could not have come sooner, whatever
 * the process did. A stall counts from the probe's previous wake-up (its
 * since), the last moment it saw the timers run: on a 1 ms grid the probe
 * cannot say when in the millisecond before its late wake-up the stall began.
 * Stalls are sorted by due; none lasts longer than STALL_LONGEST_NS, and a
 * probe's since is at most STALL_SINCE_NS before its due. */
#define STALL_LONGEST_NS (10 * FL_NS_PER_S)
#define STALL_SINCE_NS (10 * FL_NS_PER_MS)
static uint64_t stalled(const fl_analysis *a, uint64_t from, uint64_t to)
{
    size_t lo = 0, hi = a->nstalls;
    uint64_t first = from > STALL_LONGEST_NS ? from - STALL_LONGEST_NS : 0, best = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->stalls[mid].due_ns < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < a->nstalls && a->stalls[i].due_ns < to + STALL_SINCE_NS; i++) {
        const fl_stall *st = &a->stalls[i];
        uint64_t s = st->since_ns > from ? st->since_ns : from; /* since <= due: fl_analysis_add */
        uint64_t e = st->due_ns + st->late_ns < to ? st->due_ns + st->late_ns : to;
        if (e > s && e - s > best)
            best = e - s;
    }
    return best;
}

static uint64_t at_most(uint64_t v, uint64_t cap) { return v < cap ? v : cap; }

/* What made the detection at `at` later than the predicted instant, by its
 * own process's account. With the loop pass's record (core/wake.h), split as
 * fl_wake_split does from the later of the process's own deadline and the
 * prediction: its work (queued), its wait for a CPU, and a stall of the
 * machine over the rest of the wait; a ping timeout
 * adds its chain of lost pings, split the same way by the swarm. Without
 * the record (a log from before it), the same process's previous detection
 * when that ended after the instant (one event loop handles a burst of
 * deadlines one after another). */
static fl_lateness lateness(const fl_analysis *a, const pass_late *pl, const char *proc, uint64_t predicted,
                            uint64_t at)
{
    fl_lateness l = { 0 };
    if (pl->woke) {
        uint64_t due = pl->due > predicted ? pl->due : predicted;
        fl_late_split sp = fl_wake_split(due, pl->wait_began, pl->woke, pl->cpu_known ? pl->cpu_wait : 0, at);
        uint64_t stall = sp.uncovered ? at_most(stalled(a, sp.slept_from, pl->woke), sp.uncovered) : 0;
        uint64_t ping_stall = pl->chain_wake_uncovered
                                  ? at_most(stalled(a, pl->chain_wake_from, pl->chain_wake_to), pl->chain_wake_uncovered)
                                  : 0;
        l.queued_s = (double)(sp.queued + pl->chain_queued) / 1e9;
        l.cpu_wait_s = (double)(sp.cpu + pl->chain_cpu_wait) / 1e9;
        l.stalled_s = (double)(stall + ping_stall) / 1e9;
        return l;
    }
    uint64_t prev = a->busy ? busy_before(a->busy, a->nbusy, proc, at) : 0;
    l.queued_s = prev > predicted ? (double)(prev - predicted) / 1e9 : 0;
    return l;
}

static uint64_t at_offset(uint64_t t0, double offset_s)
{
    int64_t off = (int64_t)llround(offset_s * 1e9);
    return off < 0 && (uint64_t)-off > t0 ? 0 : (uint64_t)((int64_t)t0 + off);
}

/* A client whose own ping timeout gave up before the fault healed left its
 * unanswered PINGREQ to an orphan socket that retransmits it (instant.h):
 * the swarm logs when the first one left (pings_first). */
static void orphan(const fl_truth *truth, const client_conn *c, uint64_t t0, fl_conn_history *h)
{
    if (!truth->heal_ns || !c->dead || c->dead >= truth->heal_ns || !c->dead_first_ping ||
        fl_reason_parse(c->dead_reason) != FL_REASON_PING_TIMEOUT)
        return;
    h->orphan = true;
    h->heal_s = seconds(t0, truth->heal_ns);
    h->orphan_sent_s = seconds(t0, c->dead_first_ping);
}

/* The will, predicted at `predicted` (the broker's instant plus the Will
 * Delay). When the broker logged its publication, that is what its rule
 * decides (MQTT-3.1.2-8, the v5 Will Delay) and *at becomes it: the hop to the
 * watcher is the network's and the watcher's, not the rule's. Without that
 * line it is as the watcher read it: late behind the broker's pass (the
 * close's, with no delay) and the watcher's own work in the pass that read
 * it. */
static fl_lateness will_lateness(const fl_analysis *a, const fl_truth *truth, const broker_conn *b,
                                 const will_seen *will, uint64_t predicted, uint64_t *at)
{
    fl_lateness l = { 0 };
    bool delayed = truth->cfg->client.will_delay_s > 0;
    if (b && b->will) {
        *at = b->will;
        if (delayed)
            return lateness(a, &b->will_late, "broker", predicted, b->will);
        return b->close ? lateness(a, &b->close_late, "broker", predicted, b->will) : l;
    }
    if (b && b->close && !delayed)
        l = lateness(a, &b->close_late, "broker", predicted, b->close);
    if (will && will->late.woke) {
        /* only the watcher's pass up to it: its wake-up answers a packet, no deadline */
        fl_lateness w = lateness(a, &will->late, "", will->late.woke, will->t);
        l.queued_s += w.queued_s;
    }
    return l;
}

/* The detection at `at` on side against the connection's own predicted
 * instant: its residual, or unpredicted. The will is the broker's instant
 * plus the Will Delay: measured at the broker's publication when its log has
 * it, else as the watcher read it (the broker's pass and the watcher's may
 * both have run late). */
static void predict(const fl_analysis *a, const fl_truth *truth, fl_report_fault *rf, const client_conn *c,
                    fl_side side, uint64_t t0, uint64_t at, reconnect back, const will_seen *will)
{
    double latency_s = seconds(t0, at);
    fl_conn_history h;
    fl_instant in = { 0 };
    history(a, c, t0, back, &h);
    if (back.from && c->retry_at) {
        /* its first SYN cannot have reached the broker before the path healed */
        uint64_t syn = truth->heal_ns > c->retry_at ? truth->heal_ns : c->retry_at;
        h.retried = syn > t0;
        h.retry_s = seconds(t0, syn);
    }
    if (side != FL_SIDE_CLIENT && truth->cfg)
        orphan(truth, c, t0, &h);
    if (!truth->cfg || fl_model_instant(truth->cfg, side, &h, &in) != 0 || !in.known) {
        fl_report_fault_unpredicted(rf, side);
        return;
    }
    static const pass_late none;
    const broker_conn *b = c->broker >= 0 && truth->broker_side ? &a->bc[c->broker] : NULL;
    fl_lateness l = { 0 };
    if (side == FL_SIDE_CLIENT) {
        char proc[64];
        fl_conn_addr(c->conn, proc, sizeof proc);
        l = lateness(a, &c->dead_late, proc, at_offset(t0, in.at_s), at);
    } else if (side == FL_SIDE_BROKER) {
        l = lateness(a, b ? &b->close_late : &none, "broker", at_offset(t0, in.at_s), at);
    } else {
        l = will_lateness(a, truth, b, will, at_offset(t0, in.at_s), &at);
        latency_s = seconds(t0, at);
    }
    fl_report_fault_residual(rf, side, latency_s - in.at_s, in.slack_s, &l);
}

/* Measures connection c against fault f: detected or undetected per side if
 * it was cut, survived if the fault touched it and let it live. Returns false
 * (and leaves c alone) if the fault did not touch it after all: a later
 * generation cut too close to the end for anyone to be due to notice. */
static bool measure(fl_analysis *a, const fl_truth *truth, fl_report_fault *rf, const long *order, client_conn *c,
                    int f, unsigned gen, uint64_t end_ns)
{
    uint64_t t0 = cut_at(truth, c);
    if (t0 > end_ns)
        return false;
    detections d;
    detect(a, truth, c, t0, end_ns, &d);
    bool noticed = false;
    for (int s = 0; s < FL_SIDE_COUNT; s++)
        noticed |= d.at[s] != 0;
    bool survived = !noticed && (nat_never_expires(truth) ||
                                 (truth->heal_ns && truth->heal_ns <= end_ns && open_at_end(a, c, end_ns)));
    if (gen > 1 && !noticed && !survived && (double)(end_ns - t0) / 1e9 <= due_s(truth))
        return false;
    c->fault = f;
    c->gen = gen;
    c->idle_ok = survived && nat_never_expires(truth);
    fl_report_fault_add_conn(rf, c->conn);
    uint64_t back = survived ? 0 : next_up(a, order, c->client_id, t0, end_ns);
    reconnect again = survived ? (reconnect){ 0 } : next_connect(a, order, c->client_id, t0, end_ns);
    for (int s = 0; s < FL_SIDE_COUNT; s++) {
        if (!d.watched[s])
            continue;
        if (d.at[s]) {
            fl_report_fault_detected(rf, (fl_side)s, d.reason[s], seconds(t0, d.at[s]));
            predict(a, truth, rf, c, (fl_side)s, t0, d.at[s], again, d.will);
        }
        else if (survived)
            fl_report_fault_survived(rf, (fl_side)s, 1);
        else
            fl_report_fault_undetected(rf, (fl_side)s, 1);
    }
    if (back)
        fl_report_fault_recovered(rf, seconds(t0, back));
    if (!survived)
        fl_report_fault_generation(rf, gen, back ? seconds(t0, back) : NAN);
    return true;
}

/* A standing fault (until it heals, or the end) keeps cutting what crosses it:
 * a connection that came up behind it while it stood is its next generation.
 * order is sorted by (client id, up), so a client's earlier connection is
 * measured before its reconnection. */
static void standing(fl_analysis *a, const fl_truth *truth, fl_report_fault *rf, const long *order, int f,
                     uint64_t end_ns)
{
    uint64_t until = truth->heal_ns && truth->heal_ns < end_ns ? truth->heal_ns : end_ns;
    for (size_t k = 0; k < a->ncc; k++) {
        client_conn *c = &a->cc[order[k]];
        if (c->fault >= 0 || c->up <= truth->inject_ns || c->up >= until || !in_set(truth, c->conn))
            continue;
        /* What cut this connection must have stood when it was cut. One that
         * came up behind a fault standing to the end, to be cut only after
         * it, is still no healthy idle connection. */
        if (cut_at(truth, c) >= until) {
            c->behind_fault = until == end_ns && !nat_never_expires(truth);
            continue;
        }
        /* Cut by it, or about to be when the run ended (too soon for anyone
         * to be due to notice): either way its traffic is not the idle
         * overhead of a healthy connection. */
        c->behind_fault = true;
        const client_conn *prev = k > 0 ? &a->cc[order[k - 1]] : NULL;
        unsigned gen = prev && strcmp(prev->client_id, c->client_id) == 0 && prev->fault == f ? prev->gen + 1 : 1;
        const broker_conn *b = c->broker >= 0 ? &a->bc[c->broker] : NULL;
        uint64_t t0 = cut_at(truth, c);
        if ((c->dead && c->dead < t0) || (b && b->close && b->close < t0))
            continue; /* it ended before the fault could cut it */
        measure(a, truth, rf, order, c, f, gen, end_ns);
    }
}

int fl_analysis_report(fl_analysis *a, const fl_truth *faults, size_t n, uint64_t steady_ns, uint64_t end_ns,
                       fl_report *r)
{
    fl_an_join(a);
    if (a->nstalls)
        qsort(a->stalls, a->nstalls, sizeof *a->stalls, stall_order);
    fl_report_set_connections(r, a->ncc);
    if (a->nwills)
        qsort(a->wills, a->nwills, sizeof *a->wills, will_order);
    long *order = malloc((a->ncc + 1) * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < a->ncc; i++)
        order[i] = (long)i;
    qsort_r(order, a->ncc, sizeof *order, fl_an_by_client_up, a);
    free(a->busy);
    a->busy = busy_list(a, &a->nbusy);
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
        for (size_t i = 0; i < a->ncc; i++) {
            client_conn *c = &a->cc[i];
            if (c->fault < 0 && in_set(truth, c->conn) && alive_at(a, c, truth->inject_ns))
                measure(a, truth, rf, order, c, (int)f, 1, end_ns);
        }
        standing(a, truth, rf, order, (int)f, end_ns);
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
