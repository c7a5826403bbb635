#include "harness/run/progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

void fl_progress_init(fl_progress *p, FILE *out, uint64_t start_ns)
{
    p->out = out;
    p->tty = isatty(fileno(out));
    p->color = p->tty && !getenv("NO_COLOR");
    p->lines_shown = 0;
    p->start_ns = start_ns;
    p->last_plain_ns = 0;
}

/* The live block is on screen with the cursor at the end of its last line:
 * each of its lines is cleared, bottom up, leaving the cursor where it began. */
static void clear_live(fl_progress *p)
{
    for (int i = 0; i < p->lines_shown; i++)
        fputs(i ? "\033[A\r\033[K" : "\r\033[K", p->out);
    p->lines_shown = 0;
}

/* text from column col on, at most FL_PROGRESS_COLUMNS wide: broken at
 * blanks and at '\n', each continuation line indented to column indent. A
 * word longer than a line (a path) is written whole on a line of its own.
 * Returns how many lines it wrote; the last is not ended. */
static int write_wrapped(FILE *out, const char *text, size_t col, size_t indent)
{
    int lines = 1;
    bool line_empty = true;
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
            line_empty = true;
            lines++;
            p++;
            continue;
        }
        size_t blanks = strspn(p, " ");
        size_t word = strcspn(p + blanks, " \n");
        if (!line_empty && col + blanks + word > FL_PROGRESS_COLUMNS) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
            lines++;
            p += blanks; /* the break replaces the blanks */
            blanks = 0;
        }
        fwrite(p, 1, blanks + word, out);
        col += blanks + word;
        p += blanks + word;
        line_empty = false;
    }
    return lines;
}

void fl_progress_note(fl_progress *p, const char *fmt, ...)
{
    clear_live(p);
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    double t = (double)(fl_now_ns() - p->start_ns) / 1e9;
    char stamp[32];
    int width = snprintf(stamp, sizeof stamp, "[%7.2fs] ", t);
    if (width < 0)
        width = 0;
    if (p->color)
        fprintf(p->out, "\033[2m%.*s\033[0m ", width - 1, stamp);
    else
        fputs(stamp, p->out);
    write_wrapped(p->out, text, (size_t)width, (size_t)width);
    fputc('\n', p->out);
    fflush(p->out);
    free(text);
}

void fl_progress_status_text(const fl_progress_state *s, char *line1, size_t len1, char *line2, size_t len2)
{
    char when[48];
    if (s->total_s > 0)
        snprintf(when, sizeof when, "%.1f/%.0fs", s->elapsed_s, s->total_s);
    else
        snprintf(when, sizeof when, "%.1fs", s->elapsed_s);
    snprintf(line1, len1, "%s %s: up %zu/%zu, reconnects %zu, faults %zu/%zu", s->phase, when, s->up, s->expected,
             s->reconnects, s->faults_done, s->faults);
    snprintf(line2, len2, "detected by the broker %zu, by the clients %zu", s->broker_detected, s->client_detected);
}

void fl_progress_update(fl_progress *p, const fl_progress_state *s)
{
    uint64_t now = fl_now_ns();
    if (!p->tty) {
        if (p->last_plain_ns && now - p->last_plain_ns < 5 * FL_NS_PER_S)
            return;
        p->last_plain_ns = now;
    }
    char line1[200], line2[200];
    fl_progress_status_text(s, line1, sizeof line1, line2, sizeof line2);
    if (!p->tty) {
        fl_progress_note(p, "%s\n%s", line1, line2);
        return;
    }
    /* Two lines rewritten in place, the second under the first's time. */
    clear_live(p);
    size_t phase_len = strlen(s->phase);
    if (p->color)
        fprintf(p->out, "\033[1m%s\033[0m", s->phase);
    else
        fputs(s->phase, p->out);
    size_t indent = phase_len + 1;
    p->lines_shown = write_wrapped(p->out, line1 + phase_len, phase_len, indent);
    fprintf(p->out, "\n%*s", (int)indent, "");
    p->lines_shown += write_wrapped(p->out, line2, indent, indent);
    fflush(p->out);
}

void fl_progress_done(fl_progress *p)
{
    clear_live(p);
    fflush(p->out);
}
