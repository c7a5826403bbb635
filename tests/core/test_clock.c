/* The real-time to monotonic offset that maps the kernel's stamps: whatever
 * the scheduler does around the call, its answer agrees with one taken by
 * hand to within the time both took, and its "now" lies inside the call. */
#include <criterion/criterion.h>
#include <time.h>

#include "core/clock.h"

static int64_t ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

Test(clock, realtime_minus_mono_agrees_with_a_bracketed_read)
{
    for (int i = 0; i < 1000; i++) {
        int64_t before = ns(CLOCK_MONOTONIC);
        uint64_t now = 0;
        int64_t offset = fl_realtime_minus_mono(&now);
        int64_t real = ns(CLOCK_REALTIME);
        int64_t after = ns(CLOCK_MONOTONIC);
        cr_assert(now >= (uint64_t)before && now <= (uint64_t)after, "now %llu outside the call [%lld, %lld]",
                  (unsigned long long)now, (long long)before, (long long)after);
        /* By hand the offset lies in [real - after, real - before]; the
         * call's own estimate is off by at most half its bracket, which lies
         * inside [before, after]. */
        int64_t width = after - before, by_hand_lo = real - after - width, by_hand_hi = real - before + width;
        cr_assert(offset >= by_hand_lo && offset <= by_hand_hi,
                  "offset %lld outside [%lld, %lld], the whole call's bracket", (long long)offset,
                  (long long)by_hand_lo, (long long)by_hand_hi);
    }
}

Test(clock, now_without_a_place_to_put_it)
{
    int64_t a = fl_realtime_minus_mono(NULL), b = fl_realtime_minus_mono(NULL);
    cr_assert(a > 0, "real time is after 1970 and the monotonic clock is younger");
    cr_assert(b - a < 1000000000 && a - b < 1000000000, "two offsets a moment apart: %lld, %lld", (long long)a,
              (long long)b);
}
