/* flatline merge (reports/merge.h): checks the parts against each other,
 * then puts their cells back in the sweep's order. */
#include "reports/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exit.h"

void fl_merge_cell_label(const json_t *matrix, size_t cell, char *buf, size_t len)
{
    const json_t *params = json_object_get(matrix, "params");
    bool zip = json_is_string(json_object_get(matrix, "mode")) &&
               strcmp(json_string_value(json_object_get(matrix, "mode")), "zip") == 0;
    size_t used = 0, np = json_object_size(params), k = 0;
    const char *path;
    json_t *values;
    buf[0] = '\0';
    /* cross: the first parameter varies slowest (harness/scenario/matrix.h) */
    json_object_foreach((json_t *)params, path, values) {
        size_t stride = 1, j = 0;
        const char *p2;
        json_t *v2;
        json_object_foreach((json_t *)params, p2, v2) {
            if (j++ > k)
                stride *= json_array_size(v2);
        }
        size_t nv = json_array_size(values);
        size_t at = zip ? cell : nv ? (cell / stride) % nv : 0;
        char *text = json_dumps(json_array_get(values, at), JSON_ENCODE_ANY | JSON_COMPACT);
        int n = used < len ? snprintf(buf + used, len - used, "%s%s=%s", k ? " " : "", path, text ? text : "?") : 0;
        free(text);
        if (n > 0)
            used += (size_t)n;
        k++;
    }
    (void)np;
}

/* What one part says about itself. */
typedef struct part_info {
    const char *name;
    const json_t *doc, *cells, *shard;
    const char *sha, *version;
    json_int_t index, count, sweep_cells;
} part_info;

static int not_partial(const char *name, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: not a partial report of a sharded sweep: %s (flatline run SWEEP.json --shard K/N -o "
             "writes one)", name, what);
    return -1;
}

static int read_part(const fl_merge_part *p, part_info *pi, char *err, size_t errlen)
{
    memset(pi, 0, sizeof *pi);
    pi->name = p->name;
    pi->doc = p->doc;
    if (!json_is_object(p->doc) || !json_is_integer(json_object_get(p->doc, "report_version")))
        return not_partial(p->name, "no \"report_version\"", err, errlen);
    pi->shard = json_object_get(p->doc, "shard");
    pi->cells = json_object_get(p->doc, "cells");
    if (!json_is_object(pi->shard))
        return not_partial(p->name, json_is_array(pi->cells) ? "a whole sweep's report (no \"shard\")"
                                                             : "no \"shard\" and no \"cells\"",
                           err, errlen);
    if (!json_is_array(pi->cells))
        return not_partial(p->name, "cells: not an array", err, errlen);
    pi->index = json_integer_value(json_object_get(pi->shard, "index"));
    pi->count = json_integer_value(json_object_get(pi->shard, "count"));
    pi->sweep_cells = json_integer_value(json_object_get(pi->shard, "sweep_cells"));
    if (pi->count < 1 || pi->index < 1 || pi->index > pi->count || pi->sweep_cells < 1 ||
        !json_is_array(json_object_get(pi->shard, "cells")))
        return not_partial(p->name, "shard: needs index (1..count), count, sweep_cells and cells", err, errlen);
    pi->sha = json_string_value(json_object_get(json_object_get(p->doc, "scenario"), "sha256"));
    if (!pi->sha)
        return not_partial(p->name, "no scenario.sha256", err, errlen);
    pi->version = json_string_value(json_object_get(p->doc, "flatline_version"));
    return 0;
}

static int same_sweep(const part_info *a, const part_info *b, char *err, size_t errlen)
{
    if (strcmp(a->sha, b->sha) != 0) {
        snprintf(err, errlen, "%s: a part of another sweep: scenario sha256 %.12s..., %s's is %.12s... (every shard "
                 "must run the same scenario file)", b->name, b->sha, a->name, a->sha);
        return -1;
    }
    if (a->count != b->count || a->sweep_cells != b->sweep_cells) {
        snprintf(err, errlen, "%s: shard %lld of %lld (%lld cells), %s's of %lld (%lld cells): parts of different "
                 "splits", b->name, (long long)b->index, (long long)b->count, (long long)b->sweep_cells, a->name,
                 (long long)a->count, (long long)a->sweep_cells);
        return -1;
    }
    if ((a->version || b->version) && (!a->version || !b->version || strcmp(a->version, b->version) != 0)) {
        snprintf(err, errlen, "%s: written by flatline %s, %s by %s: run every shard with the same flatline",
                 b->name, b->version ? b->version : "?", a->name, a->version ? a->version : "?");
        return -1;
    }
    return 0;
}

static bool in_list(const json_t *list, json_int_t v)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) {
        if (json_integer_value(x) == v)
            return true;
    }
    return false;
}

/* The exit code of one cell's report, as flatline run gives it. */
static int cell_code(const json_t *report)
{
    if (!json_is_true(json_object_get(json_object_get(report, "run"), "complete")))
        return FL_EXIT_BROKEN;
    return json_is_true(json_object_get(report, "passed")) ? FL_EXIT_OK : FL_EXIT_EXPECTATION;
}

json_t *fl_merge(const fl_merge_part *parts, size_t n, bool allow_incomplete, int *code, char *err, size_t errlen)
{
    *code = FL_EXIT_USAGE;
    if (n == 0) {
        snprintf(err, errlen, "no part given");
        return NULL;
    }
    part_info *pi = calloc(n, sizeof *pi);
    const json_t **by_cell = NULL; /* cell index -> its {params, report, index} */
    const char **from = NULL;      /* cell index -> the part it came from */
    json_t *out = NULL;
    if (!pi)
        goto oom;
    for (size_t p = 0; p < n; p++)
        if (read_part(&parts[p], &pi[p], err, errlen) || (p && same_sweep(&pi[0], &pi[p], err, errlen)))
            goto fail;
    size_t ncells = (size_t)pi[0].sweep_cells;
    const json_t *matrix = json_object_get(pi[0].doc, "matrix");
    char label[512];
    by_cell = calloc(ncells, sizeof *by_cell);
    from = calloc(ncells, sizeof *from);
    if (!by_cell || !from)
        goto oom;
    bool complete = true;
    for (size_t p = 0; p < n; p++) {
        const json_t *assigned = json_object_get(pi[p].shard, "cells");
        size_t i;
        json_t *c;
        json_array_foreach(pi[p].cells, i, c) {
            json_t *idx = json_object_get(c, "index");
            json_int_t k = json_integer_value(idx);
            if (!json_is_integer(idx) || k < 0 || (size_t)k >= ncells) {
                snprintf(err, errlen, "%s: cells[%zu].index: %s", pi[p].name, i,
                         json_is_integer(idx) ? "not a cell of the sweep" : "missing (not a partial report's cell)");
                goto fail;
            }
            fl_merge_cell_label(matrix, (size_t)k, label, sizeof label);
            if (!in_list(assigned, k)) {
                snprintf(err, errlen, "%s: cells[%zu]: cell %lld (%s) is not one of shard %lld's cells", pi[p].name,
                         i, (long long)k, label, (long long)pi[p].index);
                goto fail;
            }
            if (by_cell[k]) {
                snprintf(err, errlen, "cell %lld (%s) is in two parts: %s and %s (the same shard merged twice?)",
                         (long long)k, label, from[k], pi[p].name);
                goto fail;
            }
            if (!json_is_object(json_object_get(c, "report")) || !json_is_object(json_object_get(c, "params"))) {
                snprintf(err, errlen, "%s: cells[%zu] (cell %lld, %s): needs params and report", pi[p].name, i,
                         (long long)k, label);
                goto fail;
            }
            by_cell[k] = c;
            from[k] = pi[p].name;
        }
        /* A part that did not run all of its cells, or broke. */
        json_array_foreach(assigned, i, c) {
            json_int_t k = json_integer_value(c);
            if (k >= 0 && (size_t)k < ncells && !by_cell[k]) {
                fl_merge_cell_label(matrix, (size_t)k, label, sizeof label);
                if (!allow_incomplete) {
                    snprintf(err, errlen, "%s: incomplete: cell %lld (%s) of shard %lld did not run (run it again, "
                             "or --allow-incomplete)", pi[p].name, (long long)k, label, (long long)pi[p].index);
                    goto fail;
                }
            }
        }
        if (!json_is_true(json_object_get(json_object_get(pi[p].doc, "run"), "complete"))) {
            if (!allow_incomplete) {
                snprintf(err, errlen, "%s: incomplete: shard %lld's run did not complete (run.complete false; run it "
                         "again, or --allow-incomplete)", pi[p].name, (long long)pi[p].index);
                goto fail;
            }
            complete = false;
        }
    }
    for (size_t k = 0; k < ncells; k++) {
        if (by_cell[k])
            continue;
        bool assigned = false;
        for (size_t p = 0; p < n; p++)
            assigned |= in_list(json_object_get(pi[p].shard, "cells"), (json_int_t)k);
        fl_merge_cell_label(matrix, k, label, sizeof label);
        if (!assigned && !allow_incomplete) {
            snprintf(err, errlen, "cell %zu (%s) is in no part: shard %zu of %lld is missing (or --allow-incomplete)",
                     k, label, k % (size_t)pi[0].count + 1, (long long)pi[0].count);
            goto fail;
        }
        complete = false;
    }

    /* The report an unsharded run writes (harness/cli/cmd_run.c, combined_report). */
    json_t *list = json_array(), *run = NULL;
    double duration = 0;
    json_int_t connections = 0;
    bool passed = true;
    int worst = FL_EXIT_OK;
    for (size_t k = 0; k < ncells; k++) {
        if (!by_cell[k]) {
            passed = false;
            worst = FL_EXIT_BROKEN;
            continue;
        }
        json_t *rep = json_object_get(by_cell[k], "report"), *r = json_object_get(rep, "run");
        if (!run)
            run = json_deep_copy(r);
        duration += json_number_value(json_object_get(r, "duration_s"));
        connections += json_integer_value(json_object_get(r, "connections"));
        complete &= json_is_true(json_object_get(r, "complete"));
        passed &= json_is_true(json_object_get(rep, "passed"));
        int cc = cell_code(rep);
        if (cc > worst)
            worst = cc;
        json_array_append_new(list, json_pack("{s:O, s:O}", "params", json_object_get(by_cell[k], "params"),
                                              "report", rep));
    }
    if (!run)
        run = json_object();
    json_object_set_new(run, "duration_s", json_real(duration));
    json_object_set_new(run, "connections", json_integer(connections));
    json_object_set_new(run, "complete", json_boolean(complete));
    out = json_pack("{s:O, s:O, s:o, s:O, s:O, s:o, s:b}", "report_version",
                    json_object_get(pi[0].doc, "report_version"), "flatline_version",
                    json_object_get(pi[0].doc, "flatline_version"), "run", run, "scenario",
                    json_object_get(pi[0].doc, "scenario"), "matrix", matrix, "cells", list, "passed", passed);
    if (!out)
        goto oom;
    *code = worst;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(out);
    out = NULL;
done:
    free(pi);
    free(by_cell);
    free(from);
    return out;
}
