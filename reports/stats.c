#include "stats.h"
#include "core/grow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fl_samples_add(fl_samples *s, double x)
{
    if (fl_grow(&s->v, &s->cap, s->n + 1, 16) < 0)
        return -1;
    s->v[s->n++] = x;
    return 0;
}

void fl_samples_free(fl_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

double fl_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* The small epsilon keeps p x n that is an integer in exact arithmetic
     * (99 x 100 / 100) from rounding up through floating-point noise. */
    double rank = ceil(p / 100.0 * (double)n - 1e-9);
    if (rank < 1)
        rank = 1;
    if (rank > (double)n)
        rank = (double)n;
    return sorted[(size_t)rank - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fl_stats_compute(const double *v, size_t n, fl_stats *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    out->count = n;
    out->min = s[0];
    out->max = s[n - 1];
    out->mean = sum / (double)n;
    out->p50 = fl_percentile_sorted(s, n, 50);
    out->p90 = fl_percentile_sorted(s, n, 90);
    out->p99 = fl_percentile_sorted(s, n, 99);
    free(s);
    return 0;
}
