/* The run's processes: the broker (started as its driver says, with the
 * helper it may need), the swarms, their event pipes, and stopping them all.
 * Sees the run's spine (run_ctx.h); the fault timeline restarts a rebooted
 * host's swarms through fl_run_start_swarm. */
#ifndef FLATLINE_HARNESS_RUN_PROCS_H
#define FLATLINE_HARNESS_RUN_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/run/procs.h"
#include "harness/run/run_ctx.h"

typedef struct fl_run_procs {
    fl_run_ctx *run;
    fl_proc broker;
    fl_proc broker_helper;      /* a process the broker needs (RabbitMQ's epmd); pid 0: none */
    double broker_start_s;      /* from its start to ready */
    bool broker_listening;
    char broker_scheduling[32]; /* read back once it listened; "" before */
    fl_proc *swarms;
    size_t nswarms;
    size_t swarms_ready;
    uint64_t clients_expected;
} fl_run_procs;

int fl_run_start_broker(fl_run_procs *ps); /* and waits until it is ready */
int fl_run_start_swarms(fl_run_procs *ps);
int fl_run_start_swarm(fl_run_procs *ps, fl_proc *p); /* (re)starts one, after a reboot too */
bool fl_run_swarms_ready(void *ps);                   /* every swarm said ready: for fl_run_wait */
void fl_run_stop_processes(fl_run_procs *ps);
void fl_run_procs_free(fl_run_procs *ps);

#endif
