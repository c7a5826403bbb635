/* Joins the event logs of a run into per-fault measurements: which connections
 * each fault cut (ground truth from the runner plus the timeline of who was
 * connected), when the broker and the client noticed, when the will arrived,
 * when the client was back, and which closes no fault explains. Every
 * connection is counted once: by the first fault that cut it. Pure: the
 * events carry their own timestamps, so the join does not depend on the order
 * in which pipes were read, and tests drive it with synthetic events. */
#ifndef FLATLINE_HARNESS_ANALYZE_H
#define FLATLINE_HARNESS_ANALYZE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/report.h"

typedef struct fl_analysis fl_analysis;

/* What the runner knows about one fault it applied. */
typedef struct fl_truth {
    const char *kind, *target; /* for the report */
    uint64_t inject_ns;        /* 0: never injected (the run stopped first) */
    uint64_t heal_ns;          /* 0: not healed */
    const char *const *addrs;  /* client-side addresses of the hosts it cut */
    size_t naddrs;
    bool broker_side;          /* the broker logs its closes (false for a black-box broker driver) */
    bool broker_wire;          /* without a log: the broker host's FIN/RST were captured */
    bool behind_nat;           /* the cut clients reach the broker through a NAT: the broker's
                                * wire names the NAT's address, joined by the source port */
    bool client_side;          /* the clients survive to notice (false for power-loss) */
    bool will;                 /* the cut clients have wills and someone watches them */
    const fl_prediction *model; /* may be NULL */
    const fl_model_config *cfg; /* the model's configuration for the per-connection prediction
                                 * (model/instant.h); NULL: none */
    uint64_t nat_timeout_ns;   /* nat-expiry: latencies count from each connection's
                                * last PINGRESP (or connect) + this, when later than the inject */
} fl_truth;

fl_analysis *fl_analysis_new(void);
void fl_analysis_free(fl_analysis *a);

/* One event line of any source (broker, swarm, runner); unknown events are
 * ignored. Returns -1 only when out of memory. */
int fl_analysis_add(fl_analysis *a, const json_t *ev);

/* Adds faults (in the order given, which is the index metric paths use),
 * detections, undetected counts, recoveries, false disconnects and the
 * connection total to r. Closes before steady_ns or after end_ns are not
 * measurements (connect failures; the runner's own shutdown). */
int fl_analysis_report(fl_analysis *a, const fl_truth *faults, size_t n, uint64_t steady_ns, uint64_t end_ns,
                       fl_report *r);

/* Live numbers for the progress line. */
typedef struct fl_live {
    size_t up;        /* client connections currently up */
    /* deaths noticed so far, per side: never added together, since one death
     * is noticed by both sides */
    size_t broker_detected; /* broker closes seen */
    size_t client_detected; /* dead_detected seen */
    size_t reconnects;
} fl_live;
void fl_analysis_live(const fl_analysis *a, fl_live *out);

/* Heartbeat traffic of one connection as the broker host's wire saw it
 * (capture.h): mqtt is PINGREQ, PINGRESP and the bare ACKs answering them,
 * tcp is keep-alive probes and their answers. Bytes are Ethernet frames.
 * When its heartbeats came (CLOCK_MONOTONIC, 0: none seen): a connection's
 * heartbeats run on a cycle that starts at its connect (a PINGREQ a Keep
 * Alive after the last packet sent, a probe an idle time after the last one
 * received), so its last heartbeat ends its last whole cycle. */
typedef struct fl_conn_heartbeats {
    char conn[64]; /* the client's address:port as the broker sees it */
    uint64_t mqtt_packets, mqtt_bytes, tcp_packets, tcp_bytes;
    uint64_t ping_ns[2];  /* its last PINGREQ [0] and the one before [1] */
    uint64_t probe_ns[2]; /* its last keep-alive probe [0] and the one before [1] */
    uint64_t tcp_packets_at_ping, tcp_bytes_at_ping; /* tcp as it stood at its last PINGREQ */
} fl_conn_heartbeats;

/* Overhead over the connections no fault touched, each over its whole
 * heartbeat cycles: from its connect to its last heartbeat (its last PINGREQ;
 * with none, its last keep-alive probe), counting what the wire saw until
 * then. The cycle running at its close or end_ns is left out: its heartbeat
 * would come after the window, and counting its time without it puts the
 * measured rate short by up to a heartbeat per connection (11 % of a 12 s
 * run at a 3 s Keep Alive when the connects are spread over a Keep Alive).
 * Left out only while it is younger than 1.5 of the connection's own last
 * cycle (the time from the heartbeat before, or from its connect): a silence
 * longer than that is a heartbeat that did not come, and counts. A connection
 * with no heartbeat counts its whole time, with none. */
typedef struct fl_idle_overhead {
    double mqtt_packets, mqtt_bytes, tcp_packets, tcp_bytes;
    double connection_hours;
    size_t connections; /* untouched connections that were up for some time */
} fl_idle_overhead;

/* Sums wire[] over the connections no fault touched. Call after
 * fl_analysis_report (it decides which connections a fault cut). A conn that
 * the wire never saw counts with zero traffic: it was up and silent. */
void fl_analysis_idle_overhead(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, uint64_t end_ns,
                               fl_idle_overhead *out);

/* Why o measures nothing (NULL: it measures something): the wire was not
 * counted, or no connection was left untouched by the faults (a standing
 * fault's reconnections count as touched). Never an average over zero. */
const char *fl_idle_overhead_unmeasured(const fl_idle_overhead *o, bool counted);

/* The connection-hours of group's untouched connections, as counted by
 * fl_analysis_idle_overhead (with the same wire): what weighs each group's
 * model overhead. */
double fl_analysis_idle_hours(const fl_analysis *a, const fl_conn_heartbeats *wire, size_t nwire, const char *group,
                              uint64_t end_ns);

/* The address part of a conn: "198.18.1.2:40312" -> "198.18.1.2",
 * "[fd00::2]:1" -> "fd00::2". buf needs 64 bytes. */
const char *fl_conn_addr(const char *conn, char *buf, size_t len);

#endif
