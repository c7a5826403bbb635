/* Wire capture in the broker host, on every run: every FIN or RST the broker
 * host sends becomes an event, so that a broker without an event log (a
 * black-box driver) still has a measured broker-side detection (the first
 * FIN or RST it sends on a connection after the fault); heartbeat segments are counted
 * per connection, for the overhead in the report. With --pcap DIR every TCP
 * segment to or from the broker's port is also written to DIR/broker.pcap. */
#ifndef FLATLINE_HARNESS_CAPTURE_H
#define FLATLINE_HARNESS_CAPTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/analysis/analyze.h"
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

/* Heartbeat traffic per connection counted so far (after reading what is
 * buffered): *n entries, owned by c and valid until the next call or close. */
const fl_conn_heartbeats *fl_capture_heartbeats(fl_capture *c, size_t *n);

/* What one TCP segment to or from the broker is, as far as heartbeats go. */
typedef enum fl_hb_kind {
    FL_HB_OTHER,       /* data, handshake, FIN, RST, an ACK of data */
    FL_HB_PINGREQ,     /* client -> broker, payload exactly C0 00 */
    FL_HB_PINGRESP,    /* broker -> client, payload exactly D0 00 */
    FL_HB_MQTT_ACK,    /* a pure ACK right after a PINGREQ/PINGRESP the other way */
    FL_HB_PROBE,       /* TCP keep-alive probe: 0 or 1 byte at the sender's highest sequence end - 1 */
    FL_HB_PROBE_ACK,   /* a pure ACK right after a probe the other way */
} fl_hb_kind;

/* One TCP segment of the broker's port, decoded from a frame. */
typedef struct fl_segment {
    uint32_t client_be;   /* the client's side, as the broker sees it */
    uint16_t client_port;
    bool from_broker;
    uint8_t flags;        /* TCP flags byte */
    uint32_t seq, payload_len;
    uint8_t payload[2];   /* the first bytes of the payload (as captured) */
    uint32_t wire_bytes;  /* the Ethernet frame's length on veth */
} fl_segment;

/* Decodes a frame of link type dlt (caplen bytes captured of wire_len);
 * false when it is not an IPv4 TCP segment to or from broker_addr_be:port. */
bool fl_capture_decode(int dlt, const uint8_t *frame, size_t caplen, size_t wire_len, uint32_t broker_addr_be,
                       uint16_t port, fl_segment *out);

/* Per connection state for the classifier: the highest sequence end seen
 * from each side and which heartbeat is awaiting its ACK. */
typedef struct fl_hb_state {
    uint32_t seq_end[2]; /* [0] client, [1] broker */
    bool have_seq[2];
    fl_hb_kind pending;  /* PINGREQ, PINGRESP or PROBE: the next pure ACK the other way answers it */
    bool pending_from_broker;
} fl_hb_state;

/* Classifies seg given its connection's state (updated). Pure. */
fl_hb_kind fl_capture_classify(fl_hb_state *st, const fl_segment *seg);

/* Counts seg (classified with st, which it updates) into its connection's
 * hb, seen at t_ns (CLOCK_MONOTONIC): packets, bytes and when the
 * heartbeats came. Pure. */
void fl_capture_count(fl_conn_heartbeats *hb, fl_hb_state *st, const fl_segment *seg, uint64_t t_ns);

/* Parses one captured frame (link type dlt) into the event it stands for, if
 * it is a FIN or RST from broker_addr:port; NULL otherwise. For tests. */
json_t *fl_capture_parse(int dlt, const uint8_t *frame, size_t len, uint32_t broker_addr_be, uint16_t port,
                         uint64_t t_ns);

#endif
