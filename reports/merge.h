/* flatline merge: the partial reports of a sharded sweep (flatline run
 * --shard K/N, docs/scale-out.md) joined into the combined report that one
 * unsharded run of the sweep writes: cells in the matrix's order, each cell's
 * report as its shard wrote it (expectations included), the run's totals
 * summed as the sweep sums them. Works on report JSON alone. */
#ifndef FLATLINE_REPORTS_MERGE_H
#define FLATLINE_REPORTS_MERGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fl_merge_part {
    const char *name; /* the file, for messages */
    json_t *doc;      /* borrowed */
} fl_merge_part;

/* Joins n parts. Refused, with err naming the file and the cell: a document
 * that is not a partial report; parts of different sweeps (scenario sha256,
 * shard count, flatline version); a cell in two parts; a cell in no part; a
 * part that did not run all its cells or did not complete (unless
 * allow_incomplete: then the merged report says complete: false, as a
 * broken unsharded run's does). *code gets the exit code the unsharded run
 * would have had (0 every expectation held, 1 one failed, 4 a cell broke or
 * is missing). Returns a new reference, or NULL. */
json_t *fl_merge(const fl_merge_part *parts, size_t n, bool allow_incomplete, int *code, char *err, size_t errlen);

/* "groups[0].keepalive=2 broker.options.grace=1.5": the label of cell i of a
 * report's "matrix" ({"mode", "params": {path: [values]}}), as flatline run
 * prints it. */
void fl_merge_cell_label(const json_t *matrix, size_t cell, char *buf, size_t len);

#endif
