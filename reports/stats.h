/* Summary statistics of latency samples. Pure functions.
 * Percentiles are nearest-rank: p-th percentile of n sorted values is the
 * value at rank ceil(p/100 x n) (1-based), so it is always a measured value. */
#ifndef FLATLINE_REPORTS_STATS_H
#define FLATLINE_REPORTS_STATS_H

#include <stddef.h>

typedef struct fl_stats {
    size_t count;
    double min, p50, p90, p99, max, mean; /* 0 when count is 0 */
} fl_stats;

/* A growable array of samples. */
typedef struct fl_samples {
    double *v;
    size_t n, cap;
} fl_samples;

int fl_samples_add(fl_samples *s, double x); /* -1 on ENOMEM */
void fl_samples_free(fl_samples *s);

/* Nearest-rank percentile of sorted values (n > 0, 0 < p <= 100). */
double fl_percentile_sorted(const double *sorted, size_t n, double p);
/* Statistics of n values (any order; v is not changed). Returns -1 on ENOMEM. */
int fl_stats_compute(const double *v, size_t n, fl_stats *out);

#endif
