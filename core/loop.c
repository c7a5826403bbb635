#include "loop.h"
#include "core/grow.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "wake.h"

typedef struct handler {
    fl_io_fn fn;
    void *arg;
    unsigned events;
    int ready; /* 1 + its entry in the batch being dispatched, 0: none waiting */
} handler;

struct fl_loop {
    int epfd;
    bool stopping;
    handler *handlers; /* indexed by fd */
    size_t nhandlers;
    fl_timer_heap timers;
    fl_wake wake;
    struct epoll_event ready[256];
};

fl_loop *fl_loop_new(void)
{
    fl_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    fl_timer_heap_init(&loop->timers);
    loop->wake.schedstat_fd = -1;
    /* Deadlines are what flatline measures: this thread asks for no timer
     * slack beyond what the kernel's wait itself adds (see fl_loop_once). */
    prctl(PR_SET_TIMERSLACK, 1UL);
    return loop;
}

void fl_loop_free(fl_loop *loop)
{
    if (!loop)
        return;
    close(loop->epfd);
    fl_wake_close(&loop->wake);
    fl_timer_heap_free(&loop->timers);
    free(loop->handlers);
    free(loop);
}

static uint32_t to_epoll(unsigned events)
{
    return (events & FL_READ ? EPOLLIN | EPOLLRDHUP : 0) | (events & FL_WRITE ? EPOLLOUT : 0);
}

static int grow(fl_loop *loop, int fd)
{
    if ((size_t)fd < loop->nhandlers)
        return 0;
    size_t old = loop->nhandlers;
    if (fl_grow(&loop->handlers, &loop->nhandlers, (size_t)fd + 1, 64) < 0)
        return -1;
    memset(loop->handlers + old, 0, (loop->nhandlers - old) * sizeof *loop->handlers);
    return 0;
}

int fl_loop_add(fl_loop *loop, int fd, unsigned events, fl_io_fn fn, void *arg)
{
    if (fd < 0 || grow(loop, fd) < 0)
        return -1;
    struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    loop->handlers[fd] = (handler){ fn, arg, events, 0 };
    return 0;
}

int fl_loop_modify(fl_loop *loop, int fd, unsigned events)
{
    if (fd < 0 || (size_t)fd >= loop->nhandlers || !loop->handlers[fd].fn)
        return errno = EBADF, -1;
    if (loop->handlers[fd].events == events)
        return 0;
    struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -1;
    loop->handlers[fd].events = events;
    return 0;
}

void fl_loop_remove(fl_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nhandlers || !loop->handlers[fd].fn)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    loop->handlers[fd] = (handler){ 0 };
}

fl_timer_heap *fl_loop_timers(fl_loop *loop) { return &loop->timers; }

void fl_loop_track_wake(fl_loop *loop)
{
    fl_wake_open(&loop->wake);
    loop->timers.wake = &loop->wake;
}

int fl_loop_timer_set(fl_loop *loop, fl_timer *t, uint64_t deadline_ns)
{
    return fl_timer_set(&loop->timers, t, deadline_ns);
}

void fl_loop_timer_cancel(fl_loop *loop, fl_timer *t) { fl_timer_cancel(&loop->timers, t); }

void fl_loop_stop(fl_loop *loop) { loop->stopping = true; }

/* epoll_pwait2 waits in ns; where it is missing (kernels before 5.11, valgrind
 * 3.19) epoll_wait's whole milliseconds are rounded up, so a timer is late by
 * under 1 ms but never early. */
static int wait_ready(fl_loop *loop, uint64_t wait_ns)
{
    static bool no_pwait2;
    int max = (int)(sizeof loop->ready / sizeof loop->ready[0]);
    if (!no_pwait2) {
        struct timespec ts = { (time_t)(wait_ns / FL_NS_PER_S), (long)(wait_ns % FL_NS_PER_S) };
        int n = epoll_pwait2(loop->epfd, loop->ready, max, wait_ns == UINT64_MAX ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        no_pwait2 = true;
    }
    int ms = -1;
    if (wait_ns != UINT64_MAX) {
        uint64_t rounded = (wait_ns + FL_NS_PER_MS - 1) / FL_NS_PER_MS;
        ms = rounded > INT32_MAX ? INT32_MAX : (int)rounded;
    }
    return epoll_wait(loop->epfd, loop->ready, max, ms);
}

/* Handles entry i of the batch, once. */
static void dispatch(fl_loop *loop, int i)
{
    int fd = loop->ready[i].data.fd;
    if (fd < 0)
        return;
    loop->ready[i].data.fd = -1;
    /* A handler earlier in this batch may have removed (and even reused) fd. */
    if ((size_t)fd >= loop->nhandlers || !loop->handlers[fd].fn)
        return;
    loop->handlers[fd].ready = 0;
    handler h = loop->handlers[fd];
    uint32_t e = loop->ready[i].events;
    unsigned events = 0;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        events |= FL_READ;
    if (e & EPOLLOUT)
        events |= FL_WRITE;
    h.fn(loop, fd, events & (h.events | FL_READ), h.arg);
}

/* Fires the timers due, reading the clock again after each so that a burst
 * of deadlines is worked through in one pass. A timer armed or moved during
 * the pass waits for the next one (after the next handler, or the next wait):
 * a periodic timer whose work outlasts its period must not starve the
 * descriptors. A timer watching a descriptor whose readiness waits in this
 * batch lets that descriptor be handled first (its handler may move or
 * cancel the timer). */
static size_t run_due(fl_loop *loop)
{
    size_t fired = 0;
    uint64_t armed_before = loop->timers.next_seq;
    uint64_t now = fl_now_ns();
    fl_timer *t;
    while ((t = fl_timer_peek(&loop->timers)) && t->deadline_ns <= now && t->seq < armed_before) {
        size_t fd = (size_t)t->watch - 1;
        if (t->watch > 0 && fd < loop->nhandlers && loop->handlers[fd].ready) {
            dispatch(loop, loop->handlers[fd].ready - 1);
        } else {
            fl_timer_cancel(&loop->timers, t);
            fired++;
            t->fire(t, now, t->arg);
        }
        now = fl_now_ns();
    }
    return fired;
}

int fl_loop_once(fl_loop *loop, uint64_t max_wait_ns)
{
    uint64_t wait = max_wait_ns;
    fl_timer *next = fl_timer_peek(&loop->timers);
    if (next) {
        uint64_t now = fl_now_ns();
        uint64_t until = next->deadline_ns > now ? next->deadline_ns - now : 0;
        /* The kernel may end a wait up to 0.1 % of its length late
         * (select_estimate_accuracy): 3 ms on a 3 s keep-alive. Waking 0.2 %
         * early and waiting out the rest in a second, short wait keeps a
         * timer within microseconds of its deadline for one extra wakeup. */
        if (until > FL_NS_PER_MS)
            until -= until / 512;
        if (until < wait)
            wait = until;
    }
    bool tracked = loop->timers.wake != NULL; /* no clock reads for a loop that keeps no record */
    if (tracked)
        fl_wake_before_wait(&loop->wake, fl_now_ns());
    int n = wait_ready(loop, wait);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    if (tracked)
        fl_wake_after_wait(&loop->wake, fl_now_ns());
    for (int i = 0; i < n; i++) {
        int fd = loop->ready[i].data.fd;
        if ((size_t)fd < loop->nhandlers)
            loop->handlers[fd].ready = i + 1;
    }
    /* Deadlines between handlers, not after the whole batch: a batch of a few
     * hundred ready sockets takes milliseconds, and a deadline due meanwhile
     * is what flatline measures. */
    size_t fired = run_due(loop);
    for (int i = 0; i < n; i++) {
        dispatch(loop, i);
        fired += run_due(loop);
    }
    return n + (int)fired;
}

int fl_loop_run(fl_loop *loop)
{
    loop->stopping = false;
    while (!loop->stopping) {
        if (fl_loop_once(loop, UINT64_MAX) < 0)
            return -1;
    }
    return 0;
}
