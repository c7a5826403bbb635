/* The fault timeline: each fault's hosts resolved before the run, injected
 * and healed on the loop's timers, and its ground truth kept (when, which
 * client addresses were cut, the model's window) for the report. A power
 * loss's reboot restarts that host's swarms (run_procs.h). */
#ifndef FLATLINE_HARNESS_RUN_FAULTS_H
#define FLATLINE_HARNESS_RUN_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/timer.h"
#include "model/model.h"
#include "harness/run/run_ctx.h"
#include "harness/run/run_procs.h"

enum { FL_MAX_FAULT_HOSTS = 64 };

typedef struct fault_run {
    struct fl_run_faults *owner; /* the timers' callbacks get the fault; this gets the timeline */
    const fl_sc_fault *spec;
    size_t index;
    fl_host *hosts[FL_MAX_FAULT_HOSTS];
    size_t nhosts;
    char **addrs; /* client-side addresses of the cut hosts */
    size_t naddrs;
    uint64_t inject_ns, heal_ns;
    bool injected, healed, failed;
    fl_timer inject_timer, heal_timer;
    fl_prediction model;
    bool have_model;
} fault_run;

typedef struct fl_run_faults {
    fl_run_ctx *run;
    fl_run_procs *procs;
    fault_run *faults; /* one a scenario fault, in its order */
    size_t done;       /* injected so far */
} fl_run_faults;

/* Resolves targets and the model's windows; -1 (the run broken) on a missing host. */
int fl_run_faults_prepare(fl_run_faults *ft);
/* Arms the timers, relative to the run's steady_ns. */
void fl_run_faults_arm(fl_run_faults *ft);
void fl_run_faults_free(fl_run_faults *ft);

#endif
