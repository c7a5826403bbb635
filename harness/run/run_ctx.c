/* The run's spine: its lines in --events, its first failure, its phase, and
 * the loop run until something is done. */
#include "harness/run/run_ctx.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

static void copy_line(fl_run_ctx *run, json_t *line)
{
    if (run->events && line) {
        json_dumpf(line, run->events, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', run->events);
    }
}

void fl_run_event(fl_run_ctx *run, const char *ev, json_t *fields)
{
    json_t *line = json_pack("{s:I, s:s, s:s}", "t", (json_int_t)fl_now_ns(), "src", "runner", "ev", ev);
    if (fields)
        json_object_update(line, fields);
    json_decref(fields);
    copy_line(run, line);
    /* Test hook (tests/reliability): FLATLINE_TEST_PAUSE_AT=<phase> stops the
     * runner right after that phase or fault line ("connect", "steady",
     * "inject", "drain", ...), so that a test can kill it at a known point. */
    const char *pause_at = getenv("FLATLINE_TEST_PAUSE_AT");
    const char *phase = json_string_value(json_object_get(line, "phase"));
    if (pause_at && phase && strcmp(pause_at, phase) == 0)
        raise(SIGSTOP);
    json_decref(line);
}

void fl_run_take_line(fl_run_ctx *run, json_t *ev)
{
    fl_analysis_add(run->analysis, ev);
    copy_line(run, ev);
}

void fl_run_break(fl_run_ctx *run, const char *fmt, ...)
{
    /* The first cause is the one worth reading. After a signal, what stops
     * (a wait cut short: "did not report listening within 10 s") is the
     * interrupt's doing, not a break: the run is reported as interrupted. */
    if (run->broken || run->interrupted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->broken_msg, sizeof run->broken_msg, fmt, ap);
    va_end(ap);
    run->broken = true;
}

void fl_run_phase(fl_run_ctx *run, const char *phase)
{
    run->phase = phase;
    fl_run_event(run, "phase", json_pack("{s:s}", "phase", phase));
}

bool fl_run_wait(fl_run_ctx *run, bool (*done)(void *arg), void *arg, uint64_t deadline)
{
    for (;;) {
        if (done && done(arg))
            return true;
        if (run->broken || run->interrupted)
            return false;
        uint64_t now = fl_now_ns();
        if (now >= deadline)
            return done == NULL;
        if (fl_loop_once(run->loop, deadline - now) < 0 && errno != EINTR) {
            fl_run_break(run, "event loop: %s", strerror(errno));
            return false;
        }
    }
}
