/* flatline doctor: can this machine run scenarios, and what is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "netem/netem.h"
#include "harness/scenario/scenario.h"

/* What one swarm process needs: its clients plus a few descriptors of its own. */
enum { FDS_NEEDED = FL_SWARM_SPLIT + 64 };

static void usage(FILE *out)
{
    fprintf(out, "Usage: %s doctor\n\n"
                 "Checks root, network namespaces, veth, bridge, nftables, conntrack, sch_netem\n"
                 "and the open-files limit, and says how to fix what is missing.\n"
                 "Exit 0 if scenarios without link degradation can run, 3 if not.\n", fl_prog);
}

static void line(bool ok, const char *name, const char *message, bool color)
{
    const char *mark = ok ? "ok" : "MISSING";
    if (color)
        printf("  %s%-7s\033[0m %-11s %s\n", ok ? "\033[32m" : "\033[31m", mark, name, message);
    else
        printf("  %-7s %-11s %s\n", mark, name, message);
}

int fl_cmd_doctor(int argc, char **argv)
{
    if (argc == 2 && fl_is_help(argv[1])) {
        usage(stdout);
        return FL_EXIT_OK;
    }
    if (argc != 1) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    int blocking = 0;
    fl_probe_result results[FL_PROBE_COUNT];
    memset(results, 0, sizeof results);
    if (geteuid() != 0) {
        line(false, "root", "run as root: namespaces, veth and nftables need CAP_NET_ADMIN and CAP_SYS_ADMIN", color);
        return FL_EXIT_MACHINE;
    }
    fl_netem_probe(results);
    for (int i = 0; i < FL_PROBE_COUNT; i++) {
        line(results[i].ok, results[i].name ? results[i].name : "?", results[i].message, color);
        /* Without sch_netem only link profiles and degrade faults are out of reach. */
        if (!results[i].ok && i != FL_PROBE_NETEM)
            blocking++;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    char msg[200];
    bool fds_ok = rl.rlim_cur >= FDS_NEEDED;
    snprintf(msg, sizeof msg, "RLIMIT_NOFILE %llu (hard %llu): %s", (unsigned long long)rl.rlim_cur,
             (unsigned long long)rl.rlim_max,
             fds_ok ? "enough for a swarm process of 10,000 clients"
                    : "each swarm process needs ~10,064 descriptors; raise it (ulimit -n 20000)");
    line(fds_ok, "open files", msg, color);
    blocking += !fds_ok;
    if (!results[FL_PROBE_NETEM].ok)
        printf("\nScenarios with link profiles or degrade faults need sch_netem (exit 3 without it).\n");
    printf("\n%s\n", blocking ? "This machine cannot run scenarios yet." : "This machine can run scenarios.");
    return blocking ? FL_EXIT_MACHINE : FL_EXIT_OK;
}
