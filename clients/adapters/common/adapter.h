/* The plumbing every C library adapter shares (docs/clients.md): the swarm's
 * command line (--config FILE, --events, --control fd:N, --broker, --seed,
 * --log-pings, --duration), the swarm's configuration file checked against
 * what the library can do (fields it has no equivalent for and unknown
 * client_options are refused, exit 2, naming the JSON path), the descriptor
 * limit (exit 3), the event lines of docs/events.md and the stop/kill control.
 * The adapter itself only drives its library. Event functions are thread-safe:
 * libraries call back from their own threads. */
#ifndef FLATLINE_ADAPTERS_COMMON_ADAPTER_H
#define FLATLINE_ADAPTERS_COMMON_ADAPTER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "clients/adapters/table.h"
#include "clients/config.h"
#include "core/exit.h"

enum { ADAPTER_EXIT_USAGE = FL_EXIT_USAGE, ADAPTER_EXIT_FDLIMIT = FL_EXIT_MACHINE, ADAPTER_EXIT_RUNTIME = FL_EXIT_BROKEN };

/* One adapter; what it supports is its row in clients/adapters/table.c. */
typedef struct adapter_desc {
    const char *name;     /* "paho-c", the table's name */
    unsigned fd_overhead; /* descriptors beyond one a client */
} adapter_desc;

/* One client as the adapter sees it. */
typedef struct adapter_client {
    uint32_t index;    /* in the process */
    uint32_t group;
    uint32_t n;        /* in its group */
    char id[128];
    char conn[64];     /* local address of the live connection, "?" if the library hides it */
    uint32_t attempt;  /* connect attempts after the first */
    bool connected, ever_connected;
    void *lib;         /* the library's handle */
} adapter_client;

typedef struct adapter {
    const adapter_desc *desc;
    const fl_adapter_info *info;
    swarm_config cfg;
    json_t **options;  /* per group: client_options (an object, maybe empty) */
    adapter_client *clients;
    uint32_t nclients;
    bool log_pings;
    uint64_t stop_at_ns; /* --duration, 0: none */
    atomic_bool stop, kill;
    atomic_uint connected_now, ever_connected, dead, reconnects, wills;
    atomic_bool ready_sent;
    char host[64];
    char broker_host[256];
    uint16_t broker_port;
} adapter;

/* Parses the command line and the configuration, checks the descriptor limit,
 * opens the event log and starts the control reader. Returns 0, or the exit
 * code after printing the reason. */
int adapter_init(adapter *a, const adapter_desc *d, int argc, char **argv);
/* Emits the counters and closes the log. */
void adapter_finish(adapter *a);

/* client_options of group g: the value of key, or NULL. */
const json_t *adapter_option(const adapter *a, uint32_t g, const char *key);
/* Seconds of an option (or def) as a double. */
double adapter_option_seconds(const adapter *a, uint32_t g, const char *key, double def);

/* Expands a group pattern (topic, will payload) for client c. */
void adapter_expand(const adapter *a, const adapter_client *c, const char *pattern, char *out, size_t cap);

/* Events (t = CLOCK_MONOTONIC now, taken at the call: call them first thing
 * in the library's callback). */
void adapter_connected(adapter *a, adapter_client *c);
/* reason: the swarm's vocabulary (ping_timeout, eof, reset, ...);
 * library_reason: what the library itself said (its error code or text). */
void adapter_dead(adapter *a, adapter_client *c, const char *reason, const char *library_reason);
void adapter_dead_at(adapter *a, adapter_client *c, uint64_t t, const char *reason, const char *library_reason);
void adapter_reconnect_attempt(adapter *a, adapter_client *c, uint64_t delay_ns);
void adapter_pingresp(adapter *a, adapter_client *c);
void adapter_will_received(adapter *a, adapter_client *c, const char *topic, const char *payload, bool retained);
/* The counters event (what the swarm logs on `counters` and at exit). */
void adapter_counters(adapter *a);

/* Whether a stop was asked for (control "stop", SIGTERM, SIGINT, --duration). */
bool adapter_should_stop(adapter *a);

#endif
