/* The virtual-time stepper: callbacks see their own deadline as the time,
 * re-armed timers fire again within one advance, and the clock ends where
 * it was told to. */
#include <criterion/criterion.h>

#include "core/vclock.h"

static fl_vclock vc;
static uint64_t seen[8];
static int nseen;

typedef struct ticker {
    fl_timer t;
    uint64_t period; /* 0: one shot */
    int left;
} ticker;

static void on_tick(fl_timer *t, uint64_t now, void *arg)
{
    ticker *k = arg;
    cr_assert_eq(now, fl_clock_now(&vc.clock), "a callback's now is the clock's now");
    if (nseen < 8)
        seen[nseen++] = now;
    if (k->period && --k->left > 0)
        fl_timer_set(&vc.timers, t, now + k->period);
}

static void setup(void)
{
    fl_vclock_init(&vc, 1000);
    nseen = 0;
}

static void teardown(void) { fl_vclock_free(&vc); }

TestSuite(vclock, .init = setup, .fini = teardown);

Test(vclock, clock_reads_the_virtual_time)
{
    cr_assert_eq(fl_clock_now(&vc.clock), 1000);
    fl_vclock_advance(&vc, 250);
    cr_assert_eq(fl_clock_now(&vc.clock), 1250, "no timer: the clock just moves");
}

Test(vclock, advance_stops_at_each_deadline_and_fires_rearmed_timers)
{
    ticker k = { .period = 100, .left = 3 };
    fl_timer_init(&k.t, on_tick, &k);
    fl_timer_set(&vc.timers, &k.t, 1050);
    fl_vclock_advance(&vc, 1000);
    cr_assert_eq(nseen, 3);
    cr_assert_eq(seen[0], 1050);
    cr_assert_eq(seen[1], 1150);
    cr_assert_eq(seen[2], 1250);
    cr_assert_eq(vc.now, 2000, "ends at start + ns");
    cr_assert(!fl_timer_armed(&k.t));
}

Test(vclock, a_deadline_past_the_end_waits)
{
    ticker k = { 0 };
    fl_timer_init(&k.t, on_tick, &k);
    fl_timer_set(&vc.timers, &k.t, 1500);
    fl_vclock_advance(&vc, 499);
    cr_assert_eq(nseen, 0);
    fl_vclock_advance(&vc, 1);
    cr_assert_eq(nseen, 1);
    cr_assert_eq(seen[0], 1500, "fires exactly at its deadline");
}

Test(vclock, step_jumps_to_the_next_deadline)
{
    ticker a = { 0 }, b = { 0 };
    fl_timer_init(&a.t, on_tick, &a);
    fl_timer_init(&b.t, on_tick, &b);
    fl_timer_set(&vc.timers, &a.t, 5000);
    fl_timer_set(&vc.timers, &b.t, 3000);
    cr_assert_eq(fl_vclock_step(&vc), 3000);
    cr_assert_eq(nseen, 1);
    cr_assert_eq(fl_vclock_step(&vc), 5000);
    cr_assert_eq(fl_vclock_step(&vc), UINT64_MAX, "nothing armed");
    cr_assert_eq(vc.now, 5000, "an empty step leaves the clock");
}

Test(vclock, an_overdue_timer_fires_at_now_not_in_the_past)
{
    ticker a = { 0 };
    fl_timer_init(&a.t, on_tick, &a);
    fl_timer_set(&vc.timers, &a.t, 10);
    cr_assert_eq(fl_vclock_step(&vc), 1000);
    cr_assert_eq(seen[0], 1000);
}
