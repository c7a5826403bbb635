/* flatline cleanup: remove what interrupted runs left behind. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "netem/netem.h"

int fl_cmd_cleanup(int argc, char **argv)
{
    if (argc == 2 && fl_is_help(argv[1])) {
        printf("Usage: %s cleanup\n\n"
               "Removes the namespaces, processes and state files of runs whose flatline\n"
               "process is gone (killed, crashed). Never touches a run still in progress.\n",
               fl_prog);
        return FL_EXIT_OK;
    }
    if (argc != 1) {
        fprintf(stderr, "Usage: %s cleanup\n", fl_prog);
        return FL_EXIT_USAGE;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "%s cleanup: needs root\n", fl_prog);
        return FL_EXIT_MACHINE;
    }
    char err[512];
    int n = fl_netem_cleanup_stale(err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "%s cleanup: %s\n", fl_prog, err);
        return FL_EXIT_BROKEN;
    }
    printf("removed %d stale run%s\n", n, n == 1 ? "" : "s");
    return FL_EXIT_OK;
}
