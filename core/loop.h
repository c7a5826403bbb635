/* The event loop that the broker, the swarm and the runner share: epoll for
 * file descriptors, the timer heap for deadlines, nanosecond waits through
 * epoll_pwait2 so that a deadline is met to well under a millisecond. */
#ifndef FLATLINE_CORE_LOOP_H
#define FLATLINE_CORE_LOOP_H

#include <stdint.h>

#include "timer.h"

enum { FL_READ = 1u, FL_WRITE = 2u };

typedef struct fl_loop fl_loop;

/* events is FL_READ/FL_WRITE; hangups and errors are reported as FL_READ so the
 * handler finds them on its next read(). */
typedef void (*fl_io_fn)(fl_loop *loop, int fd, unsigned events, void *arg);

fl_loop *fl_loop_new(void);
void fl_loop_free(fl_loop *loop); /* does not close registered fds */

int fl_loop_add(fl_loop *loop, int fd, unsigned events, fl_io_fn fn, void *arg);
int fl_loop_modify(fl_loop *loop, int fd, unsigned events);
void fl_loop_remove(fl_loop *loop, int fd);

fl_timer_heap *fl_loop_timers(fl_loop *loop);
/* Records how late each pass runs (core/wake.h) and hands it to the timers'
 * callbacks through fl_loop_timers(loop)->wake. Costs two small reads of
 * /proc a wait: for processes whose detections are measured (the broker, the
 * swarm). Call from the thread that runs the loop. */
void fl_loop_track_wake(fl_loop *loop);
int fl_loop_timer_set(fl_loop *loop, fl_timer *t, uint64_t deadline_ns);
void fl_loop_timer_cancel(fl_loop *loop, fl_timer *t);

/* Runs until fl_loop_stop(). Returns 0, or -1 with errno if epoll fails. */
int fl_loop_run(fl_loop *loop);
/* One iteration: waits at most max_wait_ns (UINT64_MAX: until the next timer or
 * I/O), then dispatches I/O and due timers. Returns events handled, -1 on error. */
int fl_loop_once(fl_loop *loop, uint64_t max_wait_ns);
void fl_loop_stop(fl_loop *loop);

#endif
