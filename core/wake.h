/* How late a pass of the event loop runs, for the event lines that report a
 * detection. A deadline that fires late was either behind the process's own
 * work (other events handled first, in this pass or the ones before) or its
 * wait ended late: the thread waited for a CPU (it was runnable and sat on
 * a run queue), or the machine itself stalled (the timer interrupt came
 * late, the virtual CPU did not run). The loop records when its wait began
 * and returned and, from /proc/thread-self/schedstat
 * (the scheduler's run_delay, CONFIG_SCHED_INFO), how long the thread waited
 * for a CPU in between, so that the analysis can tell a detector that was
 * late from a process that could not run (docs/events.md, docs/model.md). */
#ifndef FLATLINE_CORE_WAKE_H
#define FLATLINE_CORE_WAKE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fl_wake {
    /* The pass's wait began (the previous pass had ended) and returned (0:
     * no pass is running). */
    uint64_t wait_began_ns, woke_ns;
    /* Run-queue time between the two (cpu_wait_known: the kernel said). A
     * record that does not track (a test's) is read as it is set. */
    uint64_t cpu_wait_ns;
    bool cpu_wait_known;
    /* private */
    bool tracking;    /* fl_wake_open was called (a zeroed fl_wake tracks nothing) */
    int schedstat_fd; /* -1: the kernel does not say */
    uint64_t run_delay_before;
    bool before_known;
} fl_wake;

/* Starts tracking (opens the thread's schedstat: call it from the thread
 * that runs the loop; again: no effect). Without schedstat only the times
 * are kept. */
void fl_wake_open(fl_wake *w);
void fl_wake_close(fl_wake *w);

/* Around the loop's wait, with the clock: before it blocks and when it
 * returned (a read of schedstat each: what a pass pays for its record). */
void fl_wake_before_wait(fl_wake *w, uint64_t now_ns);
void fl_wake_after_wait(fl_wake *w, uint64_t now_ns);

/* Adds "wait_began", "woke" and, when known, "cpu_wait" (ns) to a
 * detection's event line; nothing when w is NULL or no pass is running. */
void fl_wake_annotate(const fl_wake *w, json_t *ev);

/* A deadline due at `due` acted on at `at` in a pass that waited from
 * wait_began to woke with cpu_wait on a run queue: its lateness split the one
 * way the swarm (for its pings) and the analysis (for every detection) read
 * it. The pass's work before it, and the previous passes' when its wait
 * began only after the deadline, are the process's own (queued: preemption
 * in that work included); of the wait's own lateness (woke after the later
 * of the deadline and the wait's start) the CPU wait explains what it can
 * (cpu) and the rest (uncovered, over [slept_from, woke]) only a stall of
 * the machine can. */
typedef struct fl_late_split {
    uint64_t queued, cpu, uncovered;
    uint64_t slept_from; /* the wait's late part: [slept_from, woke] */
} fl_late_split;
fl_late_split fl_wake_split(uint64_t due, uint64_t wait_began, uint64_t woke, uint64_t cpu_wait, uint64_t at);

/* The thread's run_delay in ns from a schedstat line ("<cpu ns> <run_delay ns>
 * <timeslices>"); false if the text is not one, or says nothing (a kernel
 * without the accounting prints "0 0 0"). Exposed for tests. */
bool fl_wake_parse_schedstat(const char *text, uint64_t *run_delay_ns);

#endif
