/* Event logs: one JSON object a line, each stamped with CLOCK_MONOTONIC ns.
 * The broker and the swarm write them; the runner reads them (docs/events.md).
 * Each event is one write(2), so lines from a crashing process are whole and a
 * reader on a pipe sees them as they happen. */
#ifndef FLATLINE_CORE_EVLOG_H
#define FLATLINE_CORE_EVLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_evlog fl_evlog;

/* spec: a file path (created or truncated), "-" for stdout, "fd:N" for an
 * inherited descriptor, or NULL for a log that drops everything. source names
 * the writer ("broker", "swarm", "runner") and goes into every line as "src".
 * On failure returns NULL and says why in err. */
fl_evlog *fl_evlog_open(const char *spec, const char *source, char *err, size_t errlen);
void fl_evlog_close(fl_evlog *log);

/* Writes ev (a JSON object; the reference is stolen) with "t" = now and
 * "src" added in front. ev may be NULL (json_pack failure) and is then ignored.
 * Returns 0, or -1 if the write failed. */
int fl_evlog_emit(fl_evlog *log, json_t *ev);
/* The same with an explicit timestamp, for events timed before they are logged. */
int fl_evlog_emit_at(fl_evlog *log, uint64_t t_ns, json_t *ev);

/* "198.18.0.2:1883" or "[fd00::1]:1883" for a sockaddr; buf needs 64 bytes. */
struct sockaddr;
const char *fl_format_addr(const struct sockaddr *sa, char *buf, size_t len);

#endif
