/* A growable array in one call: the doubling realloc that every module wrote
 * for itself. fl_grow(&items, &cap, need, first) makes room for `need`
 * elements in `items` (capacity `cap`, in elements), starting at `first`
 * elements and doubling; it returns 0, or -1 with errno ENOMEM and the array
 * as it was. New elements are not initialised. */
#ifndef FLATLINE_CORE_GROW_H
#define FLATLINE_CORE_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* itemsp points to the array's pointer (of any element type): it is read and
 * written through memcpy, so the element type needs no cast to void *. */
static inline int fl_grow_bytes(void *itemsp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : (first ? first : 8);
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) {
            errno = ENOMEM;
            return -1;
        }
        n *= 2;
    }
    void *items;
    memcpy(&items, itemsp, sizeof items);
    void *grown = realloc(items, n * elem);
    if (!grown) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(itemsp, &grown, sizeof grown);
    *cap = n;
    return 0;
}

#define fl_grow(arrp, capp, need, first) fl_grow_bytes((arrp), (capp), (need), sizeof **(arrp), (first))

#endif
