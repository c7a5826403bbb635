#include "vclock.h"

static uint64_t vclock_now(void *ctx) { return ((const fl_vclock *)ctx)->now; }

void fl_vclock_init(fl_vclock *v, uint64_t start_ns)
{
    v->now = start_ns;
    v->clock = (fl_clock){ vclock_now, v };
    fl_timer_heap_init(&v->timers);
}

void fl_vclock_free(fl_vclock *v) { fl_timer_heap_free(&v->timers); }

void fl_vclock_advance(fl_vclock *v, uint64_t ns)
{
    uint64_t end = v->now + ns;
    for (;;) {
        fl_timer *t = fl_timer_peek(&v->timers);
        if (!t || t->deadline_ns > end)
            break;
        if (t->deadline_ns > v->now)
            v->now = t->deadline_ns;
        fl_timer_run_due(&v->timers, v->now);
    }
    v->now = end;
}

uint64_t fl_vclock_step(fl_vclock *v)
{
    fl_timer *t = fl_timer_peek(&v->timers);
    if (!t)
        return UINT64_MAX;
    if (t->deadline_ns > v->now)
        v->now = t->deadline_ns;
    fl_timer_run_due(&v->timers, v->now);
    return v->now;
}
