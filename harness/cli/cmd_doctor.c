/* flatline doctor: can this machine run scenarios, and what is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "netem/netem.h"
#include "harness/scenario/feasible.h"
#include "harness/scenario/scenario.h"

/* What one swarm process needs: its clients plus a few descriptors of its own. */
enum { FDS_NEEDED = FL_SWARM_SPLIT + FL_SWARM_FD_RESERVE };

static void usage(FILE *out)
{
    fprintf(out, "Usage: %s doctor [SCENARIO.json]\n\n"
                 "Checks root, network namespaces, veth, bridge, nftables, conntrack, sch_netem\n"
                 "and the open-files limit, and says how to fix what is missing. With a scenario,\n"
                 "also whether its connections fit this machine's open-files limit.\n"
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
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    const char *scenario = argc == 2 ? argv[1] : NULL;
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
    /* flatline-broker and flatline-swarm raise their soft limit to the hard
     * one: the hard limit is what bounds a run. It says how many connections
     * fit, never "enough": that depends on the scenario (doctor SCENARIO). */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    fl_fd_budget b;
    fl_scenario_fd_budget(NULL, &b);
    char msg[300];
    bool fds_ok = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= FDS_NEEDED;
    if (fds_ok)
        snprintf(msg, sizeof msg, "RLIMIT_NOFILE %llu (hard %llu): at most %llu connections in a run (the broker "
                 "holds one descriptor a connection, and %u of its own)", (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max, (unsigned long long)b.max_clients, FL_BROKER_FD_RESERVE);
    else
        snprintf(msg, sizeof msg, "RLIMIT_NOFILE %llu (hard %llu): a swarm process of %u clients needs %u; raise "
                 "the hard limit (ulimit -Hn 20000, LimitNOFILE=)", (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max, FL_SWARM_SPLIT, FDS_NEEDED);
    line(fds_ok, "open files", msg, color);
    blocking += !fds_ok;
    if (scenario) {
        /* The scenario's own counts against this machine's limit (exit 3). */
        fl_diag d;
        fl_diag_init(&d, scenario, stdout);
        fl_scenario *sc = fl_scenario_load(scenario, &d);
        if (!sc) {
            printf("\n%s: not a valid scenario ('flatline validate' says why)\n", scenario);
            return FL_EXIT_USAGE;
        }
        fl_fd_budget need;
        fl_scenario_fd_budget(sc, &need);
        bool fits = fl_scenario_check_machine(sc, &d) == 0;
        snprintf(msg, sizeof msg, "%llu connections: the broker needs %llu open files, the largest swarm process "
                 "%llu; the hard limit is %llu", (unsigned long long)sc->total_clients,
                 (unsigned long long)need.broker, (unsigned long long)need.swarm, (unsigned long long)need.limit);
        line(fits, "scenario", msg, color);
        blocking += !fits;
        fl_scenario_free(sc);
    }
    if (!results[FL_PROBE_NETEM].ok)
        printf("\nScenarios with link profiles or degrade faults need sch_netem (exit 3 without it).\n");
    if (scenario)
        printf("\n%s %s.\n", blocking ? "This machine cannot run" : "This machine can run", scenario);
    else
        printf("\n%s\n", blocking ? "This machine cannot run scenarios yet." : "This machine can run scenarios.");
    return blocking ? FL_EXIT_MACHINE : FL_EXIT_OK;
}
