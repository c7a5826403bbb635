/* Virtual time for tests and fuzzers: a manual fl_clock and a timer heap,
 * stepped from one due deadline to the next so that logic which takes an
 * fl_clock and arms fl_timers (the broker's core, the swarm's client core)
 * runs its time rules without sleeping. */
#ifndef FLATLINE_CORE_VCLOCK_H
#define FLATLINE_CORE_VCLOCK_H

#include <stdint.h>

#include "core/clock.h"
#include "core/timer.h"

typedef struct fl_vclock {
    uint64_t now;
    fl_clock clock; /* reads now */
    fl_timer_heap timers;
} fl_vclock;

/* Starts at start_ns (not 0: "0" often means "never" in the code under test).
 * v must not move afterwards: the clock points into it. */
void fl_vclock_init(fl_vclock *v, uint64_t start_ns);
void fl_vclock_free(fl_vclock *v);

/* Moves the clock forward by ns, stopping at each due deadline on the way
 * and firing what is due there, so that every callback sees its own time.
 * Ends at now + ns. */
void fl_vclock_advance(fl_vclock *v, uint64_t ns);
/* Moves to the earliest armed deadline (if later than now) and fires what is
 * due there. Returns its time, or UINT64_MAX (clock unmoved) when no timer
 * is armed. */
uint64_t fl_vclock_step(fl_vclock *v);

#endif
