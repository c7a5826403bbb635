#include "reports/compare.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/table.h"

static const char *const side_names[] = { "broker", "client", "will" };
#define NSIDES 3

void fl_cmp_init(fl_cmp_set *s) { memset(s, 0, sizeof *s); }

void fl_cmp_free(fl_cmp_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->rows[i].label);
        json_decref(s->rows[i].report);
        json_decref(s->rows[i].params);
    }
    free(s->rows);
    memset(s, 0, sizeof *s);
}

static int add_row(fl_cmp_set *s, const char *label, json_t *report, json_t *params)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        fl_cmp_row *r = realloc(s->rows, cap * sizeof *r);
        if (!r)
            return -1;
        s->rows = r;
        s->cap = cap;
    }
    s->rows[s->n++] = (fl_cmp_row){ strdup(label), json_incref(report), json_incref(params) };
    return 0;
}

/* "groups[0].keepalive" -> "keepalive": the last field name, when no other
 * parameter of the cell ends the same way. */
static const char *short_name(const char *path, json_t *params)
{
    const char *dot = strrchr(path, '.');
    const char *tail = dot ? dot + 1 : path;
    if (strchr(tail, '['))
        return path;
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        const char *d = strrchr(key, '.');
        if (key != path && strcmp(key, path) != 0 && strcmp(d ? d + 1 : key, tail) == 0)
            return path;
    }
    return tail;
}

static void cell_label(char *buf, size_t len, const char *prefix, json_t *params)
{
    size_t used = (size_t)snprintf(buf, len, "%s%s", prefix ? prefix : "", prefix ? ": " : "");
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach(params, key, v) {
        if (used >= len)
            break;
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int n = snprintf(buf + used, len - used, "%s%s=%s", first ? "" : " ", short_name(key, params),
                         text ? text : "?");
        free(text);
        if (n > 0)
            used += (size_t)n;
        first = false;
    }
}

int fl_cmp_add_json(fl_cmp_set *s, const char *name, json_t *doc, bool prefix, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "%s: not a report (a JSON object)", name);
        return -1;
    }
    if (!json_is_integer(json_object_get(doc, "report_version"))) {
        snprintf(err, errlen, "%s: not a flatline report: no \"report_version\"", name);
        return -1;
    }
    json_t *cells = json_object_get(doc, "cells");
    if (!cells) {
        if (!json_is_array(json_object_get(doc, "faults"))) {
            snprintf(err, errlen, "%s: not a flatline report: no \"faults\" and no \"cells\"", name);
            return -1;
        }
        return add_row(s, name, doc, NULL);
    }
    if (!json_is_array(cells)) {
        snprintf(err, errlen, "%s: cells: not an array", name);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(cells); i++) {
        json_t *c = json_array_get(cells, i), *rep = json_object_get(c, "report"), *params = json_object_get(c, "params");
        if (!json_is_object(rep) || !json_is_array(json_object_get(rep, "faults"))) {
            snprintf(err, errlen, "%s: cells[%zu].report: not a single-run report", name, i);
            return -1;
        }
        if (!json_is_object(params)) {
            snprintf(err, errlen, "%s: cells[%zu].params: not an object", name, i);
            return -1;
        }
        char label[256];
        cell_label(label, sizeof label, prefix ? name : NULL, params);
        if (add_row(s, label, rep, params) < 0)
            return -1;
    }
    return 0;
}

int fl_cmp_add_file(fl_cmp_set *s, const char *path, bool prefix, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    char *name = basename(copy);
    size_t len = strlen(name);
    if (len > 5 && strcmp(name + len - 5, ".json") == 0)
        name[len - 5] = '\0';
    int rc = fl_cmp_add_json(s, name, doc, prefix, err, errlen);
    if (rc < 0 && strncmp(err, name, strlen(name)) == 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s%s", path, err + strlen(name));
        snprintf(err, errlen, "%s", msg);
    }
    json_decref(doc);
    return rc;
}

/* ---- metrics ---- */

static bool number(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static int side_index(const char *name, size_t len)
{
    for (int i = 0; i < NSIDES; i++)
        if (strlen(side_names[i]) == len && strncmp(name, side_names[i], len) == 0)
            return i;
    return -1;
}

static int side_metric(const json_t *side, const char *stat, const char *path, double *v, bool *has, char *err,
                       size_t errlen)
{
    char name[32];
    snprintf(name, sizeof name, "%s", stat);
    double scale = 1;
    size_t len = strlen(name);
    if (len > 3 && strcmp(name + len - 3, "_ms") == 0) {
        name[len - 3] = '\0';
        scale = 1000;
    }
    *has = true;
    if (strcmp(name, "detected") == 0 || strcmp(name, "count") == 0 || strcmp(name, "undetected") == 0 ||
        strcmp(name, "outside") == 0 || strcmp(name, "survived") == 0 || strcmp(name, "unexplained") == 0) {
        const char *field = strcmp(name, "count") == 0 ? "detected" : name;
        if (scale != 1 || !number(json_object_get(side, field), v))
            goto unknown;
        return 0;
    }
    static const char *const stats[] = { "min", "p50", "p90", "p99", "max", "mean" };
    bool resid = strncmp(name, "residual.", 9) == 0; /* measured - predicted per connection */
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        if (strcmp(name + (resid ? 9 : 0), stats[i]) != 0)
            continue;
        json_t *lat = json_object_get(side, resid ? "residual_s" : "latency_s");
        *has = number(json_object_get(lat, stats[i]), v);
        if (*has)
            *v *= scale;
        return 0;
    }
unknown:
    snprintf(err, errlen, "%s: unknown metric (a side has detected, undetected, survived, outside, unexplained, "
             "min, p50, p90, p99, max, mean, residual.<those>, and the latencies with _ms)", path);
    return -1;
}

int fl_cmp_metric(const json_t *report, const char *path, double *v, bool *has, char *err, size_t errlen)
{
    *has = true;
    if (strcmp(path, "false_disconnects") == 0 || strcmp(path, "connections.false_disconnects") == 0) {
        if (number(json_object_get(json_object_get(report, "false_disconnects"), "count"), v))
            return 0;
        snprintf(err, errlen, "%s: the report has no false_disconnects.count", path);
        return -1;
    }
    if (strcmp(path, "undetected") == 0) {
        json_t *faults = json_object_get(report, "faults");
        *v = 0;
        for (size_t i = 0; i < json_array_size(faults); i++)
            for (int s = 0; s < 2; s++) { /* broker and client, as the report's own metric */
                double u;
                if (number(json_object_get(json_object_get(json_array_get(faults, i), side_names[s]), "undetected"), &u))
                    *v += u;
            }
        return 0;
    }
    if (strncmp(path, "overhead.", 9) == 0) {
        const char *what = path + 9;
        const char *field = strcmp(what, "bytes") == 0 || strcmp(what, "bytes_per_conn_hour") == 0
                                ? "bytes_per_conn_hour"
                            : strcmp(what, "packets") == 0 || strcmp(what, "packets_per_conn_hour") == 0
                                ? "packets_per_conn_hour"
                                : NULL;
        if (!field) {
            snprintf(err, errlen, "%s: unknown metric (overhead.bytes or overhead.packets, per connection-hour)", path);
            return -1;
        }
        *has = number(json_object_get(json_object_get(report, "overhead"), field), v);
        return 0;
    }
    size_t fault;
    int used = 0;
    if (sscanf(path, "faults[%zu].%n", &fault, &used) == 1 && used > 0) {
        const char *rest = path + used, *dot = strchr(rest, '.');
        json_t *faults = json_object_get(report, "faults");
        if (fault >= json_array_size(faults)) {
            snprintf(err, errlen, "%s: no fault %zu (the report has %zu)", path, fault, json_array_size(faults));
            return -1;
        }
        int side = dot ? side_index(rest, (size_t)(dot - rest)) : -1;
        if (side < 0) {
            snprintf(err, errlen, "%s: expected faults[i].<broker|client|will>.<statistic>", path);
            return -1;
        }
        return side_metric(json_object_get(json_array_get(faults, fault), side_names[side]), dot + 1, path, v, has,
                           err, errlen);
    }
    snprintf(err, errlen, "%s: unknown metric", path);
    return -1;
}

/* ---- tables ---- */

typedef struct cell_values {
    double v[6]; /* detected, undetected, p50, p99, max, false disconnects, (overhead below) */
    bool has[6];
    double overhead;
    bool has_overhead;
    char window[64];
    double lo, hi;
    bool has_window;
} cell_values;

enum { C_DET, C_UND, C_P50, C_P99, C_MAX, C_FD, C_OVH, C_NCOLS };
static const char *const col_names[C_NCOLS] = { "detected", "undetected", "p50", "p99", "max", "false_disc",
                                                "overhead" };

static double col_value(const cell_values *c, int col, bool *has)
{
    if (col == C_OVH) {
        *has = c->has_overhead;
        return c->overhead;
    }
    *has = c->has[col];
    return c->v[col];
}

static void window_of(const json_t *side, cell_values *c)
{
    json_t *model = json_object_get(side, "model");
    c->has_window = false;
    snprintf(c->window, sizeof c->window, "-");
    if (!json_is_object(model))
        return;
    const char *expect = json_string_value(json_object_get(model, "expect"));
    if (!json_is_true(json_object_get(model, "applicable")) || (expect && strcmp(expect, "none") == 0)) {
        snprintf(c->window, sizeof c->window, "none expected");
        return;
    }
    json_t *hi = json_object_get(model, "hi_s");
    c->lo = json_number_value(json_object_get(model, "lo_s"));
    c->hi = json_is_number(hi) ? json_number_value(hi) : INFINITY;
    c->has_window = true;
    if (isinf(c->hi))
        snprintf(c->window, sizeof c->window, "%.2f s .. never", c->lo);
    else
        snprintf(c->window, sizeof c->window, "%.2f .. %.2f s%s", c->lo, c->hi,
                 expect && strcmp(expect, "some") == 0 ? " (some)" : "");
}

static void values_of(const json_t *report, size_t fault, int side, cell_values *c)
{
    memset(c, 0, sizeof *c);
    json_t *sd = json_object_get(json_array_get(json_object_get(report, "faults"), fault), side_names[side]);
    c->has[C_DET] = number(json_object_get(sd, "detected"), &c->v[C_DET]);
    c->has[C_UND] = number(json_object_get(sd, "undetected"), &c->v[C_UND]);
    json_t *lat = json_object_get(sd, "latency_s");
    c->has[C_P50] = number(json_object_get(lat, "p50"), &c->v[C_P50]);
    c->has[C_P99] = number(json_object_get(lat, "p99"), &c->v[C_P99]);
    c->has[C_MAX] = number(json_object_get(lat, "max"), &c->v[C_MAX]);
    c->has[C_FD] = number(json_object_get(json_object_get(report, "false_disconnects"), "count"), &c->v[C_FD]);
    c->has_overhead = number(json_object_get(json_object_get(report, "overhead"), "bytes_per_conn_hour"), &c->overhead);
    window_of(sd, c);
}

/* A side is worth a table when some row has a model for it or saw something. */
static bool side_present(const fl_cmp_set *s, size_t fault, int side)
{
    for (size_t i = 0; i < s->n; i++) {
        json_t *f = json_array_get(json_object_get(s->rows[i].report, "faults"), fault);
        json_t *sd = json_object_get(f, side_names[side]);
        if (!sd)
            continue;
        json_t *model = json_object_get(sd, "model");
        if (json_is_true(json_object_get(model, "applicable")))
            return true;
        if (json_integer_value(json_object_get(sd, "detected")) > 0 ||
            json_integer_value(json_object_get(sd, "undetected")) > 0)
            return true;
    }
    return false;
}

static size_t max_faults(const fl_cmp_set *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = json_array_size(json_object_get(s->rows[i].report, "faults"));
        n = k > n ? k : n;
    }
    return n;
}

/* best[row] gets bit col when row has the best value of col: the most
 * detected, the least of everything else. Only with two or more rows that
 * have a value, and not when every row ties. */
static void mark_best(const cell_values *cv, size_t n, unsigned *best)
{
    for (int col = 0; col < C_NCOLS; col++) {
        double top = NAN;
        size_t with = 0;
        for (size_t i = 0; i < n; i++) {
            bool has;
            double v = col_value(&cv[i], col, &has);
            if (!has)
                continue;
            with++;
            if (isnan(top) || (col == C_DET ? v > top : v < top))
                top = v;
        }
        if (with < 2)
            continue;
        size_t ties = 0;
        for (size_t i = 0; i < n; i++) {
            bool has;
            double v = col_value(&cv[i], col, &has);
            ties += has && v == top;
        }
        if (ties == with)
            continue;
        for (size_t i = 0; i < n; i++) {
            bool has;
            double v = col_value(&cv[i], col, &has);
            if (has && v == top)
                best[i] |= 1u << col;
        }
    }
}

/* best: " *" after the value (terminal), or the value in bold (Markdown). */
static void fmt_col(char *buf, size_t len, const cell_values *c, int col, bool best, bool raw, bool md)
{
    const char *pre = best && md ? "**" : "", *post = !best ? "" : md ? "**" : " *";
    bool has;
    double v = col_value(c, col, &has);
    if (!has) {
        snprintf(buf, len, raw ? "" : "-");
        return;
    }
    if (raw)
        snprintf(buf, len, "%.15g", v);
    else if (col == C_P50 || col == C_P99 || col == C_MAX)
        snprintf(buf, len, "%s%.3f s%s", pre, v, post);
    else
        snprintf(buf, len, "%s%.0f%s", pre, v, post);
}

typedef struct section {
    size_t fault;
    int side;
    const char *kind, *target;
} section;

static int sections(const fl_cmp_set *s, section **out, size_t *n)
{
    size_t nf = max_faults(s);
    *out = calloc(nf * NSIDES + 1, sizeof **out);
    *n = 0;
    if (!*out)
        return -1;
    for (size_t f = 0; f < nf; f++) {
        for (int side = 0; side < NSIDES; side++) {
            if (!side_present(s, f, side))
                continue;
            section *sec = &(*out)[(*n)++];
            sec->fault = f;
            sec->side = side;
            for (size_t i = 0; i < s->n && !sec->kind; i++) {
                json_t *fj = json_array_get(json_object_get(s->rows[i].report, "faults"), f);
                sec->kind = json_string_value(json_object_get(fj, "kind"));
                sec->target = json_string_value(json_object_get(fj, "target"));
            }
        }
    }
    return 0;
}

static void csv_field(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', out);
        fputc(*text, out);
    }
    fputc('"', out);
}

static void best_names(char *buf, size_t len, unsigned best)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int col = 0; col < C_NCOLS && used < len; col++)
        if (best & (1u << col)) {
            int k = snprintf(buf + used, len - used, "%s%s", used ? ";" : "", col_names[col]);
            if (k > 0)
                used += (size_t)k;
        }
}

json_t *fl_cmp_to_json(const fl_cmp_set *s)
{
    section *secs;
    size_t nsec;
    json_t *rows = json_array();
    if (sections(s, &secs, &nsec) < 0 || !rows) {
        json_decref(rows);
        return NULL;
    }
    cell_values *cv = calloc(s->n + 1, sizeof *cv);
    unsigned *best = calloc(s->n + 1, sizeof *best);
    for (size_t k = 0; cv && best && k < nsec; k++) {
        memset(best, 0, (s->n + 1) * sizeof *best);
        for (size_t i = 0; i < s->n; i++)
            values_of(s->rows[i].report, secs[k].fault, secs[k].side, &cv[i]);
        mark_best(cv, s->n, best);
        for (size_t i = 0; i < s->n; i++) {
            const cell_values *c = &cv[i];
            json_t *bl = json_array();
            for (int col = 0; col < C_NCOLS; col++)
                if (best[i] & (1u << col))
                    json_array_append_new(bl, json_string(col_names[col]));
#define NUM(col) (c->has[col] ? json_real(c->v[col]) : json_null())
            json_t *row = json_pack("{s:I, s:s?, s:s?, s:s, s:s, s:O?, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                                    "fault", (json_int_t)secs[k].fault, "kind", secs[k].kind, "target", secs[k].target,
                                    "side", side_names[secs[k].side], "cell", s->rows[i].label, "params",
                                    s->rows[i].params, "detected", NUM(C_DET), "undetected", NUM(C_UND), "p50_s",
                                    NUM(C_P50), "p99_s", NUM(C_P99), "max_s", NUM(C_MAX), "false_disconnects",
                                    NUM(C_FD), "bytes_per_conn_hour",
                                    c->has_overhead ? json_real(c->overhead) : json_null(), "window_lo_s",
                                    c->has_window ? json_real(c->lo) : json_null(), "window_hi_s",
                                    c->has_window && isfinite(c->hi) ? json_real(c->hi) : json_null(), "best", bl);
#undef NUM
            json_array_append_new(rows, row);
        }
    }
    free(cv);
    free(best);
    free(secs);
    return json_pack("{s:o}", "rows", rows);
}

int fl_cmp_format_parse(const char *name)
{
    if (strcmp(name, "table") == 0 || strcmp(name, "text") == 0)
        return FL_CMP_TEXT;
    if (strcmp(name, "md") == 0 || strcmp(name, "markdown") == 0)
        return FL_CMP_MARKDOWN;
    if (strcmp(name, "csv") == 0)
        return FL_CMP_CSV;
    if (strcmp(name, "json") == 0)
        return FL_CMP_JSON;
    return -1;
}

static const char *const table_header[] = { "cell", "detected", "undetected", "p50", "p99", "max",
                                            "false disc.", "bytes/conn-h", "model window" };
#define TABLE_COLS 9

int fl_cmp_print(const fl_cmp_set *s, fl_cmp_format fmt, FILE *out, bool colour)
{
    if (fmt == FL_CMP_JSON) {
        json_t *j = fl_cmp_to_json(s);
        if (!j || json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
            json_decref(j);
            return -1;
        }
        json_decref(j);
        fputc('\n', out);
        return ferror(out) ? -1 : 0;
    }
    section *secs;
    size_t nsec;
    if (sections(s, &secs, &nsec) < 0)
        return -1;
    cell_values *cv = calloc(s->n + 1, sizeof *cv);
    unsigned *best = calloc(s->n + 1, sizeof *best);
    int rc = cv && best ? 0 : -1;
    if (fmt == FL_CMP_CSV && rc == 0)
        fputs("fault,kind,target,side,cell,detected,undetected,p50_s,p99_s,max_s,false_disconnects,"
              "bytes_per_conn_hour,window_lo_s,window_hi_s,best\n", out);
    if (nsec == 0 && fmt != FL_CMP_CSV)
        fprintf(out, "No fault with a detection or a model window in %s.\n", s->n == 1 ? "this report" : "these reports");
    for (size_t k = 0; rc == 0 && k < nsec; k++) {
        memset(best, 0, (s->n + 1) * sizeof *best);
        for (size_t i = 0; i < s->n; i++)
            values_of(s->rows[i].report, secs[k].fault, secs[k].side, &cv[i]);
        mark_best(cv, s->n, best);
        const char *kind = secs[k].kind ? secs[k].kind : "?", *target = secs[k].target ? secs[k].target : "?";
        if (fmt == FL_CMP_CSV) {
            for (size_t i = 0; i < s->n; i++) {
                char buf[C_NCOLS][64], names[128];
                for (int col = 0; col < C_NCOLS; col++)
                    fmt_col(buf[col], sizeof buf[col], &cv[i], col, false, true, false);
                best_names(names, sizeof names, best[i]);
                fprintf(out, "%zu,", secs[k].fault);
                csv_field(out, kind);
                fputc(',', out);
                csv_field(out, target);
                fprintf(out, ",%s,", side_names[secs[k].side]);
                csv_field(out, s->rows[i].label);
                char lo[32] = "", hi[32] = "";
                if (cv[i].has_window) {
                    snprintf(lo, sizeof lo, "%.15g", cv[i].lo);
                    if (isfinite(cv[i].hi))
                        snprintf(hi, sizeof hi, "%.15g", cv[i].hi);
                }
                fprintf(out, ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", buf[C_DET], buf[C_UND], buf[C_P50], buf[C_P99],
                        buf[C_MAX], buf[C_FD], buf[C_OVH], lo, hi, names);
            }
            continue;
        }
        fl_table t;
        fl_table_init(&t, TABLE_COLS);
        rc = fl_table_row(&t, table_header, 0);
        for (size_t i = 0; rc == 0 && i < s->n; i++) {
            char buf[C_NCOLS][64];
            for (int col = 0; col < C_NCOLS; col++)
                fmt_col(buf[col], sizeof buf[col], &cv[i], col, best[i] & (1u << col), false,
                        fmt == FL_CMP_MARKDOWN);
            const char *cells[TABLE_COLS] = { s->rows[i].label, buf[C_DET], buf[C_UND], buf[C_P50], buf[C_P99],
                                              buf[C_MAX], buf[C_FD], buf[C_OVH], cv[i].window };
            rc = fl_table_row(&t, cells, 0);
        }
        if (fmt == FL_CMP_MARKDOWN) {
            fprintf(out, "%s### faults[%zu] %s %s: %s detection\n\n", k ? "\n" : "", secs[k].fault, kind, target,
                    side_names[secs[k].side]);
            fl_table_markdown(&t, out);
        } else {
            fprintf(out, "%sfaults[%zu] %s %s: %s detection\n", k ? "\n" : "", secs[k].fault, kind, target,
                    side_names[secs[k].side]);
            fl_table_print(&t, out, colour);
        }
        fl_table_free(&t);
    }
    if (fmt != FL_CMP_CSV && nsec && s->n > 1)
        fprintf(out, "\n%s marks the best row of a column (most detected; least of the others).\n",
                fmt == FL_CMP_MARKDOWN ? "Bold" : "*");
    free(cv);
    free(best);
    free(secs);
    return rc == 0 && !ferror(out) ? 0 : -1;
}

/* ---- thresholds ---- */

int fl_cmp_threshold_parse(const char *expr, fl_cmp_threshold *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->text, sizeof t->text, "%s", expr);
    const char *p = expr;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p[n] && (isalnum((unsigned char)p[n]) || strchr("._[]", p[n])))
        n++;
    if (n == 0 || n >= sizeof t->metric) {
        snprintf(err, errlen, "'%s': expected METRIC OP VALUE, e.g. 'broker.p99>+10%%' or 'client.undetected>0'",
                 expr);
        return -1;
    }
    memcpy(t->metric, p, n);
    p += n;
    while (isspace((unsigned char)*p))
        p++;
    if ((p[0] == '>' || p[0] == '<') && p[1] == '=') {
        memcpy(t->op, p, 2);
        p += 2;
    } else if (p[0] == '>' || p[0] == '<') {
        t->op[0] = p[0];
        p++;
    } else {
        snprintf(err, errlen, "'%s': expected an operator (>, >=, <, <=) after '%s'", expr, t->metric);
        return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    bool sign = *p == '+' || *p == '-';
    char *end;
    errno = 0;
    t->value = strtod(p, &end);
    if (end == p || errno || !isfinite(t->value)) {
        snprintf(err, errlen, "'%s': expected a number after '%s'", expr, t->op);
        return -1;
    }
    t->kind = sign ? FL_CMP_DELTA : FL_CMP_ABSOLUTE;
    if (*end == '%') {
        if (!sign) {
            snprintf(err, errlen, "'%s': a percentage is relative to the baseline: write it with a sign (+%g%%)", expr,
                     t->value);
            return -1;
        }
        t->kind = FL_CMP_PERCENT;
        end++;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end) {
        snprintf(err, errlen, "'%s': unexpected '%s' after the value", expr, end);
        return -1;
    }
    /* The metric's spelling, checked on a report-shaped skeleton. */
    const char *m = t->metric;
    if (strncmp(m, "faults[", 7) != 0) {
        const char *dot = strchr(m, '.');
        if (dot && side_index(m, (size_t)(dot - m)) >= 0) {
            json_t *fake = json_pack("{s:[{s:{s:i,s:i,s:i,s:{s:f}}}]}", "faults", side_names[side_index(m, (size_t)(dot - m))],
                                     "detected", 0, "undetected", 0, "outside", 0, "latency_s", "p50", 0.0);
            double v;
            bool has;
            char path[128];
            snprintf(path, sizeof path, "faults[0].%s", m);
            int rc = fl_cmp_metric(fake, path, &v, &has, err, errlen);
            json_decref(fake);
            if (rc < 0) {
                char why[256];
                snprintf(why, sizeof why, "%s", err);
                snprintf(err, errlen, "'%s': %s", expr, why);
                return -1;
            }
        } else if (strcmp(m, "false_disconnects") != 0 && strcmp(m, "connections.false_disconnects") != 0 &&
                   strcmp(m, "undetected") != 0 && strncmp(m, "overhead.", 9) != 0) {
            snprintf(err, errlen, "'%s': unknown metric '%s' (<side>.<statistic>, faults[i].<side>.<statistic>, "
                     "false_disconnects, undetected, overhead.bytes, overhead.packets)", expr, m);
            return -1;
        } else if (strncmp(m, "overhead.", 9) == 0) {
            const char *w = m + 9;
            if (strcmp(w, "bytes") && strcmp(w, "packets") && strcmp(w, "bytes_per_conn_hour") &&
                strcmp(w, "packets_per_conn_hour")) {
                snprintf(err, errlen, "'%s': unknown metric '%s' (overhead.bytes or overhead.packets)", expr, m);
                return -1;
            }
        }
    }
    return 0;
}

static bool crossed(double v, const char *op, double limit)
{
    if (strcmp(op, ">") == 0)
        return v > limit;
    if (strcmp(op, ">=") == 0)
        return v >= limit;
    if (strcmp(op, "<") == 0)
        return v < limit;
    return v <= limit;
}

static const fl_cmp_row *baseline_row(const fl_cmp_set *b, const fl_cmp_row *row)
{
    if (!b || b->n == 0)
        return NULL;
    if (b->n == 1)
        return &b->rows[0];
    for (size_t i = 0; i < b->n; i++)
        if (row->params && b->rows[i].params && json_equal(row->params, b->rows[i].params))
            return &b->rows[i];
    return NULL;
}

/* One metric path of one row; returns 1 crossed, 0 not, -1 error. */
static int check_one(const fl_cmp_row *row, const fl_cmp_row *base, const fl_cmp_threshold *t, const char *path,
                     FILE *out, char *err, size_t errlen)
{
    double v, b = 0;
    bool has, bhas = true;
    if (fl_cmp_metric(row->report, path, &v, &has, err, errlen) < 0)
        return -1;
    if (t->kind != FL_CMP_ABSOLUTE) {
        if (!base) {
            fprintf(out, "note: %s: no baseline cell with the same parameters; '%s' not checked\n", row->label,
                    t->text);
            return 0;
        }
        if (fl_cmp_metric(base->report, path, &b, &bhas, err, errlen) < 0)
            return -1;
    }
    if (!has) {
        /* A statistic of no samples: nothing to hold against the limit unless the baseline had one. */
        if (t->kind != FL_CMP_ABSOLUTE && bhas) {
            fprintf(out, "CROSSED %s: %s: %s has no value (the baseline has %g)\n", t->text, row->label, path, b);
            return 1;
        }
        return 0;
    }
    if (!bhas) {
        fprintf(out, "note: %s: %s: the baseline has no value; not checked\n", t->text, row->label);
        return 0;
    }
    double limit = t->kind == FL_CMP_ABSOLUTE ? t->value
                   : t->kind == FL_CMP_DELTA  ? b + t->value
                                              : b * (1 + t->value / 100);
    if (!crossed(v, t->op, limit))
        return 0;
    if (t->kind == FL_CMP_ABSOLUTE)
        fprintf(out, "CROSSED %s: %s: %s = %g\n", t->text, row->label, path, v);
    else
        fprintf(out, "CROSSED %s: %s: %s = %g, baseline %g, limit %g\n", t->text, row->label, path, v, b, limit);
    return 1;
}

int fl_cmp_check(const fl_cmp_set *s, const fl_cmp_set *baseline, const fl_cmp_threshold *t, size_t nt, FILE *out,
                 char *err, size_t errlen)
{
    int crossings = 0;
    for (size_t k = 0; k < nt; k++) {
        if (t[k].kind != FL_CMP_ABSOLUTE && !baseline) {
            snprintf(err, errlen, "'%s': a relative threshold needs --baseline", t[k].text);
            return -1;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const fl_cmp_row *row = &s->rows[i];
        const fl_cmp_row *base = baseline_row(baseline, row);
        size_t nf = json_array_size(json_object_get(row->report, "faults"));
        for (size_t k = 0; k < nt; k++) {
            const char *m = t[k].metric, *dot = strchr(m, '.');
            bool per_fault = dot && side_index(m, (size_t)(dot - m)) >= 0;
            for (size_t f = 0; f < (per_fault ? nf : 1); f++) {
                char path[128];
                if (per_fault)
                    snprintf(path, sizeof path, "faults[%zu].%s", f, m);
                else
                    snprintf(path, sizeof path, "%s", m);
                /* A baseline with fewer faults has nothing to compare this one to. */
                if (per_fault && base && t[k].kind != FL_CMP_ABSOLUTE &&
                    f >= json_array_size(json_object_get(base->report, "faults")))
                    continue;
                int rc = check_one(row, base, &t[k], path, out, err, errlen);
                if (rc < 0)
                    return -1;
                crossings += rc;
            }
        }
    }
    return crossings;
}
