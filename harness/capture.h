/* Wire capture in the broker host (--pcap DIR): every TCP segment to or from
 * the broker's port is written to DIR/broker.pcap, and every FIN or RST the
 * broker host sends becomes an event, so that a broker without an event log
 * (mosquitto) still has a measured broker-side detection: the first FIN or RST
 * it sends on a connection after the fault. */
#ifndef FLATLINE_HARNESS_CAPTURE_H
#define FLATLINE_HARNESS_CAPTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "netem/netem.h"

typedef struct fl_capture fl_capture;

/* ev: {"t", "src": "wire", "ev": "broker_fin" | "broker_rst", "conn"}; borrowed for the call. */
typedef void (*fl_capture_fn)(json_t *ev, void *arg);

/* Opens the capture on a thread inside the broker's namespace (the socket
 * stays there) and reads it in loop. dir NULL: no file, events only. */
fl_capture *fl_capture_open(fl_host *broker, const char *broker_addr, uint16_t port, const char *dir, fl_loop *loop,
                            fl_capture_fn fn, void *arg, char *err, size_t errlen);
/* Reads what is still buffered, closes the file. NULL is ignored. */
void fl_capture_close(fl_capture *c);

/* Parses one captured frame (link type dlt) into the event it stands for, if
 * it is a FIN or RST from broker_addr:port; NULL otherwise. For tests. */
json_t *fl_capture_parse(int dlt, const uint8_t *frame, size_t len, uint32_t broker_addr_be, uint16_t port,
                         uint64_t t_ns);

#endif
