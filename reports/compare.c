#include "reports/compare.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "reports/metric.h"
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
    if (fl_grow(&s->rows, &s->cap, s->n + 1, 8) < 0)
        return -1;
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

int fl_cmp_metric(const json_t *report, const char *path, double *v, bool *has, char *err, size_t errlen)
{
    return fl_metric_get(report, path, v, has, err, errlen);
}

/* ---- tables ---- */

/* A row's values, in CSV and JSON order: the first nine as the first version
 * wrote them, then the per-connection residuals (absent from older reports). */
enum {
    C_DET, C_UND, C_P50, C_P99, C_MAX, C_FD, C_OVH, C_WLO, C_WHI,
    C_RP99, C_RMAX, C_SLACK, C_UNX, C_UNP, C_QUE, C_CPU, C_STALL, C_NCOLS
};

typedef enum unit { U_COUNT, U_S, U_MS } unit;
/* Which row of a column is the best: none (the column is no merit), the
 * most, the least, or the nearest 0 (a residual: the detector kept the time
 * its rule gives, early or late alike). */
typedef enum best_rule { B_NONE, B_MOST, B_LEAST, B_ZERO } best_rule;

typedef struct column {
    const char *key;  /* CSV header and JSON field */
    const char *mark; /* its name in "best" */
    const char *head; /* terminal header; the table's title names the unit */
    const char *wide; /* Markdown header, in one table with every column */
    unit unit;
    best_rule best;
    bool if_nonzero; /* a table shows it only when some row has one */
} column;

static const column cols[C_NCOLS] = {
    [C_DET] = { "detected", "detected", "detected", "detected", U_COUNT, B_MOST, false },
    [C_UND] = { "undetected", "undetected", "missed", "undetected", U_COUNT, B_LEAST, false },
    [C_P50] = { "p50_s", "p50", "p50", "p50 s", U_S, B_LEAST, false },
    [C_P99] = { "p99_s", "p99", "p99", "p99 s", U_S, B_LEAST, false },
    [C_MAX] = { "max_s", "max", "max", "max s", U_S, B_LEAST, false },
    [C_FD] = { "false_disconnects", "false_disc", "false disc.", "false disc.", U_COUNT, B_LEAST, false },
    [C_OVH] = { "bytes_per_conn_hour", "overhead", "bytes/conn-h", "bytes/conn-h", U_COUNT, B_LEAST, false },
    [C_WLO] = { "window_lo_s", NULL, NULL, NULL, U_S, B_NONE, false },
    [C_WHI] = { "window_hi_s", NULL, NULL, NULL, U_S, B_NONE, false },
    [C_RP99] = { "residual_p99_s", "residual_p99", "p99", "residual p99 ms", U_MS, B_ZERO, false },
    [C_RMAX] = { "residual_max_s", "residual_max", "max", "residual max ms", U_MS, B_ZERO, false },
    [C_SLACK] = { "slack_max_s", NULL, "slack", "slack ms", U_MS, B_NONE, false },
    [C_UNX] = { "unexplained", "unexplained", "unexplained", "unexplained", U_COUNT, B_LEAST, false },
    /* How late detections were explained, or that none could be predicted:
     * facts about the machine and the model, not merits of a configuration. */
    [C_UNP] = { "unpredicted", NULL, "unpred.", "unpredicted", U_COUNT, B_NONE, true },
    [C_QUE] = { "queued", NULL, "queued", "queued", U_COUNT, B_NONE, true },
    [C_CPU] = { "cpu_waited", NULL, "cpu-waited", "cpu-waited", U_COUNT, B_NONE, true },
    [C_STALL] = { "stalled", NULL, "stalled", "stalled", U_COUNT, B_NONE, true },
};

typedef struct cell_values {
    double v[C_NCOLS];
    bool has[C_NCOLS];
    double predicted; /* detections with a per-connection prediction ("1 of 20"); <= 0: none said */
    char window[64];  /* "1.00 .. 3.00", "0.50 .. never", "none expected", "-" */
} cell_values;

static void window_of(const json_t *side, cell_values *c)
{
    json_t *model = json_object_get(side, "model");
    snprintf(c->window, sizeof c->window, "-");
    if (!json_is_object(model))
        return;
    const char *expect = json_string_value(json_object_get(model, "expect"));
    if (!json_is_true(json_object_get(model, "applicable")) || (expect && strcmp(expect, "none") == 0)) {
        snprintf(c->window, sizeof c->window, "none expected");
        return;
    }
    double lo = json_number_value(json_object_get(model, "lo_s"));
    c->has[C_WLO] = true;
    c->v[C_WLO] = lo;
    c->has[C_WHI] = number(json_object_get(model, "hi_s"), &c->v[C_WHI]); /* null: never */
    if (!c->has[C_WHI])
        snprintf(c->window, sizeof c->window, "%.2f .. never", lo);
    else
        snprintf(c->window, sizeof c->window, "%.2f .. %.2f%s", lo, c->v[C_WHI],
                 expect && strcmp(expect, "some") == 0 ? " (some)" : "");
}

static void num_at(const json_t *obj, const char *key, cell_values *c, int col)
{
    c->has[col] = number(json_object_get(obj, key), &c->v[col]);
}

static void values_of(const json_t *report, size_t fault, int side, cell_values *c)
{
    memset(c, 0, sizeof *c);
    json_t *sd = json_object_get(json_array_get(json_object_get(report, "faults"), fault), side_names[side]);
    json_t *lat = json_object_get(sd, "latency_s"), *res = json_object_get(sd, "residual_s");
    num_at(sd, "detected", c, C_DET);
    num_at(sd, "undetected", c, C_UND);
    num_at(lat, "p50", c, C_P50);
    num_at(lat, "p99", c, C_P99);
    num_at(lat, "max", c, C_MAX);
    num_at(json_object_get(report, "false_disconnects"), "count", c, C_FD);
    num_at(json_object_get(report, "overhead"), "bytes_per_conn_hour", c, C_OVH);
    /* A report from before per-connection residuals has none of these: "-". */
    num_at(res, "p99", c, C_RP99);
    num_at(res, "max", c, C_RMAX);
    num_at(sd, "slack_max_s", c, C_SLACK);
    num_at(sd, "unexplained", c, C_UNX);
    num_at(sd, "unpredicted", c, C_UNP);
    num_at(sd, "queued", c, C_QUE);
    num_at(sd, "cpu_waited", c, C_CPU);
    num_at(sd, "stalled", c, C_STALL);
    json_t *each = json_object_get(sd, "residuals"); /* the statistics carry no count */
    c->predicted = json_is_array(each) ? (double)json_array_size(each) : -1;
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

static bool better(best_rule rule, double v, double top)
{
    return rule == B_MOST ? v > top : rule == B_LEAST ? v < top : fabs(v) < fabs(top);
}

static bool same(best_rule rule, double v, double top) { return rule == B_ZERO ? fabs(v) == fabs(top) : v == top; }

/* best[row] gets bit col when row has the best value of col (cols[col].best).
 * Only with two or more rows that have a value, and not when every row ties. */
static void mark_best(const cell_values *cv, size_t n, unsigned *best)
{
    for (int col = 0; col < C_NCOLS; col++) {
        best_rule rule = cols[col].best;
        if (rule == B_NONE)
            continue;
        double top = NAN;
        size_t with = 0, ties = 0;
        for (size_t i = 0; i < n; i++)
            if (cv[i].has[col] && (with++ == 0 || better(rule, cv[i].v[col], top)))
                top = cv[i].v[col];
        for (size_t i = 0; i < n; i++)
            ties += cv[i].has[col] && same(rule, cv[i].v[col], top);
        if (with < 2 || ties == with)
            continue;
        for (size_t i = 0; i < n; i++)
            if (cv[i].has[col] && same(rule, cv[i].v[col], top))
                best[i] |= 1u << col;
    }
}

/* best: " *" after the value (terminal), or the value in bold (Markdown). */
static void fmt_col(char *buf, size_t len, const cell_values *c, int col, bool best, bool md)
{
    char v[48];
    double x = c->v[col];
    if (!c->has[col])
        snprintf(v, sizeof v, "-");
    else if (cols[col].unit == U_S)
        snprintf(v, sizeof v, "%.3f", x);
    else if (cols[col].unit == U_MS)
        snprintf(v, sizeof v, "%.1f", x * 1e3);
    else if (col == C_UNX && c->predicted > 0)
        snprintf(v, sizeof v, "%.0f of %.0f", x, c->predicted);
    else
        snprintf(v, sizeof v, "%.0f", x);
    best = best && c->has[col];
    snprintf(buf, len, "%s%s%s", best && md ? "**" : "", v, !best ? "" : md ? "**" : " *");
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

/* Every row's values of one fault and side, and the best of each column. */
static void section_values(const fl_cmp_set *s, const section *sec, cell_values *cv, unsigned *best)
{
    memset(best, 0, (s->n + 1) * sizeof *best);
    for (size_t i = 0; i < s->n; i++)
        values_of(s->rows[i].report, sec->fault, sec->side, &cv[i]);
    mark_best(cv, s->n, best);
}

static void best_names(char *buf, size_t len, unsigned best)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int col = 0; col < C_NCOLS && used < len; col++)
        if (best & (1u << col)) {
            int k = snprintf(buf + used, len - used, "%s%s", used ? ";" : "", cols[col].mark);
            if (k > 0)
                used += (size_t)k;
        }
}

static json_t *json_row(const fl_cmp_row *r, const section *sec, const cell_values *c, unsigned best)
{
    json_t *row = json_pack("{s:I, s:s?, s:s?, s:s, s:s, s:O?}", "fault", (json_int_t)sec->fault, "kind", sec->kind,
                            "target", sec->target, "side", side_names[sec->side], "cell", r->label, "params",
                            r->params);
    json_t *bl = json_array();
    for (int col = 0; row && col < C_NCOLS; col++) {
        json_object_set_new(row, cols[col].key, c->has[col] ? json_real(c->v[col]) : json_null());
        if (best & (1u << col))
            json_array_append_new(bl, json_string(cols[col].mark));
    }
    json_object_set_new(row, "best", bl);
    return row;
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
        section_values(s, &secs[k], cv, best);
        for (size_t i = 0; i < s->n; i++)
            json_array_append_new(rows, json_row(&s->rows[i], &secs[k], &cv[i], best[i]));
    }
    free(cv);
    free(best);
    free(secs);
    return json_pack("{s:o}", "rows", rows);
}

int fl_cmp_format_parse(const char *name)
{
    /* In fl_cmp_format's order, each with its other spelling. */
    static const char *const names[][2] = { { "table", "text" }, { "md", "markdown" }, { "csv", "csv" },
                                            { "json", "json" } };
    for (int f = 0; f < 4; f++)
        if (strcmp(name, names[f][0]) == 0 || strcmp(name, names[f][1]) == 0)
            return f;
    return -1;
}

static void csv_header(FILE *out)
{
    fputs("fault,kind,target,side,cell", out);
    for (int col = 0; col < C_NCOLS; col++)
        fprintf(out, ",%s", cols[col].key);
    fputs(",best\n", out);
}

/* Numbers unrounded; an empty field has no value. */
static void csv_rows(FILE *out, const fl_cmp_set *s, const section *sec, const cell_values *cv, const unsigned *best)
{
    for (size_t i = 0; i < s->n; i++) {
        fprintf(out, "%zu,", sec->fault);
        fl_csv_field(out, sec->kind ? sec->kind : "?");
        fputc(',', out);
        fl_csv_field(out, sec->target ? sec->target : "?");
        fprintf(out, ",%s,", side_names[sec->side]);
        fl_csv_field(out, s->rows[i].label);
        for (int col = 0; col < C_NCOLS; col++) {
            fputc(',', out);
            if (cv[i].has[col])
                fprintf(out, "%.15g", cv[i].v[col]);
        }
        char names[192];
        best_names(names, sizeof names, best[i]);
        fprintf(out, ",%s\n", names);
    }
}

/* Which columns a table has, in order: the terminal splits a fault side's
 * columns in two tables and the run's own (the same on every side) in a third,
 * so that each reads at 80 columns; Markdown has room for one table with all. */
enum { V_LABEL = -1, V_WINDOW = -2 };
typedef struct view {
    const int *cols;
    size_t n;
} view;
#define VIEW(a) ((view){ (a), sizeof(a) / sizeof(a)[0] })
static const int detection_view[] = { V_LABEL, C_DET, C_UND, C_P50, C_P99, C_MAX, V_WINDOW };
static const int residual_view[] = { V_LABEL, C_RP99, C_RMAX, C_UNX, C_UNP, C_QUE, C_CPU, C_STALL };
static const int run_view[] = { V_LABEL, C_FD, C_OVH };
static const int wide_view[] = { V_LABEL, C_DET,  C_UND,  C_P50,  C_P99, C_MAX, V_WINDOW, C_RP99,
                                 C_RMAX,  C_SLACK, C_UNX, C_UNP, C_QUE, C_CPU, C_STALL, C_FD, C_OVH };

/* An if_nonzero column is left out while every row has 0 (or nothing). */
static bool shown(int col, const cell_values *cv, size_t n)
{
    if (col < 0 || !cols[col].if_nonzero)
        return true;
    for (size_t i = 0; i < n; i++)
        if (cv[i].has[col] && cv[i].v[col] != 0)
            return true;
    return false;
}

static const char *header(int col, bool md)
{
    if (col == V_LABEL)
        return "cell";
    if (col == V_WINDOW)
        return md ? "model window s" : "model window";
    return md ? cols[col].wide : cols[col].head;
}

static int fill_table(fl_table *t, view w, const fl_cmp_set *s, const cell_values *cv, const unsigned *best, bool md)
{
    int keep[FL_TABLE_MAX_COLS];
    const char *cells[FL_TABLE_MAX_COLS];
    char buf[FL_TABLE_MAX_COLS][64];
    int nk = 0;
    for (size_t k = 0; k < w.n && nk < FL_TABLE_MAX_COLS; k++)
        if (shown(w.cols[k], cv, s->n))
            keep[nk++] = w.cols[k];
    fl_table_init(t, nk);
    for (int k = 0; k < nk; k++)
        cells[k] = header(keep[k], md);
    int rc = fl_table_row(t, cells, 0);
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        for (int k = 0; k < nk; k++) {
            if (keep[k] == V_LABEL)
                cells[k] = s->rows[i].label;
            else if (keep[k] == V_WINDOW)
                cells[k] = cv[i].window;
            else {
                fmt_col(buf[k], sizeof buf[k], &cv[i], keep[k], best[i] & (1u << keep[k]), md);
                cells[k] = buf[k];
            }
        }
        rc = fl_table_row(t, cells, 0);
    }
    return rc;
}

/* One table under its title, after a blank line unless it is the first. */
static int print_view(FILE *out, bool *first, const char *title, view w, const fl_cmp_set *s, const cell_values *cv,
                      const unsigned *best, fl_cmp_format fmt, bool colour)
{
    bool md = fmt == FL_CMP_MARKDOWN;
    fl_table t;
    int rc = fill_table(&t, w, s, cv, best, md);
    if (rc == 0) {
        fprintf(out, md ? "%s### %s\n\n" : "%s%s\n", *first ? "" : "\n", title);
        if (md)
            fl_table_markdown(&t, out);
        else
            fl_table_print(&t, out, colour);
        *first = false;
    }
    fl_table_free(&t);
    return rc;
}

static int print_section(FILE *out, bool *first, const fl_cmp_set *s, const section *sec, const cell_values *cv,
                         const unsigned *best, fl_cmp_format fmt, bool colour)
{
    char where[160], title[256];
    snprintf(where, sizeof where, "faults[%zu] %s %s: %s", sec->fault, sec->kind ? sec->kind : "?",
             sec->target ? sec->target : "?", side_names[sec->side]);
    if (fmt == FL_CMP_MARKDOWN) {
        snprintf(title, sizeof title, "%s detection", where);
        return print_view(out, first, title, VIEW(wide_view), s, cv, best, fmt, colour);
    }
    snprintf(title, sizeof title, "%s detection (s after the fault)", where);
    int rc = print_view(out, first, title, VIEW(detection_view), s, cv, best, fmt, colour);
    snprintf(title, sizeof title, "%s residual (ms, measured - predicted)", where);
    return rc ? rc : print_view(out, first, title, VIEW(residual_view), s, cv, best, fmt, colour);
}

static int print_json(const fl_cmp_set *s, FILE *out)
{
    json_t *j = fl_cmp_to_json(s);
    int rc = j && json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : -1;
    json_decref(j);
    fputc('\n', out);
    return rc == 0 && !ferror(out) ? 0 : -1;
}

int fl_cmp_print(const fl_cmp_set *s, fl_cmp_format fmt, FILE *out, bool colour)
{
    if (fmt == FL_CMP_JSON)
        return print_json(s, out);
    section *secs;
    size_t nsec;
    if (sections(s, &secs, &nsec) < 0)
        return -1;
    cell_values *cv = calloc(s->n + 1, sizeof *cv);
    unsigned *best = calloc(s->n + 1, sizeof *best);
    int rc = cv && best ? 0 : -1;
    bool first = true;
    if (fmt == FL_CMP_CSV && rc == 0)
        csv_header(out);
    if (nsec == 0 && fmt != FL_CMP_CSV)
        fprintf(out, "No fault with a detection or a model window in %s.\n", s->n == 1 ? "this report" : "these reports");
    for (size_t k = 0; rc == 0 && k < nsec; k++) {
        section_values(s, &secs[k], cv, best);
        if (fmt == FL_CMP_CSV)
            csv_rows(out, s, &secs[k], cv, best);
        else
            rc = print_section(out, &first, s, &secs[k], cv, best, fmt, colour);
    }
    /* False disconnects and overhead are the run's, the same on every side. */
    if (rc == 0 && fmt == FL_CMP_TEXT && s->n) {
        section_values(s, &(section){ 0, 0, NULL, NULL }, cv, best);
        rc = print_view(out, &first, "run: false disconnects, heartbeat bytes per connection-hour", VIEW(run_view), s,
                        cv, best, fmt, colour);
    }
    if (fmt != FL_CMP_CSV && nsec && s->n > 1)
        fprintf(out, "\n%s marks a column's best row: most detected, residual nearest 0, else least.\n",
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
    /* The metric's spelling, in the one grammar (reports/metric.h); <side>.<rest> is
     * faults[i].<side>.<rest> for every fault. */
    const char *m = t->metric, *dot = strchr(m, '.');
    char path[128];
    if (dot && side_index(m, (size_t)(dot - m)) >= 0)
        snprintf(path, sizeof path, "faults[0].%s", m);
    else
        snprintf(path, sizeof path, "%s", m);
    char why[640];
    if (fl_metric_check(path, why, sizeof why)) {
        snprintf(err, errlen, "'%s': %s", expr, why);
        return -1;
    }
    return 0;
}

static bool crossed(double v, const char *op, double limit)
{
    return op[0] == '>' ? (op[1] ? v >= limit : v > limit) : (op[1] ? v <= limit : v < limit);
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
        /* An interrupted or broken run measured too little to pass a gate. */
        const json_t *run = json_object_get(row->report, "run"), *why = json_object_get(run, "broken");
        if (!json_is_true(json_object_get(run, "complete"))) {
            fprintf(out, "CROSSED: %s: the report is incomplete (%s): no gate passes on it\n", row->label,
                    json_is_string(why) ? json_string_value(why) : "interrupted or stopped early");
            crossings++;
        }
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
