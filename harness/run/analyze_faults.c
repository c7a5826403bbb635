/* Measuring each fault: which connections it cut, when each side noticed,
 * and the closes no fault explains. */
#include "harness/run/analyze_internal.h"

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

static double seconds(uint64_t from, uint64_t to) { return (double)(int64_t)(to - from) / 1e9; }

int fl_analysis_report(fl_analysis *a, const fl_truth *faults, size_t n, uint64_t steady_ns, uint64_t end_ns,
                       fl_report *r)
{
    fl_an_join(a);
    fl_report_set_connections(r, a->ncc);
    if (a->nwills)
        qsort(a->wills, a->nwills, sizeof *a->wills, will_order);
    long *order = malloc((a->ncc + 1) * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < a->ncc; i++)
        order[i] = (long)i;
    qsort_r(order, a->ncc, sizeof *order, fl_an_by_client_up, a);
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
            uint64_t wire = truth->broker_wire ? first_wire_close(a, c->conn, t0, end_ns, &kind) : 0;
            if (truth->broker_wire && !truth->broker_side) {
                /* no event log (mosquitto): the first FIN or RST its host sent */
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
