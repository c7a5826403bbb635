/* flatline validate: load and check a scenario, create nothing. */
#include <stdio.h>

#include "harness/cli/cli.h"
#include "harness/scenario/matrix.h"
#include "harness/scenario/scenario.h"

static void usage(FILE *out, const char *prog)
{
    fprintf(out, "Usage: %s validate SCENARIO.json\n\n"
                 "Checks SCENARIO.json completely (syntax, fields, ranges, cross references)\n"
                 "without creating anything. Every error names its JSON path and line:column.\n"
                 "Exit 0 if the scenario is valid, 2 if not.\n", prog);
}

int fl_cmd_validate(int argc, char **argv)
{
    if (argc == 2 && fl_is_help(argv[1])) {
        usage(stdout, fl_prog);
        return FL_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr, fl_prog);
        return FL_EXIT_USAGE;
    }
    fl_diag d;
    fl_diag_init(&d, argv[1], stderr);
    size_t cells;
    fl_scenario *sc = fl_matrix_scenario_load(argv[1], &d, &cells); /* a sweep: every cell */
    if (!sc) {
        fprintf(stderr, "%s: %s: %d error%s\n", fl_prog, argv[1], d.errors, d.errors == 1 ? "" : "s");
        return FL_EXIT_USAGE;
    }
    printf("%s: valid: \"%s\", %zu group%s, %llu client%s, %zu fault%s, %zu expectation%s, %.0f s%s\n", argv[1],
           sc->name, sc->ngroups, sc->ngroups == 1 ? "" : "s", (unsigned long long)sc->total_clients,
           sc->total_clients == 1 ? "" : "s", sc->nfaults, sc->nfaults == 1 ? "" : "s", sc->nexpects,
           sc->nexpects == 1 ? "" : "s", (double)sc->duration_ns / 1e9, cells > 1 ? " a cell" : "");
    if (cells > 1)
        printf("%s: a sweep of %zu cells, every one valid\n", argv[1], cells);
    fl_scenario_free(sc);
    return FL_EXIT_OK;
}
