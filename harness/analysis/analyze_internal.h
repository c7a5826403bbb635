/* The analysis's internals, shared by analyze.c (reading events, joining the
 * two sides) and analyze_faults.c (measuring each fault). Not an interface. */
#ifndef FLATLINE_HARNESS_RUN_ANALYZE_INTERNAL_H
#define FLATLINE_HARNESS_RUN_ANALYZE_INTERNAL_H

#include "harness/analysis/analyze.h"

/* How late the process's loop pass that reported a detection ran
 * (core/wake.h): the timer's deadline (0: none, the socket said), when the
 * pass's wait began (the previous pass's end) and returned (0: not logged)
 * and how long the process had waited for a CPU since. */
typedef struct pass_late {
    uint64_t due, wait_began, woke, cpu_wait;
    bool cpu_known;
    /* the earlier timers of a ping_timeout's chain: how late its unanswered
     * pings left behind the process's work and for want of a CPU */
    uint64_t chain_queued, chain_cpu_wait;
    /* its worst ping's wake-up: from, to, and how much of it the CPU wait
     * did not explain (0: none) */
    uint64_t chain_wake_from, chain_wake_to, chain_wake_uncovered;
} pass_late;

/* One TCP connection as the client saw it (swarm `connected`/`reconnected`
 * up to `dead_detected`). */
typedef struct client_conn {
    char *client_id, *conn, *dead_reason;
    char *group;       /* the swarm group's name, NULL if not logged */
    uint64_t up, dead; /* dead 0: never detected */
    uint64_t last_rx;  /* the newest PINGRESP (with --log-pings), else up */
    uint64_t dead_last_rx; /* dead_detected's last_rx: the client's last read, 0: not logged */
    uint64_t dead_last_tx; /* dead_detected's last_tx: the last send before its unanswered pings, 0: not logged */
    uint64_t dead_first_ping; /* dead_detected's pings_first: its first unanswered ping left, 0: not logged */
    pass_late dead_late;   /* dead_detected's due, woke, cpu_wait, pings_queued, pings_cpu_wait */
    uint64_t retry_at; /* its reconnect's first SYN (reconnect_attempt's t + delay), 0: none logged */
    long broker;       /* index into broker_conns, -1: not joined */
    bool down;         /* counted as down in the live numbers */
    int fault;         /* the fault that touched it, -1: none */
    unsigned gen;      /* that fault's generation: 1 cut when it hit, 2 cut again after reconnecting, ... */
    bool idle_ok;      /* touched by a NAT that never expired it: its traffic is idle overhead */
    bool behind_fault; /* came up behind a standing fault: never idle overhead, measured or not */
} client_conn;

/* The same connection as the broker saw it (`connect` up to `close`). */
typedef struct broker_conn {
    char *client_id, *conn, *reason;
    uint64_t connect, close; /* close 0: still open */
    uint64_t last_rx;        /* the close's last_rx: the broker's last read, 0: not logged */
    pass_late close_late;    /* the close's deadline, woke, cpu_wait */
    uint64_t accept;         /* its `accept` (the handshake completed), 0: not logged */
    uint64_t will;           /* the broker's `will` event for it: the will published, 0: none logged */
    pass_late will_late;     /* that event's pass */
    uint64_t reused_at;      /* the broker's next connection from the same address and port completed
                              * its handshake (its accept; its CONNECT without one), 0: none */
    long client;             /* index into client_conns, -1 */
} broker_conn;

typedef struct will_seen {
    char *whose;
    uint64_t t;
    pass_late late; /* the watcher's loop pass that read it */
} will_seen;

struct fl_analysis {
    client_conn *cc;
    size_t ncc, capcc;
    broker_conn *bc;
    size_t nbc, capbc;
    will_seen *wills;
    size_t nwills, capwills;
    /* conn -> index of its newest record; jansson objects are the hash maps. */
    json_t *open_client, *open_broker;
    json_t *accepted;    /* conn -> t of its `accept`, until its CONNECT */
    json_t *last_broker; /* conn -> index of the newest broker record from that address and port */
    json_t *dead_client; /* conn -> index of a client connection its client saw die (for its reconnect) */
    size_t up, broker_detected, client_detected, reconnects;
    struct busy *busy; /* every detection by process and time (analyze_faults.c) */
    size_t nbusy;
    json_t *wire; /* conn -> [[t, "fin"|"reset"], ...]: what the broker host sent (capture.h) */
    /* The runner's timer probe (core/stallwatch.h): when the machine's own
     * timers were late, sorted by due at the report. */
    struct fl_stall *stalls;
    size_t nstalls, capstalls;
};

/* The due (or deadline), woke and cpu_wait fields of a detection's event line. */
pass_late fl_an_pass_late(const json_t *ev, const char *due_key);

/* conn -> the index stored under it in a jansson object, -1: none. */
long fl_an_lookup(json_t *map, const char *conn);
/* Joins each client record to its broker record (client_conn.broker). */
void fl_an_join(fl_analysis *a);
/* qsort_r order of client record indices by (client id, up); ctx: the analysis. */
int fl_an_by_client_up(const void *x, const void *y, void *ctx);

#endif
