/* flatline merge's logic (reports/merge.h) on partial reports built here: a
 * 2 x 2 sweep split in 2 shards goes back together in cell order, and every
 * kind of bad input is refused with the file and the cell named. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/exit.h"
#include "reports/merge.h"
#include "reports/merge_ci.h"

#define SHA "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* The single-run report of cell i: passed unless fail, complete unless broken. */
static json_t *cell_report(size_t i, bool fail, bool broken)
{
    return json_pack("{s:i, s:{s:s, s:I, s:f, s:b, s:I}, s:[], s:[{s:s, s:s, s:f, s:f, s:b}], s:b}",
                     "report_version", 1, "run", "kernel", "6.18", "seed", (json_int_t)1, "duration_s",
                     5.0 + (double)i, "complete", !broken, "connections", (json_int_t)(10 + i), "faults",
                     "expectations", "metric", "false_disconnects", "op", "==", "value", 0.0, "actual",
                     fail ? 1.0 : 0.0, "pass", !fail, "passed", !fail);
}

/* {"groups[0].keepalive": [2, 3], "grace": [1, 1.5]}: cell i = keepalive[i / 2], grace[i % 2]. */
static json_t *params_of(size_t i)
{
    static const double ka[] = { 2, 3 }, grace[] = { 1, 1.5 };
    return json_pack("{s:f, s:f}", "groups[0].keepalive", ka[i / 2], "grace", grace[i % 2]);
}

/* Shard k of n of the 4-cell sweep, with the cells in `ran` (a bit each) present. */
static json_t *part(int k, int n, unsigned ran, const char *sha)
{
    json_t *cells = json_array(), *assigned = json_array();
    for (size_t i = 0; i < 4; i++) {
        if (i % (size_t)n != (size_t)(k - 1))
            continue;
        json_array_append_new(assigned, json_integer((json_int_t)i));
        if (ran & (1u << i))
            json_array_append_new(cells, json_pack("{s:o, s:o, s:I}", "params", params_of(i), "report",
                                                   cell_report(i, i == 3, false), "index", (json_int_t)i));
    }
    return json_pack("{s:i, s:s, s:{s:s, s:I, s:f, s:b, s:I}, s:{s:s, s:s, s:n}, s:{s:s, s:{s:[f,f], s:[f,f]}}, "
                     "s:o, s:b, s:{s:i, s:i, s:i, s:o, s:s}}",
                     "report_version", 1, "flatline_version", "0.1.0", "run", "kernel", "6.18", "seed", (json_int_t)1,
                     "duration_s", 1.0, "complete", true, "connections", (json_int_t)1, "scenario", "name", "sweep",
                     "sha256", sha, "document", "matrix", "mode", "cross", "params", "groups[0].keepalive", 2.0, 3.0,
                     "grace", 1.0, 1.5, "cells", cells, "passed", false, "shard", "index", k, "count", n,
                     "sweep_cells", 4, "cells", assigned, "source", "test");
}

static json_t *merge2(json_t *a, json_t *b, bool allow, int *code, char *err, size_t len)
{
    fl_merge_part parts[] = { { "a.json", a }, { "b.json", b } };
    return fl_merge(parts, b ? 2 : 1, allow, code, err, len);
}

Test(merge, two_shards_give_the_cells_in_order)
{
    json_t *a = part(1, 2, 0xf, SHA), *b = part(2, 2, 0xf, SHA);
    int code;
    char err[512] = "";
    json_t *m = merge2(b, a, false, &code, err, sizeof err); /* parts in any order */
    cr_assert_not_null(m, "%s", err);
    const json_t *cells = json_object_get(m, "cells");
    cr_assert_eq(json_array_size(cells), 4);
    for (size_t i = 0; i < 4; i++) {
        const json_t *c = json_array_get(cells, i);
        json_t *want = params_of(i), *rep = cell_report(i, i == 3, false);
        cr_expect(json_equal(json_object_get(c, "params"), want), "cell %zu out of place", i);
        cr_expect(json_equal(json_object_get(c, "report"), rep), "cell %zu's report changed", i);
        cr_expect_null(json_object_get(c, "index"), "an unsharded run's cells have no index");
        json_decref(want);
        json_decref(rep);
    }
    cr_expect_null(json_object_get(m, "shard"), "the merged report is the whole sweep's");
    const json_t *run = json_object_get(m, "run");
    cr_expect_float_eq(json_number_value(json_object_get(run, "duration_s")), 5 + 6 + 7 + 8, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(run, "connections")), 10 + 11 + 12 + 13);
    cr_expect(json_is_true(json_object_get(run, "complete")));
    cr_expect(json_is_false(json_object_get(m, "passed")), "cell 3's expectation failed");
    cr_expect_eq(code, FL_EXIT_EXPECTATION, "the unsharded run's exit code");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(m, "scenario"), "sha256")), SHA);
    json_decref(m);
    json_decref(a);
    json_decref(b);
}

static void refused(json_t *a, json_t *b, const char *const *want)
{
    int code;
    char err[768] = "";
    json_t *m = merge2(a, b, false, &code, err, sizeof err);
    cr_expect_null(m, "merged; wanted: %s", want[0]);
    cr_expect_eq(code, FL_EXIT_USAGE);
    for (; *want; want++)
        cr_expect(strstr(err, *want), "\"%s\" not in: %s", *want, err);
    json_decref(m);
    json_decref(a);
    json_decref(b);
}

Test(merge, parts_of_different_sweeps)
{
    const char *const want[] = { "b.json: a part of another sweep", "scenario sha256 000000000000", NULL };
    refused(part(1, 2, 0xf, SHA), part(2, 2, 0xf, "0000000000000000000000000000000000000000000000000000000000000000"),
            want);
    const char *const split[] = { "b.json: shard 2 of 3", "a.json's of 2", NULL };
    refused(part(1, 2, 0xf, SHA), part(2, 3, 0xf, SHA), split);
}

Test(merge, a_cell_in_two_parts)
{
    const char *const want[] = { "cell 0 (groups[0].keepalive=2.0 grace=1.0) is in two parts: a.json and b.json",
                                 NULL };
    refused(part(1, 2, 0xf, SHA), part(1, 2, 0xf, SHA), want);
}

Test(merge, a_missing_shard)
{
    const char *const want[] = { "cell 1 (groups[0].keepalive=2.0 grace=1.5) is in no part",
                                 "shard 2 of 2 is missing", NULL };
    refused(part(1, 2, 0xf, SHA), NULL, want);
}

Test(merge, an_incomplete_part_unless_asked)
{
    /* shard 2 ran cell 1 but not cell 3 */
    const char *const want[] = { "b.json: incomplete: cell 3 (groups[0].keepalive=3.0 grace=1.5) of shard 2 did not run",
                                 "--allow-incomplete", NULL };
    refused(part(1, 2, 0xf, SHA), part(2, 2, 0x2, SHA), want);
    json_t *a = part(1, 2, 0xf, SHA), *b = part(2, 2, 0x2, SHA);
    int code;
    char err[512] = "";
    json_t *m = merge2(a, b, true, &code, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_expect_eq(json_array_size(json_object_get(m, "cells")), 3);
    cr_expect(json_is_false(json_object_get(json_object_get(m, "run"), "complete")));
    cr_expect_eq(code, FL_EXIT_BROKEN, "a cell that did not run: as a broken unsharded run");
    json_decref(m);
    json_decref(a);
    json_decref(b);
    /* run.complete false: the shard broke or was interrupted */
    b = part(2, 2, 0xf, SHA);
    json_object_set_new(json_object_get(b, "run"), "complete", json_false());
    const char *const broke[] = { "b.json: incomplete: shard 2's run did not complete", NULL };
    refused(part(1, 2, 0xf, SHA), b, broke);
}

Test(merge, not_a_partial_report)
{
    json_t *whole = part(1, 1, 0xf, SHA);
    json_object_del(whole, "shard");
    const char *const want[] = { "b.json: not a partial report of a sharded sweep: a whole sweep's report", NULL };
    refused(part(1, 2, 0xf, SHA), whole, want);
    const char *const junk[] = { "a.json: not a partial report", "report_version", NULL };
    refused(json_pack("{s:i}", "x", 1), NULL, junk);
    /* a cell outside its shard */
    json_t *b = part(2, 2, 0xf, SHA);
    json_object_set_new(json_array_get(json_object_get(b, "cells"), 0), "index", json_integer(2));
    const char *const stray[] = { "b.json: cells[0]: cell 2 (groups[0].keepalive=3.0 grace=1.0) is not one of shard 2's",
                                  NULL };
    refused(part(1, 2, 0xf, SHA), b, stray);
}

/* --junit and --summary-md of merge: a suite per cell, the failed expectation named. */
Test(merge, junit_and_markdown_of_the_merged_sweep)
{
    json_t *a = part(1, 2, 0xf, SHA), *b = part(2, 2, 0xf, SHA);
    int code;
    char err[512] = "", dir[] = "/tmp/flatline-merge-XXXXXX", junit[64], md[64];
    json_t *m = merge2(a, b, false, &code, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(junit, sizeof junit, "%s/junit.xml", dir);
    snprintf(md, sizeof md, "%s/summary.md", dir);
    cr_assert_eq(fl_merge_write_junit(m, junit, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_merge_write_markdown(m, md, err, sizeof err), 0, "%s", err);
    static char text[1 << 16];
    FILE *f = fopen(junit, "r");
    cr_assert_not_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    size_t suites = 0;
    for (const char *p = text; (p = strstr(p, "<testsuite ")); p++)
        suites++;
    cr_expect_eq(suites, 4, "%s", text);
    cr_expect(strstr(text, "name=\"sweep [groups[0].keepalive=3.0 grace=1.5]\" tests=\"1\" failures=\"1\""), "%s",
              text);
    f = fopen(md, "r");
    cr_assert_not_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cr_expect(strstr(text, "- 4 of 4 cells ran; 1 with a failed expectation"), "%s", text);
    cr_expect(strstr(text, "**FAIL** `groups[0].keepalive=3.0 grace=1.5`: `false_disconnects == 0 (actual 1)`"), "%s",
              text);
    remove(junit);
    remove(md);
    rmdir(dir);
    json_decref(m);
    json_decref(a);
    json_decref(b);
}
