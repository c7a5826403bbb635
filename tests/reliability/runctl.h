/* Driving `flatline run` from a test: start it (optionally paused at a phase
 * through FLATLINE_TEST_PAUSE_AT), find what it created (namespaces, state
 * file, work directory, the processes in its hosts), and check that none of
 * it is left. Root and network namespaces needed. */
#ifndef FLATLINE_TESTS_RELIABILITY_RUNCTL_H
#define FLATLINE_TESTS_RELIABILITY_RUNCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RC_MAX_PROCS 64

typedef struct rc_run {
    pid_t pid;
    char dir[64];                 /* the test's own temporary directory */
    char report[128], events[128], log[128];
    pid_t procs[RC_MAX_PROCS];    /* broker, swarms: recorded by rc_record_procs */
    size_t nprocs;
} rc_run;

/* A small scenario (4 s, 15 clients on three hosts, one behind a NAT, one
 * cable-pull from 1 s to 3 s) written to a temporary file; its path. */
const char *rc_small_scenario(void);

/* Starts `flatline run scenario -o report --events events`, its output to log.
 * pause_at: FLATLINE_TEST_PAUSE_AT (NULL: none). */
void rc_start(rc_run *r, const char *scenario, const char *pause_at);
/* Waits until the runner has stopped itself; false if it exited or timeout_ms passed. */
bool rc_wait_stopped(rc_run *r, int timeout_ms);
/* Waits for the runner to end; the wait status, or -1 after timeout_ms. */
int rc_wait_exit(rc_run *r, int timeout_ms);
/* Kills the runner with sig and reaps it (SIGKILL: the hard way). */
void rc_kill(rc_run *r, int sig);
/* Removes the test's own files (report, events, log). */
void rc_free(rc_run *r);

/* The runner's children and every process inside its namespaces. */
size_t rc_record_procs(rc_run *r);
/* A child of the runner whose command name is comm ("flatline-broker"), or 0. */
pid_t rc_find_child(const rc_run *r, const char *comm);
/* How many of the recorded processes still run (zombies count as gone). */
size_t rc_procs_alive(const rc_run *r);
/* Processes of the run with runner pid still running, found by their command
 * lines (each names a config in the run's work directory). */
size_t rc_run_procs_alive(pid_t runner);

/* What the run with runner pid created, still there. */
size_t rc_namespaces_left(pid_t pid);
bool rc_state_file_left(pid_t pid);
size_t rc_workdirs_left(pid_t pid);

/* `flatline cleanup`: its exit status (-1 if it did not run). */
int rc_cleanup(void);

/* The root namespace's link names, sorted, one a line (malloc'd). */
char *rc_root_links(void);
/* The output of a shell command (malloc'd; "" on failure). */
char *rc_capture(const char *command);
/* The file's text, malloc'd, or NULL. */
char *rc_read_file(const char *path);
/* True if the file contains needle. */
bool rc_file_contains(const char *path, const char *needle);

#endif
