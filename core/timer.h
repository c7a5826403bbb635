/* Intrusive timers in a binary min-heap: O(log n) arm, move and cancel, O(1)
 * peek at the earliest deadline. A timer lives inside the object it times
 * (a connection, a client), so arming one never allocates beyond heap growth. */
#ifndef FLATLINE_CORE_TIMER_H
#define FLATLINE_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_timer fl_timer;
typedef void (*fl_timer_fn)(fl_timer *t, uint64_t now_ns, void *arg);

struct fl_timer {
    uint64_t deadline_ns;
    uint64_t seq; /* tie-break: equal deadlines fire in arming order */
    fl_timer_fn fire;
    void *arg;
    /* 32 bits each, so that the two share one word: a timer lives in every
     * broker connection, and 8 bytes more made the connection cross a malloc
     * size class (16 B more per connection). */
    uint32_t slot; /* position in the heap + 1; 0 = not armed */
    int watch; /* 1 + the descriptor whose silence it times, 0: none (a zeroed timer watches nothing) */
};

struct fl_wake;

typedef struct fl_timer_heap {
    fl_timer **items;
    size_t len, cap;
    uint64_t next_seq;
    /* The pass of the event loop that runs these timers, when that loop
     * tracks its lateness (core/wake.h): a callback that reports a detection
     * says how late its pass ran. NULL without such a loop (tests). */
    const struct fl_wake *wake;
} fl_timer_heap;

void fl_timer_init(fl_timer *t, fl_timer_fn fire, void *arg);
static inline bool fl_timer_armed(const fl_timer *t) { return t->slot != 0; }
/* Says that t times out fd's silence (a keep-alive or ping deadline). When t
 * is due while fd's readiness waits unhandled in the event loop's current
 * batch, the loop handles fd first: input that arrived before the deadline
 * was checked is never reported as silence. fd -1: none (the default). */
static inline void fl_timer_watch(fl_timer *t, int fd) { t->watch = fd >= 0 ? fd + 1 : 0; }

void fl_timer_heap_init(fl_timer_heap *h);
void fl_timer_heap_free(fl_timer_heap *h);

/* Arms t for deadline_ns, or moves it there if it is already armed.
 * Returns -1 only when the heap cannot grow (ENOMEM, or ENOSPC past 2^32 - 2
 * timers). */
int fl_timer_set(fl_timer_heap *h, fl_timer *t, uint64_t deadline_ns);
void fl_timer_cancel(fl_timer_heap *h, fl_timer *t);

/* The earliest armed timer, or NULL. */
static inline fl_timer *fl_timer_peek(const fl_timer_heap *h) { return h->len ? h->items[0] : NULL; }

/* Disarms and fires, in deadline order, every timer due at now_ns. A callback
 * may re-arm its own timer or others; one re-armed at or before now_ns fires
 * again in this same call. Returns how many fired. */
size_t fl_timer_run_due(fl_timer_heap *h, uint64_t now_ns);

#endif
