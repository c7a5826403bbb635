/* The timer wheel's arithmetic, transcribed from Linux v6.1 kernel/time/timer.c
 * (LVL_* macros, calc_index, calc_wheel_index). */
#include "model/timer_wheel.h"

#include <math.h>

#define LVL_CLK_SHIFT 3
#define LVL_BITS 6
#define LVL_SIZE (1ull << LVL_BITS)
#define LVL_SHIFT(n) ((n) * LVL_CLK_SHIFT)
#define LVL_GRAN(n) (1ull << LVL_SHIFT(n))
#define LVL_START(n) ((LVL_SIZE - 1) << (((n) - 1) * LVL_CLK_SHIFT))

static int depth(unsigned hz) { return hz > 100 ? 9 : 8; }

uint64_t fl_timer_wheel_jiffies(unsigned hz, double s)
{
    if (s <= 0)
        return 0;
    return (uint64_t)ceil(s * hz - 1e-9);
}

uint64_t fl_timer_wheel_granularity(int level) { return LVL_GRAN(level); }

int fl_timer_wheel_level(unsigned hz, uint64_t delta)
{
    int last = depth(hz) - 1;
    for (int n = 1; n <= last; n++)
        if (delta < LVL_START(n))
            return n - 1;
    return last; /* the last level, clamped below */
}

uint64_t fl_timer_wheel_fire(unsigned hz, uint64_t now, uint64_t delta)
{
    int d = depth(hz), lvl = fl_timer_wheel_level(hz, delta);
    uint64_t cutoff = LVL_START(d), max = cutoff - LVL_GRAN(d - 1);
    uint64_t expires = now + (delta >= cutoff ? max : delta);
    return ((expires >> LVL_SHIFT(lvl)) + 1) << LVL_SHIFT(lvl);
}

double fl_timer_wheel_slack_s(unsigned hz, double arm_s)
{
    int lvl = fl_timer_wheel_level(hz, fl_timer_wheel_jiffies(hz, arm_s));
    return (double)fl_timer_wheel_granularity(lvl) / hz;
}

double fl_timer_wheel_period_s(unsigned hz, double arm_s)
{
    uint64_t delta = fl_timer_wheel_jiffies(hz, arm_s);
    uint64_t g = fl_timer_wheel_granularity(fl_timer_wheel_level(hz, delta));
    /* Fired at the end of a bucket, a multiple of g: the next end after now + delta. */
    uint64_t now = 1000 * g;
    return (double)(fl_timer_wheel_fire(hz, now, delta) - now) / hz;
}
