/* A scenario: the hosts, broker, clients, faults and expectations of one run,
 * loaded from a version-1 JSON file (docs/scenario-format.md) and checked
 * completely before anything is created. */
#ifndef FLATLINE_HARNESS_SCENARIO_H
#define FLATLINE_HARNESS_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/scenario/diag.h"

/* Clients a swarm process takes at most before the runner starts another
 * (the swarm itself refuses more than its descriptor limit allows). */
#define FL_SWARM_SPLIT 10000u

struct fl_broker_driver;

typedef struct fl_sc_broker {
    const struct fl_broker_driver *driver; /* harness/brokers/brokers.h: everything that depends on the kind */
    const json_t *object;                  /* the "broker" object as written, with "options" (borrowed) */
    uint16_t port;
    json_t *options; /* broker config keys, without "listen" (borrowed) */
    json_t *sysctls; /* may be NULL */
    int link;        /* index into links, -1: none */
    int realtime_priority; /* SCHED_FIFO priority 1..99 of the broker process, 0: normal scheduling */
} fl_sc_broker;

typedef struct fl_sc_link {
    const char *name;
    double delay_ms, jitter_ms, loss, duplicate, corrupt, reorder; /* percentages 0..100 */
    uint64_t rate_kbit;
    uint32_t limit;
} fl_sc_link;

typedef enum fl_expiry { FL_EXPIRY_DROP, FL_EXPIRY_RESET } fl_expiry;

typedef struct fl_sc_middlebox {
    const char *name;
    uint64_t timeout_ns;
    fl_expiry on_expiry;
} fl_sc_middlebox;

typedef struct fl_sc_group {
    const char *name;
    unsigned hosts, clients_per_host;
    unsigned keepalive;
    bool watcher;
    int behind; /* middlebox index, -1: none */
    int link;   /* link index, -1: none */
    json_t *sysctls; /* may be NULL */
    json_t *swarm;   /* the group as flatline-swarm's config takes it (owned) */
    const char *client;          /* NULL: flatline-swarm; else an adapter (clients/adapters/table.c) */
    json_t *client_options;      /* the adapter's options (borrowed), may be NULL */
    uint64_t connect_spread_ns; /* its connects spread uniformly over this long (0: all at once) */
} fl_sc_group;

typedef enum fl_fault_kind {
    FL_FAULT_CABLE_PULL,
    FL_FAULT_POWER_LOSS,
    FL_FAULT_PARTITION,
    FL_FAULT_NAT_EXPIRY,
    FL_FAULT_EXPIRE_NOW,
    FL_FAULT_DEGRADE,
} fl_fault_kind;

typedef struct fl_sc_fault {
    fl_fault_kind kind;
    char label[48];   /* the target as written: "devices[0]", "devices 10%", "cgnat" */
    int group;        /* -1 when the target is a middlebox */
    int host;         /* a host index, -1: all hosts or a fraction */
    double fraction;  /* 0: not a fraction */
    int middlebox;    /* nat-expiry / expire-now: the middlebox, else -1 */
    uint64_t at_ns;   /* after the steady state begins */
    uint64_t duration_ns;      /* 0: until the end */
    uint64_t restore_after_ns; /* power-loss: reboot after; 0: never */
    int link;         /* degrade: the profile */
} fl_sc_fault;

typedef enum fl_op { FL_OP_LT, FL_OP_LE, FL_OP_GT, FL_OP_GE, FL_OP_EQ, FL_OP_NE } fl_op;

typedef struct fl_sc_expect {
    const char *metric;
    fl_op op;
    json_t *value; /* borrowed */
} fl_sc_expect;

typedef struct fl_scenario {
    json_t *doc; /* owns every borrowed string and value below */
    const char *path;
    const char *name, *description;
    uint64_t seed;
    uint64_t duration_ns, connect_timeout_ns;
    bool virtual_clock; /* "clock": "virtual" or --virtual-time: runs in the VM (docs/virtual-time.md) */
    fl_sc_broker broker;
    fl_sc_link *links;
    size_t nlinks;
    fl_sc_middlebox *middleboxes;
    size_t nmiddleboxes;
    fl_sc_group *groups;
    size_t ngroups;
    fl_sc_fault *faults;
    size_t nfaults;
    fl_sc_expect *expects;
    size_t nexpects;
    uint64_t total_clients;
} fl_scenario;

/* Set by `flatline run --virtual-time` before parsing: every scenario is
 * then a virtual-time one (its duration may exceed the real-time 3600 s). */
extern bool fl_scenario_virtual_time;

/* Loads and checks path. On any error reports every problem to d (which names
 * each JSON path and line:column) and returns NULL. */
fl_scenario *fl_scenario_load(const char *path, fl_diag *d);
/* The same for text in memory; name is what messages call it. */
fl_scenario *fl_scenario_parse(const char *text, size_t len, const char *name, fl_diag *d);
void fl_scenario_free(fl_scenario *sc);

const char *fl_fault_kind_name(fl_fault_kind kind);
const char *fl_op_name(fl_op op);

/* Metric paths: "faults[0].broker.p99_ms", "connections.false_disconnects".
 * Syntax only: the report decides what exists. */
bool fl_metric_path_valid(const char *metric);

#endif
