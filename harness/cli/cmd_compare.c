/* flatline compare A.json B.json ... [--format table|md|csv|json]
 *                  [--baseline BASE.json] [--fail-on EXPR]... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "reports/compare.h"
#include "reports/report.h"

#define MAX_THRESHOLDS 32

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s compare REPORT.json... [--format table|md|csv|json]\n"
            "                [--baseline BASE.json] [--fail-on EXPR]...\n\n"
            "Puts reports side by side (a single run's, or every cell of a sweep's). Per\n"
            "fault and side: detected, missed (undetected), p50/p99/max detection latency\n"
            "and the model's window; then the residual per connection (measured - predicted:\n"
            "p99, max) with the unexplained detections (unpredicted, queued, cpu-waited when\n"
            "any). Then each run's false disconnects and heartbeat bytes per connection-hour.\n"
            "'*' marks the best row of a column: most detected, residual nearest 0, else\n"
            "least.\n\n"
            "  --format F         table (default), md (GitHub Markdown), csv or json\n"
            "  --baseline FILE    the reference report: shown first, and what relative\n"
            "                     thresholds compare against (a sweep's cells match by their\n"
            "                     parameters)\n"
            "  --fail-on EXPR     a regression gate, METRIC OP VALUE; several allowed:\n"
            "                       'broker.p99>+10%%'     more than 10%% above the baseline\n"
            "                       'overhead.bytes>+5%%'  heartbeat bytes per connection-hour\n"
            "                       'broker.max>+0.5'     more than 0.5 s above the baseline\n"
            "                       'client.undetected>0' absolute: any undetected connection\n"
            "                       'broker.unexplained>0' any detection the model leaves\n"
            "                                            unexplained\n"
            "                     METRIC: <side>.<metric> (every fault) or\n"
            "                     faults[i].<side>.<metric>; side broker|client|will, metric\n"
            "                     detected|undetected|outside|unexplained|min|p50|p90|p99|\n"
            "                     max|mean[_ms]|residual.<stat>; false_disconnects;\n"
            "                     undetected; overhead.bytes; ... (docs/report-format.md,\n"
            "                     \"Metric paths\")\n"
            "                     OP: > >= < <=\n"
            "  -h, --help         this text\n\n"
            "Exit: 0 no threshold crossed, 1 a threshold crossed, 2 bad usage, a bad\n"
            "expression (named) or an unreadable report.\n",
            fl_prog);
}

int fl_cmd_compare(int argc, char **argv)
{
    static const struct option options[] = {
        { "format", required_argument, NULL, 'f' },
        { "baseline", required_argument, NULL, 'b' },
        { "fail-on", required_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *baseline_path = NULL;
    fl_cmp_threshold thresholds[MAX_THRESHOLDS];
    size_t nthresholds = 0;
    int format = FL_CMP_TEXT;
    char err[512];
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = fl_cmp_format_parse(optarg);
            if (format < 0) {
                fprintf(stderr, "%s compare: --format %s: expected table, md, csv or json\n", fl_prog, optarg);
                return FL_EXIT_USAGE;
            }
            break;
        case 'b': baseline_path = optarg; break;
        case 'F':
            if (nthresholds == MAX_THRESHOLDS) {
                fprintf(stderr, "%s compare: at most %d --fail-on\n", fl_prog, MAX_THRESHOLDS);
                return FL_EXIT_USAGE;
            }
            if (fl_cmp_threshold_parse(optarg, &thresholds[nthresholds], err, sizeof err) < 0) {
                fprintf(stderr, "%s compare: --fail-on %s\n", fl_prog, err);
                return FL_EXIT_USAGE;
            }
            nthresholds++;
            break;
        case 'h': usage(stdout); return FL_EXIT_OK;
        default:
            fprintf(stderr, "%s compare: %s '%s'\n\n", fl_prog, c == ':' ? "option needs a value:" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    if (optind >= argc && !baseline_path) {
        fprintf(stderr, "%s compare: no report given\n\n", fl_prog);
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    for (size_t k = 0; k < nthresholds && !baseline_path; k++) {
        if (thresholds[k].kind != FL_CMP_ABSOLUTE) {
            fprintf(stderr, "%s compare: --fail-on '%s': a relative threshold needs --baseline\n", fl_prog,
                    thresholds[k].text);
            return FL_EXIT_USAGE;
        }
    }
    int code = FL_EXIT_OK;
    fl_cmp_set all, reports, base;
    fl_cmp_init(&all);
    fl_cmp_init(&reports);
    fl_cmp_init(&base);
    bool several = argc - optind + (baseline_path != NULL) > 1;
    if (baseline_path && (fl_cmp_add_file(&base, baseline_path, several, err, sizeof err) < 0 ||
                          fl_cmp_add_file(&all, baseline_path, several, err, sizeof err) < 0)) {
        fprintf(stderr, "%s compare: --baseline %s\n", fl_prog, err);
        code = FL_EXIT_USAGE;
        goto out;
    }
    for (int i = optind; i < argc; i++) {
        if (fl_cmp_add_file(&reports, argv[i], several, err, sizeof err) < 0 ||
            fl_cmp_add_file(&all, argv[i], several, err, sizeof err) < 0) {
            fprintf(stderr, "%s compare: %s\n", fl_prog, err);
            code = FL_EXIT_USAGE;
            goto out;
        }
    }
    if (fl_cmp_print(&all, (fl_cmp_format)format, stdout,
                     format == FL_CMP_TEXT && fl_report_want_color(stdout)) < 0) {
        fprintf(stderr, "%s compare: cannot write the comparison\n", fl_prog);
        code = FL_EXIT_BROKEN;
        goto out;
    }
    if (nthresholds) {
        /* Verdicts go to stderr so that csv/json on stdout stay machine-readable. */
        int crossed = fl_cmp_check(&reports, baseline_path ? &base : NULL, thresholds, nthresholds, stderr, err,
                                   sizeof err);
        if (crossed < 0) {
            fprintf(stderr, "%s compare: --fail-on %s\n", fl_prog, err);
            code = FL_EXIT_USAGE;
        } else if (crossed > 0) {
            fprintf(stderr, "%s compare: %d threshold crossing%s\n", fl_prog, crossed, crossed == 1 ? "" : "s");
            code = FL_EXIT_EXPECTATION;
        } else {
            fprintf(stderr, "%s compare: no threshold crossed (%zu checked)\n", fl_prog, nthresholds);
        }
    }
out:
    fl_cmp_free(&all);
    fl_cmp_free(&reports);
    fl_cmp_free(&base);
    return code;
}
