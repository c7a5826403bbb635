/* The end of a run: the analysis, the model's windows, the overhead and the
 * expectations into one report, written and summarised. It reads the other
 * parts of the runner and changes none of them. */
#ifndef FLATLINE_HARNESS_RUN_REPORT_H
#define FLATLINE_HARNESS_RUN_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/run/run_ctx.h"
#include "harness/run/run_faults.h"
#include "harness/run/run_procs.h"
#include "harness/run/run_wire.h"

/* Returns the exit code (core/exit.h). */
int fl_run_write_report(fl_run_ctx *run, const fl_run_procs *ps, const fl_run_faults *ft, const fl_run_wire *w,
                        int64_t start_realtime_ns, bool complete);

#endif
