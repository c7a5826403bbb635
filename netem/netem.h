/* netem: the test network. Builds hosts as network namespaces on a switch (a
 * bridge inside its own namespace), optional NAT middleboxes in front of groups
 * of client hosts, starts processes inside hosts, and injects faults.
 *
 * Nothing is ever changed in the root namespace. Every namespace carries the
 * run prefix; each run records what it created in /run/flatline/<prefix>.json
 * so that fl_netem_cleanup_stale() can remove the remains of a killed run.
 *
 * Every function that can fail returns 0 (or a count / pid) on success and a
 * negative FL_NETEM_E* code on failure, with a message naming the object and
 * the errno text in err (errlen bytes, may be 0). The library never prints and
 * never exits.
 *
 * Addresses: switch side 198.18.0.0/15 (broker 198.18.0.1, NATs' outer
 * addresses 198.18.0.10+j, directly attached clients from 198.18.1.1 up);
 * behind NAT j 100.(64+j).0.0/16 (the NAT is 100.(64+j).0.1, its clients from
 * 100.(64+j).1.1 up). IPv6 is disabled in every namespace. */
#ifndef FLATLINE_NETEM_NETEM_H
#define FLATLINE_NETEM_NETEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

/* Error codes (returned negated). */
enum {
    FL_NETEM_EINVAL = 1,   /* bad spec or argument (the message names the field) */
    FL_NETEM_ESYS = 2,     /* a system call or netlink request failed */
    FL_NETEM_ENONETEM = 3, /* the kernel has no sch_netem */
    FL_NETEM_ENOTSUP = 4,  /* the feature is not available in this build/kernel */
    FL_NETEM_ESTATE = 5,   /* wrong state (host powered off, fault not injected...) */
};

#define FL_NETEM_PREFIX_MAX 10 /* characters of the run prefix */
#define FL_NETEM_NAME_MAX 12   /* characters of a group or NAT name */

typedef struct fl_sysctl {
    const char *name;  /* "net.ipv4.tcp_keepalive_time" (dots or slashes) */
    const char *value; /* written as is */
} fl_sysctl;

typedef enum fl_nat_expiry {
    FL_NAT_EXPIRY_DROP = 0,  /* packets of an expired mapping are silently dropped */
    FL_NAT_EXPIRY_RESET = 1, /* the NAT answers them with a TCP RST */
} fl_nat_expiry;

typedef struct fl_nat_spec {
    const char *name;         /* short, [a-z0-9]; "nat0" if NULL */
    unsigned timeout_s;       /* nf_conntrack_tcp_timeout_established; 0 = kernel default */
    fl_nat_expiry on_expiry;
    bool loose;               /* nf_conntrack_tcp_loose=1: a plain Linux NAT, mid-stream
                               * packets re-create the mapping; false: carrier-grade silence
                               * (invalid and non-SYN new packets dropped, or reset) */
    const fl_sysctl *sysctls; /* extra sysctls inside the NAT's namespace */
    size_t n_sysctls;
} fl_nat_spec;

typedef struct fl_group_spec {
    const char *name;         /* short, [a-z0-9]; hosts are "<name>-<i>"; "g<index>" if NULL */
    unsigned hosts;           /* number of client hosts, >= 1 */
    unsigned addrs_per_host;  /* IPv4 addresses on each host, >= 1 (0 means 1) */
    int nat;                  /* index into fl_topology_spec.nats, or -1: on the switch */
    const fl_sysctl *sysctls; /* applied inside each host's namespace only */
    size_t n_sysctls;
} fl_group_spec;

typedef struct fl_topology_spec {
    const char *prefix;       /* per-run prefix, [a-z0-9], e.g. "flt1234" */
    unsigned broker_addrs;    /* addresses on the broker host (0 means 1) */
    const fl_sysctl *broker_sysctls;
    size_t n_broker_sysctls;
    const fl_group_spec *groups;
    size_t n_groups;
    const fl_nat_spec *nats;
    size_t n_nats;
} fl_topology_spec;

typedef struct fl_netem fl_netem; /* a built topology */
typedef struct fl_host fl_host;   /* a host in it (broker, client or NAT) */

typedef enum fl_host_kind { FL_HOST_BROKER, FL_HOST_CLIENT, FL_HOST_NAT } fl_host_kind;

/* ---- build and teardown ---- */

/* Creates the switch, the broker, the NATs and every client host, applies the
 * sysctls and writes the state file. On failure everything created so far is
 * removed again and *out is NULL. */
int fl_netem_build(const fl_topology_spec *spec, fl_netem **out, char *err, size_t errlen);

/* SIGKILLs processes still running in the hosts, deletes every namespace and the
 * state file, frees net. Keeps going after an error and reports the first one. */
int fl_netem_teardown(fl_netem *net, char *err, size_t errlen);

/* Removes what runs whose owner process is gone left behind (namespaces, the
 * processes still inside them, state files). Never touches a live run or anything
 * not recorded in a state file. Returns the number of runs removed. */
int fl_netem_cleanup_stale(char *err, size_t errlen);

/* ---- queries ---- */

const char *fl_netem_prefix(const fl_netem *net);
fl_host *fl_netem_broker(fl_netem *net);
const char *fl_netem_broker_addr(const fl_netem *net); /* "198.18.0.1" */
size_t fl_netem_host_count(const fl_netem *net);       /* broker + clients + NATs */
fl_host *fl_netem_host(fl_netem *net, size_t i);       /* 0 is the broker */
fl_host *fl_netem_find_host(fl_netem *net, const char *name); /* "broker", "g0-3", "nat0" */
fl_host *fl_netem_group_host(fl_netem *net, size_t group, size_t i);
fl_host *fl_netem_nat(fl_netem *net, size_t nat);

const char *fl_host_name(const fl_host *h);
fl_host_kind fl_host_kind_of(const fl_host *h);
int fl_host_group(const fl_host *h);             /* group index, -1 for broker and NATs */
const char *fl_host_netns(const fl_host *h);     /* namespace name ("flt1234-g0-3"), under /run/netns */
size_t fl_host_addr_count(const fl_host *h);
const char *fl_host_addr(const fl_host *h, size_t i); /* dotted IPv4; a NAT's 0 is its outer address */
bool fl_host_powered(const fl_host *h);          /* false between power-loss and restore */

/* ---- processes and threads inside a host ---- */

/* Starts argv[0] (a path; not searched in PATH) inside h's namespace: fork, setns
 * in the child, exec. envp NULL = the caller's environment. The child keeps only
 * fds 0-2 and keep_fds (their FD_CLOEXEC is cleared). Exec failure is reported
 * here, not as a child exit. The pid is remembered for power-loss; the caller
 * waitpid()s it and may call fl_host_forget_pid(). Returns the pid or -code. */
pid_t fl_host_spawn(fl_host *h, char *const argv[], char *const envp[], const int *keep_fds,
                    size_t n_keep, char *err, size_t errlen);
/* The same with the child's stdin/stdout/stderr taken from the given fds
 * (dup2 in the child; -1 leaves that one inherited), so the caller need not
 * swap its own stdio around the call. io may be NULL. */
typedef struct fl_spawn_io {
    int stdin_fd, stdout_fd, stderr_fd;
} fl_spawn_io;
pid_t fl_host_spawn_io(fl_host *h, char *const argv[], char *const envp[], const int *keep_fds,
                       size_t n_keep, const fl_spawn_io *io, char *err, size_t errlen);
void fl_host_forget_pid(fl_host *h, pid_t pid);
/* The pids spawned and not forgotten; *n receives the count. */
const pid_t *fl_host_pids(const fl_host *h, size_t *n);

/* Runs fn(arg) on a new thread that has joined h's namespace and waits for it:
 * sockets (TCP, netlink, nft, pcap) fn creates belong to h's namespace and stay
 * there. Returns fn's return value, or -code if the thread could not enter. */
typedef int (*fl_ns_fn)(void *arg);
int fl_host_run(fl_host *h, fl_ns_fn fn, void *arg, char *err, size_t errlen);

/* Starts fn(arg) on a long-lived thread inside h's namespace and returns at once;
 * the caller pthread_join()s *thread (its result is (void *)(intptr_t)fn's). */
int fl_host_thread_start(fl_host *h, fl_ns_fn fn, void *arg, pthread_t *thread, char *err,
                         size_t errlen);

/* ---- faults ----
 * Each takes a list of n hosts and, if t_ns is not NULL, stores per host the
 * CLOCK_MONOTONIC ns right after the kernel call that changed its traffic
 * returned. On error, hosts before the failing one stay faulted. */

typedef enum fl_direction {
    FL_DIR_BOTH = 0,
    FL_DIR_IN = 1,  /* traffic towards the host */
    FL_DIR_OUT = 2, /* traffic from the host */
} fl_direction;

/* The switch-side veth end goes admin-down: the host sees NO-CARRIER, keeps its
 * routes and addresses; the far side sees nothing. Restore: admin-up again. */
int fl_fault_cable_pull(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns, char *err,
                        size_t errlen);
int fl_fault_cable_restore(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                           char *err, size_t errlen);

/* Cuts the host's cable (t_ns), SIGKILLs every process in its namespace, then
 * destroys the namespace and its links, so no FIN or RST ever leaves. Restore
 * recreates the namespace with the same addresses, MACs and sysctls and no
 * connection state (t_ns: when the link is up again); the peers' next segments
 * get RSTs. Processes are not restarted (fl_host_spawn again). Power-loss
 * forgets the host's pids (the caller still reaps its children). */
int fl_fault_power_loss(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns, char *err,
                        size_t errlen);
int fl_fault_power_restore(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                           char *err, size_t errlen);

/* Drops every frame to and/or from the host at its switch port (nftables bridge
 * family in the switch's or the NAT's namespace): the host's own stack sees no
 * error. Works for NATs too (their uplink port). Heal removes the rule. */
int fl_fault_partition(fl_netem *net, fl_host *const *hosts, size_t n, fl_direction dir,
                       uint64_t *t_ns, char *err, size_t errlen);
int fl_fault_partition_heal(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                            char *err, size_t errlen);

/* Deletes every conntrack entry in the NAT's namespace now (libnl-nf), as if all
 * mappings had timed out. *deleted (may be NULL) receives the count. */
int fl_nat_expire_now(fl_netem *net, fl_host *nat, size_t *deleted, uint64_t *t_ns, char *err,
                      size_t errlen);
/* Number of conntrack entries in the NAT's namespace (TCP and others). */
int fl_nat_entry_count(fl_netem *net, fl_host *nat, size_t *count, char *err, size_t errlen);

/* netem parameters. Probabilities are 0..1; 0 leaves a feature off. */
typedef struct fl_degrade {
    uint32_t delay_us;
    uint32_t jitter_us;
    double delay_corr;
    double loss;        /* random loss */
    double loss_corr;
    /* Gilbert-Elliott loss (used when ge_p > 0 instead of random loss):
     * p good->bad, r bad->good, 1-h loss in bad, 1-k loss in good. */
    double ge_p, ge_r, ge_h, ge_k;
    double reorder;     /* needs delay_us > 0 */
    double reorder_corr;
    uint32_t gap;
    double duplicate;
    double duplicate_corr;
    double corrupt;     /* a random bit flipped in this fraction of packets */
    double corrupt_corr;
    uint64_t rate_bytes_per_s; /* 0 = unlimited */
    uint32_t limit;            /* queue limit in packets; 0 = 1000 */
} fl_degrade;

/* Installs a netem root qdisc on the host's veth end (FL_DIR_OUT), on its
 * switch-side end (FL_DIR_IN) or both. Fails fast with FL_NETEM_ENONETEM and a
 * message naming "sch_netem" when the kernel lacks it. Heal deletes it. */
int fl_fault_degrade(fl_netem *net, fl_host *const *hosts, size_t n, const fl_degrade *d,
                     fl_direction dir, uint64_t *t_ns, char *err, size_t errlen);
int fl_fault_degrade_heal(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                          char *err, size_t errlen);
/* Reads back the netem qdisc installed on one end (FL_DIR_OUT: host end,
 * FL_DIR_IN: switch end). FL_NETEM_ESTATE if none is installed. */
int fl_degrade_read(fl_netem *net, fl_host *h, fl_direction end, fl_degrade *out, char *err,
                    size_t errlen);

/* ---- capability probe (flatline doctor) ---- */

typedef enum fl_probe_item {
    FL_PROBE_ROOT,
    FL_PROBE_NAMESPACES,
    FL_PROBE_VETH,
    FL_PROBE_BRIDGE,
    FL_PROBE_NFTABLES,
    FL_PROBE_CONNTRACK,
    FL_PROBE_NETEM,
    FL_PROBE_COUNT
} fl_probe_item;

typedef struct fl_probe_result {
    const char *name; /* "root", "namespaces", "veth", "bridge", "nftables", "conntrack", "netem" */
    bool ok;
    char message[200]; /* what was found, or what is missing and how to get it */
} fl_probe_result;

/* Tries each capability in a scratch namespace (removed again). Fills
 * results[FL_PROBE_COUNT]; returns the number of failed items. */
int fl_netem_probe(fl_probe_result results[FL_PROBE_COUNT]);

#endif
