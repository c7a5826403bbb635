/* Links, addresses and routes through libnl-route. Each call works in the
 * namespace its socket was opened in. */
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "netem/internal.h"

struct nl_sock *fl_rt_socket(char *err, size_t errlen)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk) {
        fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "nl_socket_alloc");
        return NULL;
    }
    int rc = nl_connect(sk, NETLINK_ROUTE);
    if (rc < 0) {
        fl_nlerr(err, errlen, rc, "connect NETLINK_ROUTE");
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

static struct nl_addr *mac_addr(const uint8_t mac[6])
{
    return nl_addr_build(AF_LLC, mac, 6);
}

int fl_link_ifindex(struct nl_sock *rt, const char *name, char *err, size_t errlen)
{
    struct rtnl_link *link = NULL;
    int rc = rtnl_link_get_kernel(rt, 0, name, &link);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "look up link %s", name);
    int ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return ifindex;
}

int fl_link_bridge_add(struct nl_sock *rt, const char *name, const uint8_t mac[6], int *ifindex,
                       char *err, size_t errlen)
{
    struct rtnl_link *br = rtnl_link_bridge_alloc();
    if (!br)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate bridge %s", name);
    /* A fixed address: otherwise the bridge takes its lowest port's, which
     * changes when a host behind a NAT is power-cycled and would stale the
     * other hosts' ARP entries for their gateway. */
    struct nl_addr *addr = mac_addr(mac);
    rtnl_link_set_name(br, name);
    rtnl_link_set_addr(br, addr);
    rtnl_link_set_flags(br, IFF_UP);
    int rc = rtnl_link_add(rt, br, NLM_F_CREATE | NLM_F_EXCL);
    nl_addr_put(addr);
    rtnl_link_put(br);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "create bridge %s", name);
    rc = fl_link_ifindex(rt, name, err, errlen);
    if (rc < 0)
        return rc;
    *ifindex = rc;
    return 0;
}

int fl_link_veth_add(struct nl_sock *rt, const char *port, const uint8_t port_mac[6], int master,
                     int nsfd, const char *peer_name, const uint8_t peer_mac[6], int *port_ifindex,
                     char *err, size_t errlen)
{
    struct rtnl_link *link = rtnl_link_veth_alloc();
    if (!link)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate veth %s", port);
    struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
    struct nl_addr *pmac = mac_addr(port_mac), *hmac = mac_addr(peer_mac);
    rtnl_link_set_name(link, port);
    rtnl_link_set_addr(link, pmac);
    if (master > 0)
        rtnl_link_set_master(link, master);
    rtnl_link_set_flags(link, IFF_UP);
    rtnl_link_set_name(peer, peer_name);
    rtnl_link_set_addr(peer, hmac);
    rtnl_link_set_ns_fd(peer, nsfd);
    /* No IFF_UP on the peer: the kernel refuses flags in the peer's ifinfomsg
     * from libnl 3.7 ("Unspecific failure"); the caller brings it up inside
     * its namespace. */
    int rc = rtnl_link_add(rt, link, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(peer);
    rtnl_link_veth_release(link);
    nl_addr_put(pmac);
    nl_addr_put(hmac);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "create veth %s/%s", port, peer_name);
    rc = fl_link_ifindex(rt, port, err, errlen);
    if (rc < 0)
        return rc;
    *port_ifindex = rc;
    return 0;
}

int fl_link_set_up(struct nl_sock *rt, int ifindex, bool up, char *err, size_t errlen)
{
    struct rtnl_link *old = rtnl_link_alloc(), *change = rtnl_link_alloc();
    int rc = -NLE_NOMEM;
    if (old && change) {
        rtnl_link_set_ifindex(old, ifindex);
        if (up)
            rtnl_link_set_flags(change, IFF_UP);
        else
            rtnl_link_unset_flags(change, IFF_UP);
        rc = rtnl_link_change(rt, old, change, 0);
    }
    if (old)
        rtnl_link_put(old);
    if (change)
        rtnl_link_put(change);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "set link %d %s", ifindex, up ? "up" : "down");
    return 0;
}

int fl_link_delete(struct nl_sock *rt, int ifindex, char *err, size_t errlen)
{
    struct rtnl_link *link = rtnl_link_alloc();
    if (!link)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate link");
    rtnl_link_set_ifindex(link, ifindex);
    int rc = rtnl_link_delete(rt, link);
    rtnl_link_put(link);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "delete link %d", ifindex);
    return 0;
}

int fl_addr_add(struct nl_sock *rt, int ifindex, const char *addr, int prefixlen, char *err,
                size_t errlen)
{
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "bad IPv4 address %s", addr);
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(AF_INET, &in, sizeof in);
    int rc = -NLE_NOMEM;
    if (a && local) {
        nl_addr_set_prefixlen(local, prefixlen);
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, AF_INET);
        rtnl_addr_set_local(a, local);
        rtnl_addr_set_prefixlen(a, prefixlen);
        rc = rtnl_addr_add(rt, a, 0);
    }
    if (local)
        nl_addr_put(local);
    if (a)
        rtnl_addr_put(a);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "add address %s/%d", addr, prefixlen);
    return 0;
}

int fl_route_default_add(struct nl_sock *rt, const char *gateway, char *err, size_t errlen)
{
    struct in_addr gw, any = {0};
    if (inet_pton(AF_INET, gateway, &gw) != 1)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "bad gateway %s", gateway);
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = nl_addr_build(AF_INET, &any, sizeof any);
    struct nl_addr *via = nl_addr_build(AF_INET, &gw, sizeof gw);
    int rc = -NLE_NOMEM;
    if (r && nh && dst && via) {
        nl_addr_set_prefixlen(dst, 0);
        rtnl_route_set_family(r, AF_INET);
        rtnl_route_set_dst(r, dst);
        rtnl_route_set_table(r, RT_TABLE_MAIN);
        rtnl_route_set_protocol(r, RTPROT_STATIC);
        rtnl_route_nh_set_gateway(nh, via);
        rtnl_route_add_nexthop(r, nh);
        nh = NULL; /* owned by the route now */
        rc = rtnl_route_add(rt, r, NLM_F_CREATE | NLM_F_EXCL);
    }
    if (nh)
        rtnl_route_nh_free(nh);
    if (dst)
        nl_addr_put(dst);
    if (via)
        nl_addr_put(via);
    if (r)
        rtnl_route_put(r);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "add default route via %s", gateway);
    return 0;
}

int fl_link_wait_running(struct nl_sock *rt, int ifindex, unsigned timeout_ms, char *err,
                         size_t errlen)
{
    /* Carrier, qdisc activation and the bridge port's forwarding state all
     * follow from the kernel's linkwatch work, which sets operstate UP last. */
    for (unsigned waited = 0;; waited++) {
        struct rtnl_link *link = NULL;
        int rc = rtnl_link_get_kernel(rt, ifindex, NULL, &link);
        if (rc < 0)
            return fl_nlerr(err, errlen, rc, "look up link %d", ifindex);
        uint8_t oper = rtnl_link_get_operstate(link);
        rtnl_link_put(link);
        if (oper == IF_OPER_UP)
            return 0;
        if (waited >= timeout_ms)
            return fl_neterr(err, errlen, FL_NETEM_ESYS, ETIMEDOUT,
                             "link %d not running after %u ms (operstate %u)", ifindex,
                             timeout_ms, oper);
        struct timespec step = {0, 200000};
        nanosleep(&step, NULL);
    }
}
