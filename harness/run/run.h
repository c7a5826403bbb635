/* flatline run: one scenario end to end. Builds the topology, starts the
 * broker and the swarms, waits until every client is connected, applies the
 * fault timeline while collecting every event in one fl_loop, stops the
 * processes, tears the topology down and writes the report. */
#ifndef FLATLINE_HARNESS_RUN_H
#define FLATLINE_HARNESS_RUN_H

#include <stdbool.h>

#include "harness/run/options.h"
#include "harness/scenario/scenario.h"

/* Returns the exit code (core/exit.h). */
int fl_run(const fl_scenario *sc, const fl_run_options *opt);

#endif
