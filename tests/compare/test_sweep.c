/* The 3 x 2 sweep scenarios/matrix-keepalive-grace.json run end to end (root,
 * namespaces): every cell completes and passes, the combined report has a
 * row per cell, the compare table orders the cells as the model does (the
 * broker closes a silent connection grace x Keep Alive after its last packet,
 * here its CONNECT just before the pull: a larger product, a later median),
 * each median lies in its model window, the summary printed at the end reads
 * at 80 columns, and the JUnit and Markdown outputs parse. No namespace of
 * the run is left. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leftovers.h"

#define SCENARIO FLATLINE_SOURCE_DIR "/scenarios/matrix-keepalive-grace.json"

static int shell(const char *cmd)
{
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct cell {
    double product, p50, lo, hi;
} cell;

static int by_product(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    return (x->product > y->product) - (x->product < y->product);
}

Test(sweep, keepalive_by_grace, .timeout = 170)
{
    char dir[] = "/tmp/flatline-sweep-XXXXXX", cmd[2048];
    cr_assert_not_null(mkdtemp(dir));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char log[128], report[128], junit[128], md[128];
        snprintf(log, sizeof log, "%s/run.log", dir);
        snprintf(report, sizeof report, "%s/report.json", dir);
        snprintf(junit, sizeof junit, "%s/junit.xml", dir);
        snprintf(md, sizeof md, "%s/summary.md", dir);
        if (!freopen(log, "w", stdout))
            _exit(127);
        dup2(fileno(stdout), STDERR_FILENO);
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run", SCENARIO, "-o", report, "--junit", junit,
              "--summary-md", md, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        snprintf(cmd, sizeof cmd, "cat %s/run.log >&2", dir);
        cr_expect_eq(shell(cmd), 0);
    }
    cr_expect(ok, "flatline run: status %d", status);
    cr_expect_eq(leftover_namespaces(pid), 0, "namespaces left behind");

    /* The sweep's summary that run prints last (compare's tables, residuals
     * included) reads at 80 columns. */
    snprintf(cmd, sizeof cmd,
             "sed -n '/^sweep /,$p' %s/run.log | awk 'length > 80 { print; wide = 1 } END { exit wide }' >&2", dir);
    cr_expect_eq(shell(cmd), 0, "a line of the sweep's summary is wider than 80 columns");
    snprintf(cmd, sizeof cmd, "grep -q '^faults\\[0\\] cable-pull devices\\[0\\]: broker residual' %s/run.log", dir);
    cr_expect_eq(shell(cmd), 0, "no residual table in the sweep's summary");

    char path[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_error_t err;
    json_t *r = json_load_file(path, 0, &err);
    cr_assert_not_null(r, "report: %s", err.text);
    cr_expect(json_is_true(json_object_get(r, "passed")));
    cr_expect(json_is_true(json_object_get(json_object_get(r, "run"), "complete")));
    cr_assert_eq(json_array_size(json_object_get(r, "cells")), 6);
    json_decref(r);

    /* the comparison, as a user would get it */
    snprintf(cmd, sizeof cmd, FLATLINE_BINARY_DIR "/flatline compare --format json %s > %s/compare.json", path, dir);
    cr_assert_eq(shell(cmd), 0);
    snprintf(path, sizeof path, "%s/compare.json", dir);
    json_t *cmp = json_load_file(path, 0, &err);
    cr_assert_not_null(cmp, "compare: %s", err.text);
    cell cells[6];
    size_t n = 0;
    json_t *rows = json_object_get(cmp, "rows");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(row, "side")), "broker") != 0)
            continue;
        cr_assert_lt(n, 6);
        json_t *params = json_object_get(row, "params");
        double ka = json_number_value(json_object_get(params, "groups[0].keepalive"));
        double grace = json_number_value(json_object_get(params, "broker.options.grace"));
        cells[n] = (cell){ ka * grace, json_number_value(json_object_get(row, "p50_s")),
                           json_number_value(json_object_get(row, "window_lo_s")),
                           json_number_value(json_object_get(row, "window_hi_s")) };
        cr_expect_gt(ka * grace, 0, "row %zu: no keepalive or grace in its params", i);
        n++;
    }
    cr_assert_eq(n, 6, "a broker row per cell");
    json_decref(cmp);
    qsort(cells, n, sizeof *cells, by_product);
    for (size_t i = 0; i < n; i++) {
        /* the report's tolerance: 0.25 s + 2 % of the window's end */
        double tol = 0.25 + 0.02 * cells[i].hi;
        cr_expect(cells[i].p50 >= cells[i].lo - tol && cells[i].p50 <= cells[i].hi + tol,
                  "KA x grace %.2f: p50 %.3f s outside the model window %.3f .. %.3f s", cells[i].product,
                  cells[i].p50, cells[i].lo, cells[i].hi);
        if (i)
            cr_expect_gt(cells[i].p50, cells[i - 1].p50, "KA x grace %.2f: p50 %.3f s not above %.3f s (KA x grace %.2f)",
                         cells[i].product, cells[i].p50, cells[i - 1].p50, cells[i - 1].product);
    }

    /* CI outputs: JUnit against the Jenkins/Ant schema, Markdown through a GFM parser */
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s/tests/compare/junit.xsd %s/junit.xml", FLATLINE_SOURCE_DIR,
             dir);
    if (shell("command -v xmllint >/dev/null") == 0)
        cr_expect_eq(shell(cmd), 0, "the JUnit file is not valid");
    snprintf(cmd, sizeof cmd, "test $(grep -c '<testsuite ' %s/junit.xml) -eq 6", dir);
    cr_expect_eq(shell(cmd), 0, "a test suite per cell");
    snprintf(cmd, sizeof cmd, "cmark-gfm -e table %s/summary.md | grep -c '<table>' | grep -qx 2", dir);
    if (shell("command -v cmark-gfm >/dev/null") == 0)
        cr_expect_eq(shell(cmd), 0, "the Markdown summary does not render two tables");

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(shell(cmd), 0);
}
