/* The machine's own timer lateness, measured beside a run: one thread on each
 * online CPU sleeps to a fixed grid (clock_nanosleep, TIMER_ABSTIME, no timer
 * slack) and records every wake-up later than a threshold. A process's
 * deadline can fire late although it waited for no CPU (the scheduler's
 * run_delay, core/wake.h, says nothing): the timer interrupt itself came late,
 * or the virtual CPU did not run (a hypervisor's steal, not always reported).
 * Then these threads' timers were late at the same moment, and the analysis
 * can say the machine stalled, not the detector (docs/model.md). */
#ifndef FLATLINE_CORE_STALLWATCH_H
#define FLATLINE_CORE_STALLWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A wake-up due at due_ns that came late_ns later, on cpu (without the
 * real-time priority, its own wait for the CPU, the scheduler's run_delay,
 * taken off): from due_ns to due_ns + late_ns no timer on that CPU could run.
 * since_ns is the thread's previous wake-up, the last moment it knew the
 * timers ran: the stall began somewhere after it, up to one period before
 * due_ns. */
typedef struct fl_stall {
    uint64_t due_ns, late_ns;
    int cpu;
    uint64_t since_ns;
} fl_stall;

typedef struct fl_stallwatch fl_stallwatch;

/* Starts a thread on each online CPU, waking every period_ns and keeping the
 * wake-ups later than min_late_ns. NULL if no thread could start. */
fl_stallwatch *fl_stallwatch_start(uint64_t period_ns, uint64_t min_late_ns);
/* Whether every thread runs at the top SCHED_FIFO priority (needs
 * CAP_SYS_NICE): then a wake-up's whole lateness counts, its time on the run
 * queue included (only a hypervisor holds it there); otherwise that time is
 * taken off as its own wait for the CPU. Waits for the threads to start. */
bool fl_stallwatch_realtime(fl_stallwatch *w);
/* Stops the threads (within one period) and returns what they saw, sorted by
 * due_ns (the caller frees; NULL with *n 0 when nothing). Frees w. */
fl_stall *fl_stallwatch_stop(fl_stallwatch *w, size_t *n);

#endif
