/* The `client` of a scenario group: "flatline" (the default, flatline-swarm)
 * or a client library adapter from clients/adapters/table.c. Checks the group
 * against what that client can do: an unknown name, fields the library has no
 * equivalent for (`strategy`, `tcp`, ...), a Keep Alive it refuses and
 * `client_options` it does not know are errors with the JSON path and the
 * reason, before anything starts. */
#ifndef FLATLINE_HARNESS_SCENARIO_CLIENT_SELECT_H
#define FLATLINE_HARNESS_SCENARIO_CLIENT_SELECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/scenario/diag.h"

/* Returns the adapter's name, or NULL for flatline-swarm. group is the
 * scenario's group object at $.groups[index]. */
const char *fl_sc_client_check(const json_t *group, size_t index, fl_diag *d);

/* The program that runs the group's clients ("flatline-swarm" for NULL). */
const char *fl_sc_client_program(const char *adapter);

/* The adapter's detection rule as the model takes it: the wait from its
 * PINGREQ (Keep Alive after the last exchange) to dead_detected, from
 * fl_adapter_window. Leaves 0, 0 (the strategy's own) for flatline-swarm. */
void fl_sc_client_model(const char *adapter, unsigned keepalive_s, const json_t *options, double *wait_lo_s,
                        double *wait_hi_s);

/* Whether the adapter is a black box whose program connects and reconnects
 * on its own terms (it refuses the group's "reconnect"): when it comes back
 * after a reboot is not known. False for flatline-swarm. */
bool fl_sc_client_black_box(const char *adapter);

/* Whether the adapter's library can bind a local address (config "sources"). */
bool fl_sc_client_binds(const char *adapter);

#endif
