/* flatline run SCENARIO.json [-o report.json] [--events events.jsonl] [--pcap DIR]
 *                            [--junit FILE] [--summary-md FILE]
 * A scenario with a "matrix" is a sweep: every cell is checked before anything
 * is created, then run one after the other (same seed, same fault timeline),
 * and -o gets one combined report with a row per cell. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "harness/cli/outpaths.h"
#include "reports/compare.h"
#include "harness/scenario/feasible.h"
#include "harness/scenario/jsonpos.h"
#include "harness/scenario/matrix.h"
#include "reports/report.h"
#include "reports/sha256.h"
#include "harness/run/run.h"
#include "harness/run/vm_run.h"
#include "harness/scenario/scenario.h"
#include "harness/scenario/shard.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s run SCENARIO.json [-o REPORT.json] [--events EVENTS.jsonl] [--pcap DIR] [--keep]\n"
            "           [--junit FILE] [--summary-md FILE] [--shard K/N|auto] [--virtual-time]\n\n"
            "Builds the scenario's hosts in network namespaces, starts the broker and the\n"
            "clients, applies the fault timeline and measures who notices each dead\n"
            "connection, and when, against the model's window. Needs root. A scenario with a\n"
            "\"matrix\" runs every cell and writes one combined report (docs/compare.md).\n\n"
            "  -o, --output FILE   write the JSON report (docs/report-format.md)\n"
            "  --events FILE       write every event of the run, one JSON object a line\n"
            "  --pcap DIR          capture the broker host's traffic to DIR/broker.pcap\n"
            "  --keep              keep generated configs and process logs\n"
            "  --junit FILE        JUnit XML: each expectation and each fault verdict a test case\n"
            "  --summary-md FILE   a short Markdown summary (CI step summary, PR comment)\n"
            "  --shard K/N         a sweep's shard K of N (cell i is in shard i mod N + 1); -o gets a\n"
            "                      partial report for flatline merge (docs/scale-out.md). auto: K and N\n"
            "                      from FLATLINE_SHARD_INDEX/_COUNT, JOB_COMPLETION_INDEX (+ FLATLINE_SHARD_COUNT),\n"
            "                      CI_NODE_INDEX/CI_NODE_TOTAL or SLURM_ARRAY_TASK_ID/_COUNT/_MIN\n"
            "  --virtual-time      run it all in a qemu VM whose clock skips idle time, as\n"
            "                      \"clock\": \"virtual\" does (docs/virtual-time.md)\n"
            "  -h, --help          this text\n\n"
            "Exit: 0 every expectation held, 1 an expectation failed, 2 bad scenario or usage,\n"
            "3 this machine cannot run it, 4 the run broke or was interrupted.\n",
            fl_prog);
}

/* flatline-broker and flatline-swarm are built next to flatline. */
static void own_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(buf, len, ".");
        return;
    }
    exe[n] = '\0';
    snprintf(buf, len, "%s", dirname(exe));
}

/* ---- CI outputs ---- */

typedef struct ci_outputs {
    const char *junit, *summary_md;
} ci_outputs;

static int write_ci_single(fl_report *rep, const ci_outputs *ci)
{
    char err[512];
    int code = FL_EXIT_OK;
    if (ci->junit && fl_report_write_junit(rep, ci->junit, err, sizeof err) < 0) {
        fprintf(stderr, "%s: --junit: %s\n", fl_prog, err);
        code = FL_EXIT_BROKEN;
    }
    if (ci->summary_md && fl_report_write_markdown(rep, ci->summary_md, err, sizeof err) < 0) {
        fprintf(stderr, "%s: --summary-md: %s\n", fl_prog, err);
        code = FL_EXIT_BROKEN;
    }
    return code;
}

/* ---- sweeps ---- */

typedef struct cell {
    char label[256];
    char *text;                /* the cell's scenario document */
    json_t *params;
    fl_scenario *sc;
    fl_report *report;
    int code;
    bool ran;
} cell;

/* "events.jsonl" -> "events.cell2.jsonl" */
static void cell_path(char *buf, size_t len, const char *path, size_t index)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1))
        snprintf(buf, len, "%.*s.cell%zu%s", (int)(dot - path), path, index, dot);
    else
        snprintf(buf, len, "%s.cell%zu", path, index);
}

/* Every cell parsed and checked before the first is run; *machine: the
 * problems of this machine (open files), said once for the sweep. */
static int prepare_cells(const char *path, const fl_matrix_file *mf, cell *cells, size_t n, int *machine)
{
    fl_diag d, m;
    fl_diag_init(&d, path, stderr);
    fl_diag_init(&m, path, stderr);
    fl_jsonpos *where = fl_jsonpos_build(mf->text, mf->len);
    m.where = where;
    for (size_t i = 0; i < n; i++) {
        cell *c = &cells[i];
        char err[512] = "";
        fl_matrix_label(mf->matrix, i, c->label, sizeof c->label);
        json_t *doc = fl_matrix_cell(mf->matrix, mf->base, i, &c->params, err, sizeof err);
        json_decref(doc);
        c->sc = fl_matrix_cell_scenario(mf, i, path, &d, &c->text);
        if (c->sc && !m.errors)
            fl_scenario_check_machine(c->sc, &m);
    }
    fl_jsonpos_free(where);
    *machine = m.errors;
    return d.errors;
}

static json_t *combined_report(const char *path, const fl_matrix_file *mf, cell *cells, size_t n, bool *passed,
                               const fl_shard *shard)
{
    json_t *list = json_array(), *run = NULL;
    double duration = 0;
    json_int_t connections = 0;
    bool complete = true;
    *passed = true;
    for (size_t i = 0; i < n; i++) {
        if (shard && !fl_shard_has_cell(shard, i))
            continue; /* another shard's */
        if (!cells[i].report) {
            complete = false;
            *passed = false;
            continue;
        }
        json_t *rep = fl_report_to_json(cells[i].report);
        json_t *r = json_object_get(rep, "run");
        if (!run)
            run = json_deep_copy(r);
        duration += json_number_value(json_object_get(r, "duration_s"));
        connections += json_integer_value(json_object_get(r, "connections"));
        complete &= json_is_true(json_object_get(r, "complete"));
        *passed &= json_is_true(json_object_get(rep, "passed"));
        json_t *entry = json_pack("{s:O, s:o}", "params", cells[i].params, "report", rep);
        if (shard) /* which cell of the whole sweep: flatline merge puts it back in its place */
            json_object_set_new(entry, "index", json_integer((json_int_t)i));
        json_array_append_new(list, entry);
    }
    if (!run)
        run = json_object();
    json_object_set_new(run, "duration_s", json_real(duration));
    json_object_set_new(run, "connections", json_integer(connections));
    json_object_set_new(run, "complete", json_boolean(complete));
    char sha[FL_SHA256_HEX_LEN + 1];
    fl_sha256_hex(mf->text, mf->len, sha);
    json_t *document = json_loadb(mf->text, mf->len, 0, NULL);
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *name = json_string_value(json_object_get(mf->base, "name"));
    json_t *doc = json_pack("{s:i, s:s, s:o, s:{s:s, s:s, s:o}, s:o, s:o, s:b}", "report_version", FL_REPORT_VERSION,
                            "flatline_version", FLATLINE_VERSION, "run", run, "scenario", "name",
                            name ? name : basename(copy), "sha256", sha, "document", document ? document : json_null(),
                            "matrix", fl_matrix_to_json(mf->matrix), "cells", list, "passed", *passed);
    if (doc && shard) {
        json_t *assigned = json_array();
        for (size_t i = 0; i < n; i++)
            if (fl_shard_has_cell(shard, i))
                json_array_append_new(assigned, json_integer((json_int_t)i));
        json_object_set_new(doc, "shard",
                            json_pack("{s:i, s:i, s:I, s:o, s:s}", "index", (int)shard->index, "count",
                                      (int)shard->count, "sweep_cells", (json_int_t)n, "cells", assigned, "source",
                                      shard->source));
    }
    return doc;
}

static int write_json_file(json_t *doc, const char *path)
{
    char err[512];
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        fprintf(stderr, "%s: %s: out of memory\n", fl_prog, path);
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for its NUL: the newline takes it, the length says where to stop */
    int rc = fl_write_file_atomic(path, text, len + 1, err, sizeof err);
    free(text);
    if (rc < 0)
        fprintf(stderr, "%s: cannot write the report: %s\n", fl_prog, err);
    return rc;
}

/* Each cell's test suite, named after the cell, in one <testsuites>. */
static int write_sweep_junit(const char *path, cell *cells, size_t n, const char *scenario_name)
{
    char *all = NULL, err[512];
    size_t len = 0;
    FILE *out = open_memstream(&all, &len);
    if (!out)
        return -1;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", out);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/flatline-junit-XXXXXX", fl_run_tmpdir());
    int fd = mkstemp(tmp);
    if (fd >= 0)
        close(fd);
    int rc = fd < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!cells[i].report)
            continue;
        char suite[512];
        snprintf(suite, sizeof suite, "%s [%s]", scenario_name, cells[i].label);
        if (fl_report_set_scenario(cells[i].report, suite, cells[i].text, strlen(cells[i].text), err, sizeof err) < 0 ||
            fl_report_write_junit(cells[i].report, tmp, err, sizeof err) < 0) {
            rc = -1;
            break;
        }
        FILE *f = fopen(tmp, "re");
        char line[4096];
        bool inside = false;
        while (f && fgets(line, sizeof line, f)) {
            if (strstr(line, "<testsuite ") || strstr(line, "<testsuite>"))
                inside = true;
            if (inside)
                fputs(line, out);
            if (strstr(line, "</testsuite>"))
                inside = false;
        }
        if (f)
            fclose(f);
        else
            rc = -1;
    }
    if (fd >= 0)
        unlink(tmp);
    fputs("</testsuites>\n", out);
    if (fclose(out) || rc < 0) {
        free(all);
        fprintf(stderr, "%s: --junit %s: %s\n", fl_prog, path, rc < 0 && err[0] ? err : "cannot render");
        return -1;
    }
    rc = fl_write_file_atomic(path, all, len, err, sizeof err);
    free(all);
    if (rc < 0)
        fprintf(stderr, "%s: --junit: %s\n", fl_prog, err);
    return rc;
}

/* The sweep in a few lines and the compare tables in Markdown. */
static int write_sweep_markdown(const char *path, json_t *combined, cell *cells, size_t n)
{
    char *buf = NULL, err[512];
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return -1;
    json_t *sc = json_object_get(combined, "scenario"), *run = json_object_get(combined, "run");
    size_t failed = 0, ran = 0;
    for (size_t i = 0; i < n; i++) {
        ran += cells[i].report != NULL;
        failed += cells[i].report && !fl_report_passed(cells[i].report);
    }
    fprintf(out, "# flatline sweep: %s\n\n", json_string_value(json_object_get(sc, "name")));
    fprintf(out, "- %zu of %zu cells ran%s; %zu with a failed expectation\n", ran, n,
            json_is_true(json_object_get(run, "complete")) ? "" : " (**incomplete**)", failed);
    fprintf(out, "- flatline %s, kernel %s, seed %lld, %.1f s measured\n", FLATLINE_VERSION,
            json_string_value(json_object_get(run, "kernel")) ? json_string_value(json_object_get(run, "kernel")) : "?",
            (long long)json_integer_value(json_object_get(run, "seed")),
            json_number_value(json_object_get(run, "duration_s")));
    fprintf(out, "- scenario SHA-256 `%s`\n\n", json_string_value(json_object_get(sc, "sha256")));
    json_t *cl = json_object_get(combined, "cells");
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!cells[i].report)
            continue;
        json_t *exps = json_object_get(json_object_get(json_array_get(cl, k++), "report"), "expectations");
        for (size_t e = 0; e < json_array_size(exps); e++) {
            json_t *x = json_array_get(exps, e);
            if (json_is_true(json_object_get(x, "pass")))
                continue;
            json_t *actual = json_object_get(x, "actual");
            char a[64] = "no value";
            if (json_is_number(actual))
                snprintf(a, sizeof a, "%g", json_number_value(actual));
            fprintf(out, "- **FAIL** `%s`: `%s %s %g` (actual %s)\n", cells[i].label,
                    json_string_value(json_object_get(x, "metric")), json_string_value(json_object_get(x, "op")),
                    json_number_value(json_object_get(x, "value")), a);
        }
    }
    fprintf(out, "\n## Cells\n\n");
    fl_cmp_set set;
    fl_cmp_init(&set);
    int rc = fl_cmp_add_json(&set, "sweep", combined, false, err, sizeof err);
    if (rc == 0)
        rc = fl_cmp_print(&set, FL_CMP_MARKDOWN, out, false);
    fl_cmp_free(&set);
    if (fclose(out) || rc < 0) {
        free(buf);
        fprintf(stderr, "%s: --summary-md %s: cannot render\n", fl_prog, path);
        return -1;
    }
    rc = fl_write_file_atomic(path, buf, len, err, sizeof err);
    free(buf);
    if (rc < 0)
        fprintf(stderr, "%s: --summary-md: %s\n", fl_prog, err);
    return rc;
}

static int run_sweep(const fl_run_options *base_opt, const fl_matrix_file *mf, const ci_outputs *ci,
                     const fl_shard *shard)
{
    size_t n = fl_matrix_cells(mf->matrix);
    cell *cells = calloc(n, sizeof *cells);
    if (!cells)
        return FL_EXIT_BROKEN;
    const char *path = base_opt->scenario_path;
    int code = FL_EXIT_OK;
    int machine = 0, errors = prepare_cells(path, mf, cells, n, &machine);
    if (errors || machine) {
        fprintf(stderr, "%s: %s: %d %s in the sweep's cells; nothing was created\n", fl_prog, path,
                errors ? errors : machine, errors ? "error(s)" : "problem(s) of this machine");
        code = errors ? FL_EXIT_USAGE : FL_EXIT_MACHINE;
        goto out;
    }
    uint64_t *durations = calloc(n, sizeof *durations);
    for (size_t i = 0; durations && i < n; i++)
        durations[i] = cells[i].sc->duration_ns;
    if (durations) {
        char total[256];
        fl_sweep_total_text(n, durations, total, sizeof total);
        fprintf(stderr, "%s: sweep: %s\n", fl_prog, total);
        free(durations);
    }
    if (shard) {
        size_t mine = 0;
        for (size_t i = 0; i < n; i++)
            mine += fl_shard_has_cell(shard, i);
        fprintf(stderr, "%s: shard %u of %u (%s): %zu of the sweep's %zu cells\n", fl_prog, shard->index,
                shard->count, shard->source, mine, n);
    }
    bool stop = false;
    for (size_t i = 0; i < n && !stop; i++) {
        cell *c = &cells[i];
        if (shard && !fl_shard_has_cell(shard, i))
            continue;
        char events[PATH_MAX], pcap[PATH_MAX];
        fl_run_options opt = *base_opt;
        opt.report_path = NULL;
        opt.scenario_text = c->text;
        opt.scenario_len = strlen(c->text);
        opt.report_out = &c->report;
        if (base_opt->events_path) {
            cell_path(events, sizeof events, base_opt->events_path, i);
            opt.events_path = events;
        }
        if (base_opt->pcap_dir) {
            snprintf(pcap, sizeof pcap, "%s/cell%zu", base_opt->pcap_dir, i);
            if (mkdir(pcap, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "%s: --pcap: cannot create %s: %s\n", fl_prog, pcap, strerror(errno));
                code = FL_EXIT_USAGE;
                break;
            }
            opt.pcap_dir = pcap;
        }
        fprintf(stderr, "%s: cell %zu of %zu: %s\n", fl_prog, i + 1, n, c->label);
        c->code = fl_run(c->sc, &opt);
        c->ran = true;
        /* A machine that cannot run one cell cannot run the next; a broken or
         * interrupted cell ends the sweep (an interrupt stays pending). */
        if (c->code == FL_EXIT_MACHINE || c->code == FL_EXIT_BROKEN)
            stop = true;
        if (c->code > code)
            code = c->code;
    }
    bool passed;
    json_t *combined = combined_report(path, mf, cells, n, &passed, shard);
    if (!combined) {
        code = FL_EXIT_BROKEN;
        goto out;
    }
    fl_cmp_set set;
    fl_cmp_init(&set);
    char err[512];
    printf("\nsweep %s: %zu cells (%s)\n", json_string_value(json_object_get(json_object_get(combined, "scenario"),
                                                                             "name")),
           n, fl_matrix_mode(mf->matrix));
    if (fl_cmp_add_json(&set, "sweep", combined, false, err, sizeof err) == 0)
        fl_cmp_print(&set, FL_CMP_TEXT, stdout, fl_report_want_color(stdout));
    fl_cmp_free(&set);
    if (base_opt->report_path && write_json_file(combined, base_opt->report_path) < 0)
        code = FL_EXIT_BROKEN;
    const char *name = json_string_value(json_object_get(json_object_get(combined, "scenario"), "name"));
    if (ci->summary_md && write_sweep_markdown(ci->summary_md, combined, cells, n) < 0)
        code = FL_EXIT_BROKEN;
    if (ci->junit && write_sweep_junit(ci->junit, cells, n, name ? name : "flatline") < 0)
        code = FL_EXIT_BROKEN;
    json_decref(combined);
out:
    for (size_t i = 0; i < n; i++) {
        free(cells[i].text);
        json_decref(cells[i].params);
        fl_scenario_free(cells[i].sc);
        fl_report_free(cells[i].report);
    }
    free(cells);
    return code;
}

/* ---- --shard ---- */

static const char *env_get(const char *name) { return getenv(name); }

/* K/N, or auto from the job engine's variables (harness/scenario/shard.h). */
static int parse_shard(const char *arg, fl_shard *out)
{
    char err[512];
    int rc = strcmp(arg, "auto") == 0 ? fl_shard_from_env(env_get, out, err, sizeof err)
                                      : fl_shard_parse(arg, out, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "%s run: %s\n", fl_prog, err);
    return rc;
}

/* In the VM (harness/run/vm_run.h); outputs that need the host's files during
 * the run are not carried over yet. */
static int run_virtual(fl_scenario *sc, fl_matrix_file *mf, const fl_run_options *opt, const ci_outputs *ci)
{
    const char *unsupported = opt->pcap_dir ? "--pcap" : ci->junit ? "--junit" : ci->summary_md ? "--summary-md" : NULL;
    int code;
    if (unsupported) {
        fprintf(stderr, "%s run: %s does not work with virtual time yet\n", fl_prog, unsupported);
        code = FL_EXIT_USAGE;
    } else {
        fl_vm_run_options vo = { .scenario_path = opt->scenario_path, .report_path = opt->report_path,
                                 .events_path = opt->events_path, .bindir = opt->bindir,
                                 .duration_s = (double)sc->duration_ns / 1e9, .keep = opt->keep_workdir };
        code = fl_vm_run(&vo);
    }
    fl_scenario_free(sc);
    fl_matrix_file_free(mf);
    return code;
}

int fl_cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "events", required_argument, NULL, 'e' },
        { "pcap", required_argument, NULL, 'p' },
        { "keep", no_argument, NULL, 'k' },
        { "junit", required_argument, NULL, 'j' },
        { "summary-md", required_argument, NULL, 'm' },
        { "shard", required_argument, NULL, 's' },
        { "virtual-time", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char bindir[PATH_MAX];
    own_dir(bindir, sizeof bindir);
    fl_run_options opt = { .bindir = bindir };
    ci_outputs ci = { 0 };
    const char *shard_arg = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': opt.report_path = optarg; break;
        case 'e': opt.events_path = optarg; break;
        case 'p': opt.pcap_dir = optarg; break;
        case 'k': opt.keep_workdir = true; break;
        case 'j': ci.junit = optarg; break;
        case 'm': ci.summary_md = optarg; break;
        case 's': shard_arg = optarg; break;
        case 'V': fl_scenario_virtual_time = true; break;
        case 'h': usage(stdout); return FL_EXIT_OK;
        default: /* ':' a value is missing, '?' an unknown option */
            fprintf(stderr, "%s run: %s '%s'\n\n", fl_prog, c == ':' ? "option needs a value:" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s run: %s\n\n", fl_prog, optind >= argc ? "missing SCENARIO.json" : "one scenario at a time");
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (fl_vm_is_guest())
        fl_vm_guest_setup();
    /* Options may also follow the scenario: flatline run s.json -o r.json. */
    opt.scenario_path = argv[optind];
    if (opt.pcap_dir && access(opt.pcap_dir, W_OK) != 0) {
        fprintf(stderr, "%s run: --pcap %s: not a writable directory\n", fl_prog, opt.pcap_dir);
        return FL_EXIT_USAGE;
    }
    /* The options' own syntax first, then the outputs. */
    fl_shard shard;
    if (shard_arg && parse_shard(shard_arg, &shard) < 0)
        return FL_EXIT_USAGE;
    /* Every output checked before anything is created (exit 2, naming the path). */
    const fl_outpath outputs[] = { { "-o", opt.report_path }, { "--events", opt.events_path },
                                   { "--junit", ci.junit }, { "--summary-md", ci.summary_md } };
    if (fl_outpaths_check(outputs, sizeof outputs / sizeof outputs[0]) > 0) {
        fprintf(stderr, "%s run: nothing was created\n", fl_prog);
        return FL_EXIT_USAGE;
    }
    fl_diag d;
    fl_diag_init(&d, opt.scenario_path, stderr);
    fl_matrix_file mf;
    if (fl_matrix_file_load(opt.scenario_path, &mf, &d) < 0) {
        fprintf(stderr, "%s: %s: %d error%s; nothing was created\n", fl_prog, opt.scenario_path, d.errors,
                d.errors == 1 ? "" : "s");
        return FL_EXIT_USAGE;
    }
    if (shard_arg && !mf.matrix) {
        fprintf(stderr, "%s run: --shard: %s is not a sweep (no \"matrix\"): one run is not split "
                        "(docs/scale-out.md)\n", fl_prog, opt.scenario_path);
        fl_matrix_file_free(&mf);
        return FL_EXIT_USAGE;
    }
    if (mf.matrix && (fl_scenario_virtual_time || json_object_get(mf.base, "clock"))) {
        fprintf(stderr, "%s run: %s: a sweep (\"matrix\") cannot run in virtual time yet\n", fl_prog, opt.scenario_path);
        fl_matrix_file_free(&mf);
        return FL_EXIT_USAGE;
    }
    if (mf.matrix) {
        int code = run_sweep(&opt, &mf, &ci, shard_arg ? &shard : NULL);
        fl_matrix_file_free(&mf);
        return code;
    }
    fl_scenario *sc = fl_scenario_parse(mf.text, mf.len, opt.scenario_path, &d);
    if (!sc) {
        fprintf(stderr, "%s: %s: %d error%s; nothing was created\n", fl_prog, opt.scenario_path, d.errors,
                d.errors == 1 ? "" : "s");
        fl_matrix_file_free(&mf);
        return FL_EXIT_USAGE;
    }
    if (sc->virtual_clock && !fl_vm_is_guest())
        return run_virtual(sc, &mf, &opt, &ci);
    fl_diag machine;
    fl_diag_init(&machine, opt.scenario_path, stderr);
    fl_jsonpos *where = fl_jsonpos_build(mf.text, mf.len);
    machine.where = where;
    int problems = fl_scenario_check_machine(sc, &machine);
    fl_jsonpos_free(where);
    if (problems) {
        fprintf(stderr, "%s: %s: this machine cannot run it; nothing was created\n", fl_prog, opt.scenario_path);
        fl_scenario_free(sc);
        fl_matrix_file_free(&mf);
        return FL_EXIT_MACHINE;
    }
    fl_report *rep = NULL;
    opt.report_out = &rep;
    int code = fl_run(sc, &opt);
    if (rep && (ci.junit || ci.summary_md)) {
        int ci_code = write_ci_single(rep, &ci);
        if (code == FL_EXIT_OK)
            code = ci_code;
    }
    fl_report_free(rep);
    fl_scenario_free(sc);
    fl_matrix_file_free(&mf);
    return code;
}
