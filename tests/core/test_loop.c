#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
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

/* ---- deadlines inside a batch of ready descriptors ---- */

enum { BATCH = 3 };
static char order[16]; /* what ran, in order: '0'.. for handlers, 'T' for the timer */
static size_t norder;
static fl_timer batch_timer;

static void note(char c)
{
    if (norder < sizeof order - 1)
        order[norder++] = c;
}

/* Drains its pipe. The first one makes the timer due, as a deadline passing
 * while a handler works through a burst of input would (no sleeping: the
 * order must not depend on how fast the machine is, valgrind included). */
static void reader(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    char buf[8];
    cr_assert_gt(read(fd, buf, sizeof buf), 0);
    note((char)('0' + (int)(intptr_t)arg));
    if ((intptr_t)arg == 0)
        fl_loop_timer_set(loop, &batch_timer, fl_now_ns());
}

/* As reader, and the last one's input cancels the timer, as a PINGREQ moves
 * a keep-alive deadline. */
static void cancelling_reader(fl_loop *loop, int fd, unsigned events, void *arg)
{
    reader(loop, fd, events, arg);
    if ((intptr_t)arg == BATCH - 1)
        fl_loop_timer_cancel(loop, &batch_timer);
}

static void on_batch_timer(fl_timer *t, uint64_t now, void *arg)
{
    (void)now;
    (void)arg;
    cr_assert_leq(t->deadline_ns, now);
    note('T');
}

/* Three pipes ready at once, in this order (epoll hands them out in the order
 * they became ready), and the timer armed far away. */
static void batch_of_three(fl_loop *loop, int p[BATCH][2], fl_io_fn fn)
{
    fl_timer_init(&batch_timer, on_batch_timer, NULL);
    fl_loop_timer_set(loop, &batch_timer, fl_now_ns() + 3600 * FL_NS_PER_S);
    for (int i = 0; i < BATCH; i++) {
        cr_assert_eq(pipe(p[i]), 0);
        cr_assert_eq(fl_loop_add(loop, p[i][0], FL_READ, fn, (void *)(intptr_t)i), 0);
        cr_assert_eq(write(p[i][1], "x", 1), 1);
    }
    norder = 0;
    memset(order, 0, sizeof order);
}

static void close_three(fl_loop *loop, int p[BATCH][2])
{
    fl_loop_timer_cancel(loop, &batch_timer);
    for (int i = 0; i < BATCH; i++) {
        fl_loop_remove(loop, p[i][0]);
        close(p[i][0]);
        close(p[i][1]);
    }
}

/* A deadline that comes due while the first handler of a batch runs fires
 * before the next handler, not after the whole batch. */
Test(loop, due_timer_fires_between_handlers)
{
    fl_loop *loop = fl_loop_new();
    int p[BATCH][2];
    batch_of_three(loop, p, reader);
    cr_assert_eq(fl_loop_once(loop, 0), BATCH + 1);
    cr_assert_str_eq(order, "0T12", "the timer must run right after the handler it came due in");
    close_three(loop, p);
    fl_loop_free(loop);
}

/* A due timer that watches a descriptor whose input waits later in the same
 * batch lets that input be handled first; here the input cancels it. */
Test(loop, watched_input_in_the_batch_goes_before_its_timeout)
{
    fl_loop *loop = fl_loop_new();
    int p[BATCH][2];
    batch_of_three(loop, p, cancelling_reader);
    fl_timer_watch(&batch_timer, p[BATCH - 1][0]);
    cr_assert_eq(fl_loop_once(loop, 0), BATCH);
    cr_assert_str_eq(order, "021", "the watched descriptor's input must run when its timer is due");
    cr_assert_not(fl_timer_armed(&batch_timer));
    close_three(loop, p);

    /* Without the watch the same batch times out first. */
    batch_of_three(loop, p, cancelling_reader);
    cr_assert_eq(fl_loop_once(loop, 0), BATCH + 1);
    cr_assert_str_eq(order, "0T12");
    close_three(loop, p);
    fl_loop_free(loop);
}

/* A periodic timer whose work outlasts its period (the runner's socket poll
 * at 19,000 connections) must not starve the descriptors: a timer re-armed
 * while the due ones run waits for the next pass. */
static int slow_ticks;
static void slow_periodic(fl_timer *t, uint64_t now, void *arg)
{
    (void)now;
    slow_ticks++;
    /* Re-armed first, then the work: the next tick is due before it ends. */
    fl_loop_timer_set(arg, t, fl_now_ns() + FL_NS_PER_MS / 2);
    uint64_t until = fl_now_ns() + FL_NS_PER_MS;
    while (fl_now_ns() < until)
        ;
}

Test(loop, overrunning_periodic_timer_does_not_starve_io, .timeout = 10)
{
    fl_loop *loop = fl_loop_new();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    reads = 0;
    cr_assert_eq(fl_loop_add(loop, p[0], FL_READ, on_readable, NULL), 0);
    fl_timer t;
    fl_timer_init(&t, slow_periodic, loop);
    fl_loop_timer_set(loop, &t, fl_now_ns());
    cr_assert_eq(write(p[1], "ping", 4), 4);
    for (int i = 0; i < 3 && !reads; i++)
        cr_assert_geq(fl_loop_once(loop, 0), 1);
    cr_assert_eq(reads, 1, "the pipe's handler never ran (%d ticks)", slow_ticks);
    fl_loop_timer_cancel(loop, &t);
    fl_loop_remove(loop, p[0]);
    close(p[0]);
    close(p[1]);
    fl_loop_free(loop);
}
