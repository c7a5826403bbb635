#include <criterion/criterion.h>
#include <math.h>

#include "reports/sha256.h"
#include "reports/stats.h"

Test(stats, ten_values_nearest_rank)
{
    /* Unsorted 1..10: rank ceil(p/100 x 10). */
    const double v[] = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};
    fl_stats st;
    cr_assert_eq(fl_stats_compute(v, 10, &st), 0);
    cr_assert_eq(st.count, 10);
    cr_assert_float_eq(st.min, 1, 1e-12);
    cr_assert_float_eq(st.max, 10, 1e-12);
    cr_assert_float_eq(st.mean, 5.5, 1e-12);
    cr_assert_float_eq(st.p50, 5, 1e-12);  /* rank 5 */
    cr_assert_float_eq(st.p90, 9, 1e-12);  /* rank 9 */
    cr_assert_float_eq(st.p99, 10, 1e-12); /* rank ceil(9.9) = 10 */
    cr_assert_float_eq(v[0], 7, 0, "input must not be reordered");
}

Test(stats, hundred_values)
{
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i; /* 100 .. 1 */
    fl_stats st;
    cr_assert_eq(fl_stats_compute(v, 100, &st), 0);
    cr_assert_float_eq(st.p50, 50, 1e-12);
    cr_assert_float_eq(st.p90, 90, 1e-12);
    cr_assert_float_eq(st.p99, 99, 1e-12); /* 99 x 100 / 100 is exactly rank 99 */
    cr_assert_float_eq(st.mean, 50.5, 1e-12);
}

Test(stats, three_values_and_one)
{
    const double v[] = {0.3, 0.1, 0.2};
    fl_stats st;
    fl_stats_compute(v, 3, &st);
    cr_assert_float_eq(st.p50, 0.2, 1e-12); /* rank ceil(1.5) = 2 */
    cr_assert_float_eq(st.p90, 0.3, 1e-12); /* rank ceil(2.7) = 3 */
    cr_assert_float_eq(st.mean, 0.2, 1e-12);
    const double one = 4.25;
    fl_stats_compute(&one, 1, &st);
    cr_assert(st.min == 4.25 && st.p50 == 4.25 && st.p99 == 4.25 && st.max == 4.25 && st.mean == 4.25);
}

Test(stats, empty)
{
    fl_stats st;
    cr_assert_eq(fl_stats_compute(NULL, 0, &st), 0);
    cr_assert_eq(st.count, 0);
    cr_assert_eq(st.p99, 0);
}

Test(stats, percentile_edges)
{
    const double s[] = {1, 2, 3, 4};
    cr_assert_float_eq(fl_percentile_sorted(s, 4, 25), 1, 1e-12);  /* rank 1 */
    cr_assert_float_eq(fl_percentile_sorted(s, 4, 26), 2, 1e-12);  /* rank ceil(1.04) = 2 */
    cr_assert_float_eq(fl_percentile_sorted(s, 4, 100), 4, 1e-12);
    cr_assert_float_eq(fl_percentile_sorted(s, 4, 0.001), 1, 1e-12);
}

Test(stats, samples_grow)
{
    fl_samples s = {0};
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(fl_samples_add(&s, i), 0);
    cr_assert_eq(s.n, 1000);
    cr_assert_float_eq(s.v[999], 999, 0);
    fl_samples_free(&s);
    cr_assert_null(s.v);
}

Test(sha256, known_vectors)
{
    char hex[FL_SHA256_HEX_LEN + 1];
    fl_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fl_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
