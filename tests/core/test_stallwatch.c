/* core/stallwatch: the probe's threads record their own late wake-ups. With
 * no threshold every wake-up counts (none is exactly on time), so a short
 * watch must come back with records from each CPU, sorted, on the grid, each
 * with the wake-up before it. */
#include <criterion/criterion.h>
#include <sched.h>
#include <time.h>

#include "core/clock.h"
#include "core/stallwatch.h"

Test(stallwatch, records_wake_ups_later_than_its_threshold)
{
    uint64_t start = fl_now_ns();
    fl_stallwatch *w = fl_stallwatch_start(FL_NS_PER_MS, 0);
    cr_assert_not_null(w);
    /* 50 ms from when every thread runs: on a loaded machine (CI, cpu 1 once)
     * a thread can start later than that after fl_stallwatch_start returns */
    fl_stallwatch_realtime(w);
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    size_t n = 0;
    fl_stall *seen = fl_stallwatch_stop(w, &n);
    uint64_t end = fl_now_ns();
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    cr_assert_geq(n, (size_t)CPU_COUNT(&allowed), "every CPU's thread woke at least once in 50 ms");
    bool cpu_seen[CPU_SETSIZE] = { false };
    for (size_t i = 0; i < n; i++) {
        cr_assert_gt(seen[i].late_ns, 0);
        cr_assert(seen[i].due_ns > start && seen[i].due_ns < end, "due inside the watch");
        cr_assert(seen[i].since_ns < seen[i].due_ns && seen[i].due_ns - seen[i].since_ns <= FL_NS_PER_MS,
                  "since: the previous wake-up, at most one period before due");
        cr_assert(CPU_ISSET(seen[i].cpu, &allowed));
        if (i)
            cr_assert_geq(seen[i].due_ns, seen[i - 1].due_ns, "sorted by due");
        cpu_seen[seen[i].cpu] = true;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            cr_expect(cpu_seen[cpu], "cpu %d's thread", cpu);
    free(seen);
}

Test(stallwatch, a_high_threshold_keeps_nothing_on_a_quiet_watch)
{
    fl_stallwatch *w = fl_stallwatch_start(FL_NS_PER_MS, 10 * FL_NS_PER_S);
    cr_assert_not_null(w);
    size_t n = 1;
    fl_stall *seen = fl_stallwatch_stop(w, &n);
    cr_expect_eq(n, 0);
    cr_expect_null(seen);
    size_t m = 1;
    cr_expect_null(fl_stallwatch_stop(NULL, &m));
    cr_expect_eq(m, 0);
}

/* As root the probe's threads take the top SCHED_FIFO priority, so that their
 * time on a run queue is a hypervisor's and counts as a stall. */
Test(stallwatch, runs_real_time_when_allowed)
{
    fl_stallwatch *w = fl_stallwatch_start(FL_NS_PER_MS, 10 * FL_NS_PER_S);
    cr_assert_not_null(w);
    struct sched_param none = { 0 };
    bool allowed = sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 }) == 0;
    if (allowed)
        sched_setscheduler(0, SCHED_OTHER, &none);
    cr_expect_eq(fl_stallwatch_realtime(w), allowed, "real-time exactly when this process may have it");
    size_t n = 0;
    free(fl_stallwatch_stop(w, &n));
    cr_expect_not(fl_stallwatch_realtime(NULL));
}
