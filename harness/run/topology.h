/* The scenario's hosts as a netem topology: the one broker host, a host
 * namespace per client host of each group, a NAT namespace per middlebox. */
#ifndef FLATLINE_HARNESS_TOPOLOGY_H
#define FLATLINE_HARNESS_TOPOLOGY_H

#include <stddef.h>

#include "netem/netem.h"
#include "harness/scenario/scenario.h"

/* Swarm processes (and source addresses) one host of g needs. */
unsigned fl_group_procs_per_host(const fl_sc_group *g);

/* Builds it under prefix. Returns 0, or a negative FL_NETEM_E* code with err. */
int fl_topology_build(const fl_scenario *sc, const char *prefix, fl_netem **out, char *err, size_t errlen);

/* The hosts a fault targets (a fraction picks hosts deterministically from the
 * scenario's seed). Fills hosts (capacity cap) and returns how many. For NAT
 * faults returns the NAT host. */
size_t fl_fault_hosts(const fl_scenario *sc, const fl_sc_fault *f, fl_netem *net, fl_host **hosts, size_t cap);

#endif
