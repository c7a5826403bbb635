#include <criterion/criterion.h>
#include <stdlib.h>

#include "core/timer.h"

#define N 512

static uint64_t fired_at[N];
static int fire_order[N];
static int nfired;

static void record(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    int id = (int)(intptr_t)arg;
    fired_at[id] = now;
    fire_order[nfired++] = id;
}

static fl_timer timers[N];
static fl_timer_heap heap;

static void setup(void)
{
    fl_timer_heap_init(&heap);
    nfired = 0;
    for (int i = 0; i < N; i++) {
        fl_timer_init(&timers[i], record, (void *)(intptr_t)i);
        fired_at[i] = 0;
    }
}

static void teardown(void) { fl_timer_heap_free(&heap); }

TestSuite(timer, .init = setup, .fini = teardown);

Test(timer, fires_in_deadline_order_with_ties_in_arming_order)
{
    fl_timer_set(&heap, &timers[0], 30);
    fl_timer_set(&heap, &timers[1], 10);
    fl_timer_set(&heap, &timers[2], 20);
    fl_timer_set(&heap, &timers[3], 10);
    cr_assert_eq(fl_timer_run_due(&heap, 9), 0);
    cr_assert_eq(fl_timer_run_due(&heap, 25), 3);
    cr_assert_eq(fire_order[0], 1);
    cr_assert_eq(fire_order[1], 3);
    cr_assert_eq(fire_order[2], 2);
    cr_assert(fl_timer_armed(&timers[0]));
    cr_assert_not(fl_timer_armed(&timers[1]));
    cr_assert_eq(fl_timer_peek(&heap), &timers[0]);
}

Test(timer, moving_and_cancelling)
{
    fl_timer_set(&heap, &timers[0], 100);
    fl_timer_set(&heap, &timers[1], 200);
    fl_timer_set(&heap, &timers[0], 300); /* later: now after 1 */
    cr_assert_eq(fl_timer_peek(&heap), &timers[1]);
    fl_timer_set(&heap, &timers[0], 50); /* sooner again */
    cr_assert_eq(fl_timer_peek(&heap), &timers[0]);
    fl_timer_cancel(&heap, &timers[0]);
    fl_timer_cancel(&heap, &timers[0]); /* idempotent */
    cr_assert_eq(heap.len, 1);
    cr_assert_eq(fl_timer_run_due(&heap, 1000), 1);
    cr_assert_eq(fire_order[0], 1);
}

static void rearm_self(fl_timer *t, uint64_t now, void *arg)
{
    fl_timer_heap *h = arg;
    nfired++;
    if (nfired < 3)
        fl_timer_set(h, t, now); /* due again at once */
}

Test(timer, callback_may_rearm_and_fires_again_when_due)
{
    fl_timer t;
    fl_timer_init(&t, rearm_self, &heap);
    fl_timer_set(&heap, &t, 5);
    cr_assert_eq(fl_timer_run_due(&heap, 5), 3);
    cr_assert_not(fl_timer_armed(&t));
}

/* Random arm/move/cancel/run against a brute-force model of the same timers. */
Test(timer, random_operations_match_reference_model)
{
    uint64_t model[N]; /* 0 = not armed, else deadline */
    for (int i = 0; i < N; i++)
        model[i] = 0;
    srand(12345);
    uint64_t now = 0;
    for (int step = 0; step < 20000; step++) {
        int id = rand() % N;
        int op = rand() % 10;
        if (op < 6) {
            uint64_t d = now + 1 + (uint64_t)(rand() % 1000);
            fl_timer_set(&heap, &timers[id], d);
            model[id] = d;
        } else if (op < 8) {
            fl_timer_cancel(&heap, &timers[id]);
            model[id] = 0;
        } else {
            now += (uint64_t)(rand() % 200);
            nfired = 0;
            size_t expect = 0;
            for (int i = 0; i < N; i++)
                expect += model[i] && model[i] <= now;
            cr_assert_eq(fl_timer_run_due(&heap, now), expect);
            uint64_t last = 0;
            for (int k = 0; k < nfired; k++) {
                int f = fire_order[k];
                cr_assert(model[f] && model[f] <= now, "timer %d fired but was not due", f);
                cr_assert_geq(model[f], last, "fired out of order");
                last = model[f];
                model[f] = 0;
            }
        }
        size_t armed = 0;
        for (int i = 0; i < N; i++) {
            armed += model[i] != 0;
            cr_assert_eq(fl_timer_armed(&timers[i]), model[i] != 0);
        }
        cr_assert_eq(heap.len, armed);
    }
}
