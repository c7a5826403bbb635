/* Monotonic time in nanoseconds, and the clock type that logic modules take
 * so that tests can inject time instead of sleeping. */
#ifndef FLATLINE_CORE_CLOCK_H
#define FLATLINE_CORE_CLOCK_H

#include <stdint.h>

#define FL_NS_PER_MS UINT64_C(1000000)
#define FL_NS_PER_S UINT64_C(1000000000)

/* CLOCK_MONOTONIC in ns: the one time base of every event log and report. */
uint64_t fl_now_ns(void);

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, to map the kernel's real-time stamps
 * (SO_TIMESTAMPNS on a socket, pcap on a capture) onto the monotonic base.
 * The real-time read is bracketed by two monotonic ones and, of up to three
 * tries, the narrowest bracket is used: a process that lost its CPU between
 * two plain reads would shift every stamp it maps by as long. *mono_now, if
 * not NULL, is the monotonic time at the end. */
int64_t fl_realtime_minus_mono(uint64_t *mono_now);

/* A clock the caller supplies. Logic that decides "when" takes one of these. */
typedef struct fl_clock {
    uint64_t (*now_ns)(void *ctx);
    void *ctx;
} fl_clock;

/* The real monotonic clock. */
extern const fl_clock fl_clock_monotonic;

static inline uint64_t fl_clock_now(const fl_clock *c) { return c->now_ns(c->ctx); }

#endif
