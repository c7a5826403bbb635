/* The model's human table (flatline model). */
#include "model/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the human table ---------------------------------------------------- */

static void fmt_time(char *buf, size_t len, double s)
{
    if (!isfinite(s))
        snprintf(buf, len, "never");
    else if (s >= 3600)
        snprintf(buf, len, "%.1f h", s / 3600);
    else if (s >= 100)
        snprintf(buf, len, "%.0f s", s);
    else
        snprintf(buf, len, "%.3g s", s);
}

static const char *expect_name(fl_expect e)
{
    return e == FL_EXPECT_ALL ? "all" : e == FL_EXPECT_SOME ? "some" : "none";
}

static void fmt_tcp(char *buf, size_t len, const fl_model_tcp *t)
{
    int n = 0;
    if (t->keepalive)
        n = snprintf(buf, len, "keep-alive %g/%g/%d", t->idle_s, t->interval_s, t->count);
    else
        n = snprintf(buf, len, "keep-alive off");
    if (n >= 0 && (size_t)n < len && t->user_timeout_s > 0)
        n += snprintf(buf + n, len - (size_t)n, ", user timeout %g s", t->user_timeout_s);
    if (n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", retries2 %d", t->retries2);
}

/* What a detector that did not end the window could do on its own. */
static const char *loser_note(const fl_side_prediction *sp, int d)
{
    bool first = (sp->winners >> d) & 1, maybe = (sp->maybe >> d) & 1;
    if (maybe)
        return first ? "sometimes: can end it first" : "sometimes: never first here";
    return first ? "alone: can also end it first" : "alone: never first here";
}

/* The table reads at 80 columns: a row's columns take ROW_WIDTH; its text
 * follows when it fits, else goes under it, indented and wrapped. */
#define ROW_FMT "%-6s %-6s %8s %8s  %-18s"
#define ROW_WIDTH 50
#define LINE_WIDTH 80

/* A row's columns (padded) and its text. */
static void print_row(FILE *out, const char *side, const char *expect, const char *lo, const char *hi,
                      const char *detector, const char *text)
{
    char row[128];
    snprintf(row, sizeof row, ROW_FMT, side, expect, lo, hi, detector);
    if (ROW_WIDTH + 1 + strlen(text) <= LINE_WIDTH) {
        fprintf(out, "%s %s\n", row, text);
        return;
    }
    size_t end = strlen(row);
    while (end > 0 && row[end - 1] == ' ')
        end--;
    fprintf(out, "%.*s\n", (int)end, row);
    const char *p = text;
    while (*p) {
        size_t room = LINE_WIDTH - 4, n = strlen(p);
        if (n > room) {
            n = room;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = room; /* one word longer than a line */
        }
        fprintf(out, "    %.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* The fault's line: its kind, when it heals or the host boots again. */
static void print_fault(const fl_model_config *c, FILE *out)
{
    static const char *const faults[] = {"silent (cable-pull/partition)", "power-loss", "nat-expire",
                                         "nat-timeout", "degrade"};
    char more[64] = "";
    if (c->fault == FL_MF_POWER_LOSS && c->reboot_after_s > 0)
        snprintf(more, sizeof more, ", reboot after %g s", c->reboot_after_s);
    else if (c->fault_duration_s > 0)
        snprintf(more, sizeof more, ", heals after %g s", c->fault_duration_s);
    fprintf(out, "fault:   %s%s, windows from the %s\n", faults[c->fault], more,
            c->reference == FL_REF_FAULT ? "fault" : "last packet");
}

/* The client coming back, when the configuration says it does. */
static void print_reconnect(const fl_model_config *c, FILE *out)
{
    const fl_model_reconnect *r = &c->reconnect;
    const char *dup = c->broker.duplicate == FL_DUP_REJECT ? "rejects" : "takes over";
    char range[48];
    if (c->fault == FL_MF_POWER_LOSS && c->reboot_after_s > 0) {
        if (r->boot_hi_s > 0)
            fprintf(out, "return:  CONNECTs %s s after the reboot;\n         the broker %s a duplicate client id\n",
                    fl_model__range(range, sizeof range, r->boot_lo_s, r->boot_hi_s), dup);
        else
            fprintf(out, "return:  unknown after the reboot;\n         the broker %s a duplicate client id\n", dup);
    } else if (r->enabled && c->fault_duration_s > 0 && c->fault == FL_MF_SILENT) {
        fprintf(out, "return:  reconnect %s s after noticing, attempts of %g s;\n         the broker %s a duplicate client id\n",
                fl_model__range(range, sizeof range, r->delay_lo_s, r->delay_hi_s), r->attempt_s, dup);
    }
}

int fl_model_print(const fl_model_config *c, const fl_prediction *p, FILE *out)
{
    char a[96], b[96];
    fmt_tcp(a, sizeof a, &c->broker.tcp);
    fmt_tcp(b, sizeof b, &c->client.tcp);
    fprintf(out, "broker:  grace %g, %s\n", c->broker.grace, a);
    if (c->client.rule_unknown)
        fprintf(out, "client:  KeepAlive %g s, a black box (its own rule)\n", c->client.keepalive_s);
    else
        fprintf(out, "client:  KeepAlive %g s, strategy %s, %s\n", c->client.keepalive_s,
                fl_model__strategy_name(c->client.strategy), b);
    print_fault(c, out);
    print_reconnect(c, out);
    fprintf(out, "\n");
    print_row(out, "side", "expect", "earliest", "latest", "detector", "why");
    for (int s = 0; s < FL_SIDE_COUNT; s++) {
        const fl_side_prediction *sp = &p->side[s];
        if (!sp->applicable || sp->unknown) {
            print_row(out, fl_side_name((fl_side)s), sp->unknown ? "?" : "-", "-", "-", "-", sp->why);
            continue;
        }
        fmt_time(a, sizeof a, sp->window.lo_s);
        fmt_time(b, sizeof b, sp->window.hi_s);
        print_row(out, fl_side_name((fl_side)s), expect_name(sp->expect), isfinite(sp->window.lo_s) ? a : "-", b,
                  fl_detector_name(sp->winner), sp->why);
        /* The losers too: what the configuration would give without the winner. */
        for (int d = 1; d < FL_DET_COUNT && s != FL_SIDE_WILL; d++) {
            const fl_window *w = &sp->by_detector[d];
            if (d == (int)sp->winner || !isfinite(w->lo_s))
                continue;
            fmt_time(a, sizeof a, w->lo_s);
            fmt_time(b, sizeof b, w->hi_s);
            print_row(out, "", "", a, b, fl_detector_name((fl_detector)d), loser_note(sp, d));
        }
    }
    const fl_overhead *o = &p->overhead;
    fprintf(out, "\nheartbeat cost per connection-hour: %.0f packets, %.0f bytes\n    (MQTT %.0f/%.0f, TCP %.0f/%.0f)\n",
            o->packets_per_hour, o->bytes_per_hour, o->mqtt_packets_per_hour, o->mqtt_bytes_per_hour,
            o->tcp_packets_per_hour, o->tcp_bytes_per_hour);
    if (p->nat.present)
        fprintf(out, "NAT: %s\n", p->nat.why);
    if (p->warnings[0])
        fprintf(out, "warnings: %s\n", p->warnings);
    return ferror(out) ? -1 : 0;
}
