#include <criterion/criterion.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"

static int reads;
static char got[16];

static void on_readable(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)arg;
    cr_assert(events & FL_READ);
    ssize_t n = read(fd, got, sizeof got - 1);
    cr_assert_gt(n, 0);
    got[n] = 0;
    reads++;
    fl_loop_stop(loop);
}

Test(loop, dispatches_readable_fd)
{
    fl_loop *loop = fl_loop_new();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fl_loop_add(loop, p[0], FL_READ, on_readable, NULL), 0);
    cr_assert_eq(write(p[1], "ping", 4), 4);
    cr_assert_eq(fl_loop_run(loop), 0);
    cr_assert_eq(reads, 1);
    cr_assert_str_eq(got, "ping");
    fl_loop_remove(loop, p[0]);
    close(p[0]);
    close(p[1]);
    fl_loop_free(loop);
}

static uint64_t fired_ns;
static void on_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    fired_ns = now;
    fl_loop_stop(arg);
}

/* The loop must never fire a timer before its deadline (lateness is measured in bench/). */
Test(loop, timer_fires_not_before_deadline)
{
    fl_loop *loop = fl_loop_new();
    fl_timer t;
    fl_timer_init(&t, on_timer, loop);
    uint64_t deadline = fl_now_ns() + 20 * FL_NS_PER_MS;
    fl_loop_timer_set(loop, &t, deadline);
    cr_assert_eq(fl_loop_run(loop), 0);
    cr_assert_geq(fired_ns, deadline);
    fl_loop_free(loop);
}

static void on_writable(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)fd;
    (void)arg;
    if (events & FL_WRITE)
        fl_loop_stop(loop);
}

Test(loop, modify_switches_interest_and_remove_silences)
{
    fl_loop *loop = fl_loop_new();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fl_loop_add(loop, p[1], 0, on_writable, NULL), 0);
    cr_assert_eq(fl_loop_once(loop, 10 * FL_NS_PER_MS), 0, "no interest, no event");
    cr_assert_eq(fl_loop_modify(loop, p[1], FL_WRITE), 0);
    cr_assert_eq(fl_loop_run(loop), 0);
    fl_loop_remove(loop, p[1]);
    cr_assert_eq(fl_loop_once(loop, 10 * FL_NS_PER_MS), 0);
    cr_assert_lt(fl_loop_modify(loop, p[1], FL_READ), 0, "removed fd cannot be modified");
    close(p[0]);
    close(p[1]);
    fl_loop_free(loop);
}
