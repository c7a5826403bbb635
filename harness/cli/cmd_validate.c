/* flatline validate: load and check a scenario, create nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "harness/cli/cli.h"
#include "harness/scenario/feasible.h"
#include "harness/scenario/jsonpos.h"
#include "harness/scenario/matrix.h"
#include "harness/scenario/scenario.h"

static void usage(FILE *out, const char *prog)
{
    fprintf(out, "Usage: %s validate SCENARIO.json\n\n"
                 "Checks SCENARIO.json completely (syntax, fields, ranges, cross references,\n"
                 "client ids, MQTT topics, sysctls against this kernel, the open-files limit)\n"
                 "without creating anything. Every error names its JSON path and line:column.\n"
                 "A sweep (\"matrix\"): every cell, and the time they take in all.\n"
                 "Exit 0 if the scenario is valid, 2 if not, 3 if this machine cannot run it.\n", prog);
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
    const char *path = argv[1];
    fl_diag d, machine;
    fl_diag_init(&d, path, stderr);
    fl_diag_init(&machine, path, stderr);
    fl_matrix_file mf;
    if (fl_matrix_file_load(path, &mf, &d) < 0) {
        fprintf(stderr, "%s: %s: %d error%s\n", fl_prog, path, d.errors, d.errors == 1 ? "" : "s");
        return FL_EXIT_USAGE;
    }
    /* Positions for the machine's messages: the paths they name are the file's. */
    fl_jsonpos *where = fl_jsonpos_build(mf.text, mf.len);
    machine.where = where;
    size_t cells = mf.matrix ? fl_matrix_cells(mf.matrix) : 1;
    uint64_t *durations = calloc(cells, sizeof *durations);
    fl_scenario *first = NULL;
    for (size_t i = 0; i < cells && durations; i++) {
        char *text = NULL;
        fl_scenario *sc = mf.matrix ? fl_matrix_cell_scenario(&mf, i, path, &d, &text)
                                    : fl_scenario_parse(mf.text, mf.len, path, &d);
        free(text);
        if (sc) {
            durations[i] = sc->duration_ns;
            /* A problem of the machine, not of the file: the same in every cell, said once. */
            if (!machine.errors)
                fl_scenario_check_machine(sc, &machine);
        }
        if (sc && !first)
            first = sc;
        else
            fl_scenario_free(sc);
    }
    fl_matrix_file_free(&mf);
    machine.where = NULL;
    fl_jsonpos_free(where);
    int code = FL_EXIT_OK;
    if (!durations || d.errors) {
        fprintf(stderr, "%s: %s: %d error%s\n", fl_prog, path, d.errors, d.errors == 1 ? "" : "s");
        code = FL_EXIT_USAGE;
    } else if (machine.errors) {
        fprintf(stderr, "%s: %s: valid, but this machine cannot run it (%d problem%s)\n", fl_prog, path,
                machine.errors, machine.errors == 1 ? "" : "s");
        code = FL_EXIT_MACHINE;
    } else {
        printf("%s: valid: \"%s\", %zu group%s, %llu client%s, %zu fault%s, %zu expectation%s, %.0f s%s\n", path,
               first->name, first->ngroups, first->ngroups == 1 ? "" : "s",
               (unsigned long long)first->total_clients, first->total_clients == 1 ? "" : "s", first->nfaults,
               first->nfaults == 1 ? "" : "s", first->nexpects, first->nexpects == 1 ? "" : "s",
               (double)first->duration_ns / 1e9, cells > 1 ? " a cell" : "");
        if (cells > 1) {
            char total[256];
            fl_sweep_total_text(cells, durations, total, sizeof total);
            printf("%s: a sweep of %zu cells, every one valid: %s\n", path, cells, total);
        }
    }
    free(durations);
    fl_scenario_free(first);
    return code;
}
