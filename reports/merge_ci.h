/* The CI outputs of a merged sweep (flatline merge --junit, --summary-md),
 * written from the combined report's JSON alone: the cells' fl_report
 * objects are on the machines that ran the shards. The same shape as flatline
 * run's for a sweep: a JUnit test suite per cell ("<scenario> [<cell>]") with
 * a test case per fault side's verdict and per expectation; a Markdown page
 * with the sweep's facts, every failed expectation and the compare tables. */
#ifndef FLATLINE_REPORTS_MERGE_CI_H
#define FLATLINE_REPORTS_MERGE_CI_H

#include <jansson.h>
#include <stddef.h>

/* Each writes path atomically. Returns 0, or -1 with err. */
int fl_merge_write_junit(const json_t *combined, const char *path, char *err, size_t errlen);
int fl_merge_write_markdown(const json_t *combined, const char *path, char *err, size_t errlen);

#endif
