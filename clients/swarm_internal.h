/* Internal to clients/: the client and swarm structures that swarm.c (the
 * process: ramp, addresses, events, counters) and client.c (one connection's
 * protocol state machine) share. */
#ifndef FLATLINE_CLIENTS_SWARM_INTERNAL_H
#define FLATLINE_CLIENTS_SWARM_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "clients/swarm.h"
#include "mqtt/mqtt.h"

/* A client is one of thousands: no fixed buffers in it. Reads go through the
 * swarm's one input buffer; output is written at once and only what the
 * kernel refuses is kept (rare: packets are tiny). */
typedef enum cstate {
    C_QUEUED,  /* waiting for a ramp slot */
    C_TCP,     /* non-blocking connect in progress */
    C_CONNACK, /* CONNECT sent */
    C_UP,
    C_WAIT, /* reconnect delay running */
    C_DEAD, /* for good (reconnect none) */
} cstate;

typedef struct client {
    fl_timer timer; /* one timer: min(heartbeat, publish, connect timeout, reconnect) */
    hb_state hb;
    mqtt_stream in;
    uint8_t *out; /* unsent tail, or NULL */
    uint32_t out_len, out_off;
    uint64_t next_publish; /* 0: none */
    uint64_t connect_deadline;
    int fd;
    uint32_t index; /* in the process: the PRNG stream and {i} */
    uint32_t n;     /* in its group: {n} */
    uint16_t group;
    uint16_t lport;
    uint16_t keepalive; /* granted */
    uint16_t next_pid;
    uint16_t attempts; /* reconnect attempts so far */
    uint8_t fails;     /* consecutive failed attempts: the back-off exponent */
    uint8_t laddr;     /* index into the swarm's local address table */
    uint8_t state;
    uint8_t ever_up;
} client;

#define MAX_LADDRS 255
#define IBUF_SIZE (64 * 1024)
#define ID_MAX 256
/* Larger packets from the broker are a protocol error: nothing in a flatline
 * run sends them, and a client must not be talked into a huge allocation. */
#define MAX_PACKET (4u << 20)

struct swarm {
    fl_loop *loop;
    const swarm_config *cfg;
    fl_evlog *log;
    swarm_options opt;
    struct sockaddr_storage broker;
    socklen_t broker_len;
    char broker_text[64];
    struct sockaddr_storage *sources;
    size_t nsources;
    struct sockaddr_storage laddrs[MAX_LADDRS];
    size_t nladdrs;
    char host[64];
    long pid;
    uint32_t nclients;
    uint32_t *queue; /* ring of client indices waiting for the ramp */
    uint32_t q_head, q_len;
    uint32_t inflight;
    fl_timer ramp_timer; /* waits out connect_rate */
    uint64_t next_start; /* the earliest the ramp may start the next connect */
    uint32_t ever_up;
    bool ready_sent, stopping, pumping;
    unsigned setup_errors;
    uint8_t *payload; /* the largest workload payload, shared */
    uint8_t ibuf[IBUF_SIZE];
    uint8_t obuf[1024];
    swarm_counters k;
    client clients[]; /* last: a client finds its swarm from its own index */
};

static inline swarm *swarm_of(client *c) { return (swarm *)((char *)(c - c->index) - offsetof(swarm, clients)); }

static inline const swarm_group *group_of(const swarm *s, const client *c) { return &s->cfg->groups[c->group]; }

/* swarm.c */
void sw_client_id(swarm *s, const client *c, char *buf, size_t len);
void sw_expand(swarm *s, const client *c, const char *pattern, const char *id, char *buf, size_t len);
const char *sw_conn_text(swarm *s, const client *c, char *buf, size_t len);
void sw_emit(swarm *s, json_t *ev);
/* Queues c for the connect ramp; sw_pump starts what the ramp allows. */
void sw_enqueue(swarm *s, client *c);
void sw_pump(swarm *s);
uint8_t sw_remember_laddr(swarm *s, const struct sockaddr_storage *a);

/* client.c */
void client_start_connect(swarm *s, client *c);
void client_on_timer(fl_timer *t, uint64_t now, void *arg);
/* Leaves the ramp's in-flight count if c was in it. */
void client_leave_inflight(swarm *s, client *c);
/* Closes the socket and frees the stream and pending output; no event. */
void client_close(swarm *s, client *c);
/* Ends c for good: DISCONNECT if it is up (best effort), close, no reconnect. */
void client_stop(swarm *s, client *c);

#endif
