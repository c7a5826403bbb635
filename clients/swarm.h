/* The swarm: N MQTT clients in one process on one fl_loop. Each client
 * connects (non-blocking, through a bounded ramp), keeps its heartbeat
 * strategy, publishes its workload, dies, and reconnects by its group's
 * policy; everything it does goes to the event log (docs/events.md). */
#ifndef FLATLINE_CLIENTS_SWARM_H
#define FLATLINE_CLIENTS_SWARM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clients/config.h"
#include "core/evlog.h"
#include "core/loop.h"

typedef struct swarm swarm;

typedef struct swarm_counters {
    uint64_t clients, connected, connecting, dead, reconnects, pings, pingresps;
    uint64_t bytes_in, bytes_out, published, skipped, received, wills;
} swarm_counters;

typedef struct swarm_options {
    bool log_pings;
} swarm_options;

/* cfg must outlive the swarm; log is borrowed. Resolves the broker and source
 * addresses (err names the one at fault) but opens no connection yet. */
swarm *swarm_new(fl_loop *loop, const swarm_config *cfg, fl_evlog *log, const swarm_options *opt, char *err,
                 size_t errlen);
void swarm_free(swarm *s); /* closes every connection without a word */

/* Queues every client for its first connect; the ramp opens them. */
int swarm_start(swarm *s);
/* Sends DISCONNECT on every live connection, closes them all and stops the loop. */
void swarm_stop(swarm *s);

void swarm_get_counters(const swarm *s, swarm_counters *out);
void swarm_emit_counters(swarm *s);
void swarm_print_counters(const swarm *s, FILE *f);

/* Descriptors the swarm needs besides one a client (loop, log, signals, ...). */
#define SWARM_FD_OVERHEAD 32u

#endif
