/* Inside the model: constants and the types its files share (derived, phase,
 * cand). Not an interface: only the model's own files include it; everything else uses
 * model/model.h. */
#ifndef FLATLINE_MODEL_INTERNAL_H
#define FLATLINE_MODEL_INTERNAL_H

#include "model/model.h"
#include "model/timer_wheel.h"

#include <math.h>
#include <stddef.h>

#define INF INFINITY
#define TCP_RTO_MAX_S 120.0
#define JIFFY_S (1.0 / fl_model_hz()) /* the kernel's HZ: fl_model_set_hz */
#define USER_TIMER_SLACK_S 0.001  /* hrtimer-based epoll waits: well under 1 ms late */
#define DEFAULT_MISSES 3
#define ADAPTIVE_FLOOR_S 0.2      /* clients/strategy.c ADAPTIVE_TIMEOUT_FLOOR_NS */
#define PHASE_SAMPLES 400
#define PUB_PHASE_SAMPLES 9
#define MAX_BREAKPOINTS 4000
/* Cable pull at the client host: until the kernel has processed the carrier
 * loss (linkwatch, up to ~1 s) the client's transmissions fail locally and TCP
 * retries them every TCP_RESOURCE_PROBE_INTERVAL (0.5 s) without counting;
 * a failed first send may also skip the tail loss probe. Measured on 6.18:
 * 0 to 2 such retries (docs/model.md). */
#define CARRIER_LOST_SLACK_S 1.5

/* Bytes on veth for one segment: Ethernet 14 + IPv4 20 + TCP 20 + timestamps 12. */
#define WIRE_HEADER_BYTES 66.0
#define MQTT_PING_BYTES 2.0 /* PINGREQ and PINGRESP: fixed header only */

typedef struct derived {
    double ka;          /* 0: MQTT keep-alive off */
    double hb_period;   /* the client's heartbeat exchange period (INF: none) */
    bool pings;         /* the client sends PINGREQ (some strategies also judge them) */
    bool app_detects;   /* the strategy can declare the connection dead */
    double pub;         /* publish interval, 0: none */
    bool pub_is_hb;     /* publishes are the heartbeat (mqtt-like publishing faster than KA) */
    double ping_wait_lo, ping_wait_hi; /* first ping -> dead, by strategy */
    double kmin;        /* the shortest TCP keep-alive idle of the two sides (INF: none) */
    double gap;         /* longest healthy silence on the connection (INF: forever) */
    bool nat_expires;
    bool reset_client, reset_broker; /* a packet the side sends after the threshold gets RST */
    double reset_after;               /* threshold, s after the reference */
} derived;

typedef struct phase {
    double since_hb;  /* the client's last heartbeat exchange was this long before the reference */
    double since_pub; /* its last publish (independent of the heartbeat), INF: none */
    double last_rx;   /* the last segment either side received, <= 0 */
} phase;

/* One way the side can learn of the death: between lo and hi (slack). A
 * maybe candidate fires only for some connections (a reused port's reset, a
 * reconnect that may not come): it can be first, but it bounds nothing; its
 * hi is its own latest (INF: open-ended). */
typedef struct cand {
    fl_detector det;
    double lo, hi;
    bool maybe;
} cand;

#define MAX_CANDS 8

/* The longest a receiver holds back a bare ACK (include/net/tcp.h
 * TCP_DELACK_MAX, 200 ms; TCP_ATO_MIN is 40 ms): the broker's PINGRESP may
 * still be unacknowledged that long after it left. */
#define DELACK_MAX_S 0.2

/* A client's connect (include/net/tcp.h TCP_TIMEOUT_INIT: the SYN's first
 * RTO is 1 s, doubled at each retransmission; net.ipv4.tcp_syn_retries 6:
 * SYNs 0, 1, 3, ..., 63 s after the connect, ETIMEDOUT at 127 s). */
#define SYN_RTO_S 1.0
#define SYN_GIVE_UP_S 127.0

/* Even bare veth has a measured srtt of some tens of microseconds. */
#define MIN_RTT_S 20e-6

/* basics.c: how many keep-alive probes go out before the give-up (TCP_USER_TIMEOUT can cut them short). */
int fl_model__keepalive_probes(double idle_s, double interval_s, int count, double user_timeout_s);
const char *fl_model__strategy_name(fl_model_strategy s);
/* "1" or "0..0.5" (seconds without the unit) into buf, for explanations. */
const char *fl_model__range(char *buf, size_t len, double lo, double hi);
/* check.c: 0, or -1 with the field at fault in err. */
int fl_model__check_config(const fl_model_config *c, char *err, size_t errlen);
/* phase.c: what a configuration implies, and one phase's candidates per side. */
void fl_model__derive(const fl_model_config *c, derived *d);
int fl_model__client_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs);
int fl_model__broker_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs);
/* Data first sent at sd and never acknowledged: the first (re)transmission
 * at or after `after` (the tail loss probe, then RTO back-off), and in *slack
 * how late that one may be (every arm up to it a timer-wheel slot late).
 * INF when the retransmission limit comes first. */
double fl_model__resend_after(const fl_model_tcp *t, double rtt, double sd, double after, double *slack);
/* reconnect.c: the broker's candidates from the client coming back (takeover,
 * a reused port's reset), appended to the n in cs; returns the new count. The
 * sweep adds them; the per-connection instant takes the reconnect from the
 * connection's own history instead. */
int fl_model__reconnect_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs, int n);

#endif
