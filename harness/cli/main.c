/* flatline: heartbeat test harness and network-fault simulator. */
#include <stdio.h>
#include <string.h>

#include "harness/cli/cli.h"

#ifndef FLATLINE_VERSION
#define FLATLINE_VERSION "0.0.0"
#endif

const char *fl_prog = "flatline";

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    { "run", fl_cmd_run, "Run a scenario and write its report" },
    { "validate", fl_cmd_validate, "Check a scenario file without running it" },
    { "doctor", fl_cmd_doctor, "Check that this machine can run scenarios" },
    { "cleanup", fl_cmd_cleanup, "Remove namespaces and processes left by an interrupted run" },
    { "compare", fl_cmd_compare, "Put reports (or a sweep's cells) side by side; regression gates" },
    { "model", fl_cmd_model, "Print the model's detection windows and heartbeat cost" },
    { "plot", fl_cmd_plot, "Draw reports as one self-contained HTML page of charts" },
    { "merge", fl_cmd_merge, "Join a sharded sweep's partial reports into the sweep's report" },
};

int fl_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

static void usage(FILE *out)
{
    fprintf(out, "Usage: %s <command> [<args>]\n\nCommands:\n", fl_prog);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'%s <command> --help' describes a command; '%s --version' prints the version.\n"
                 "Exit codes: 0 every expectation held, 1 an expectation failed, 2 bad input or usage,\n"
                 "3 this machine cannot run it, 4 the run broke.\n", fl_prog, fl_prog);
}

int main(int argc, char **argv)
{
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    if (argc > 0)
        fl_prog = slash ? slash + 1 : argv[0];
    if (argc < 2) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (fl_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return FL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("flatline %s\n", FLATLINE_VERSION);
        return FL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown command '%s'\n\n", fl_prog, argv[1]);
    usage(stderr);
    return FL_EXIT_USAGE;
}
