/* Error messages about a scenario file, each naming the JSON path at fault and
 * its line:column: "quickstart.json:12:9: $.faults[1].at: ...". */
#ifndef FLATLINE_HARNESS_DIAG_H
#define FLATLINE_HARNESS_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/scenario/jsonpos.h"

typedef struct fl_diag {
    const char *file;         /* named in every message */
    const fl_jsonpos *where;  /* may be NULL: messages then carry no line:column */
    FILE *out;                /* NULL: count and remember, print nothing */
    int errors;
    char first[512];          /* the first message, for callers and tests */
} fl_diag;

void fl_diag_init(fl_diag *d, const char *file, FILE *out);

/* One error about the value at path (key: point at the member's key instead). */
__attribute__((format(printf, 4, 5)))
void fl_diag_error(fl_diag *d, const char *path, bool key, const char *fmt, ...);

/* An error at an explicit position (jansson's syntax errors). */
__attribute__((format(printf, 4, 5)))
void fl_diag_error_at(fl_diag *d, int line, int column, const char *fmt, ...);

#endif
