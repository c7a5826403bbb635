/* The metric grammar (reports/metric.h): one table of paths, each with where
 * its number lives in the report JSON. */
#include "reports/metric.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a path is read from: the report, faults[i], or faults[i].<side>. */
typedef enum scope { RUN, FAULT, SIDE } scope;

typedef enum kind {
    NUMBER, /* field: a number (true/false: 1/0; null or missing: no value) */
    STATS,  /* name.<stat>: field is a statistics object, count_field the sample count */
    FN,     /* computed by fn */
    ALIAS,  /* another spelling of field (a path of the same scope) */
} kind;

typedef int (*metric_fn)(const json_t *report, const json_t *obj, double *v, bool *has, char *why, size_t len);

typedef struct metric_def {
    scope scope;
    const char *name; /* path after the scope; "<x>" matches one name (a reason); "" + STATS: "<stat>" alone */
    kind kind;
    const char *field;       /* dotted JSON path from the scope's object; "<x>" is replaced by the name matched */
    const char *count_field; /* STATS: the sample count ("count" stat) */
    metric_fn fn;
} metric_def;

static int total_undetected(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int total_outside(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int total_unexplained(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int side_inside(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int window_lo(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int window_hi(const json_t *, const json_t *, double *, bool *, char *, size_t);
static int fault_generations(const json_t *, const json_t *, double *, bool *, char *, size_t);

/* Every metric path. Adding one: a line here and a row in docs/report-format.md
 * (tests/reports/test_metric.c checks both, and that the line reads a value
 * from its fixture). E.g. a number of the report and a statistics object of a
 * side without a sample count of its own:
 *     { RUN, "connections.total", NUMBER, "run.connections", NULL, NULL },
 *     { SIDE, "residual_s", STATS, "residual_s", NULL, NULL },   -> faults[i].<side>.residual_s.p99 */
static const metric_def defs[] = {
    { RUN, "false_disconnects", NUMBER, "false_disconnects.count", NULL, NULL },
    { RUN, "connections.total", NUMBER, "run.connections", NULL, NULL },
    { RUN, "undetected", FN, NULL, NULL, total_undetected },
    { RUN, "verdicts.outside", FN, NULL, NULL, total_outside },
    { RUN, "unexplained", FN, NULL, NULL, total_unexplained },
    { RUN, "complete", NUMBER, "run.complete", NULL, NULL },
    { RUN, "overhead.packets_per_conn_hour", NUMBER, "overhead.packets_per_conn_hour", NULL, NULL },
    { RUN, "overhead.bytes_per_conn_hour", NUMBER, "overhead.bytes_per_conn_hour", NULL, NULL },
    { RUN, "overhead.mqtt_packets_per_conn_hour", NUMBER, "overhead.mqtt.packets_per_conn_hour", NULL, NULL },
    { RUN, "overhead.mqtt_bytes_per_conn_hour", NUMBER, "overhead.mqtt.bytes_per_conn_hour", NULL, NULL },
    { RUN, "overhead.tcp_packets_per_conn_hour", NUMBER, "overhead.tcp.packets_per_conn_hour", NULL, NULL },
    { RUN, "overhead.tcp_bytes_per_conn_hour", NUMBER, "overhead.tcp.bytes_per_conn_hour", NULL, NULL },
    { RUN, "overhead.connections", NUMBER, "overhead.connections", NULL, NULL },
    { RUN, "overhead.model_packets_per_conn_hour", NUMBER, "overhead.model.packets_per_conn_hour", NULL, NULL },
    { RUN, "overhead.model_bytes_per_conn_hour", NUMBER, "overhead.model.bytes_per_conn_hour", NULL, NULL },
    { FAULT, "affected", NUMBER, "affected", NULL, NULL },
    { FAULT, "generations", FN, NULL, NULL, fault_generations },
    { FAULT, "recovery", STATS, "recovery.latency_s", "recovery.count", NULL },
    { SIDE, "detected", NUMBER, "detected", NULL, NULL },
    { SIDE, "undetected", NUMBER, "undetected", NULL, NULL },
    { SIDE, "outside", NUMBER, "outside", NULL, NULL },
    { SIDE, "survived", NUMBER, "survived", NULL, NULL },
    { SIDE, "unexplained", NUMBER, "unexplained", NULL, NULL },
    { SIDE, "unpredicted", NUMBER, "unpredicted", NULL, NULL },
    { SIDE, "queued", NUMBER, "queued", NULL, NULL },
    { SIDE, "cpu_waited", NUMBER, "cpu_waited", NULL, NULL },
    { SIDE, "stalled", NUMBER, "stalled", NULL, NULL },
    { SIDE, "residual", STATS, "residual_s", "residuals", NULL },
    { SIDE, "inside", FN, NULL, NULL, side_inside },
    { SIDE, "window_lo", FN, NULL, NULL, window_lo },
    { SIDE, "window_hi", FN, NULL, NULL, window_hi },
    { SIDE, "", STATS, "latency_s", "detected", NULL },
    { SIDE, "reasons.<reason>", STATS, "reasons.<reason>.latency_s", "reasons.<reason>.count", NULL },
    /* Other spellings users have in their files. */
    { RUN, "connections", ALIAS, "connections.total", NULL, NULL },
    { RUN, "connections.false_disconnects", ALIAS, "false_disconnects", NULL, NULL },
    { RUN, "overhead.bytes", ALIAS, "overhead.bytes_per_conn_hour", NULL, NULL },   /* compare's, before 0.x */
    { RUN, "overhead.packets", ALIAS, "overhead.packets_per_conn_hour", NULL, NULL }, /* compare's */
    { SIDE, "count", ALIAS, "detected", NULL, NULL },
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const char *const side_names[] = { "broker", "client", "will" };
static const char *const stat_names[] = { "min", "p50", "p90", "p99", "max", "mean" };
#define NSIDES 3
#define NSTATS 6

/* ---- reading the JSON ---- */

/* The value at a dotted path below obj; "<x>" in it is replaced by key. */
static const json_t *lookup(const json_t *obj, const char *field, const char *key)
{
    char buf[192];
    const char *ph = strchr(field, '<');
    if (ph && key) {
        const char *end = strchr(ph, '>');
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(ph - field), field, key, end ? end + 1 : "");
    } else {
        snprintf(buf, sizeof buf, "%s", field);
    }
    /* Split on dots, except the reason (a key), which may hold none but is looked up whole. */
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && obj; part = strtok_r(NULL, ".", &save))
        obj = json_object_get(obj, part);
    return obj;
}

static bool number_of(const json_t *j, double *v)
{
    if (json_is_number(j))
        *v = json_number_value(j);
    else if (json_is_boolean(j))
        *v = json_is_true(j);
    else
        return false;
    return true;
}

static int total_undetected(const json_t *report, const json_t *obj, double *v, bool *has, char *why, size_t len)
{
    (void)obj, (void)why, (void)len;
    const json_t *faults = json_object_get(report, "faults");
    *v = 0;
    *has = true;
    for (size_t i = 0; i < json_array_size(faults); i++)
        for (int s = 0; s < 2; s++) /* broker and client: the will is the broker's report of a client's death */
            *v += (double)json_integer_value(
                json_object_get(json_object_get(json_array_get(faults, i), side_names[s]), "undetected"));
    return 0;
}

/* The generations a standing fault cut: the length of its "generations" list. */
static int fault_generations(const json_t *report, const json_t *obj, double *v, bool *has, char *why, size_t len)
{
    (void)report, (void)why, (void)len;
    *v = (double)json_array_size(json_object_get(obj, "generations"));
    *has = true;
    return 0;
}

/* Every side of every fault: one expectation that every detection was what
 * its connection's own history predicts (or its process explains). */
static int total_unexplained(const json_t *report, const json_t *obj, double *v, bool *has, char *why, size_t len)
{
    (void)obj, (void)why, (void)len;
    const json_t *faults = json_object_get(report, "faults");
    *v = 0;
    *has = true;
    for (size_t i = 0; i < json_array_size(faults); i++)
        for (int s = 0; s < NSIDES; s++)
            *v += (double)json_integer_value(
                json_object_get(json_object_get(json_array_get(faults, i), side_names[s]), "unexplained"));
    return 0;
}

static int total_outside(const json_t *report, const json_t *obj, double *v, bool *has, char *why, size_t len)
{
    (void)obj, (void)why, (void)len;
    const json_t *faults = json_object_get(report, "faults");
    *v = 0;
    *has = true;
    for (size_t i = 0; i < json_array_size(faults); i++)
        for (int s = 0; s < NSIDES; s++) {
            const char *verdict = json_string_value(
                json_object_get(json_object_get(json_array_get(faults, i), side_names[s]), "verdict"));
            *v += verdict && strcmp(verdict, "outside") == 0;
        }
    return 0;
}

static int side_inside(const json_t *report, const json_t *side, double *v, bool *has, char *why, size_t len)
{
    (void)report, (void)why, (void)len;
    const char *verdict = json_string_value(json_object_get(side, "verdict"));
    *has = verdict != NULL;
    *v = verdict && (strcmp(verdict, "inside") == 0 || strcmp(verdict, "not_applicable") == 0);
    return 0;
}

static int window_end(const json_t *side, const char *field, double *v, bool *has, char *why, size_t len)
{
    const json_t *model = json_object_get(side, "model");
    if (!json_is_object(model)) {
        snprintf(why, len, "fault has no model window");
        return -1;
    }
    const json_t *x = json_object_get(model, field);
    *has = true;
    if (json_is_number(x))
        *v = json_number_value(x);
    else if (json_is_null(x) && strcmp(field, "hi_s") == 0)
        *v = INFINITY; /* written null: a window that never closes */
    else
        *has = false;
    return 0;
}

static int window_lo(const json_t *report, const json_t *side, double *v, bool *has, char *why, size_t len)
{
    (void)report;
    return window_end(side, "lo_s", v, has, why, len);
}

static int window_hi(const json_t *report, const json_t *side, double *v, bool *has, char *why, size_t len)
{
    (void)report;
    return window_end(side, "hi_s", v, has, why, len);
}

/* ---- parsing a path ---- */

typedef struct ref {
    const metric_def *def;
    size_t fault;
    int side;
    char key[64]; /* the name a "<x>" matched */
    int stat;     /* STATS: index in stat_names, -1 for count */
    bool ms;
} ref;

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", path, what);
    return -1;
}

/* "p99", "p99_ms", "count" -> ref->stat, ref->ms. */
static bool parse_stat(const char *s, ref *r)
{
    if (strcmp(s, "count") == 0) {
        r->stat = -1;
        r->ms = false;
        return true;
    }
    size_t len = strlen(s);
    r->ms = len > 3 && strcmp(s + len - 3, "_ms") == 0;
    if (r->ms)
        len -= 3;
    for (int i = 0; i < NSTATS; i++)
        if (strlen(stat_names[i]) == len && strncmp(s, stat_names[i], len) == 0) {
            r->stat = i;
            return true;
        }
    return false;
}

/* Does rest match the def's name (and, for STATS, a statistic after it)? */
static bool match(const metric_def *d, const char *rest, ref *r)
{
    const char *name = d->name, *ph = strchr(name, '<');
    r->key[0] = '\0';
    if (d->kind != STATS)
        return strcmp(name, rest) == 0;
    if (!*name)
        return parse_stat(rest, r);
    const char *tail; /* where the statistic starts */
    if (!ph) {
        size_t n = strlen(name);
        if (strncmp(rest, name, n) != 0 || rest[n] != '.')
            return false;
        tail = rest + n + 1;
    } else {
        size_t pre = (size_t)(ph - name);
        const char *last = strrchr(rest, '.');
        if (strncmp(rest, name, pre) != 0 || !last || last <= rest + pre)
            return false;
        size_t klen = (size_t)(last - rest - (ptrdiff_t)pre);
        if (klen >= sizeof r->key)
            return false;
        memcpy(r->key, rest + pre, klen);
        r->key[klen] = '\0';
        tail = last + 1;
    }
    return parse_stat(tail, r);
}

static const metric_def *find(scope sc, const char *rest, ref *r)
{
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].scope != sc || !match(&defs[i], rest, r))
            continue;
        if (defs[i].kind == ALIAS)
            return find(sc, defs[i].field, r);
        return &defs[i];
    }
    return NULL;
}

static void names_of(scope sc, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NDEFS && used < len; i++) {
        if (defs[i].scope != sc || defs[i].kind == ALIAS)
            continue;
        int n = snprintf(buf + used, len - used, "%s%s%s%s", used ? ", " : "", defs[i].name,
                         defs[i].kind == STATS && *defs[i].name ? "." : "", defs[i].kind == STATS ? "<stat>" : "");
        if (n > 0)
            used += (size_t)n;
    }
}

static int parse(const char *path, ref *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->side = -1;
    char names[512];
    if (!path || !*path)
        return fail(err, errlen, "(empty)", "empty metric path");
    if (strncmp(path, "faults[", 7) != 0) {
        if ((r->def = find(RUN, path, r)))
            return 0;
        names_of(RUN, names, sizeof names);
        return fail(err, errlen, path, "unknown metric '%s' (faults[i].*, %s)", path, names);
    }
    const char *p = path + 7;
    char *end;
    /* Digits only: strtoul would take "-1" as ULONG_MAX. */
    if (*p < '0' || *p > '9')
        return fail(err, errlen, path, "expected faults[<index>] with an index 0, 1, ...");
    r->fault = strtoul(p, &end, 10);
    if (*end != ']')
        return fail(err, errlen, path, "expected faults[<index>]");
    if (end[1] != '.')
        return fail(err, errlen, path, "expected faults[%zu].<metric>", r->fault);
    const char *rest = end + 2, *dot = strchr(rest, '.');
    for (int s = 0; dot && s < NSIDES; s++)
        if (strlen(side_names[s]) == (size_t)(dot - rest) && strncmp(rest, side_names[s], (size_t)(dot - rest)) == 0)
            r->side = s;
    if (r->side < 0) {
        if ((r->def = find(FAULT, rest, r)))
            return 0;
        names_of(FAULT, names, sizeof names);
        return fail(err, errlen, path, "unknown metric '%s' (a fault has %s, broker.*, client.*, will.*)", rest,
                    names);
    }
    if ((r->def = find(SIDE, dot + 1, r)))
        return 0;
    names_of(SIDE, names, sizeof names);
    return fail(err, errlen, path,
                "unknown metric '%s' (a side has %s; <stat> is count, min, p50, p90, p99, max, mean, *_ms)", dot + 1,
                names);
}

int fl_metric_check(const char *path, char *err, size_t errlen)
{
    ref r;
    return parse(path, &r, err, errlen);
}

int fl_metric_get(const json_t *report, const char *path, double *v, bool *has, char *err, size_t errlen)
{
    *v = NAN;
    *has = false;
    ref r;
    if (parse(path, &r, err, errlen))
        return -1;
    const json_t *obj = report;
    if (r.def->scope != RUN) {
        const json_t *faults = json_object_get(report, "faults");
        if (r.fault >= json_array_size(faults)) {
            snprintf(err, errlen, "%s: no fault %zu (the report has %zu)", path, r.fault, json_array_size(faults));
            return -1;
        }
        obj = json_array_get(faults, r.fault);
        if (r.def->scope == SIDE)
            obj = json_object_get(obj, side_names[r.side]);
    }
    const metric_def *d = r.def;
    double x = NAN;
    bool ok = false;
    if (d->kind == FN) {
        char why[160];
        if (d->fn(report, obj, &x, &ok, why, sizeof why))
            return fail(err, errlen, path, "%s", why);
    } else if (d->kind == NUMBER) {
        ok = number_of(lookup(obj, d->field, NULL), &x);
    } else if (r.stat < 0 && !d->count_field) {
        ok = false; /* statistics without a count of their own */
    } else if (r.stat < 0) {
        /* A reason never seen has a count of 0. */
        ok = true;
        const json_t *count = lookup(obj, d->count_field, r.key);
        if (json_is_array(count)) /* a list of samples counts itself */
            x = (double)json_array_size(count);
        else if (!number_of(count, &x))
            x = 0;
    } else {
        const json_t *st = lookup(obj, d->field, r.key);
        ok = number_of(json_object_get(st, stat_names[r.stat]), &x);
        if (ok && r.ms)
            x *= 1000;
    }
    if (ok) {
        *v = x;
        *has = !isnan(x);
    }
    return 0;
}

bool fl_metric_entry(size_t i, fl_metric_info *out)
{
    static char paths[NDEFS][96], canon[NDEFS][96]; /* written once per entry, the same text every time */
    if (i >= NDEFS)
        return false;
    const metric_def *d = &defs[i];
    const char *prefix = d->scope == RUN ? "" : d->scope == FAULT ? "faults[i]." : "faults[i].<side>.";
    snprintf(paths[i], sizeof paths[i], "%s%s%s%s", prefix, d->name, d->kind == STATS && *d->name ? "." : "",
             d->kind == STATS ? "<stat>" : "");
    out->path = paths[i];
    out->alias_of = NULL;
    if (d->kind == ALIAS) {
        snprintf(canon[i], sizeof canon[i], "%s%s", prefix, d->field);
        out->alias_of = canon[i];
    }
    return true;
}
