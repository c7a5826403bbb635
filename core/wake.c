#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

bool fl_wake_parse_schedstat(const char *text, uint64_t *run_delay_ns)
{
    char *end;
    errno = 0;
    (void)strtoull(text, &end, 10); /* time on a CPU */
    if (end == text || *end != ' ' || errno)
        return false;
    const char *p = end + 1;
    unsigned long long delay = strtoull(p, &end, 10);
    if (end == p || errno || (*end != ' ' && *end != '\n' && *end != '\0'))
        return false;
    *run_delay_ns = delay;
    return true;
}

static bool read_run_delay(const fl_wake *w, uint64_t *out)
{
    char buf[96];
    if (!w->tracking || w->schedstat_fd < 0)
        return false;
    ssize_t n = pread(w->schedstat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return fl_wake_parse_schedstat(buf, out);
}

void fl_wake_open(fl_wake *w)
{
    *w = (fl_wake){ .tracking = true, .schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC) };
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
    if (w->tracking)
        w->woke_ns = now_ns;
}

bool fl_wake_cpu_wait(const fl_wake *w, uint64_t *ns)
{
    if (!w->tracking) {
        *ns = w->cpu_wait_ns;
        return w->cpu_wait_known;
    }
    uint64_t now;
    if (!w->before_known || !read_run_delay(w, &now) || now < w->run_delay_before)
        return false;
    *ns = now - w->run_delay_before;
    return true;
}

void fl_wake_annotate(const fl_wake *w, json_t *ev)
{
    uint64_t cpu;
    if (!w || !ev || !w->woke_ns)
        return;
    if (w->wait_began_ns)
        json_object_set_new(ev, "wait_began", json_integer((json_int_t)w->wait_began_ns));
    json_object_set_new(ev, "woke", json_integer((json_int_t)w->woke_ns));
    if (fl_wake_cpu_wait(w, &cpu))
        json_object_set_new(ev, "cpu_wait", json_integer((json_int_t)cpu));
}
