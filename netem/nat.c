/* A NAT middlebox: masquerade to the switch, conntrack that forgets idle
 * mappings, and what happens to a packet whose mapping is gone. */
#include <errno.h>
#include <stdio.h>

#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>

#include "core/clock.h"
#include "netem/internal.h"

/* With nf_conntrack_tcp_loose=0 a mid-stream segment without an entry is
 * "ct state invalid": left alone, the NAT's own stack would answer the
 * outside peer with an RST and forwarded ones would pass unNATed. Dropping
 * both is carrier-grade silence; on_expiry reset answers with RST instead. */
int fl_nat_configure(fl_host *nat, char *err, size_t errlen)
{
    if (nat->nat_loose) {
        /* A plain Linux NAT: conntrack picks mid-stream packets up again. */
        return fl_nft_run(&nat->lan,
                          "table ip flatline_nat {\n"
                          " chain postrouting { type nat hook postrouting priority srcnat; "
                          "oifname \"eth0\" masquerade; }\n"
                          "}\n",
                          err, errlen);
    }
    /* With reset, TCP gets an RST first; everything else falls through to drop. */
    bool reset = nat->nat_on_expiry == FL_NAT_EXPIRY_RESET;
    const char *rst = "meta l4proto tcp reject with tcp reset";
    char script[1024];
    snprintf(script, sizeof script,
             "table ip flatline_nat {\n"
             " chain postrouting { type nat hook postrouting priority srcnat; oifname \"eth0\" "
             "masquerade; }\n"
             " chain forward { type filter hook forward priority filter;\n"
             "  %s%s%s ct state invalid drop; }\n"
             " chain input { type filter hook input priority filter;\n"
             "  %s%s%s ct state invalid drop;\n"
             "  %s%s%s tcp flags & (syn | ack) != syn ct state new drop; }\n"
             "}\n",
             reset ? "ct state invalid " : "", reset ? rst : "", reset ? ";" : "",
             reset ? "ct state invalid " : "", reset ? rst : "", reset ? ";" : "",
             reset ? "tcp flags & (syn | ack) != syn ct state new " : "", reset ? rst : "",
             reset ? ";" : "");
    return fl_nft_run(&nat->lan, script, err, errlen);
}

static struct nl_sock *nfnl_socket_in(const char *netns, char *err, size_t errlen)
{
    int saved;
    if (fl_ns_enter(netns, &saved, err, errlen))
        return NULL;
    struct nl_sock *sk = nl_socket_alloc();
    int rc = sk ? nfnl_connect(sk) : -NLE_NOMEM;
    fl_ns_leave(saved);
    if (rc < 0) {
        fl_nlerr(err, errlen, rc, "netfilter netlink socket in %s", netns);
        if (sk)
            nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

static int check_nat(fl_netem *net, fl_host *nat, const char *what, char *err, size_t errlen)
{
    if (!net || !nat || nat->net != net || nat->kind != FL_HOST_NAT)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s: %s is not a NAT of this run", what,
                         nat ? nat->name : "(null)");
    return 0;
}

struct expire_ctx {
    struct nl_sock *sk;
    size_t deleted;
    int first_error;
};

static void expire_one(struct nl_object *obj, void *arg)
{
    struct expire_ctx *c = arg;
    int rc = nfnl_ct_del(c->sk, (struct nfnl_ct *)obj, 0);
    if (rc >= 0)
        c->deleted++;
    else if (rc != -NLE_OBJ_NOTFOUND && !c->first_error)
        c->first_error = rc; /* one that timed out meanwhile is fine */
}

int fl_nat_expire_now(fl_netem *net, fl_host *nat, size_t *deleted, uint64_t *t_ns, char *err,
                      size_t errlen)
{
    int rc = check_nat(net, nat, "expire-now", err, errlen);
    if (rc)
        return rc;
    struct nl_sock *sk = nfnl_socket_in(nat->netns, err, errlen);
    if (!sk)
        return -FL_NETEM_ESYS;
    struct nl_cache *cache = NULL;
    rc = nfnl_ct_alloc_cache(sk, &cache);
    if (rc < 0) {
        nl_socket_free(sk);
        return fl_nlerr(err, errlen, rc, "dump conntrack in %s", nat->netns);
    }
    struct expire_ctx c = {.sk = sk};
    nl_cache_foreach(cache, expire_one, &c);
    if (t_ns)
        *t_ns = fl_now_ns();
    nl_cache_free(cache);
    nl_socket_free(sk);
    if (deleted)
        *deleted = c.deleted;
    if (c.first_error)
        return fl_nlerr(err, errlen, c.first_error, "delete conntrack entry in %s", nat->netns);
    return 0;
}

int fl_nat_entry_count(fl_netem *net, fl_host *nat, size_t *count, char *err, size_t errlen)
{
    int rc = check_nat(net, nat, "conntrack count", err, errlen);
    if (rc)
        return rc;
    struct nl_sock *sk = nfnl_socket_in(nat->netns, err, errlen);
    if (!sk)
        return -FL_NETEM_ESYS;
    struct nl_cache *cache = NULL;
    rc = nfnl_ct_alloc_cache(sk, &cache);
    nl_socket_free(sk);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "dump conntrack in %s", nat->netns);
    *count = (size_t)nl_cache_nitems(cache);
    nl_cache_free(cache);
    return 0;
}
