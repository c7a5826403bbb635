#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

bool fl_wake_parse_schedstat(const char *text, uint64_t *run_delay_ns)
{
    char *end;
    errno = 0;
    unsigned long long ran = strtoull(text, &end, 10); /* time on a CPU */
    if (end == text || *end != ' ' || errno || ran == 0)
        return false; /* a thread that has run says so: 0 is a kernel that counts nothing */
    const char *p = end + 1;
    unsigned long long delay = strtoull(p, &end, 10);
    if (end == p || errno || (*end != ' ' && *end != '\n' && *end != '\0'))
        return false;
    *run_delay_ns = delay;
    return true;
}

/* Leaves errno as it was: the loop reads it after a wait that failed. */
static bool read_run_delay(const fl_wake *w, uint64_t *out)
{
    char buf[96];
    if (!w->tracking || w->schedstat_fd < 0)
        return false;
    int saved = errno;
    ssize_t n = pread(w->schedstat_fd, buf, sizeof buf - 1, 0);
    bool ok = n > 0;
    if (ok) {
        buf[n] = '\0';
        ok = fl_wake_parse_schedstat(buf, out);
    }
    errno = saved;
    return ok;
}

void fl_wake_open(fl_wake *w)
{
    if (w->tracking)
        return;
    *w = (fl_wake){ .tracking = true,
                    .schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC) };
}

void fl_wake_close(fl_wake *w)
{
    if (w->tracking && w->schedstat_fd >= 0)
        close(w->schedstat_fd);
    *w = (fl_wake){ .schedstat_fd = -1 };
}

void fl_wake_before_wait(fl_wake *w, uint64_t now_ns)
{
    if (!w->tracking)
        return;
    w->wait_began_ns = now_ns;
    w->before_known = read_run_delay(w, &w->run_delay_before);
}

void fl_wake_after_wait(fl_wake *w, uint64_t now_ns)
{
    uint64_t after;
    if (!w->tracking)
        return;
    w->woke_ns = now_ns;
    w->cpu_wait_known = w->before_known && read_run_delay(w, &after) && after >= w->run_delay_before;
    w->cpu_wait_ns = w->cpu_wait_known ? after - w->run_delay_before : 0;
}

void fl_wake_annotate(const fl_wake *w, json_t *ev)
{
    if (!w || !ev || !w->woke_ns)
        return;
    if (w->wait_began_ns)
        json_object_set_new(ev, "wait_began", json_integer((json_int_t)w->wait_began_ns));
    json_object_set_new(ev, "woke", json_integer((json_int_t)w->woke_ns));
    if (w->cpu_wait_known)
        json_object_set_new(ev, "cpu_wait", json_integer((json_int_t)w->cpu_wait_ns));
}

static uint64_t later(uint64_t a, uint64_t b) { return a > b ? a : b; }

fl_late_split fl_wake_split(uint64_t due, uint64_t wait_began, uint64_t woke, uint64_t cpu_wait, uint64_t at)
{
    fl_late_split s = { .slept_from = later(due, wait_began) };
    uint64_t pass_from = later(woke, due);
    s.queued = (at > pass_from ? at - pass_from : 0) + (s.slept_from - due);
    uint64_t woke_late = woke > s.slept_from ? woke - s.slept_from : 0;
    s.cpu = cpu_wait < woke_late ? cpu_wait : woke_late;
    s.uncovered = woke_late - s.cpu;
    return s;
}
