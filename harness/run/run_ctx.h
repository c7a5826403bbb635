/* The run's spine, the one part every other part of the runner sees: the
 * scenario and options, the loop, the topology, the --events copy, the
 * analysis, the progress line, the phase and the clock marks, and whether the
 * run broke or was interrupted. It knows nothing of processes, faults, the
 * wire or the report: those (run_procs.h, run_faults.h, run_wire.h,
 * run_report.h) each hold their own state and see this one. run.c owns them
 * all and runs the phases. */
#ifndef FLATLINE_HARNESS_RUN_CTX_H
#define FLATLINE_HARNESS_RUN_CTX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"
#include "harness/analysis/analyze.h"
#include "harness/run/progress.h"
#include "harness/run/options.h"
#include "harness/scenario/scenario.h"
#include "netem/netem.h"

typedef struct fl_run_ctx {
    const fl_scenario *sc;
    const fl_run_options *opt;
    fl_loop *loop;
    fl_netem *net;
    char prefix[16];   /* the namespaces' name prefix, fl<pid> */
    char workdir[256]; /* configs and process logs */
    FILE *events;      /* --events copy; NULL: none */
    fl_analysis *analysis;
    fl_progress progress;
    const char *phase;
    uint64_t start_ns, steady_ns, end_ns; /* steady_ns 0: the measurement never began */
    bool interrupted, broken;
    char broken_msg[512]; /* the first cause */
} fl_run_ctx;

/* A runner line in --events (steals fields). */
void fl_run_event(fl_run_ctx *run, const char *ev, json_t *fields);
/* A line from elsewhere (the wire, the socket watch) into the analysis and --events. */
void fl_run_take_line(fl_run_ctx *run, json_t *ev);
/* Marks the run broken; the first cause is kept. Ignored after an interrupt. */
void fl_run_break(fl_run_ctx *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_run_phase(fl_run_ctx *run, const char *phase);
/* Runs the loop until done(arg) (NULL: only the deadline) or the deadline;
 * false on timeout, a break or a signal. */
bool fl_run_wait(fl_run_ctx *run, bool (*done)(void *arg), void *arg, uint64_t deadline);

#endif
