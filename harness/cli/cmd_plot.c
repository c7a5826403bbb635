/* flatline plot REPORT.json... -o OUT.html [--title T] [--assets DIR] [--metric PATH]... */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "reports/plot.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s plot REPORT.json... -o OUT.html [--title TEXT] [--assets DIR] [--metric PATH]...\n\n"
            "Draws reports (a single run's, or every cell of a sweep's) into one self-contained\n"
            "HTML page that works offline: per side (broker, client, will) the CDF of the\n"
            "detection latency with one curve per configuration (a report, or a fault of it\n"
            "when it has several, or a sweep's cell) and the model's window shaded; then a\n"
            "timeline of the faults and every detection.\n\n"
            "  -o, --output FILE  the page to write (atomically)\n"
            "  --title TEXT       the page's title (default: the scenario names)\n"
            "  --metric PATH      a table of this metric for every configuration (repeatable;\n"
            "                     the paths of docs/report-format.md; broker.p99: its own fault)\n"
            "  --assets DIR       where plot.html.in, plot.js and uPlot are (default:\n"
            "                     $FLATLINE_PLOT_ASSETS, else plot-assets beside the executable,\n"
            "                     else ../share/flatline/plot-assets from it)\n"
            "  -h, --help         this text\n\n"
            "Exit: 0 written, 2 bad usage or a report that cannot be read (the field named),\n"
            "3 the page's assets are missing (run ./setup.sh), 4 the page could not be written.\n",
            fl_prog);
}

static int has_template(const char *dir)
{
    char path[2 * PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, FL_PLOT_TEMPLATE);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --assets, $FLATLINE_PLOT_ASSETS, then the build tree's and the install's
 * place relative to this executable. */
static const char *find_assets(const char *given, char *buf, size_t len)
{
    if (given)
        return given;
    const char *env = getenv("FLATLINE_PLOT_ASSETS");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    const char *dir = dirname(exe);
    snprintf(buf, len, "%s/plot-assets", dir);
    if (has_template(buf))
        return buf;
    snprintf(buf, len, "%s/../share/flatline/plot-assets", dir);
    if (has_template(buf))
        return buf;
    return NULL;
}

/* A curve's name: the scenario's, or the file's when two reports share one. */
static void base_name(const char *path, char *buf, size_t len)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(buf, len, "%s", basename(copy));
    size_t n = strlen(buf);
    if (n > 5 && strcmp(buf + n - 5, ".json") == 0)
        buf[n - 5] = '\0';
}

static const char *scenario_name(const json_t *doc)
{
    const json_t *report = doc;
    const json_t *cells = json_object_get(doc, "cells");
    if (json_is_array(cells))
        report = json_object_get(json_array_get(cells, 0), "report");
    return json_string_value(json_object_get(json_object_get(report, "scenario"), "name"));
}

typedef struct plot_args {
    const char *out, *title, *assets;
    const char *metrics[32];
    int nmetrics;
    char *const *reports; /* the report paths */
    int nreports;
} plot_args;

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, plot_args *a)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "title", required_argument, NULL, 't' },
        { "assets", required_argument, NULL, 'a' },
        { "metric", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof *a);
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': a->out = optarg; break;
        case 't': a->title = optarg; break;
        case 'a': a->assets = optarg; break;
        case 'm':
            if (a->nmetrics == (int)(sizeof a->metrics / sizeof a->metrics[0])) {
                fprintf(stderr, "%s plot: more than %zu --metric\n", fl_prog, sizeof a->metrics / sizeof a->metrics[0]);
                return FL_EXIT_USAGE;
            }
            a->metrics[a->nmetrics++] = optarg;
            break;
        case 'h': usage(stdout); return FL_EXIT_OK;
        case ':':
            fprintf(stderr, "%s plot: %s needs a value\n\n", fl_prog, argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        default:
            fprintf(stderr, "%s plot: unknown option %s\n\n", fl_prog, argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    a->reports = argv + optind;
    a->nreports = argc - optind;
    if (a->nreports < 1 || !a->out) {
        fprintf(stderr, "%s plot: %s\n\n", fl_prog, a->nreports < 1 ? "no report given" : "no -o OUT.html given");
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    return -1;
}

/* Reads every report and names it: by its scenario, or by its file name when
 * it has none or shares it with another report. 0, or -1 (said). */
static int load_reports(const plot_args *a, json_t **docs, char (*labels)[256])
{
    for (int i = 0; i < a->nreports; i++) {
        const char *path = a->reports[i];
        json_error_t je;
        docs[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!docs[i]) {
            if (je.line > 0)
                fprintf(stderr, "%s plot: %s:%d:%d: %s\n", fl_prog, path, je.line, je.column, je.text);
            else
                fprintf(stderr, "%s plot: %s\n", fl_prog, je.text);
            return -1;
        }
        const char *name = scenario_name(docs[i]);
        if (name && *name)
            snprintf(labels[i], sizeof labels[i], "%s", name);
        else
            base_name(path, labels[i], sizeof labels[i]);
    }
    /* Reports of one scenario are told apart by their file names. */
    bool *twin = calloc((size_t)a->nreports, sizeof *twin);
    if (!twin) {
        fprintf(stderr, "%s plot: out of memory\n", fl_prog);
        return -1;
    }
    for (int i = 0; i < a->nreports; i++)
        for (int j = 0; j < a->nreports; j++)
            twin[i] |= i != j && strcmp(labels[i], labels[j]) == 0;
    for (int i = 0; i < a->nreports; i++)
        if (twin[i])
            base_name(a->reports[i], labels[i], sizeof labels[i]);
    free(twin);
    return 0;
}

/* The page's charts: the metrics asked for, then each report's faults. NULL (said) on failure. */
static fl_plot *build_plot(const plot_args *a, json_t **docs, char (*labels)[256])
{
    char default_title[512], err[1024];
    const char *title = a->title;
    if (!title) {
        size_t used = (size_t)snprintf(default_title, sizeof default_title, "flatline plot:");
        for (int i = 0; i < a->nreports && used < sizeof default_title; i++)
            used += (size_t)snprintf(default_title + used, sizeof default_title - used, "%s %s",
                                     i ? "," : "", labels[i]);
        title = default_title;
    }
    fl_plot *plot = fl_plot_new(title);
    if (!plot) {
        fprintf(stderr, "%s plot: out of memory\n", fl_prog);
        return NULL;
    }
    for (int i = 0; i < a->nmetrics; i++)
        if (fl_plot_add_metric(plot, a->metrics[i], err, sizeof err)) {
            fprintf(stderr, "%s plot: --metric %s\n", fl_prog, err);
            goto fail;
        }
    for (int i = 0; i < a->nreports; i++)
        if (fl_plot_add_report(plot, docs[i], labels[i], a->reports[i], err, sizeof err) < 0) {
            fprintf(stderr, "%s plot: %s: %s\n", fl_prog, a->reports[i], err);
            goto fail;
        }
    if (fl_plot_count(plot) == 0) {
        fprintf(stderr, "%s plot: the reports have no faults: nothing to draw\n", fl_prog);
        goto fail;
    }
    return plot;
fail:
    fl_plot_free(plot);
    return NULL;
}

/* The page, with its assets inlined: the exit code. */
static int write_page(const plot_args *a, const fl_plot *plot)
{
    char found[PATH_MAX + 64], err[1024];
    const char *assets = find_assets(a->assets, found, sizeof found);
    if (!assets) {
        fprintf(stderr, "%s plot: cannot find the page's assets (plot-assets/%s beside the executable or in "
                        "../share/flatline/plot-assets); give --assets DIR or set FLATLINE_PLOT_ASSETS\n",
                fl_prog, FL_PLOT_TEMPLATE);
        return FL_EXIT_MACHINE;
    }
    int wrc = fl_plot_write_html(plot, assets, a->out, err, sizeof err);
    if (wrc != FL_PLOT_OK) {
        fprintf(stderr, "%s plot: %s\n", fl_prog, err);
        return wrc == FL_PLOT_ASSETS ? FL_EXIT_MACHINE : FL_EXIT_BROKEN;
    }
    printf("%s: %zu configuration%s from %d report%s\n", a->out, fl_plot_count(plot),
           fl_plot_count(plot) == 1 ? "" : "s", a->nreports, a->nreports == 1 ? "" : "s");
    return FL_EXIT_OK;
}

int fl_cmd_plot(int argc, char **argv)
{
    plot_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    json_t **docs = calloc((size_t)a.nreports, sizeof *docs);
    char(*labels)[256] = calloc((size_t)a.nreports, sizeof *labels);
    fl_plot *plot = NULL;
    rc = FL_EXIT_USAGE;
    if (!docs || !labels)
        fprintf(stderr, "%s plot: out of memory\n", fl_prog);
    else if (load_reports(&a, docs, labels) == 0 && (plot = build_plot(&a, docs, labels)))
        rc = write_page(&a, plot);
    fl_plot_free(plot);
    for (int i = 0; docs && i < a.nreports; i++)
        json_decref(docs[i]);
    free(docs);
    free(labels);
    return rc;
}
