#include "stallwatch.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "clock.h"
#include "grow.h"
#include "wake.h"

typedef struct watcher {
    pthread_t thread;
    bool started, realtime;
    atomic_bool ready; /* realtime is set */
    int cpu;
    fl_stallwatch *w;
    fl_stall *seen;
    size_t n, cap;
} watcher;

struct fl_stallwatch {
    uint64_t period_ns, min_late_ns;
    atomic_bool stop;
    watcher *threads;
    size_t nthreads;
};

static void *watch(void *arg)
{
    watcher *t = arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(t->cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    prctl(PR_SET_TIMERSLACK, 1UL); /* its own lateness, not the default 50 us of slack */
    /* At the top real-time priority no process of the run keeps it waiting
     * for its CPU, so its run_delay is the hypervisor's: a virtual CPU
     * descheduled while the woken probe sat on its run queue (kvm-clock runs
     * on through steal) is a stall, and is kept. Without the priority its
     * own wait for the CPU (another runnable thread had it) is not a stall
     * of the machine's timers: the run_delay, read around each sleep, is
     * taken off (core/wake.h reads the same for a process), and a stall that
     * began while it waited goes unseen. */
    struct sched_param top = { .sched_priority = sched_get_priority_max(SCHED_FIFO) };
    t->realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &top) == 0;
    atomic_store(&t->ready, true);
    fl_wake self = { .schedstat_fd = -1 };
    fl_wake_open(&self);
    uint64_t period = t->w->period_ns, last = fl_now_ns(), next = last + period;
    while (!atomic_load_explicit(&t->w->stop, memory_order_relaxed)) {
        struct timespec due = { (time_t)(next / FL_NS_PER_S), (long)(next % FL_NS_PER_S) };
        fl_wake_before_wait(&self, 0);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
        uint64_t now = fl_now_ns();
        fl_wake_after_wait(&self, now);
        uint64_t late = now > next ? now - next : 0;
        uint64_t queued = !t->realtime && self.cpu_wait_known ? self.cpu_wait_ns : 0;
        late = late > queued ? late - queued : 0;
        if (late > t->w->min_late_ns && fl_grow(&t->seen, &t->cap, t->n + 1, 64) == 0)
            t->seen[t->n++] = (fl_stall){ next, late, t->cpu, last };
        last = now;
        /* the grid goes on from now after a stall: one stall, one record */
        next = next + period > now ? next + period : now + period;
    }
    fl_wake_close(&self);
    return NULL;
}

fl_stallwatch *fl_stallwatch_start(uint64_t period_ns, uint64_t min_late_ns)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return NULL;
    fl_stallwatch *w = calloc(1, sizeof *w);
    size_t ncpu = (size_t)CPU_COUNT(&allowed);
    if (!w || !(w->threads = calloc(ncpu ? ncpu : 1, sizeof *w->threads))) {
        free(w);
        return NULL;
    }
    w->period_ns = period_ns;
    w->min_late_ns = min_late_ns;
    atomic_init(&w->stop, false);
    bool any = false;
    for (int cpu = 0; cpu < CPU_SETSIZE && w->nthreads < ncpu; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        watcher *t = &w->threads[w->nthreads++];
        t->cpu = cpu;
        t->w = w;
        atomic_init(&t->ready, false);
        t->started = pthread_create(&t->thread, NULL, watch, t) == 0;
        any |= t->started;
    }
    if (!any) {
        free(w->threads);
        free(w);
        return NULL;
    }
    return w;
}

bool fl_stallwatch_realtime(fl_stallwatch *w)
{
    bool all = w && w->nthreads > 0;
    for (size_t i = 0; w && i < w->nthreads; i++) {
        watcher *t = &w->threads[i];
        while (t->started && !atomic_load(&t->ready))
            sched_yield();
        all &= t->started && t->realtime;
    }
    return all;
}

static int by_due(const void *x, const void *y)
{
    const fl_stall *a = x, *b = y;
    return (a->due_ns > b->due_ns) - (a->due_ns < b->due_ns);
}

fl_stall *fl_stallwatch_stop(fl_stallwatch *w, size_t *n)
{
    *n = 0;
    if (!w)
        return NULL;
    atomic_store(&w->stop, true);
    size_t total = 0;
    for (size_t i = 0; i < w->nthreads; i++) {
        if (w->threads[i].started)
            pthread_join(w->threads[i].thread, NULL);
        total += w->threads[i].n;
    }
    fl_stall *all = total ? malloc(total * sizeof *all) : NULL;
    for (size_t i = 0; i < w->nthreads; i++) {
        if (all && w->threads[i].n)
            memcpy(all + *n, w->threads[i].seen, w->threads[i].n * sizeof *all);
        if (all)
            *n += w->threads[i].n;
        free(w->threads[i].seen);
    }
    if (all)
        qsort(all, *n, sizeof *all, by_due);
    free(w->threads);
    free(w);
    return all;
}
