#include "timer.h"
#include "core/grow.h"

#include <errno.h>
#include <stdlib.h>

void fl_timer_init(fl_timer *t, fl_timer_fn fire, void *arg)
{
    t->deadline_ns = 0;
    t->slot = 0;
    t->seq = 0;
    t->fire = fire;
    t->arg = arg;
    t->watch = 0;
}

void fl_timer_heap_init(fl_timer_heap *h)
{
    h->items = NULL;
    h->len = h->cap = 0;
    h->next_seq = 0;
    h->wake = NULL;
}

void fl_timer_heap_free(fl_timer_heap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->items[i]->slot = 0;
    free(h->items);
    fl_timer_heap_init(h);
}

static bool earlier(const fl_timer *a, const fl_timer *b)
{
    return a->deadline_ns < b->deadline_ns || (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static void place(fl_timer_heap *h, size_t i, fl_timer *t)
{
    h->items[i] = t;
    t->slot = (uint32_t)(i + 1);
}

static void sift_up(fl_timer_heap *h, size_t i)
{
    fl_timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(fl_timer_heap *h, size_t i)
{
    fl_timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && earlier(h->items[child + 1], h->items[child]))
            child++;
        if (!earlier(h->items[child], t))
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

int fl_timer_set(fl_timer_heap *h, fl_timer *t, uint64_t deadline_ns)
{
    if (fl_timer_armed(t)) {
        /* Moving keeps the heap valid with one sift in the right direction. */
        bool sooner = deadline_ns < t->deadline_ns;
        t->deadline_ns = deadline_ns;
        t->seq = h->next_seq++;
        if (sooner)
            sift_up(h, t->slot - 1);
        else
            sift_down(h, t->slot - 1);
        return 0;
    }
    if (h->len >= UINT32_MAX - 1) {
        errno = ENOSPC; /* slot is 32 bits */
        return -1;
    }
    if (fl_grow(&h->items, &h->cap, h->len + 1, 64) < 0)
        return -1;
    t->deadline_ns = deadline_ns;
    t->seq = h->next_seq++;
    h->items[h->len] = t;
    t->slot = (uint32_t)++h->len;
    sift_up(h, h->len - 1);
    return 0;
}

void fl_timer_cancel(fl_timer_heap *h, fl_timer *t)
{
    if (!fl_timer_armed(t))
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    fl_timer *last = h->items[--h->len];
    if (i == h->len)
        return;
    place(h, i, last);
    if (i > 0 && earlier(last, h->items[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

size_t fl_timer_run_due(fl_timer_heap *h, uint64_t now_ns)
{
    size_t fired = 0;
    fl_timer *t;
    while ((t = fl_timer_peek(h)) && t->deadline_ns <= now_ns) {
        fl_timer_cancel(h, t);
        fired++;
        t->fire(t, now_ns, t->arg);
    }
    return fired;
}
