/* What a person watching a run sees: on a terminal a live status of two
 * lines (rewritten in place), otherwise plain timestamped lines. Every line
 * fits in FL_PROGRESS_COLUMNS: longer messages are broken at blanks, their
 * continuation lines indented under the message. Colour only on a terminal
 * and without NO_COLOR. */
#ifndef FLATLINE_HARNESS_PROGRESS_H
#define FLATLINE_HARNESS_PROGRESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FL_PROGRESS_COLUMNS 80

typedef struct fl_progress {
    FILE *out;
    bool tty, color;
    int lines_shown;  /* lines of the live status on screen, to be cleared first */
    uint64_t start_ns;
    uint64_t last_plain_ns;
} fl_progress;

typedef struct fl_progress_state {
    const char *phase;
    double elapsed_s, total_s; /* total 0: unknown */
    size_t up, expected, reconnects;
    size_t broker_detected, client_detected; /* per side: one death is noticed by both */
    size_t faults_done, faults;
} fl_progress_state;

void fl_progress_init(fl_progress *p, FILE *out, uint64_t start_ns);
/* A message that stays: "[  3.2s] cable-pull devices[0] injected". */
__attribute__((format(printf, 2, 3)))
void fl_progress_note(fl_progress *p, const char *fmt, ...);
/* The status in two lines of text, without time stamp or indentation:
 * "faults 10.9/25s: up 151/201, reconnects 0, faults 1/1" and
 * "detected by the broker 50, by the clients 50" (each side's count on its
 * own: one death is noticed by both). */
void fl_progress_status_text(const fl_progress_state *s, char *line1, size_t len1, char *line2, size_t len2);
/* The live status; without a terminal printed at most every 5 s. */
void fl_progress_update(fl_progress *p, const fl_progress_state *s);
/* Clears the live line (before the summary). */
void fl_progress_done(fl_progress *p);

#endif
