/* Checks of a parsed scenario that only the whole of it (or this machine)
 * can answer, each found before anything is created and naming the JSON path:
 * client ids that collide (an id_pattern without {n}, two groups with the
 * same ids), topics and filters MQTT forbids, sysctls this kernel does not
 * have or refuses, a cable pull on a host a power loss left off, and more
 * connections than RLIMIT_NOFILE allows (docs/scenario-format.md). */
#ifndef FLATLINE_HARNESS_SCENARIO_FEASIBLE_H
#define FLATLINE_HARNESS_SCENARIO_FEASIBLE_H

#include <stdint.h>

#include "harness/scenario/diag.h"
#include "harness/scenario/scenario.h"

/* Descriptors a process holds besides its connections. flatline-swarm's own
 * reserve is SWARM_FD_OVERHEAD (clients/swarm.h, 32); the broker's is 16
 * (the issue measured 19,993 clients up under a limit of 20,000: 7 in use). */
#define FL_BROKER_FD_RESERVE 16u
#define FL_SWARM_FD_RESERVE 32u

/* Bad input (exit 2): ids, topics, sysctls, faults on powered-off hosts.
 * Sysctls: as root, each is written in a throw-away network namespace (the
 * kernel's own answer: missing or refused); otherwise only its presence in
 * /proc/sys is read. Called by fl_scenario_parse. */
void fl_scenario_check_feasible(const fl_scenario *sc, fl_diag *d);

/* The open files each process of the run needs, and the most that the
 * processes may raise their limit to here (the hard RLIMIT_NOFILE: the runner
 * raises its soft limit to it before it starts anything, and every process it
 * starts, mosquitto too, inherits that). */
typedef struct fl_fd_budget {
    uint64_t broker;        /* every connection + FL_BROKER_FD_RESERVE */
    uint64_t swarm;         /* the largest swarm process's clients + FL_SWARM_FD_RESERVE */
    uint64_t limit;         /* hard RLIMIT_NOFILE */
    uint64_t max_clients;   /* the most connections a broker can hold under limit */
} fl_fd_budget;
void fl_scenario_fd_budget(const fl_scenario *sc, fl_fd_budget *b);

/* What this machine cannot do (exit 3): open files. Returns the number of
 * problems, each reported to d. */
int fl_scenario_check_machine(const fl_scenario *sc, fl_diag *d);

/* A sweep's measured time in all, for validate and run to say before it
 * starts: "256 cells x 3600 s = 256 h" (or "3 cells, 1 h 30 min in all"
 * when their durations differ), plus that each cell also sets up and
 * connects (up to its connect_timeout). */
void fl_sweep_total_text(size_t cells, const uint64_t *duration_ns, char *out, size_t len);

#endif
