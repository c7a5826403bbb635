#include "clock.h"

#include <time.h>

uint64_t fl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * FL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t monotonic_now(void *ctx)
{
    (void)ctx;
    return fl_now_ns();
}

const fl_clock fl_clock_monotonic = { monotonic_now, 0 };
