/* model/timer_wheel.c against the kernel's arithmetic and what was measured
 * on the Debian 6.1 kernel at HZ=250 (docs/virtual-time.md): keep-alive
 * probes 75.776 s apart, a 7200 s timer up to 131.072 s late. */
#include <criterion/criterion.h>

#include "model/timer_wheel.h"

#define EPS 1e-9

Test(timer_wheel, levels_start_at_63_times_8_to_the_n)
{
    cr_assert_eq(fl_timer_wheel_level(250, 0), 0);
    cr_assert_eq(fl_timer_wheel_level(250, 62), 0);
    cr_assert_eq(fl_timer_wheel_level(250, 63), 1);
    cr_assert_eq(fl_timer_wheel_level(250, 503), 1);
    cr_assert_eq(fl_timer_wheel_level(250, 504), 2);
    cr_assert_eq(fl_timer_wheel_level(250, 4031), 2);
    cr_assert_eq(fl_timer_wheel_level(250, 4032), 3);
    cr_assert_eq(fl_timer_wheel_level(250, 18750), 3); /* 75 s */
    cr_assert_eq(fl_timer_wheel_level(250, 1800000), 5); /* 7200 s */
    /* The last level: 8 at HZ > 100, 7 at HZ <= 100 (LVL_DEPTH 9 or 8). */
    cr_assert_eq(fl_timer_wheel_level(250, UINT64_C(1) << 40), 8);
    cr_assert_eq(fl_timer_wheel_level(100, UINT64_C(1) << 40), 7);
}

Test(timer_wheel, never_early_at_most_one_granularity_late)
{
    for (uint64_t now = 0; now < 5000; now += 7)
        for (uint64_t delta = 1; delta < 40000; delta += 97) {
            uint64_t fire = fl_timer_wheel_fire(250, now, delta);
            uint64_t g = fl_timer_wheel_granularity(fl_timer_wheel_level(250, delta));
            cr_assert(fire > now + delta && fire <= now + delta + g, "now %lu delta %lu fire %lu",
                      (unsigned long)now, (unsigned long)delta, (unsigned long)fire);
            cr_assert_eq(fire % g, 0);
        }
}

Test(timer_wheel, keepalive_defaults_at_hz_250)
{
    cr_assert_float_eq(fl_timer_wheel_period_s(250, 75), 75.776, EPS);
    cr_assert_float_eq(fl_timer_wheel_slack_s(250, 75), 2.048, EPS);
    cr_assert_float_eq(fl_timer_wheel_slack_s(250, 7200), 131.072, EPS);
    /* Go's 15 s: level 2, 59 buckets of 64 jiffies. */
    cr_assert_float_eq(fl_timer_wheel_period_s(250, 15), 15.104, EPS);
    /* Level 0 is exact to the jiffy. */
    cr_assert_float_eq(fl_timer_wheel_slack_s(250, 0.2), 0.004, EPS);
}

Test(timer_wheel, hz_changes_the_rounding)
{
    /* HZ=1000: 75 s = 75000 jiffies, level 4 (32256..258047), 4096-jiffy buckets. */
    cr_assert_eq(fl_timer_wheel_level(1000, 75000), 4);
    cr_assert_float_eq(fl_timer_wheel_period_s(1000, 75), 77.824, EPS);
    cr_assert_float_eq(fl_timer_wheel_slack_s(1000, 75), 4.096, EPS);
    /* HZ=100: 7500 jiffies, level 3, 512-jiffy buckets: 15 x 512 = 76.8 s. */
    cr_assert_float_eq(fl_timer_wheel_period_s(100, 75), 76.8, EPS);
}

Test(timer_wheel, clamped_at_the_wheels_reach)
{
    /* LVL_START(9) = 63 << 24 jiffies; beyond it the timer is due at
     * WHEEL_TIMEOUT_MAX = cutoff - 8^8 and rounds up to the next 8^8. */
    uint64_t cutoff = UINT64_C(63) << 24, g = UINT64_C(1) << 24;
    cr_assert_eq(fl_timer_wheel_fire(250, 0, cutoff * 4), cutoff);
    cr_assert_eq(fl_timer_wheel_fire(250, 0, cutoff - g), cutoff);
}
