/* The one metric grammar: a path ("faults[0].broker.p99", "false_disconnects",
 * "overhead.bytes_per_conn_hour") names one number of a single-run report's
 * JSON (docs/report-format.md, "Metric paths", lists them all). Expectations
 * (fl_report_finish), compare's --fail-on gates and flatline plot's --metric
 * all read metrics here, so a path means the same thing everywhere.
 *
 * The paths are a table in metric.c: adding a metric is one line there (and
 * one row in the docs' table; a test checks that they agree). Old spellings
 * stay accepted as aliases of the canonical path. */
#ifndef FLATLINE_REPORTS_METRIC_H
#define FLATLINE_REPORTS_METRIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Checks the spelling of path against the grammar without a report (a fault
 * index is not checked against any report). Returns 0, or -1 with err naming
 * the path and what is wrong ("faults[0].broker.p42: ..."). */
int fl_metric_check(const char *path, char *err, size_t errlen);

/* The value of path in one single-run report JSON. *has is false when the
 * metric exists but has no value (a statistic of no samples, an overhead that
 * was not measured); *v is then NAN. Returns 0, or -1 with err naming the
 * path (unknown metric, no such fault, a window of a fault with no model). */
int fl_metric_get(const json_t *report, const char *path, double *v, bool *has, char *err, size_t errlen);

/* The grammar's entries, for documentation checks and --help: the i-th
 * entry's path as written in docs/report-format.md ("faults[i].<side>.p99" is
 * written "faults[i].<side>.<stat>"), whether it is an alias, and of what.
 * Returns false past the last entry. */
typedef struct fl_metric_info {
    const char *path;     /* "faults[i].recovery.<stat>", "overhead.bytes" */
    const char *alias_of; /* NULL, or the canonical path ("overhead.bytes_per_conn_hour") */
} fl_metric_info;
bool fl_metric_entry(size_t i, fl_metric_info *out);

#endif
