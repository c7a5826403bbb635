/* flatline run SCENARIO.json [-o report.json] [--events events.jsonl] [--pcap DIR] */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"
#include "scenario.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s run SCENARIO.json [-o REPORT.json] [--events EVENTS.jsonl] [--pcap DIR] [--keep]\n\n"
            "Builds the scenario's hosts in network namespaces, starts the broker and the\n"
            "clients, applies the fault timeline and measures who notices each dead\n"
            "connection, and when, against the model's window. Needs root.\n\n"
            "  -o, --output FILE   write the JSON report (docs/report-format.md)\n"
            "  --events FILE       write every event of the run, one JSON object a line\n"
            "  --pcap DIR          capture the broker host's traffic to DIR/broker.pcap\n"
            "  --keep              keep generated configs and process logs\n"
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

int fl_cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "events", required_argument, NULL, 'e' },
        { "pcap", required_argument, NULL, 'p' },
        { "keep", no_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char bindir[PATH_MAX];
    own_dir(bindir, sizeof bindir);
    fl_run_options opt = { .bindir = bindir };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': opt.report_path = optarg; break;
        case 'e': opt.events_path = optarg; break;
        case 'p': opt.pcap_dir = optarg; break;
        case 'k': opt.keep_workdir = true; break;
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
    /* Options may also follow the scenario: flatline run s.json -o r.json. */
    opt.scenario_path = argv[optind];
    if (opt.pcap_dir && access(opt.pcap_dir, W_OK) != 0) {
        fprintf(stderr, "%s run: --pcap %s: not a writable directory\n", fl_prog, opt.pcap_dir);
        return FL_EXIT_USAGE;
    }
    fl_diag d;
    fl_diag_init(&d, opt.scenario_path, stderr);
    fl_scenario *sc = fl_scenario_load(opt.scenario_path, &d);
    if (!sc) {
        fprintf(stderr, "%s: %s: %d error%s; nothing was created\n", fl_prog, opt.scenario_path, d.errors,
                d.errors == 1 ? "" : "s");
        return FL_EXIT_USAGE;
    }
    int code = fl_run(sc, &opt);
    fl_scenario_free(sc);
    return code;
}
