/* The runner's progress output: every line it writes fits in 80 columns
 * (status lines with large counts, long notes broken at blanks, a path that
 * cannot be broken on a line of its own), each side's detections stay
 * apart, and a terminal's live status of two lines is cleared whole. Output
 * goes to memory: no terminal, no timing asserted (the time stamp's digits
 * are whatever the clock says). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness/run/progress.h"

typedef struct capture {
    char *buf;
    size_t len;
    FILE *f;
    fl_progress p;
} capture;

static void open_capture(capture *c)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->buf, &c->len);
    cr_assert_not_null(c->f);
    fl_progress_init(&c->p, c->f, fl_now_ns());
    cr_assert_not(c->p.tty, "a memory stream is no terminal");
}

static void close_capture(capture *c)
{
    fclose(c->f);
    free(c->buf);
}

/* Each line's width (ANSI sequences are not columns; there are none here). */
static size_t widest_line(const char *text, size_t *nlines)
{
    size_t widest = 0, n = 0;
    for (const char *p = text; *p;) {
        size_t w = strcspn(p, "\n");
        if (w > widest)
            widest = w;
        n++;
        p += w;
        if (*p == '\n')
            p++;
    }
    if (nlines)
        *nlines = n;
    return widest;
}

/* An unscaled run in virtual time, at the scale of docs/benchmarks.md. */
static const fl_progress_state big = {
    .phase = "faults", .elapsed_s = 7874.9, .total_s = 8000, .up = 18999, .expected = 19000,
    .reconnects = 18999, .broker_detected = 12345, .client_detected = 12346, .faults_done = 12, .faults = 12,
};

Test(progress, status_text_keeps_each_sides_count_apart)
{
    fl_progress_state s = { .phase = "faults", .elapsed_s = 10.94, .total_s = 25, .up = 151, .expected = 201,
                            .reconnects = 3, .broker_detected = 50, .client_detected = 49, .faults_done = 1,
                            .faults = 2 };
    char l1[200], l2[200];
    fl_progress_status_text(&s, l1, sizeof l1, l2, sizeof l2);
    cr_expect_str_eq(l1, "faults 10.9/25s: up 151/201, reconnects 3, faults 1/2");
    cr_expect_str_eq(l2, "detected by the broker 50, by the clients 49");
    s.total_s = 0;
    s.phase = "connect";
    fl_progress_status_text(&s, l1, sizeof l1, l2, sizeof l2);
    cr_expect_str_eq(l1, "connect 10.9s: up 151/201, reconnects 3, faults 1/2", "no total before the measurement");
}

Test(progress, plain_status_is_two_lines_of_80_columns)
{
    capture c;
    open_capture(&c);
    fl_progress_update(&c.p, &big);
    fflush(c.f);
    size_t lines;
    size_t widest = widest_line(c.buf, &lines);
    cr_expect_leq(widest, 80, "a line of %zu columns:\n%s", widest, c.buf);
    cr_expect_eq(lines, 2, "%s", c.buf);
    cr_expect_not_null(strstr(c.buf, "s] faults 7874.9/8000s: up 18999/19000, reconnects 18999, faults 12/12\n"),
                       "%s", c.buf);
    cr_expect_not_null(strstr(c.buf, "\n           detected by the broker 12345, by the clients 12346\n"),
                       "the second line under the first's message: %s", c.buf);
    close_capture(&c);
}

Test(progress, plain_status_wraps_rather_than_overflows)
{
    capture c;
    open_capture(&c);
    fl_progress_state huge = big;
    huge.up = huge.expected = huge.reconnects = 6400000;
    fl_progress_update(&c.p, &huge);
    fflush(c.f);
    size_t lines;
    size_t widest = widest_line(c.buf, &lines);
    cr_expect_leq(widest, 80, "a line of %zu columns:\n%s", widest, c.buf);
    cr_expect_eq(lines, 3, "%s", c.buf);
    cr_expect_not_null(strstr(c.buf, "faults\n           12/12\n"), "%s", c.buf);
    close_capture(&c);
}

Test(progress, plain_status_at_most_every_five_seconds)
{
    capture c;
    open_capture(&c);
    fl_progress_update(&c.p, &big);
    fl_progress_update(&c.p, &big);
    fflush(c.f);
    size_t lines;
    widest_line(c.buf, &lines);
    cr_expect_eq(lines, 2, "one status of two lines, not two: %s", c.buf);
    close_capture(&c);
}

Test(progress, long_notes_break_at_blanks_under_the_message)
{
    capture c;
    open_capture(&c);
    const char *words = "warning: mosquitto wrote a line that is not a JSON object: 1702891234 New "
                        "connection from 198.18.1.2:40312";
    fl_progress_note(&c.p, "%s", words);
    fflush(c.f);
    size_t lines;
    size_t widest = widest_line(c.buf, &lines);
    cr_expect_leq(widest, 80, "a line of %zu columns:\n%s", widest, c.buf);
    cr_expect_eq(lines, 2, "%s", c.buf);
    /* the continuation is indented under the message, and joined again it is the message */
    const char *nl = strchr(c.buf, '\n');
    cr_assert_not_null(nl);
    cr_expect_eq(strspn(nl + 1, " "), 11, "%s", c.buf);
    char joined[400];
    snprintf(joined, sizeof joined, "%.*s %s", (int)(nl - c.buf - 11), c.buf + 11, nl + 1 + 11);
    joined[strcspn(joined, "\n")] = '\0';
    cr_expect_str_eq(joined, words);
    close_capture(&c);
}

Test(progress, a_long_path_gets_a_line_of_its_own)
{
    capture c;
    open_capture(&c);
    fl_progress_note(&c.p, "scenario %s: %s", "mosquitto-vs-reference", "scenarios/mosquitto-vs-reference.json");
    const char *path = "/a/very/long/directory/that/cannot/be/broken/anywhere/at/all/in/any/way/scenario.json";
    fl_progress_note(&c.p, "scenario x: %s", path);
    fflush(c.f);
    cr_expect_not_null(strstr(c.buf, "] scenario mosquitto-vs-reference:\n           "
                                     "scenarios/mosquitto-vs-reference.json\n"), "%s", c.buf);
    char want[200];
    snprintf(want, sizeof want, "] scenario x:\n           %s\n", path);
    cr_expect_not_null(strstr(c.buf, want), "%s", c.buf);
    close_capture(&c);
}

Test(progress, terminal_status_is_two_lines_cleared_whole)
{
    capture c;
    open_capture(&c);
    c.p.tty = true; /* as on a terminal, without colour */
    fl_progress_update(&c.p, &big);
    fflush(c.f);
    cr_expect_eq(c.p.lines_shown, 2);
    size_t widest = widest_line(c.buf, NULL);
    cr_expect_leq(widest, 80, "a line of %zu columns:\n%s", widest, c.buf);
    cr_expect_not_null(strstr(c.buf, "faults 7874.9/8000s: up 18999/19000"), "%s", c.buf);
    size_t before = c.len;
    fl_progress_note(&c.p, "cable-pull devices[0] healed");
    fflush(c.f);
    /* both lines cleared, bottom up, before the note takes their place */
    cr_expect_eq(strncmp(c.buf + before, "\r\033[K\033[A\r\033[K[", 12), 0, "%s", c.buf + before);
    cr_expect_eq(c.p.lines_shown, 0);
    fl_progress_done(&c.p);
    close_capture(&c);
}
