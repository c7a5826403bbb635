#include "harness/run/progress.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"

void fl_progress_init(fl_progress *p, FILE *out, uint64_t start_ns)
{
    p->out = out;
    p->tty = isatty(fileno(out));
    p->color = p->tty && !getenv("NO_COLOR");
    p->line_shown = false;
    p->start_ns = start_ns;
    p->last_plain_ns = 0;
}

static void clear_line(fl_progress *p)
{
    if (p->line_shown) {
        fputs("\r\033[K", p->out);
        p->line_shown = false;
    }
}

void fl_progress_note(fl_progress *p, const char *fmt, ...)
{
    clear_line(p);
    double t = (double)(fl_now_ns() - p->start_ns) / 1e9;
    fprintf(p->out, "%s[%7.2fs]%s ", p->color ? "\033[2m" : "", t, p->color ? "\033[0m" : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}

void fl_progress_update(fl_progress *p, const fl_progress_state *s)
{
    uint64_t now = fl_now_ns();
    if (!p->tty) {
        if (p->last_plain_ns && now - p->last_plain_ns < 5 * FL_NS_PER_S)
            return;
        p->last_plain_ns = now;
    }
    char when[32];
    if (s->total_s > 0)
        snprintf(when, sizeof when, "%.1f/%.0fs", s->elapsed_s, s->total_s);
    else
        snprintf(when, sizeof when, "%.1fs", s->elapsed_s);
    if (p->tty) {
        clear_line(p);
        fprintf(p->out, "%s%-8s%s %s  up %zu/%zu  detected broker %zu client %zu  reconnects %zu  faults %zu/%zu",
                p->color ? "\033[1m" : "", s->phase, p->color ? "\033[0m" : "", when, s->up, s->expected,
                s->broker_detected, s->client_detected, s->reconnects, s->faults_done, s->faults);
        p->line_shown = true;
        fflush(p->out);
    } else {
        fl_progress_note(p, "%s %s: up %zu/%zu, detected by the broker %zu, by the clients %zu, reconnects %zu, "
                         "faults %zu/%zu", s->phase, when, s->up, s->expected, s->broker_detected,
                         s->client_detected, s->reconnects, s->faults_done, s->faults);
    }
}

void fl_progress_done(fl_progress *p)
{
    clear_line(p);
    fflush(p->out);
}
