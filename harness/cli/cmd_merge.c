/* flatline merge PART.json... -o SWEEP.json [--allow-incomplete] [--junit FILE] [--summary-md FILE]
 * The partial reports of a sharded sweep (flatline run --shard K/N) joined
 * into the report one unsharded run writes (reports/merge.h,
 * docs/scale-out.md); the exit code is that run's. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "reports/compare.h"
#include "reports/merge.h"
#include "reports/merge_ci.h"
#include "reports/report.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s merge PART.json... -o SWEEP.json [--allow-incomplete] [--junit FILE] [--summary-md FILE]\n\n"
            "Joins the partial reports of a sharded sweep (flatline run SWEEP.json --shard K/N -o PART.json)\n"
            "into the report one unsharded run of the sweep writes: every cell in the matrix's order, with\n"
            "its expectations. Refuses parts of different sweeps, a cell in two parts, a cell in no part,\n"
            "and parts that did not run all their cells (docs/scale-out.md).\n\n"
            "  -o, --output FILE     the merged report (docs/report-format.md)\n"
            "  --allow-incomplete    merge anyway; the report says complete: false and the exit is 4\n"
            "  --junit FILE          JUnit XML of the merged sweep: a test suite per cell\n"
            "  --summary-md FILE     a Markdown summary of the merged sweep (CI step summary)\n"
            "  -h, --help            this text\n\n"
            "Exit: the unsharded run's: 0 every expectation held, 1 an expectation failed, 4 a cell broke\n"
            "or is missing (with --allow-incomplete); 2 bad usage or parts that do not merge (the file\n"
            "and cell named).\n",
            fl_prog);
}

static int write_report(json_t *doc, const char *path)
{
    char err[512];
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        fprintf(stderr, "%s merge: %s: out of memory\n", fl_prog, path);
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* as flatline run writes it: json_dumps left room for the NUL */
    int rc = fl_write_file_atomic(path, text, len + 1, err, sizeof err);
    free(text);
    if (rc < 0)
        fprintf(stderr, "%s merge: cannot write the report: %s\n", fl_prog, err);
    return rc;
}

int fl_cmd_merge(int argc, char **argv)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "allow-incomplete", no_argument, NULL, 'a' },
        { "junit", required_argument, NULL, 'j' },
        { "summary-md", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL, *junit = NULL, *summary = NULL;
    bool allow = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a': allow = true; break;
        case 'j': junit = optarg; break;
        case 'm': summary = optarg; break;
        case 'h': usage(stdout); return FL_EXIT_OK;
        default:
            fprintf(stderr, "%s merge: %s '%s'\n\n", fl_prog, c == ':' ? "option needs a value:" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (n < 1 || !out) {
        fprintf(stderr, "%s merge: %s\n\n", fl_prog, n < 1 ? "no partial report given" : "no -o SWEEP.json given");
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    fl_merge_part *parts = calloc((size_t)n, sizeof *parts);
    if (!parts)
        return FL_EXIT_BROKEN;
    int code = FL_EXIT_USAGE;
    char err[1024];
    json_t *merged = NULL;
    for (int i = 0; i < n; i++) {
        json_error_t je;
        parts[i].name = argv[optind + i];
        parts[i].doc = json_load_file(parts[i].name, JSON_REJECT_DUPLICATES, &je);
        if (!parts[i].doc) {
            fprintf(stderr, "%s merge: %s:%d:%d: %s\n", fl_prog, parts[i].name, je.line, je.column, je.text);
            goto out;
        }
    }
    int run_code;
    merged = fl_merge(parts, (size_t)n, allow, &run_code, err, sizeof err);
    if (!merged) {
        fprintf(stderr, "%s merge: %s\n", fl_prog, err);
        goto out;
    }
    code = run_code;
    const json_t *sc = json_object_get(merged, "scenario");
    printf("sweep %s: %zu cells merged from %d part%s\n", json_string_value(json_object_get(sc, "name")),
           json_array_size(json_object_get(merged, "cells")), n, n == 1 ? "" : "s");
    fl_cmp_set set;
    fl_cmp_init(&set);
    if (fl_cmp_add_json(&set, "sweep", merged, false, err, sizeof err) == 0)
        fl_cmp_print(&set, FL_CMP_TEXT, stdout, fl_report_want_color(stdout));
    fl_cmp_free(&set);
    if (write_report(merged, out) < 0)
        code = FL_EXIT_BROKEN;
    if (junit && fl_merge_write_junit(merged, junit, err, sizeof err) < 0) {
        fprintf(stderr, "%s merge: --junit: %s\n", fl_prog, err);
        code = FL_EXIT_BROKEN;
    }
    if (summary && fl_merge_write_markdown(merged, summary, err, sizeof err) < 0) {
        fprintf(stderr, "%s merge: --summary-md: %s\n", fl_prog, err);
        code = FL_EXIT_BROKEN;
    }
out:
    json_decref(merged);
    for (int i = 0; i < n; i++)
        json_decref(parts[i].doc);
    free(parts);
    return code;
}
