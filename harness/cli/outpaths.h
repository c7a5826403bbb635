/* The output paths of `flatline run` (-o, --events, --junit, --summary-md),
 * checked before anything is created: each must be writable where it is
 * (reports/report.h: fl_output_path_check) and no two may name the same file
 * (the report would overwrite the events). */
#ifndef FLATLINE_HARNESS_CLI_OUTPATHS_H
#define FLATLINE_HARNESS_CLI_OUTPATHS_H

#include <stddef.h>

typedef struct fl_outpath {
    const char *option; /* "-o", "--events", ... */
    const char *path;   /* NULL: not given */
} fl_outpath;

/* Prints one line per problem to stderr; returns how many there were. */
int fl_outpaths_check(const fl_outpath *paths, size_t n);

#endif
