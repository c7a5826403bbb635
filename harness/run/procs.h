/* The processes of a run: the broker under test (as its driver,
 * harness/brokers/, describes it) in the broker host and flatline-swarm processes in the client hosts, each with its
 * event log on a pipe into the runner's loop and, for swarms, a control pipe.
 * Their stdout and stderr go to a log file in the run's work directory. */
#ifndef FLATLINE_HARNESS_PROCS_H
#define FLATLINE_HARNESS_PROCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/loop.h"
#include "harness/run/evpipe.h"
#include "netem/netem.h"

typedef enum fl_proc_kind { FL_PROC_BROKER, FL_PROC_SWARM } fl_proc_kind;

typedef struct fl_proc {
    fl_proc_kind kind;
    char name[64];      /* "broker", "swarm devices[1]", "swarm devices[1].2" */
    fl_host *host;
    pid_t pid;          /* 0: not running */
    int status;         /* waitpid status once exited */
    bool exited, expected_exit;
    int control_fd;     /* swarm: write end of its control pipe, else -1 */
    const char *program; /* swarm: NULL for flatline-swarm, else a client adapter's (docs/clients.md) */
    fl_evpipe *events;  /* NULL for a broker without an event log */
    /* swarm */
    int group, host_index, part;
    unsigned clients;
    bool ready;
    uint64_t ready_ns;
} fl_proc;

typedef struct fl_proc_env {
    fl_loop *loop;
    const char *bindir;  /* where flatline-broker and flatline-swarm are */
    const char *workdir; /* configs and logs */
    FILE *copy;          /* --events copy, may be NULL */
    fl_evpipe_fn on_event;
    fl_evpipe_eof_fn on_eof;
    void *arg;           /* for the callbacks; the fl_evpipe's name is the process's */
} fl_proc_env;

/* A swarm: config is its complete JSON config file content. extra_argv
 * (NULL-terminated, may be NULL) is appended. Returns 0, or -1 with err. */
int fl_proc_start(fl_proc *p, const fl_proc_env *env, const char *config_text, const char *const *extra_argv,
                  char *err, size_t errlen);

/* A broker (or its helper) as its driver describes it: argv (argv[0] an
 * absolute path), env added to the runner's environment (NULL-terminated,
 * may be NULL); with event_log its event log comes on a pipe (--events fd:N
 * is appended). Its output goes to <workdir>/<p->name>.log. */
int fl_proc_start_argv(fl_proc *p, const fl_proc_env *env, char *const *argv, char *const *envp, bool event_log,
                       char *err, size_t errlen);

/* Puts process pid (0: the caller) under SCHED_FIFO at priority, with
 * SCHED_RESET_ON_FORK so that its own children run normally. Returns 0, or
 * -1 with err naming the kernel's refusal. */
int fl_proc_set_realtime(pid_t pid, int priority, char *err, size_t errlen);

/* Whether this machine lets the runner do that: tried in a child that exits
 * at once. Returns 0, or -1 with err. */
int fl_proc_realtime_possible(int priority, char *err, size_t errlen);

/* Writes one control line ("stop", "kill", "counters") to a swarm. */
int fl_proc_command(fl_proc *p, const char *command);

/* Reaps p if it exited (non-blocking). Returns true if it has exited. */
bool fl_proc_reap(fl_proc *p);

/* Closes the pipes (after the process is gone). */
void fl_proc_close(fl_proc *p);

/* "exit 3", "killed by SIGKILL" for messages. buf needs 48 bytes. */
const char *fl_proc_status_text(const fl_proc *p, char *buf, size_t len);

#endif
