/* State shared by the runner's files (run.c: phases and processes,
 * run_faults.c: the fault timeline). Not an interface for anyone else. */
#ifndef FLATLINE_HARNESS_RUN_INTERNAL_H
#define FLATLINE_HARNESS_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/run/analyze.h"
#include "core/loop.h"
#include "model/model.h"
#include "netem/netem.h"
#include "harness/run/procs.h"
#include "harness/run/progress.h"
#include "harness/run/run.h"
#include "harness/scenario/scenario.h"

enum { FL_MAX_FAULT_HOSTS = 64 };

typedef struct fault_run {
    struct runner *owner; /* the timers' callbacks get the fault; this gets the run */
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

typedef struct runner {
    const fl_scenario *sc;
    const fl_run_options *opt;
    fl_loop *loop;
    fl_netem *net;
    char prefix[16];
    char workdir[256];
    FILE *events; /* --events copy */
    fl_analysis *analysis;
    fl_progress progress;
    const char *phase;

    struct fl_capture *capture; /* broker host's wire, when on */
    struct fl_sockwatch *sockwatch; /* a black-box broker: its closes, from socket states */
    bool captured;              /* the capture ran (it is closed before the report) */
    fl_conn_heartbeats *heartbeats; /* the capture's counts at the end of the steady phase */
    size_t nheartbeats;
    bool heartbeats_counted;
    uint64_t heartbeats_ns; /* when they were counted: the overhead's window ends there */
    fl_proc broker;
    fl_proc broker_helper;  /* a process the broker needs (RabbitMQ's epmd); pid 0: none */
    double broker_start_s;  /* from its start to ready */
    bool broker_listening;
    char broker_scheduling[32]; /* read back once it listened; "" before */
    fl_proc *swarms;
    size_t nswarms;
    size_t swarms_ready;
    uint64_t clients_expected;

    fault_run *faults;
    size_t faults_done;

    uint64_t start_ns, steady_ns, end_ns;
    bool interrupted, broken;
    char broken_msg[512];
    fl_timer progress_timer;
    int sigfd;
} runner;

/* run.c: lines, failures, the loop */
void fl_runner_event(runner *r, const char *ev, json_t *fields); /* a runner line in --events (steals fields) */
void fl_runner_break(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_runner_phase(runner *r, const char *phase);
/* Runs the loop until done(r) (NULL: only the deadline) or the deadline;
 * false on timeout, a break or a signal. */
bool fl_runner_wait(runner *r, bool (*done)(runner *), uint64_t deadline);
void fl_runner_on_event(fl_evpipe *pipe, json_t *ev, const char *line, void *arg);
void fl_runner_on_eof(fl_evpipe *pipe, void *arg);

/* run_procs.c */
int fl_runner_start_broker(runner *r); /* and waits until it listens */
int fl_runner_start_swarms(runner *r);
int fl_runner_start_swarm(runner *r, fl_proc *p); /* (re)starts one, after a reboot too */
void fl_runner_stop_processes(runner *r);

/* run_report.c */
int fl_runner_write_report(runner *r, int64_t start_realtime_ns, bool complete); /* returns the exit code */

/* run_faults.c: resolves targets and arms the timers (relative to steady_ns). */
int fl_faults_prepare(runner *r);
void fl_faults_arm(runner *r);
void fl_faults_free(runner *r);

#endif
