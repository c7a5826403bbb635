/* Human outputs of a finished report: the terminal summary and Markdown
 * (the same table), and JUnit XML for CI systems (one test case per fault
 * side with a model window, one per expectation). */
#include "reports/report_impl.h"
#include "reports/junit.h"
#include "reports/table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool fl_report_want_color(FILE *out)
{
    const char *nc = getenv("NO_COLOR");
    return (!nc || !*nc) && isatty(fileno(out));
}

static const char *incomplete_why(const fl_report *r)
{
    return r->broken ? r->broken : "the run was interrupted";
}

static void window_text(char *buf, size_t len, const fl_report_fault *f, int side)
{
    if (!f->has_model) {
        snprintf(buf, len, "-");
        return;
    }
    const fl_side_prediction *sp = &f->model.side[side];
    if (sp->unknown) {
        snprintf(buf, len, "none: a black-box client keeps its own rule");
        return;
    }
    if (!sp->applicable || sp->expect == FL_EXPECT_NONE) {
        snprintf(buf, len, "none expected");
        return;
    }
    char lo[32], hi[32];
    fl_format_seconds(lo, sizeof lo, sp->window.lo_s);
    fl_format_seconds(hi, sizeof hi, sp->window.hi_s);
    snprintf(buf, len, "%s .. %s%s", lo, hi, sp->expect == FL_EXPECT_SOME ? " (some)" : "");
}

/* The measured close reasons of a side: "keepalive_timeout 20, reset 1". */
static void reasons_text(char *buf, size_t len, const fl_side_data *sd)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sd->nreasons && n < len; i++) {
        int k = snprintf(buf + n, len - n, "%s%s %zu", i ? ", " : "", sd->reasons[i].reason, sd->reasons[i].st.count);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    if (!buf[0])
        snprintf(buf, len, "-");
}

/* The model's prediction: its window and the detector it says ends it. */
static void prediction_text(char *buf, size_t len, const fl_report_fault *f, int side)
{
    char win[80];
    window_text(win, sizeof win, f, side);
    if (f->has_model && f->model.side[side].winner != FL_DET_NONE)
        snprintf(buf, len, "%s by %s", win, fl_detector_name(f->model.side[side].winner));
    else
        snprintf(buf, len, "%s", win);
}

/* Per connection, measured - predicted: "p99 0.4 ms, max 0.9 ms; unexplained
 * 0 of 25 (slack 2 ms)", or why there is none. */
static void residual_text(char *buf, size_t len, const fl_side_data *sd)
{
    if (!sd->resid_st.count) {
        snprintf(buf, len, "%s", sd->unpredicted ? "no per-connection prediction" : "-");
        return;
    }
    char unp[40] = "";
    if (sd->unpredicted)
        snprintf(unp, sizeof unp, ", %zu unpredicted", sd->unpredicted);
    snprintf(buf, len, "p99 %.1f ms, max %.1f ms; unexplained %zu of %zu (slack %.0f ms)%s", sd->resid_st.p99 * 1e3,
             sd->resid_st.max * 1e3, sd->unexplained, sd->resid_st.count, sd->slack_max * 1e3, unp);
}

/* A verdict short enough for the 80-column table. */
static const char *verdict_cell(fl_verdict v) { return v == FL_VERDICT_NOT_APPLICABLE ? "n/a" : fl_verdict_name(v); }

/* Detections later than their detector's slack that their own process's
 * record or the machine's timer probe explains (reports/report.h,
 * fl_lateness): "  late by the process, not the detector: 28 behind its own
 * work, 1 waiting for a CPU, 2 in a machine stall". */
static void process_late_text(char *buf, size_t len, const fl_side_data *sd)
{
    const struct {
        size_t n;
        const char *what;
    } parts[] = { { sd->queued, "behind its own work" },
                  { sd->cpu_waited, "waiting for a CPU" },
                  { sd->stalled, "in a machine stall" } };
    size_t used = (size_t)snprintf(buf, len, "  late by the process, not the detector:");
    const char *sep = " ";
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && used < len; i++) {
        if (!parts[i].n)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%zu %s", sep, parts[i].n, parts[i].what);
        sep = ", ";
    }
}

/* Terminal: one header row, a line per fault, a row per side (what was
 * measured, 80 columns), under it the measured reasons and the model's
 * prediction. Markdown (wide): a row per side with every column. */
static const char *const narrow_header[] = {"side", "detected", "undetected", "survived", "p50", "p99", "max",
                                            "verdict"};
static const char *const wide_header[] = {"fault", "side", "detected", "undetected", "survived", "p50", "p99", "max",
                                          "measured reasons", "model's window (prediction)",
                                          "model's detector (prediction)", "residual (measured - predicted per connection)",
                                          "unexplained", "verdict"};
#define NARROW_COLS 8
#define WIDE_COLS 14

static int fault_rows(const fl_report *r, fl_table *t, bool wide)
{
    fl_table_init(t, wide ? WIDE_COLS : NARROW_COLS);
    if (fl_table_row(t, wide ? wide_header : narrow_header, 0))
        return -1;
    for (size_t i = 0; i < r->nfaults; i++) {
        const fl_report_fault *f = r->faults[i];
        char title[200];
        snprintf(title, sizeof title, "%zu %s %s", i, f->kind, f->target);
        if (!wide) {
            char line[320];
            snprintf(line, sizeof line, "fault %s: %zu affected%s", title, f->nconns,
                     f->ngens > 1 ? ", cut again after reconnecting (generations below)" : "");
            if (fl_table_note(t, line))
                return -1;
        }
        for (int s = 0; s < FL_SIDE_COUNT; s++) {
            const fl_side_data *sd = &f->side[s];
            bool modelled = f->has_model && f->model.side[s].applicable && !f->model.side[s].unknown;
            /* Skip sides with nothing to say (e.g. no will configured, none seen). */
            if (!modelled && sd->lat.n == 0 && sd->undetected == 0 && sd->survived == 0)
                continue;
            char det[24], und[24], sur[24], p50[32], p99[32], max[32], reasons[200], model[120], win[80], res[320],
                unx[24];
            residual_text(res, sizeof res, sd);
            if (wide && (sd->queued || sd->cpu_waited || sd->stalled)) {
                char late[160];
                process_late_text(late, sizeof late, sd);
                size_t used = strlen(res);
                snprintf(res + used, sizeof res - used, ";%s", late + 1);
            }
            snprintf(unx, sizeof unx, "%zu", sd->unexplained);
            snprintf(det, sizeof det, "%zu", sd->st.count);
            snprintf(und, sizeof und, "%zu", sd->undetected);
            snprintf(sur, sizeof sur, "%zu", sd->survived);
            fl_format_seconds(p50, sizeof p50, sd->st.count ? sd->st.p50 : NAN);
            fl_format_seconds(p99, sizeof p99, sd->st.count ? sd->st.p99 : NAN);
            fl_format_seconds(max, sizeof max, sd->st.count ? sd->st.max : NAN);
            reasons_text(reasons, sizeof reasons, sd);
            char colour = sd->verdict == FL_VERDICT_OUTSIDE ? 'r' : sd->verdict == FL_VERDICT_INSIDE ? 'g' : 0;
            const char *side = fl_side_name((fl_side)s);
            int rc;
            if (wide) {
                window_text(win, sizeof win, f, s);
                const char *cells[WIDE_COLS] = {
                    title, side, det, und, sur, p50, p99, max, reasons, win,
                    f->has_model ? fl_detector_name(f->model.side[s].winner) : "-", res, unx,
                    fl_verdict_name(sd->verdict)};
                rc = fl_table_row(t, cells, colour);
            } else {
                const char *cells[NARROW_COLS] = {side, det, und, sur, p50, p99, max, verdict_cell(sd->verdict)};
                char line[320];
                prediction_text(model, sizeof model, f, s);
                rc = fl_table_row(t, cells, colour);
                snprintf(line, sizeof line, "  measured reasons: %s", reasons);
                rc = rc ? rc : fl_table_note(t, line);
                snprintf(line, sizeof line, "  model (prediction): %s", model);
                rc = rc ? rc : fl_table_note(t, line);
                if (sd->resid_st.count || sd->unpredicted) {
                    snprintf(line, sizeof line, "  residual: %s", res);
                    rc = rc ? rc : fl_table_note(t, line);
                }
                if (sd->queued || sd->cpu_waited || sd->stalled) {
                    process_late_text(line, sizeof line, sd);
                    rc = rc ? rc : fl_table_note(t, line);
                }
            }
            if (rc)
                return -1;
        }
        for (size_t g = 0; !wide && f->ngens > 1 && g < f->ngens; g++) {
            char line[240], p50[32];
            fl_format_seconds(p50, sizeof p50, f->gens[g].recovery_st.count ? f->gens[g].recovery_st.p50 : NAN);
            snprintf(line, sizeof line, "  generation %zu: %zu cut, %zu back (recovery p50 %s)", g + 1,
                     f->gens[g].affected, f->gens[g].recovery_st.count, p50);
            if (fl_table_note(t, line))
                return -1;
        }
    }
    return 0;
}

/* text at 80 columns: broken at blanks, continuation lines indented by 4. */
static void print_wrapped(FILE *out, const char *text) { fl_write_wrapped(out, text, 80, 4); }

static void overhead_line(const fl_report *r, char *buf, size_t len)
{
    if (!r->has_overhead) {
        snprintf(buf, len, "not measured");
        return;
    }
    int n = r->oh_reason[0]
                ? snprintf(buf, len, "not measured (%s)", r->oh_reason)
            : r->has_overhead_parts
                ? snprintf(buf, len, "%.0f packets, %.0f bytes per connection-hour over %zu idle connections (mqtt %.0f, "
                           "tcp %.0f packets)", fl_report_overhead_packets(r), fl_report_overhead_bytes(r),
                           r->oh_connections, r->oh_mqtt_packets / r->oh_conn_hours, r->oh_tcp_packets / r->oh_conn_hours)
                : snprintf(buf, len, "%.0f packets, %.0f bytes per connection-hour", fl_report_overhead_packets(r),
                           fl_report_overhead_bytes(r));
    if (r->has_model_overhead && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "; model (prediction): %.0f packets, %.0f bytes", r->model_overhead.packets_per_hour,
                 r->model_overhead.bytes_per_hour);
}

/* "fault 0: 25 back, p50 1.234 s, p99 2.345 s, max 2.400 s" per fault with reconnections. */
static void recovery_lines(const fl_report *r, FILE *out, const char *prefix)
{
    for (size_t i = 0; i < r->nfaults; i++) {
        const fl_stats *st = &r->faults[i]->recovery_st;
        if (!st->count)
            continue;
        char p50[32], p99[32], max[32];
        fl_format_seconds(p50, sizeof p50, st->p50);
        fl_format_seconds(p99, sizeof p99, st->p99);
        fl_format_seconds(max, sizeof max, st->max);
        char line[320];
        snprintf(line, sizeof line, "%srecovery after fault %zu: %zu reconnected, p50 %s, p99 %s, max %s", prefix, i,
                 st->count, p50, p99, max);
        print_wrapped(out, line);
    }
}

static void expectation_text(const fl_expectation *e, char *buf, size_t len)
{
    char actual[48];
    if (e->has_actual)
        snprintf(actual, sizeof actual, "%g", e->actual);
    else
        snprintf(actual, sizeof actual, "no value");
    snprintf(buf, len, "%s %s %g (actual %s)", e->metric, e->op, e->value, actual);
}

int fl_report_print_summary(const fl_report *r, FILE *out, bool colour)
{
    char head[1024];
    snprintf(head, sizeof head, "%s%s: %zu connections, %.1f s%s%s%s", r->scenario_name ? "scenario " : "report",
             r->scenario_name ? r->scenario_name : "", r->connections, r->duration_s,
             r->complete ? "" : " (INCOMPLETE: ", r->complete ? "" : incomplete_why(r), r->complete ? "" : ")");
    print_wrapped(out, head);
    fl_table t;
    if (fault_rows(r, &t, false)) {
        fl_table_free(&t);
        return -1;
    }
    if (r->nfaults)
        fl_table_print(&t, out, colour);
    else
        fprintf(out, "no faults\n");
    fl_table_free(&t);

    char line[256];
    recovery_lines(r, out, "");
    fprintf(out, "false disconnects: %zu\n", r->nfds);
    char text[400];
    overhead_line(r, line, sizeof line);
    snprintf(text, sizeof text, "heartbeat overhead: %s", line);
    print_wrapped(out, text);
    for (size_t i = 0; i < r->nexps; i++) {
        const fl_expectation *e = &r->exps[i];
        expectation_text(e, line, sizeof line);
        const char *tag = e->pass ? "PASS" : "FAIL";
        if (colour)
            fprintf(out, "%s%s\033[0m %s\n", e->pass ? "\033[32m" : "\033[1;31m", tag, line);
        else
            fprintf(out, "%s %s\n", tag, line);
    }
    return ferror(out) ? -1 : 0;
}

/* Renders into memory, then writes atomically like the JSON. */
typedef int (*render_fn)(const fl_report *r, FILE *out);

static int write_rendered(const fl_report *r, const char *path, render_fn fn, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = fn(r, mem);
    if (fclose(mem) || rc) {
        free(buf);
        snprintf(err, errlen, "%s: cannot render the report", path);
        return -1;
    }
    rc = fl_write_file_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

static int render_markdown(const fl_report *r, FILE *out)
{
    /* First line: the answer a CI reader looks for. */
    size_t failed = 0;
    for (size_t i = 0; i < r->nexps; i++)
        failed += !r->exps[i].pass;
    if (fl_report_passed(r) && r->complete)
        fprintf(out, "**PASS**: %zu of %zu expectations held\n\n", r->nexps, r->nexps);
    else if (!r->complete)
        fprintf(out, "**FAIL**: the run did not complete (%s)\n\n", incomplete_why(r));
    else
        fprintf(out, "**FAIL**: %zu of %zu expectations failed\n\n", failed, r->nexps);
    fprintf(out, "# flatline report%s%s\n\n", r->scenario_name ? ": " : "", r->scenario_name ? r->scenario_name : "");
    fprintf(out, "- flatline %s, kernel %s, seed %llu%s%s\n", r->version ? r->version : "?", r->kernel ? r->kernel : "?",
            (unsigned long long)r->seed, r->broker_scheduling ? ", broker at " : "",
            r->broker_scheduling ? r->broker_scheduling : "");
    fprintf(out, "- %zu connections, %.1f s%s%s%s\n", r->connections, r->duration_s,
            r->complete ? "" : ", **incomplete** (", r->complete ? "" : incomplete_why(r), r->complete ? "" : ")");
    fprintf(out, "- scenario SHA-256 `%s`\n\n", r->sha256[0] ? r->sha256 : "-");
    fprintf(out, "## Faults\n\n");
    fl_table t;
    if (fault_rows(r, &t, true)) {
        fl_table_free(&t);
        return -1;
    }
    if (r->nfaults)
        fl_table_markdown(&t, out);
    else
        fprintf(out, "No faults.\n");
    fl_table_free(&t);
    char line[256];
    overhead_line(r, line, sizeof line);
    fprintf(out, "\n");
    recovery_lines(r, out, "- ");
    fprintf(out, "\nFalse disconnects: %zu. Heartbeat overhead: %s.\n", r->nfds, line);
    if (r->nexps) {
        fprintf(out, "\n## Expectations\n\n");
        for (size_t i = 0; i < r->nexps; i++) {
            expectation_text(&r->exps[i], line, sizeof line);
            fprintf(out, "- %s `%s`\n", r->exps[i].pass ? "pass" : "**FAIL**", line);
        }
    }
    return 0;
}

int fl_report_write_markdown(const fl_report *r, const char *path, char *err, size_t errlen)
{
    return write_rendered(r, path, render_markdown, err, errlen);
}

static int render_junit(const fl_report *r, FILE *out)
{
    size_t tests = r->nexps, failures = 0, skipped = 0;
    for (size_t i = 0; i < r->nexps; i++)
        failures += !r->exps[i].pass;
    for (size_t i = 0; i < r->nfaults; i++)
        for (int s = 0; s < FL_SIDE_COUNT; s++) {
            fl_verdict v = r->faults[i]->side[s].verdict;
            tests++;
            failures += v == FL_VERDICT_OUTSIDE;
            skipped += v == FL_VERDICT_NO_MODEL || v == FL_VERDICT_NOT_APPLICABLE;
        }
    /* An interrupted or broken run is an error test case of its own: CI that
     * reads only the counts must not see an incomplete run as green. */
    size_t errors = !r->complete;
    tests += errors;
    const char *suite = r->scenario_name ? r->scenario_name : "flatline";
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", out);
    fl_junit_escaped(out, suite);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", tests,
            failures, skipped, errors, r->duration_s);
    if (errors) {
        fputs("    <testcase classname=\"", out);
        fl_junit_escaped(out, suite);
        fputs("\" name=\"the run completed\">\n      <error message=\"the report is incomplete: ", out);
        fl_junit_escaped(out, incomplete_why(r));
        fputs("\"/>\n    </testcase>\n", out);
    }
    char name[256], msg[512];
    for (size_t i = 0; i < r->nfaults; i++) {
        const fl_report_fault *f = r->faults[i];
        for (int s = 0; s < FL_SIDE_COUNT; s++) {
            const fl_side_data *sd = &f->side[s];
            snprintf(name, sizeof name, "faults[%zu] %s %s: %s detection inside the model window", i, f->kind,
                     f->target, fl_side_name((fl_side)s));
            char win[80];
            window_text(win, sizeof win, f, s);
            snprintf(msg, sizeof msg, "%zu of %zu detections outside %s; %zu undetected%s", sd->outside,
                     sd->st.count, win, sd->undetected, sd->late_undetected ? " after the window closed" : "");
            fl_junit_testcase(out, suite, name, sd->verdict == FL_VERDICT_OUTSIDE ? msg : NULL,
                     sd->verdict == FL_VERDICT_NO_MODEL || sd->verdict == FL_VERDICT_NOT_APPLICABLE);
        }
    }
    for (size_t i = 0; i < r->nexps; i++) {
        expectation_text(&r->exps[i], msg, sizeof msg);
        snprintf(name, sizeof name, "expect %s %s %g", r->exps[i].metric, r->exps[i].op, r->exps[i].value);
        fl_junit_testcase(out, suite, name, r->exps[i].pass ? NULL : msg, false);
    }
    if (!r->complete) {
        /* The reason may hold any text: escape it as the other strings are. */
        fputs("    <system-err>the report is incomplete: ", out);
        fl_junit_escaped(out, incomplete_why(r));
        fputs("</system-err>\n", out);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
    return 0;
}

int fl_report_write_junit(const fl_report *r, const char *path, char *err, size_t errlen)
{
    return write_rendered(r, path, render_junit, err, errlen);
}
