/* core/wake: what a loop pass records about its own lateness, and how a
 * detection's event line carries it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"
#include "core/wake.h"

Test(wake, parses_the_schedulers_line)
{
    uint64_t d = 0;
    cr_expect(fl_wake_parse_schedstat("3661315 24136 3\n", &d));
    cr_expect_eq(d, 24136);
    cr_expect(fl_wake_parse_schedstat("1 0 0", &d));
    cr_expect_eq(d, 0);
    cr_expect_not(fl_wake_parse_schedstat("", &d));
    cr_expect_not(fl_wake_parse_schedstat("12", &d));
    cr_expect_not(fl_wake_parse_schedstat("12 x 3", &d));
    cr_expect_not(fl_wake_parse_schedstat("a 1 2", &d));
}

Test(wake, a_zeroed_record_annotates_nothing)
{
    fl_wake w = { 0 };
    fl_wake_before_wait(&w, 100); /* not tracking: must not read descriptor 0 */
    fl_wake_after_wait(&w, 123);
    json_t *ev = json_object();
    fl_wake_annotate(&w, ev);
    fl_wake_annotate(NULL, ev);
    cr_expect_eq(json_object_size(ev), 0);
    json_decref(ev);
}

static json_t *seen;
static uint64_t fired_at;

static void on_timer(fl_timer *t, uint64_t now, void *arg)
{
    fl_loop *loop = arg;
    fired_at = now;
    seen = json_object();
    fl_wake_annotate(fl_loop_timers(loop)->wake, seen);
    (void)t;
    fl_loop_stop(loop);
}

/* A tracking loop hands its pass's record to the timers it fires: the wake-up
 * is after the wait began and no later than the callback's now; the CPU wait
 * is there when the kernel keeps schedstat (CONFIG_SCHED_INFO). */
Test(wake, a_tracking_loop_hands_its_pass_to_the_timer)
{
    fl_loop *loop = fl_loop_new();
    cr_assert_null(fl_loop_timers(loop)->wake, "an untracked loop says nothing");
    fl_loop_track_wake(loop);
    cr_assert_not_null(fl_loop_timers(loop)->wake);
    fl_timer t;
    fl_timer_init(&t, on_timer, loop);
    uint64_t start = fl_now_ns();
    fl_loop_timer_set(loop, &t, start + 2 * FL_NS_PER_MS);
    cr_assert_eq(fl_loop_run(loop), 0);
    json_t *woke = json_object_get(seen, "woke");
    cr_assert(json_is_integer(woke));
    cr_expect_geq((uint64_t)json_integer_value(woke), start);
    cr_expect_leq((uint64_t)json_integer_value(woke), fired_at);
    if (access("/proc/thread-self/schedstat", R_OK) == 0)
        cr_expect(json_is_integer(json_object_get(seen, "cpu_wait")));
    json_decref(seen);
    fl_loop_free(loop);
}

/* The one split of a late deadline (core/wake.h), on the cases that matter:
 * a pass that woke on time and worked 2 ms first; a wait that ended 3 ms late
 * with 1 ms on a run queue; a wait that began only 4 ms after the deadline
 * (the passes before were at work). */
Test(wake, splits_a_late_deadline_one_way)
{
    fl_late_split s = fl_wake_split(1000, 500, 1000, 0, 3000);
    cr_expect_eq(s.queued, 2000);
    cr_expect_eq(s.cpu, 0);
    cr_expect_eq(s.uncovered, 0);
    s = fl_wake_split(1000, 500, 4000, 1000, 4100);
    cr_expect_eq(s.queued, 100);
    cr_expect_eq(s.cpu, 1000);
    cr_expect_eq(s.uncovered, 2000);
    cr_expect_eq(s.slept_from, 1000);
    /* a CPU wait longer than the wake-up was late explains only that much */
    s = fl_wake_split(1000, 500, 1500, 9000, 1500);
    cr_expect_eq(s.cpu, 500);
    cr_expect_eq(s.uncovered, 0);
    s = fl_wake_split(1000, 5000, 5010, 0, 5100);
    cr_expect_eq(s.queued, 4000 + 90);
    cr_expect_eq(s.uncovered, 10);
    cr_expect_eq(s.slept_from, 5000);
}

Test(wake, a_kernel_that_counts_nothing_says_nothing)
{
    uint64_t d = 7;
    cr_expect_not(fl_wake_parse_schedstat("0 0 0\n", &d));
    cr_expect_eq(d, 7);
}

/* A signal that interrupts the loop's wait is no failure: the loop reads
 * errno after the wait, and the record's reads must leave it alone. */
static void on_alarm(int sig) { (void)sig; }
static void on_stop_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t, (void)now;
    fl_loop_stop(arg);
}

Test(wake, an_interrupted_wait_is_not_a_failure)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    fl_loop *loop = fl_loop_new();
    fl_loop_track_wake(loop);
    fl_timer t;
    fl_timer_init(&t, on_stop_timer, loop);
    fl_loop_timer_set(loop, &t, fl_now_ns() + 200 * FL_NS_PER_MS);
    struct itimerval it = { .it_value = { 0, 20 * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    cr_expect_eq(fl_loop_run(loop), 0, "an EINTR ended the loop");
    fl_loop_free(loop);
}
