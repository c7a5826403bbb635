/* How late a pass of the event loop runs, for the event lines that report a
 * detection. A deadline that fires late was either behind the process's own
 * work (other events handled first in the same pass) or kept off a CPU by
 * the machine (the thread was runnable and waited on a run queue). The loop
 * records when its wait ended and, from /proc/thread-self/schedstat (the
 * scheduler's run_delay, CONFIG_SCHED_INFO), how long the thread has waited
 * for a CPU since, so that the analysis can tell a detector that was late
 * from a process that could not run (docs/events.md, docs/model.md). */
#ifndef FLATLINE_CORE_WAKE_H
#define FLATLINE_CORE_WAKE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fl_wake {
    /* The pass's wait began (the previous pass had ended: a deadline due
     * before this was behind that pass's work) and returned (0: no pass is
     * running). */
    uint64_t wait_began_ns, woke_ns;
    /* A record that does not track (a test's) reports these as its CPU
     * wait; a tracking one reads the kernel's instead. */
    uint64_t cpu_wait_ns;
    bool cpu_wait_known;
    /* private */
    bool tracking;        /* fl_wake_open was called (a zeroed fl_wake tracks nothing) */
    int schedstat_fd;     /* -1: the kernel does not say */
    uint64_t run_delay_before;
    bool before_known;
} fl_wake;

/* Starts tracking (opens the thread's schedstat: call it from the thread
 * that runs the loop). Without schedstat only woke_ns is kept. */
void fl_wake_open(fl_wake *w);
void fl_wake_close(fl_wake *w);

/* Around the loop's wait: with the clock before it blocks (and one read of
 * schedstat: the only cost a pass pays), and when it returned. */
void fl_wake_before_wait(fl_wake *w, uint64_t now_ns);
void fl_wake_after_wait(fl_wake *w, uint64_t now_ns);

/* How long the thread has waited for a CPU since the pass's wait began, read
 * when asked (only detections ask): the wait to run once woken, and any
 * preemption in the pass so far. false when the kernel does not say. */
bool fl_wake_cpu_wait(const fl_wake *w, uint64_t *ns);

/* Adds "wait_began", "woke" and, when known, "cpu_wait" (ns,
 * fl_wake_cpu_wait) to a detection's event line; nothing when w is NULL or
 * no pass is running. */
void fl_wake_annotate(const fl_wake *w, json_t *ev);

/* The thread's run_delay in ns from a schedstat line ("<cpu ns> <run_delay ns>
 * <timeslices>"); false if the text is not one. Exposed for tests. */
bool fl_wake_parse_schedstat(const char *text, uint64_t *run_delay_ns);

#endif
