/* flatline plot's data: reports checked field by field and reduced to what
 * the page draws (reports/plot.h). */
#include "reports/plot.h"

#include "reports/metric.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_plot {
    json_t *data;    /* {"title", "sides", "configs"} */
    json_t *configs; /* borrowed from data */
    json_t *metrics; /* borrowed from data: the --metric paths */
};

static const char *const side_names[] = { "broker", "client", "will" };
#define NSIDES (sizeof side_names / sizeof side_names[0])

fl_plot *fl_plot_new(const char *title)
{
    fl_plot *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    json_t *sides = json_array();
    for (size_t i = 0; i < NSIDES; i++)
        json_array_append_new(sides, json_string(side_names[i]));
    p->configs = json_array();
    p->metrics = json_array();
    p->data = json_pack("{s:s, s:o, s:O, s:O}", "title", title ? title : "flatline plot", "sides", sides, "configs",
                        p->configs, "metrics", p->metrics);
    json_decref(p->configs); /* data holds them */
    json_decref(p->metrics);
    if (!p->data) {
        free(p);
        return NULL;
    }
    return p;
}

void fl_plot_free(fl_plot *p)
{
    if (!p)
        return;
    json_decref(p->data);
    free(p);
}

size_t fl_plot_count(const fl_plot *p) { return json_array_size(p->configs); }


const json_t *fl_plot_data(const fl_plot *p) { return p->data; }

/* Where a field is, for errors: "cells[2].report.faults[0].broker". */
typedef struct where {
    char path[192];
} where;

static void at(where *w, const where *parent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void at(where *w, const where *parent, const char *fmt, ...)
{
    size_t n = (size_t)snprintf(w->path, sizeof w->path, "%s", parent ? parent->path : "");
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof w->path)
        vsnprintf(w->path + n, sizeof w->path - n, fmt, ap);
    va_end(ap);
}

static int bad(char *err, size_t errlen, const where *w, const char *field, const char *what)
{
    snprintf(err, errlen, "%s%s%s: %s", w->path, w->path[0] && field[0] ? "." : "", field, what);
    return -1;
}

static int need(const json_t *obj, const char *key, bool (*is)(const json_t *), const char *type, const where *w,
                const json_t **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return bad(err, errlen, w, key, "missing");
    if (!is(v)) {
        char what[64];
        snprintf(what, sizeof what, "not %s", type);
        return bad(err, errlen, w, key, what);
    }
    *out = v;
    return 0;
}

static bool is_count(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }
static bool is_string(const json_t *v) { return json_is_string(v); }
static bool is_array(const json_t *v) { return json_is_array(v); }
static bool is_object(const json_t *v) { return json_is_object(v); }
static bool is_seconds_or_null(const json_t *v) { return json_is_null(v) || json_is_number(v); }
static bool is_object_or_null(const json_t *v) { return json_is_null(v) || json_is_object(v); }
static bool is_count_or_null(const json_t *v) { return json_is_null(v) || is_count(v); }

/* The model's window for one side, or null. */
static int window_of(const json_t *model, const where *w, json_t **out, char *err, size_t errlen)
{
    if (json_is_null(model)) {
        *out = json_null();
        return 0;
    }
    const json_t *lo, *hi, *det, *why, *expect;
    const json_t *applicable = json_object_get(model, "applicable");
    if (!json_is_boolean(applicable))
        return bad(err, errlen, w, "applicable", applicable ? "not true or false" : "missing");
    if (need(model, "lo_s", is_seconds_or_null, "seconds or null", w, &lo, err, errlen) ||
        need(model, "hi_s", is_seconds_or_null, "seconds or null", w, &hi, err, errlen) ||
        need(model, "detector", is_string, "a string", w, &det, err, errlen) ||
        need(model, "expect", is_string, "a string", w, &expect, err, errlen))
        return -1;
    why = json_object_get(model, "why");
    *out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:s}", "applicable", applicable, "expect", expect, "lo_s", lo,
                     "hi_s", hi, "detector", det, "why", json_is_string(why) ? json_string_value(why) : "");
    return *out ? 0 : bad(err, errlen, w, "", "out of memory");
}

/* side.<field>: an array of seconds (nulls, numbers JSON could not hold, are
 * skipped); what one may be is checked by ok and named by what. */
static json_t *seconds_of(const json_t *arr, bool (*ok)(double), const char *what, const where *w, const char *field,
                          char *err, size_t errlen)
{
    if (!json_is_array(arr)) {
        bad(err, errlen, w, field, "not an array");
        return NULL;
    }
    json_t *values = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_null(v))
            continue;
        if (!json_is_number(v) || !isfinite(json_number_value(v)) || !ok(json_number_value(v))) {
            json_decref(values);
            where e;
            at(&e, w, ".%s[%zu]", field, i);
            bad(err, errlen, &e, "", what);
            return NULL;
        }
        json_array_append_new(values, json_real(json_number_value(v)));
    }
    return values;
}

static bool is_latency(double v) { return v >= 0; }
static bool is_residual(double v) /* early (< 0) or late: any finite number */
{
    (void)v;
    return true;
}

/* Per-connection residuals and outcomes (docs/report-format.md): absent from
 * older reports, which still plot; "residuals" is checked like the latencies. */
static int residuals_of(const json_t *side, json_t *out, const where *w, char *err, size_t errlen)
{
    static const char *const optional[] = { "survived", "unexplained", "residual_s", "slack_max_s",
                                            "unpredicted", "queued", "cpu_waited", "stalled" };
    for (size_t k = 0; k < sizeof optional / sizeof optional[0]; k++) {
        json_t *o = json_object_get(side, optional[k]);
        if (o && (json_is_number(o) || json_is_object(o) || json_is_null(o)))
            json_object_set(out, optional[k], o);
    }
    const json_t *each = json_object_get(side, "residuals");
    if (!each)
        return 0;
    json_t *values = seconds_of(each, is_residual, "not a residual (seconds)", w, "residuals", err, errlen);
    return values ? json_object_set_new(out, "residuals", values) : -1;
}

static json_t *side_of(const json_t *side, const where *w, char *err, size_t errlen)
{
    const json_t *lat, *undetected, *verdict, *model;
    if (need(side, "undetected", is_count, "a count", w, &undetected, err, errlen) ||
        need(side, "verdict", is_string, "a string", w, &verdict, err, errlen) ||
        need(side, "model", is_object_or_null, "an object or null", w, &model, err, errlen))
        return NULL;
    lat = json_object_get(side, "latencies");
    if (!lat) {
        bad(err, errlen, w, "latencies",
            "missing: the report has only summary statistics (written before flatline plot); run it again");
        return NULL;
    }
    json_t *values = seconds_of(lat, is_latency, "not a latency (seconds >= 0)", w, "latencies", err, errlen);
    if (!values)
        return NULL;
    where mw;
    at(&mw, w, ".model");
    json_t *window;
    if (window_of(model, &mw, &window, err, errlen)) {
        json_decref(values);
        return NULL;
    }
    json_t *out = json_pack("{s:o, s:O, s:O, s:o}", "latencies", values, "undetected", undetected, "verdict",
                            verdict, "window", window);
    if (out && residuals_of(side, out, w, err, errlen) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static double seconds_between(json_int_t from_ns, json_int_t to_ns) { return (double)(to_ns - from_ns) / 1e9; }

static json_t *config_of(const json_t *fault, size_t index, json_int_t t0_ns, const json_t *tolerance,
                         const char *label, const char *source, const where *w, char *err, size_t errlen)
{
    const json_t *kind, *target, *inject, *heal, *affected;
    if (need(fault, "kind", is_string, "a string", w, &kind, err, errlen) ||
        need(fault, "target", is_string, "a string", w, &target, err, errlen) ||
        need(fault, "inject_ns", is_count, "monotonic nanoseconds", w, &inject, err, errlen) ||
        need(fault, "heal_ns", is_count_or_null, "monotonic nanoseconds or null", w, &heal, err, errlen) ||
        need(fault, "affected", is_count, "a count", w, &affected, err, errlen))
        return NULL;
    json_t *sides = json_object();
    for (size_t s = 0; s < NSIDES; s++) {
        const json_t *side;
        where sw;
        at(&sw, w, ".%s", side_names[s]);
        json_t *one = NULL;
        if (need(fault, side_names[s], is_object, "an object", w, &side, err, errlen) ||
            !(one = side_of(side, &sw, err, errlen))) {
            json_decref(sides);
            return NULL;
        }
        json_object_set_new(sides, side_names[s], one);
    }
    json_int_t inject_ns = json_integer_value(inject);
    json_t *heal_s = json_is_null(heal) ? json_null() : json_real(seconds_between(t0_ns, json_integer_value(heal)));
    return json_pack("{s:s, s:s, s:I, s:O, s:O, s:f, s:o, s:O, s:O, s:o}", "label", label, "source",
                     source ? source : "", "fault", (json_int_t)index, "kind", kind, "target", target, "inject_s",
                     seconds_between(t0_ns, inject_ns), "heal_s", heal_s, "affected", affected, "tolerance",
                     tolerance, "sides", sides);
}

/* "broker.p99" -> "faults[<fault>].broker.p99"; other paths as they are. */
static void metric_path(const char *m, size_t fault, char *out, size_t len)
{
    const char *dot = strchr(m, '.');
    for (size_t s = 0; dot && s < NSIDES; s++)
        if (strlen(side_names[s]) == (size_t)(dot - m) && strncmp(m, side_names[s], (size_t)(dot - m)) == 0) {
            snprintf(out, len, "faults[%zu].%s", fault, m);
            return;
        }
    snprintf(out, len, "%s", m);
}

int fl_plot_add_metric(fl_plot *p, const char *path, char *err, size_t errlen)
{
    char full[256];
    metric_path(path, 0, full, sizeof full);
    if (fl_metric_check(full, err, errlen))
        return -1;
    return json_array_append_new(p->metrics, json_string(path));
}

/* The --metric values of one configuration (fault index of report). */
static json_t *metrics_of(const fl_plot *p, const json_t *report, size_t fault, const where *w, char *err,
                          size_t errlen)
{
    json_t *out = json_object();
    size_t i;
    json_t *m;
    json_array_foreach(p->metrics, i, m) {
        char full[256], why[640];
        metric_path(json_string_value(m), fault, full, sizeof full);
        double v;
        bool has;
        if (fl_metric_get(report, full, &v, &has, why, sizeof why)) {
            json_decref(out);
            bad(err, errlen, w, "", why);
            return NULL;
        }
        json_object_set_new(out, json_string_value(m), has && isfinite(v) ? json_real(v) : json_null());
    }
    return out;
}

/* One single-run report: a configuration per fault. */
static int add_single(fl_plot *p, const json_t *report, const char *label, const char *source, const where *w,
                      char *err, size_t errlen)
{
    if (!json_is_object(report))
        return bad(err, errlen, w, "", "not a flatline report (a JSON object)");
    const json_t *version = json_object_get(report, "report_version"), *faults, *run;
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return bad(err, errlen, w, "report_version", version ? "not 1 (this flatline reads version 1)" : "missing");
    if (need(report, "faults", is_array, "an array", w, &faults, err, errlen) ||
        need(report, "run", is_object, "an object", w, &run, err, errlen))
        return -1;
    const json_t *tol = json_object_get(run, "tolerance");
    json_t *tolerance = json_is_object(tol) && json_is_number(json_object_get(tol, "abs_s")) &&
                                json_is_number(json_object_get(tol, "rel"))
                            ? json_pack("{s:f, s:f}", "abs_s", json_number_value(json_object_get(tol, "abs_s")),
                                        "rel", json_number_value(json_object_get(tol, "rel")))
                            : json_pack("{s:f, s:f}", "abs_s", 0.25, "rel", 0.02);

    /* Times on the page count from the report's first inject. */
    json_int_t t0 = 0;
    size_t i, nfaults = json_array_size(faults);
    json_t *f;
    json_array_foreach(faults, i, f) {
        json_t *inj = json_object_get(f, "inject_ns");
        if (is_count(inj) && (i == 0 || json_integer_value(inj) < t0))
            t0 = json_integer_value(inj);
    }
    size_t before = json_array_size(p->configs);
    json_array_foreach(faults, i, f) {
        where fw;
        at(&fw, w, "%sfaults[%zu]", w->path[0] ? "." : "", i);
        if (!json_is_object(f)) {
            bad(err, errlen, &fw, "", "not an object");
            goto fail;
        }
        char name[256];
        const char *kind = json_string_value(json_object_get(f, "kind"));
        if (nfaults > 1)
            snprintf(name, sizeof name, "%s #%zu %s", label, i, kind ? kind : "");
        else
            snprintf(name, sizeof name, "%s", label);
        json_t *c = config_of(f, i, t0, tolerance, name, source, &fw, err, errlen);
        if (!c)
            goto fail;
        json_t *metrics = metrics_of(p, report, i, w, err, errlen);
        if (!metrics) {
            json_decref(c);
            goto fail;
        }
        json_object_set_new(c, "metrics", metrics);
        json_array_append_new(p->configs, c);
    }
    json_decref(tolerance);
    return (int)(json_array_size(p->configs) - before);
fail:
    json_decref(tolerance);
    while (json_array_size(p->configs) > before)
        json_array_remove(p->configs, json_array_size(p->configs) - 1);
    return -1;
}

/* "keepalive=2 grace=1.5" from a cell's {"groups[0].keepalive": 2, ...}:
 * the last component of each path is enough to tell cells apart. */
static void cell_label(char *buf, size_t len, const char *prefix, const json_t *params)
{
    size_t used = (size_t)snprintf(buf, len, "%s", prefix);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v) {
        if (used >= len)
            return;
        const char *dot = strrchr(key, '.');
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int n = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", dot ? dot + 1 : key, text ? text : "?");
        free(text);
        if (n > 0)
            used += (size_t)n;
    }
}

int fl_plot_add_report(fl_plot *p, const json_t *report, const char *label, const char *source, char *err,
                       size_t errlen)
{
    where top = { "" };
    const json_t *cells = json_is_object(report) ? json_object_get(report, "cells") : NULL;
    if (!cells)
        return add_single(p, report, label, source, &top, err, errlen);
    /* A sweep's combined report: {"cells": [{"params": {...}, "report": {...}}]}. */
    if (!json_is_array(cells))
        return bad(err, errlen, &top, "cells", "not an array");
    size_t before = json_array_size(p->configs), i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        where cw, rw;
        at(&cw, NULL, "cells[%zu]", i);
        at(&rw, &cw, ".report");
        const json_t *params = json_object_get(cell, "params"), *rep = json_object_get(cell, "report");
        int rc;
        if (!json_is_object(params))
            rc = bad(err, errlen, &cw, "params", params ? "not an object" : "missing");
        else if (!rep)
            rc = bad(err, errlen, &cw, "report", "missing");
        else {
            char name[256];
            char prefix[128];
            snprintf(prefix, sizeof prefix, "%s:", label);
            cell_label(name, sizeof name, prefix, params);
            rc = add_single(p, rep, name, source, &rw, err, errlen);
        }
        if (rc < 0) {
            while (json_array_size(p->configs) > before)
                json_array_remove(p->configs, json_array_size(p->configs) - 1);
            return -1;
        }
    }
    return (int)(json_array_size(p->configs) - before);
}

char *fl_plot_script_json(const json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!text)
        return NULL;
    size_t extra = 0;
    for (const char *c = text; *c; c++)
        extra += *c == '<' || *c == '>' || *c == '&' ? 5 : 0;
    char *out = malloc(strlen(text) + extra + 1), *o = out;
    if (!out) {
        free(text);
        return NULL;
    }
    for (const char *c = text; *c; c++) {
        if (*c == '<' || *c == '>' || *c == '&')
            o += sprintf(o, "\\u%04x", (unsigned char)*c);
        else
            *o++ = *c;
    }
    *o = '\0';
    free(text);
    return out;
}
