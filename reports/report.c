/* The report model: what the runner hands in, and fl_report_finish() turning
 * samples into statistics, verdicts and expectation results. */
#include "reports/report_impl.h"

#include "reports/metric.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void replace_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
}

/* Grows *v (of elem bytes each) to hold one more than *n. */
static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*v, ncap * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = ncap;
    return 0;
}

fl_report *fl_report_new(void)
{
    fl_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sysctls = json_object();
    r->tol = FL_TOLERANCE_DEFAULT;
    r->complete = true;
    if (!r->sysctls) {
        free(r);
        return NULL;
    }
    return r;
}

static void side_free(fl_side_data *s)
{
    fl_samples_free(&s->lat);
    fl_samples_free(&s->resid);
    for (size_t i = 0; i < s->nreasons; i++) {
        free(s->reasons[i].reason);
        fl_samples_free(&s->reasons[i].lat);
    }
    free(s->reasons);
}

static void fault_free(fl_report_fault *f)
{
    free(f->kind);
    free(f->target);
    for (size_t i = 0; i < f->nconns; i++)
        free(f->conns[i]);
    free(f->conns);
    for (int s = 0; s < FL_SIDE_COUNT; s++)
        side_free(&f->side[s]);
    fl_samples_free(&f->recovery);
    for (size_t g = 0; g < f->ngens; g++)
        fl_samples_free(&f->gens[g].recovery);
    free(f->gens);
    free(f);
}

void fl_report_free(fl_report *r)
{
    if (!r)
        return;
    free(r->version);
    free(r->kernel);
    free(r->broker_scheduling);
    free(r->broken);
    json_decref(r->sysctls);
    free(r->scenario_name);
    json_decref(r->scenario);
    for (size_t i = 0; i < r->nfaults; i++)
        fault_free(r->faults[i]);
    free(r->faults);
    for (size_t i = 0; i < r->nfds; i++) {
        free(r->fds[i].conn);
        free(r->fds[i].reason);
    }
    free(r->fds);
    for (size_t i = 0; i < r->nexps; i++)
        free(r->exps[i].metric);
    free(r->exps);
    free(r);
}

/* ---- metadata ------------------------------------------------------------ */

void fl_report_set_version(fl_report *r, const char *v) { replace_str(&r->version, v); }

void fl_report_set_kernel(fl_report *r, const char *release)
{
    struct utsname u;
    if (!release && uname(&u) == 0)
        release = u.release;
    replace_str(&r->kernel, release);
}

void fl_report_set_broker_scheduling(fl_report *r, const char *policy) { replace_str(&r->broker_scheduling, policy); }

void fl_report_set_sysctl(fl_report *r, const char *name, const char *value)
{
    if (name && value)
        json_object_set_new(r->sysctls, name, json_string(value));
}

int fl_report_read_sysctls(fl_report *r, const char *label)
{
    static const char *const names[] = {
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.ipv4.tcp_orphan_retries",
        "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_rto_min_us", "net.ipv4.tcp_rto_max_ms",
        "net.netfilter.nf_conntrack_tcp_timeout_established", "net.netfilter.nf_conntrack_tcp_loose",
    };
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128], value[64], key[160];
        snprintf(path, sizeof path, "/proc/sys/%s", names[i]);
        for (char *c = path + 10; *c; c++)
            if (*c == '.')
                *c = '/';
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        bool ok = fgets(value, sizeof value, f) != NULL;
        fclose(f);
        if (!ok)
            continue;
        value[strcspn(value, "\n")] = '\0';
        snprintf(key, sizeof key, "%s%s%s", label && *label ? label : "", label && *label ? "/" : "", names[i]);
        fl_report_set_sysctl(r, key, value);
        n++;
    }
    return n;
}

void fl_report_set_seed(fl_report *r, uint64_t seed) { r->seed = seed; }

int fl_report_set_scenario(fl_report *r, const char *name, const char *text, size_t len, char *err,
                           size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc) {
        snprintf(err, errlen, "%s:%d:%d: %s", name ? name : "scenario", je.line, je.column, je.text);
        return -1;
    }
    json_decref(r->scenario);
    r->scenario = doc;
    replace_str(&r->scenario_name, name);
    fl_sha256_hex(text, len, r->sha256);
    return 0;
}

void fl_report_set_start(fl_report *r, int64_t realtime_ns) { r->start_realtime_ns = realtime_ns; }
void fl_report_set_duration(fl_report *r, double s) { r->duration_s = s; }
void fl_report_set_complete(fl_report *r, bool complete) { r->complete = complete; }

void fl_report_set_broken(fl_report *r, const char *why)
{
    free(r->broken);
    r->broken = why ? strdup(why) : NULL;
}
void fl_report_set_tolerance(fl_report *r, fl_tolerance tol) { r->tol = tol; }
void fl_report_set_connections(fl_report *r, size_t total) { r->connections = total; }
void fl_report_set_end(fl_report *r, uint64_t end_ns) { r->end_ns = end_ns; }

/* ---- faults -------------------------------------------------------------- */

fl_report_fault *fl_report_add_fault(fl_report *r, const char *kind, const char *target, uint64_t inject_ns)
{
    if (grow((void **)&r->faults, &r->capfaults, r->nfaults, sizeof *r->faults))
        return NULL;
    fl_report_fault *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = dup_or_empty(kind);
    f->target = dup_or_empty(target);
    f->inject_ns = inject_ns;
    if (!f->kind || !f->target) {
        fault_free(f);
        return NULL;
    }
    r->faults[r->nfaults++] = f;
    return f;
}

fl_report_fault *fl_report_fault_at(fl_report *r, size_t i) { return i < r->nfaults ? r->faults[i] : NULL; }
size_t fl_report_fault_count(const fl_report *r) { return r->nfaults; }
void fl_report_fault_heal(fl_report_fault *f, uint64_t heal_ns) { f->heal_ns = heal_ns; }

int fl_report_fault_add_conn(fl_report_fault *f, const char *conn)
{
    if (grow((void **)&f->conns, &f->capconns, f->nconns, sizeof *f->conns))
        return -1;
    char *c = dup_or_empty(conn);
    if (!c)
        return -1;
    f->conns[f->nconns++] = c;
    return 0;
}

static fl_reason_bucket *bucket(fl_side_data *s, const char *reason)
{
    if (!reason)
        reason = "unknown";
    for (size_t i = 0; i < s->nreasons; i++)
        if (strcmp(s->reasons[i].reason, reason) == 0)
            return &s->reasons[i];
    fl_reason_bucket *b = realloc(s->reasons, (s->nreasons + 1) * sizeof *b);
    if (!b)
        return NULL;
    s->reasons = b;
    b = &s->reasons[s->nreasons];
    memset(b, 0, sizeof *b);
    if (!(b->reason = strdup(reason)))
        return NULL;
    s->nreasons++;
    return b;
}

int fl_report_fault_detected(fl_report_fault *f, fl_side side, const char *reason, double latency_s)
{
    if ((unsigned)side >= FL_SIDE_COUNT)
        return -1;
    fl_side_data *s = &f->side[side];
    fl_reason_bucket *b = bucket(s, reason);
    if (!b || fl_samples_add(&b->lat, latency_s))
        return -1;
    return fl_samples_add(&s->lat, latency_s);
}

void fl_report_fault_undetected(fl_report_fault *f, fl_side side, size_t count)
{
    if ((unsigned)side < FL_SIDE_COUNT)
        f->side[side].undetected += count;
}

int fl_report_fault_residual(fl_report_fault *f, fl_side side, double residual_s, double slack_s,
                             const fl_lateness *late)
{
    if ((unsigned)side >= FL_SIDE_COUNT)
        return -1;
    fl_side_data *s = &f->side[side];
    double queued = late && late->queued_s > 0 ? late->queued_s : 0;
    double cpu = late && late->cpu_wait_s > 0 ? late->cpu_wait_s : 0;
    double stall = late && late->stalled_s > 0 ? late->stalled_s : 0;
    if (residual_s < -FL_RESIDUAL_EARLY_S || residual_s > slack_s + queued + cpu + stall)
        s->unexplained++;
    else if (residual_s > slack_s + queued + cpu)
        s->stalled++;
    else if (residual_s > slack_s + queued)
        s->cpu_waited++;
    else if (residual_s > slack_s)
        s->queued++;
    if (slack_s > s->slack_max)
        s->slack_max = slack_s;
    return fl_samples_add(&s->resid, residual_s);
}

void fl_report_fault_unpredicted(fl_report_fault *f, fl_side side)
{
    if ((unsigned)side < FL_SIDE_COUNT)
        f->side[side].unpredicted++;
}

void fl_report_fault_survived(fl_report_fault *f, fl_side side, size_t count)
{
    if ((unsigned)side < FL_SIDE_COUNT)
        f->side[side].survived += count;
}

int fl_report_fault_generation(fl_report_fault *f, unsigned generation, double recovered_s)
{
    if (generation == 0)
        return -1;
    if (generation > f->ngens) {
        struct fl_generation *g = realloc(f->gens, generation * sizeof *g);
        if (!g)
            return -1;
        memset(g + f->ngens, 0, (generation - f->ngens) * sizeof *g);
        f->gens = g;
        f->ngens = generation;
    }
    struct fl_generation *g = &f->gens[generation - 1];
    g->affected++;
    return isnan(recovered_s) ? 0 : fl_samples_add(&g->recovery, recovered_s);
}

int fl_report_fault_recovered(fl_report_fault *f, double latency_s) { return fl_samples_add(&f->recovery, latency_s); }

void fl_report_fault_set_model(fl_report_fault *f, const fl_prediction *p)
{
    f->has_model = p != NULL;
    if (p)
        f->model = *p;
}

int fl_report_false_disconnect(fl_report *r, const char *conn, fl_side side, const char *reason, uint64_t t_ns)
{
    if (grow((void **)&r->fds, &r->capfds, r->nfds, sizeof *r->fds))
        return -1;
    fl_false_disc *d = &r->fds[r->nfds];
    d->conn = dup_or_empty(conn);
    d->reason = dup_or_empty(reason);
    d->side = side;
    d->t_ns = t_ns;
    if (!d->conn || !d->reason) {
        free(d->conn);
        free(d->reason);
        return -1;
    }
    r->nfds++;
    return 0;
}

void fl_report_set_overhead(fl_report *r, double packets, double bytes, double conn_hours, const fl_overhead *model)
{
    r->has_overhead = true;
    r->oh_packets = packets;
    r->oh_bytes = bytes;
    r->oh_conn_hours = conn_hours;
    r->has_model_overhead = model != NULL;
    if (model)
        r->model_overhead = *model;
}

void fl_report_set_overhead_parts(fl_report *r, double mqtt_packets, double mqtt_bytes, double tcp_packets,
                                  double tcp_bytes, size_t connections)
{
    r->has_overhead_parts = true;
    r->oh_mqtt_packets = mqtt_packets;
    r->oh_mqtt_bytes = mqtt_bytes;
    r->oh_tcp_packets = tcp_packets;
    r->oh_tcp_bytes = tcp_bytes;
    r->oh_connections = connections;
}

void fl_report_set_overhead_unmeasured(fl_report *r, const char *reason, const fl_overhead *model)
{
    fl_report_set_overhead(r, NAN, NAN, 0, model);
    snprintf(r->oh_reason, sizeof r->oh_reason, "%s", reason ? reason : "not measured");
}

double fl_report_overhead_packets(const fl_report *r)
{
    return r->has_overhead && r->oh_conn_hours > 0 ? r->oh_packets / r->oh_conn_hours : NAN;
}

double fl_report_overhead_bytes(const fl_report *r)
{
    return r->has_overhead && r->oh_conn_hours > 0 ? r->oh_bytes / r->oh_conn_hours : NAN;
}

/* ---- expectations -------------------------------------------------------- */

static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!="};

static bool valid_op(const char *op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (op && strcmp(op, ops[i]) == 0)
            return true;
    return false;
}

int fl_report_add_expectation(fl_report *r, const char *metric, const char *op, double value)
{
    if (!metric || !valid_op(op))
        return -1;
    if (grow((void **)&r->exps, &r->capexps, r->nexps, sizeof *r->exps))
        return -1;
    fl_expectation *e = &r->exps[r->nexps];
    memset(e, 0, sizeof *e);
    if (!(e->metric = strdup(metric)))
        return -1;
    snprintf(e->op, sizeof e->op, "%s", op);
    e->value = value;
    r->nexps++;
    return 0;
}

int fl_report_add_expectation_json(fl_report *r, const char *metric, const char *op, const json_t *value)
{
    if (json_is_number(value))
        return fl_report_add_expectation(r, metric, op, json_number_value(value));
    if (json_is_boolean(value) && op && (strcmp(op, "==") == 0 || strcmp(op, "!=") == 0))
        return fl_report_add_expectation(r, metric, op, json_is_true(value) ? 1 : 0);
    return -1;
}

static bool compare(double actual, const char *op, double value)
{
    /* Equality within a relative 1e-9 so that 0.1 x 3 == 0.3 holds. */
    bool eq = fabs(actual - value) <= 1e-9 * fmax(1, fmax(fabs(actual), fabs(value)));
    if (strcmp(op, "<") == 0)
        return actual < value && !eq;
    if (strcmp(op, "<=") == 0)
        return actual <= value || eq;
    if (strcmp(op, ">") == 0)
        return actual > value && !eq;
    if (strcmp(op, ">=") == 0)
        return actual >= value || eq;
    if (strcmp(op, "==") == 0)
        return eq;
    return !eq;
}

/* ---- metric paths -------------------------------------------------------- */

static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, what);
    return -1;
}

/* Metrics are read from the report's JSON, in the one grammar that compare
 * and plot use too (reports/metric.h). */
int fl_report_metric(const fl_report *r, const char *path, double *v, char *err, size_t errlen)
{
    json_t *j = fl_report_to_json(r);
    if (!j)
        return bad(err, errlen, path ? path : "(empty)", "out of memory");
    bool has;
    int rc = fl_metric_get(j, path, v, &has, err, errlen);
    json_decref(j);
    return rc;
}

/* ---- finishing ----------------------------------------------------------- */

static int compute_side(const fl_report *r, fl_report_fault *f, int side)
{
    fl_side_data *s = &f->side[side];
    if (fl_stats_compute(s->lat.v, s->lat.n, &s->st) || fl_stats_compute(s->resid.v, s->resid.n, &s->resid_st))
        return -1;
    for (size_t i = 0; i < s->nreasons; i++)
        if (fl_stats_compute(s->reasons[i].lat.v, s->reasons[i].lat.n, &s->reasons[i].st))
            return -1;
    s->outside = 0;
    s->late_undetected = false;
    if (!f->has_model || f->model.side[side].unknown) {
        s->verdict = FL_VERDICT_NO_MODEL;
        return 0;
    }
    const fl_side_prediction *sp = &f->model.side[side];
    if (!sp->applicable || sp->expect == FL_EXPECT_NONE) {
        s->outside = s->lat.n;
        s->verdict = s->lat.n == 0 ? (sp->applicable ? FL_VERDICT_INSIDE : FL_VERDICT_NOT_APPLICABLE)
                                   : FL_VERDICT_OUTSIDE;
        return 0;
    }
    for (size_t i = 0; i < s->lat.n; i++)
        if (!fl_window_contains(&sp->window, s->lat.v[i], &r->tol))
            s->outside++;
    if (sp->expect == FL_EXPECT_ALL && s->undetected > 0) {
        /* Undetected is a miss only if the run watched past the window's end. */
        if (!r->end_ns || r->end_ns <= f->inject_ns) {
            s->late_undetected = true;
        } else {
            double watched = (double)(r->end_ns - f->inject_ns) / 1e9;
            double tol = r->tol.abs_s + (isfinite(sp->window.hi_s) ? r->tol.rel * sp->window.hi_s : 0);
            s->late_undetected = watched > sp->window.hi_s + tol;
        }
    }
    s->verdict = s->outside || s->late_undetected ? FL_VERDICT_OUTSIDE : FL_VERDICT_INSIDE;
    return 0;
}

int fl_report_finish(fl_report *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nfaults; i++) {
        fl_report_fault *f = r->faults[i];
        for (int s = 0; s < FL_SIDE_COUNT; s++)
            if (compute_side(r, f, s))
                return bad(err, errlen, "report", "out of memory");
        if (fl_stats_compute(f->recovery.v, f->recovery.n, &f->recovery_st))
            return bad(err, errlen, "report", "out of memory");
        for (size_t g = 0; g < f->ngens; g++)
            if (fl_stats_compute(f->gens[g].recovery.v, f->gens[g].recovery.n, &f->gens[g].recovery_st))
                return bad(err, errlen, "report", "out of memory");
    }
    r->finished = true;
    int failed = 0, status = 0;
    json_t *j = r->nexps ? fl_report_to_json(r) : NULL; /* the expectations read their metrics from it */
    if (r->nexps && !j)
        return bad(err, errlen, "report", "out of memory");
    for (size_t i = 0; i < r->nexps; i++) {
        fl_expectation *e = &r->exps[i];
        double v;
        bool has;
        char msg[256];
        if (fl_metric_get(j, e->metric, &v, &has, msg, sizeof msg)) {
            if (!status)
                snprintf(err, errlen, "%s", msg);
            status = -1;
            e->has_actual = e->pass = false;
            continue;
        }
        e->actual = v;
        e->has_actual = !isnan(v);
        e->pass = e->has_actual && compare(v, e->op, e->value);
        failed += !e->pass;
    }
    json_decref(j);
    r->failed = failed;
    return status ? status : failed;
}

bool fl_report_passed(const fl_report *r)
{
    if (!r->finished)
        return false;
    for (size_t i = 0; i < r->nexps; i++)
        if (!r->exps[i].pass)
            return false;
    return true;
}

const char *fl_verdict_name(fl_verdict v)
{
    static const char *const names[] = {"no_model", "not_applicable", "inside", "outside"};
    return (unsigned)v < 4 ? names[v] : "?";
}

const char *fl_expect_name(fl_expect e)
{
    return e == FL_EXPECT_ALL ? "all" : e == FL_EXPECT_SOME ? "some" : "none";
}

void fl_format_seconds(char *buf, size_t len, double s)
{
    if (isnan(s))
        snprintf(buf, len, "-");
    else if (isinf(s))
        snprintf(buf, len, "never");
    else if (fabs(s) >= 100)
        snprintf(buf, len, "%.1f s", s);
    else
        snprintf(buf, len, "%.3f s", s);
}
