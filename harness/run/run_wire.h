/* The broker host's wire, watched for the run: the capture (heartbeat
 * traffic for the overhead, FIN/RST for a black-box broker's closes, --pcap)
 * and, for a broker without an event log, the socket watch. Their lines go
 * into the analysis through the run's spine. */
#ifndef FLATLINE_HARNESS_RUN_WIRE_H
#define FLATLINE_HARNESS_RUN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/wire/capture.h"
#include "harness/run/run_ctx.h"
#include "harness/wire/sockwatch.h"

typedef struct fl_run_wire {
    fl_run_ctx *run;
    struct fl_capture *capture;     /* NULL: off, or closed before the report */
    struct fl_sockwatch *sockwatch; /* a black-box broker: its closes, from socket states */
    bool captured;                  /* the capture ran */
    fl_conn_heartbeats *heartbeats; /* the capture's counts at the end of the steady phase */
    size_t nheartbeats;
    bool heartbeats_counted;
    uint64_t heartbeats_ns; /* when they were counted: the overhead's window ends there */
} fl_run_wire;

/* Opens what the broker's driver needs; -1 (the run broken) when that fails.
 * A capture wanted only for the overhead may fail with a warning. */
int fl_run_wire_open(fl_run_wire *w);
/* The heartbeat counts at the end of the measurement (runs the loop 100 ms). */
void fl_run_wire_count_heartbeats(fl_run_wire *w);
/* Reads what is still buffered and closes, before the namespaces go. */
void fl_run_wire_close(fl_run_wire *w);
void fl_run_wire_free(fl_run_wire *w);

#endif
