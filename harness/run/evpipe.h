/* Reads a child's event log (docs/events.md) from a pipe inside the runner's
 * fl_loop: splits the byte stream into lines, parses each with jansson, and
 * hands every event to a callback, optionally copying the raw line to the
 * run's --events file first. */
#ifndef FLATLINE_HARNESS_EVPIPE_H
#define FLATLINE_HARNESS_EVPIPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/loop.h"

typedef struct fl_evpipe fl_evpipe;

/* ev is borrowed for the call. A line that is not a JSON object is passed as
 * NULL with the text, so the caller can say which process wrote garbage. */
typedef void (*fl_evpipe_fn)(fl_evpipe *p, json_t *ev, const char *line, void *arg);
/* Called once when the writer closed the pipe (or reading failed). */
typedef void (*fl_evpipe_eof_fn)(fl_evpipe *p, void *arg);

/* Takes ownership of fd (made non-blocking) and registers it with loop.
 * copy (may be NULL) receives every complete line as read. */
fl_evpipe *fl_evpipe_open(fl_loop *loop, int fd, const char *name, FILE *copy, fl_evpipe_fn on_event,
                          fl_evpipe_eof_fn on_eof, void *arg);
/* Unregisters and closes the fd; NULL is ignored. */
void fl_evpipe_close(fl_evpipe *p);

const char *fl_evpipe_name(const fl_evpipe *p);
bool fl_evpipe_at_eof(const fl_evpipe *p);
size_t fl_evpipe_lines(const fl_evpipe *p);

/* Feeds bytes as if read from the pipe; for tests (and used by the reader). */
void fl_evpipe_feed(fl_evpipe *p, const char *data, size_t len);

#endif
