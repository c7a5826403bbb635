/* Watches the broker host's established TCP connections through sock_diag
 * (NETLINK_SOCK_DIAG, the interface of ss(8)) and reports each one that stops
 * being established: the moment a broker without an event log (a black-box
 * driver) closed it. The FIN itself may never reach the wire (its neighbour entry is
 * gone after a cable pull), so the socket state is the reliable witness.
 * Polled on the runner's loop; precise to the poll interval. */
#ifndef FLATLINE_HARNESS_SOCKWATCH_H
#define FLATLINE_HARNESS_SOCKWATCH_H

#include <jansson.h>
#include <stdint.h>

#include "core/loop.h"
#include "netem/netem.h"

typedef struct fl_sockwatch fl_sockwatch;

/* ev: {"t", "src": "wire", "ev": "broker_closed", "conn"}; borrowed for the call. */
typedef void (*fl_sockwatch_fn)(json_t *ev, void *arg);

fl_sockwatch *fl_sockwatch_open(fl_host *broker, uint16_t port, uint64_t interval_ns, fl_loop *loop,
                                fl_sockwatch_fn fn, void *arg, char *err, size_t errlen);
void fl_sockwatch_close(fl_sockwatch *w);

#endif
