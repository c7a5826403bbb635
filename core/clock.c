#include "clock.h"

#include <time.h>

uint64_t fl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * FL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t ns_of(const struct timespec *t) { return (uint64_t)t->tv_sec * FL_NS_PER_S + (uint64_t)t->tv_nsec; }

/* A bracket this narrow is two vDSO reads with nothing between them. */
#define OFFSET_TRIES 3
#define OFFSET_GOOD_NS 20000

int64_t fl_realtime_minus_mono(uint64_t *mono_now)
{
    int64_t best = 0;
    uint64_t narrowest = UINT64_MAX, end = 0;
    for (int i = 0; i < OFFSET_TRIES && narrowest > OFFSET_GOOD_NS; i++) {
        struct timespec m1, real, m2;
        clock_gettime(CLOCK_MONOTONIC, &m1);
        clock_gettime(CLOCK_REALTIME, &real);
        clock_gettime(CLOCK_MONOTONIC, &m2);
        uint64_t a = ns_of(&m1), b = ns_of(&m2);
        if (b - a < narrowest) {
            narrowest = b - a;
            best = (int64_t)ns_of(&real) - (int64_t)(a + (b - a) / 2);
        }
        end = b;
    }
    if (mono_now)
        *mono_now = end;
    return best;
}

static uint64_t monotonic_now(void *ctx)
{
    (void)ctx;
    return fl_now_ns();
}

const fl_clock fl_clock_monotonic = { monotonic_now, 0 };
