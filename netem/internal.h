/* What the netem source files share and nobody else sees. */
#ifndef FLATLINE_NETEM_INTERNAL_H
#define FLATLINE_NETEM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netem/netem.h"

struct nl_sock;
struct nft_ctx;

#define NS_NAME_MAX 64
#define IFNAME_LEN 16
#define ADDR_LEN 16

/* A namespace that carries other hosts' switch ports: the switch, or a NAT
 * (its LAN bridge). Holds a route socket and an nft context opened inside it. */
typedef struct fl_segment {
    char netns[NS_NAME_MAX];
    int bridge_ifindex;
    struct nl_sock *rt;   /* NETLINK_ROUTE socket in this namespace */
    struct nft_ctx *nft;  /* lazily created, in this namespace */
} fl_segment;

typedef struct fl_owned_sysctl {
    char *name;
    char *value;
} fl_owned_sysctl;

struct fl_host {
    fl_netem *net;
    fl_host_kind kind;
    int group;              /* -1 unless a client */
    int nat;                /* a client: the NAT in front (-1: none); a NAT: its own index */
    size_t index;
    char name[48];
    char netns[NS_NAME_MAX];
    char port[IFNAME_LEN];  /* switch-side veth end, in the upstream segment */
    fl_segment *upstream;   /* where port lives: &net->sw or a NAT's lan */
    int port_ifindex;
    uint8_t mac_host[6], mac_port[6];
    char (*addrs)[ADDR_LEN];
    size_t n_addrs;
    int prefixlen;
    char gateway[ADDR_LEN]; /* "" when on-link with the broker */
    fl_owned_sysctl *sysctls;
    size_t n_sysctls;
    /* NAT only */
    fl_segment lan;
    char lan_addr[ADDR_LEN];
    unsigned nat_timeout_s;
    fl_nat_expiry nat_on_expiry;
    bool nat_loose;
    /* state */
    bool powered;
    bool partitioned;
    int degraded_ends; /* FL_DIR_* bits: 1 = switch end (IN), 2 = host end (OUT) */
    pid_t *pids;
    size_t n_pids, cap_pids;
};

struct fl_netem {
    char prefix[FL_NETEM_PREFIX_MAX + 1];
    char state_path[128];
    fl_segment sw;
    fl_host *hosts;
    size_t n_hosts;
    size_t *group_first, *group_size;
    size_t n_groups;
    size_t *nat_host; /* index in hosts of NAT j */
    size_t n_nats;
};

/* Fills err ("netem: ..." + ": strerror(errnum)" when errnum != 0) and
 * returns -code. */
int fl_neterr(char *err, size_t errlen, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with a libnl error code. */
int fl_nlerr(char *err, size_t errlen, int nlerr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- ns.c: named network namespaces under /run/netns ---- */
int fl_ns_create(const char *name, char *err, size_t errlen);
/* Unmounts and unlinks the name (the namespace dies with its last user). */
int fl_ns_delete(const char *name, char *err, size_t errlen);
bool fl_ns_exists(const char *name);
int fl_ns_open(const char *name, char *err, size_t errlen); /* O_CLOEXEC fd or -code */
/* Moves the calling thread into the namespace; *saved receives a fd to come back
 * with through fl_ns_leave. */
int fl_ns_enter(const char *name, int *saved, char *err, size_t errlen);
void fl_ns_leave(int saved);
/* Pids (other than ours) whose main thread is in the namespace; returns the
 * count, at most cap stored. */
size_t fl_ns_pids(const char *name, pid_t *pids, size_t cap);
/* SIGKILLs every such process and waits up to timeout_ms until each has exited
 * (or is a zombie). Returns the number killed. */
size_t fl_ns_kill_all(const char *name, unsigned timeout_ms);
size_t fl_ns_kill_many(const char *const *names, size_t n_names, unsigned timeout_ms);
/* Writes a sysctl ("net.ipv4.x" or "net/ipv4/x") in the calling thread's namespace. */
int fl_sysctl_write(const char *name, const char *value, char *err, size_t errlen);

/* ---- link.c: libnl helpers; sockets must have been opened in the right namespace ---- */
struct nl_sock *fl_rt_socket(char *err, size_t errlen);
int fl_link_bridge_add(struct nl_sock *rt, const char *name, const uint8_t mac[6], int *ifindex,
                       char *err, size_t errlen);
/* A veth pair: port (in rt's namespace, enslaved to master, up) and peer in
 * the namespace nsfd (still down). */
int fl_link_veth_add(struct nl_sock *rt, const char *port, const uint8_t port_mac[6], int master,
                     int nsfd, const char *peer, const uint8_t peer_mac[6], int *port_ifindex,
                     char *err, size_t errlen);
int fl_link_set_up(struct nl_sock *rt, int ifindex, bool up, char *err, size_t errlen);
/* Waits until the link's operstate is UP (carrier seen by linkwatch). */
int fl_link_wait_running(struct nl_sock *rt, int ifindex, unsigned timeout_ms, char *err,
                         size_t errlen);
int fl_link_delete(struct nl_sock *rt, int ifindex, char *err, size_t errlen);
int fl_link_ifindex(struct nl_sock *rt, const char *name, char *err, size_t errlen);
int fl_addr_add(struct nl_sock *rt, int ifindex, const char *addr, int prefixlen, char *err,
                size_t errlen);
int fl_route_default_add(struct nl_sock *rt, const char *gateway, char *err, size_t errlen);

/* ---- nft.c ---- */
/* Runs an nft script in the segment's namespace (context created on first use). */
int fl_nft_run(fl_segment *seg, const char *script, char *err, size_t errlen);
/* The same in a host's own namespace, with a throw-away context. */
int fl_nft_run_in(const char *netns, const char *script, char *err, size_t errlen);
void fl_segment_close(fl_segment *seg);

/* ---- topology.c ---- */
/* Creates the host's namespace, sysctls, veth, addresses and routes. */
int fl_host_bring_up(fl_host *h, char *err, size_t errlen);

/* ---- degrade.c (exposed for the message-layout unit test) ---- */
struct nl_msg;
/* The RTM_NEWQDISC request that installs d as the root qdisc of ifindex. */
int fl_netem_request(int ifindex, const fl_degrade *d, struct nl_msg **out);
/* Parses a netem TCA_OPTIONS payload (tc_netem_qopt + attributes). */
int fl_netem_parse_options(const void *data, size_t len, fl_degrade *out);

/* ---- state.c ---- */
int fl_state_write(fl_netem *net, char *err, size_t errlen);
void fl_state_remove(const fl_netem *net);

/* ---- nat.c ---- */
int fl_nat_configure(fl_host *nat, char *err, size_t errlen);

#endif
