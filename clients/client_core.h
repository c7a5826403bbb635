/* One swarm client's protocol and heartbeat logic, without sockets: the MQTT
 * session (CONNECT/CONNACK, subscriptions, the workload, acks), the heartbeat
 * strategy's timer, death and the reconnect delay. The owner hands it bytes
 * read from the broker, transport failures and a clock; it answers through a
 * send function and reports what happened as cc_events (the swarm turns them
 * into event lines and counters). Its one timer lives in a caller-given heap,
 * so tests run every rule on virtual time (core/vclock.h), as the broker's
 * protocol core is run by tests/broker/fake_net.c. */
#ifndef FLATLINE_CLIENTS_CLIENT_CORE_H
#define FLATLINE_CLIENTS_CLIENT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients/config.h"
#include "clients/strategy.h"
#include "core/clock.h"
#include "core/timer.h"
#include "mqtt/mqtt.h"

typedef enum cc_state {
    CC_QUEUED,  /* waiting for a ramp slot */
    CC_TCP,     /* transport connect in progress */
    CC_CONNACK, /* CONNECT sent */
    CC_UP,
    CC_WAIT, /* reconnect delay running */
    CC_DEAD, /* for good (reconnect none, or stopped) */
} cc_state;

/* Larger packets from the broker are a protocol error: nothing in a flatline
 * run sends them, and a client must not be talked into a huge allocation. */
#define CC_MAX_PACKET (4u << 20)
#define CC_ID_MAX 256

typedef enum cc_event_kind {
    CC_EV_CONNECTED, /* CONNACK accepted; keepalive and attempts are set */
    CC_EV_SETTLED,   /* up, subscriptions sent, workload scheduled; first: the first time ever */
    CC_EV_DEAD,      /* died: reason, err, was; retry with delay_ns, or dead for good */
    CC_EV_STOPPED,   /* ended for good by cc_stop; was */
    CC_EV_REQUEUE,   /* the reconnect delay is over: it is CC_QUEUED, for the owner's connect ramp */
    CC_EV_PING_SENT, /* a PINGREQ is about to be sent */
    CC_EV_PINGRESP,  /* rtt_ns */
    CC_EV_RECEIVED,  /* a PUBLISH arrived; whose and topic set when the group watches wills */
    CC_EV_PUBLISHED, /* a workload PUBLISH was sent */
    CC_EV_SKIPPED,   /* a workload PUBLISH was skipped: the transport is backed up */
} cc_event_kind;

/* The unanswered pings that lead to a ping_timeout: what the strategy
 * counted from (the last packet sent before the first of them) and how late
 * their timers fired behind the process's own work and for want of a CPU
 * (core/wake.h; each ping's share bounded by its own lateness), so that the
 * analysis can tell the strategy's timing from the machine's. */
typedef struct cc_ping_chain {
    uint64_t from;
    uint64_t first_ping; /* when the first of them left (what an orphaned socket retransmits) */
    uint32_t queued_us, cpu_wait_us;
    /* the ping whose wake-up was latest beyond its CPU wait: its wait from
     * stall_from for stall_span_us, stall_us of it not explained by the CPU
     * wait (a machine stall may explain it) */
    uint64_t stall_from;
    uint32_t stall_span_us, stall_us;
} cc_ping_chain;

typedef struct cc_event {
    cc_event_kind kind;
    const char *reason; /* DEAD: a reason of docs/events.md */
    int err;            /* DEAD: the errno behind it, or 0 */
    cc_state was;       /* DEAD, STOPPED: the state it left */
    bool retry;         /* DEAD: reconnects after delay_ns */
    uint64_t delay_ns;
    uint64_t last_rx; /* DEAD: when a packet was last received (0: never) */
    uint64_t due;     /* DEAD: the deadline of the timer that decided it (0: the transport did) */
    const cc_ping_chain *chain; /* DEAD by ping_timeout: its unanswered pings (valid during the report); else NULL */
    uint64_t rtt_ns;  /* PINGRESP */
    bool first;       /* SETTLED */
    const char *whose, *topic; /* RECEIVED by a watcher */
    bool retained;
} cc_event;

typedef struct cc_conn cc_conn;

/* Shared by every client of a swarm (or a test). */
typedef struct cc_env {
    const swarm_config *cfg;
    const fl_clock *clock;
    fl_timer_heap *timers;
    const char *host; /* {host} and {pid} of the patterns */
    long pid;
    const uint8_t *payload; /* at least the largest workload payload */
    bool stopping;          /* set by the owner: no more reconnects */
    unsigned complaints;    /* stderr lines written so far (a few only) */
    /* Writes (or queues) bytes on c's transport. 0, or an errno when the
     * transport failed; the core then declares c dead. While output is
     * queued the transport sets c->blocked. */
    int (*send)(cc_conn *c, const uint8_t *buf, size_t len);
    /* Names a transport error (errno) as a dead_detected reason; NULL: the
     * core uses fl_classify_socket_error without socket facts. */
    const char *(*reason)(cc_conn *c, int err);
    void (*report)(void *ctx, cc_conn *c, const cc_event *ev);
    void *ctx;
    void *transport; /* the transport's shared state, for its callbacks (one pointer, not one a client) */
    uint8_t obuf[1024];
} cc_env;

/* A client is one of thousands: small, no fixed buffers. */
struct cc_conn {
    fl_timer timer; /* one timer: min(heartbeat, publish, connect timeout, reconnect) */
    cc_env *env;
    hb_state hb;
    mqtt_stream in;
    cc_ping_chain chain;   /* the current run of unanswered pings */
    uint64_t next_publish; /* 0: none */
    uint64_t deadline;     /* connect timeout (TCP, CONNACK) or end of the reconnect delay (WAIT) */
    uint32_t index;        /* in the process: the PRNG stream and {i} */
    uint32_t n;            /* in its group: {n} */
    uint16_t group;
    uint16_t keepalive; /* granted */
    uint16_t next_pid;
    uint16_t attempts; /* reconnect attempts so far */
    uint8_t fails;     /* consecutive failed attempts: the back-off exponent */
    uint8_t state;     /* cc_state */
    uint8_t ever_up;
    uint8_t blocked; /* set by the transport: output is queued */
};

void cc_init(cc_conn *c, cc_env *env, uint32_t index, uint32_t n, uint16_t group);
static inline const swarm_group *cc_group(const cc_conn *c) { return &c->env->cfg->groups[c->group]; }
static inline bool cc_in_flight(const cc_conn *c) { return c->state == CC_TCP || c->state == CC_CONNACK; }
static inline bool cc_alive(const cc_conn *c) { return cc_in_flight(c) || c->state == CC_UP; }

/* Its client id and a pattern expanded for it (id: its client id). */
void cc_client_id(const cc_conn *c, char *buf, size_t len);
void cc_expand(const cc_conn *c, const char *pattern, const char *id, char *buf, size_t len);

/* Waiting for the ramp (the owner's queue). */
void cc_queued(cc_conn *c);
/* The transport is opening a connection: the connect timeout runs. */
void cc_connecting(cc_conn *c);
/* The transport connected: sends CONNECT. */
void cc_transport_up(cc_conn *c);
/* Bytes from the broker, all read at one time. */
void cc_input(cc_conn *c, const uint8_t *buf, size_t len);
/* The transport failed or closed. reason NULL: env->reason names err. */
void cc_lost(cc_conn *c, const char *reason, int err);
/* Ends c for good: DISCONNECT if it is up and the transport is not backed
 * up (best effort), no reconnect. */
void cc_stop(cc_conn *c);
/* Cancels the timer and frees the decoder; no event (teardown). */
void cc_release(cc_conn *c);

/* The timer's next deadline (UINT64_MAX: none). Exposed for tests. */
uint64_t cc_deadline(const cc_conn *c);

#endif
