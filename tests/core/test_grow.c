/* core/grow.h: room for what is asked, doubling, and an array left as it was
 * when the size cannot be had. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "core/grow.h"

Test(grow, starts_at_first_and_doubles)
{
    int *v = NULL;
    size_t cap = 0;
    cr_assert_eq(fl_grow(&v, &cap, 1, 4), 0);
    cr_assert_eq(cap, 4);
    for (int i = 0; i < 4; i++)
        v[i] = i;
    cr_assert_eq(fl_grow(&v, &cap, 4, 4), 0, "room already there");
    cr_assert_eq(cap, 4);
    cr_assert_eq(fl_grow(&v, &cap, 5, 4), 0);
    cr_assert_eq(cap, 8);
    cr_assert_eq(fl_grow(&v, &cap, 33, 4), 0, "several doublings in one call");
    cr_assert_eq(cap, 64);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(v[i], i, "elements survive the move");
    free(v);
}

Test(grow, zero_first_means_eight)
{
    double *v = NULL;
    size_t cap = 0;
    cr_assert_eq(fl_grow(&v, &cap, 1, 0), 0);
    cr_assert_eq(cap, 8);
    free(v);
}

Test(grow, overflow_leaves_the_array_alone)
{
    uint64_t *v = NULL;
    size_t cap = 0;
    cr_assert_eq(fl_grow(&v, &cap, 2, 2), 0);
    v[0] = 42;
    uint64_t *before = v;
    errno = 0;
    cr_assert_eq(fl_grow(&v, &cap, SIZE_MAX / 4, 2), -1);
    cr_assert_eq(errno, ENOMEM);
    cr_assert_eq(v, before);
    cr_assert_eq(cap, 2);
    cr_assert_eq(v[0], 42);
    free(v);
}
