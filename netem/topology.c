/* Building and tearing down the test network, and what the runner asks about it.
 *
 *   [broker]--p0--+                     +--p3--[g0-0]
 *                 |  sw0 (bridge in     |
 *   [nat0 ]--p1---+  <prefix>-sw)  -----+--p4--[g0-1]
 *     lan0 bridge in nat0's namespace --p2--[g1-0]   (100.64.0.0/16 behind nat0)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>

#include "netem/internal.h"

#define SWITCH_BRIDGE "sw0"
#define NAT_BRIDGE "lan0"
#define HOST_IF "eth0"

static bool name_ok(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p)))
            return false;
    return true;
}

static int validate(const fl_topology_spec *spec, char *err, size_t errlen)
{
    if (!spec)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "no topology spec");
    if (!spec->prefix || !name_ok(spec->prefix, FL_NETEM_PREFIX_MAX))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                         "prefix \"%s\": must be 1-%d characters [a-z0-9]",
                         spec->prefix ? spec->prefix : "(null)", FL_NETEM_PREFIX_MAX);
    if (spec->n_nats > 64)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "nats: %zu given, at most 64",
                         spec->n_nats);
    if (spec->broker_addrs > 9)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "broker_addrs: %u, at most 9",
                         spec->broker_addrs);
    for (size_t j = 0; j < spec->n_nats; j++) {
        const char *name = spec->nats[j].name;
        if (name && (!name_ok(name, FL_NETEM_NAME_MAX) || !strcmp(name, "broker") ||
                     !strcmp(name, "sw")))
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "nats[%zu].name \"%s\": must be 1-%d characters [a-z0-9], not "
                             "\"broker\" or \"sw\"",
                             j, name, FL_NETEM_NAME_MAX);
        if (spec->nats[j].on_expiry != FL_NAT_EXPIRY_DROP &&
            spec->nats[j].on_expiry != FL_NAT_EXPIRY_RESET)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "nats[%zu].on_expiry: %d", j,
                             (int)spec->nats[j].on_expiry);
    }
    size_t total = 0;
    for (size_t g = 0; g < spec->n_groups; g++) {
        const fl_group_spec *gs = &spec->groups[g];
        if (gs->name && !name_ok(gs->name, FL_NETEM_NAME_MAX))
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "groups[%zu].name \"%s\": must be 1-%d characters [a-z0-9]", g,
                             gs->name, FL_NETEM_NAME_MAX);
        for (size_t o = 0; o < g; o++) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%s", gs->name ? gs->name : "");
            snprintf(b, sizeof b, "%s", spec->groups[o].name ? spec->groups[o].name : "");
            if (!a[0])
                snprintf(a, sizeof a, "g%zu", g);
            if (!b[0])
                snprintf(b, sizeof b, "g%zu", o);
            if (!strcmp(a, b))
                return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                                 "groups[%zu].name \"%s\": used twice", g, a);
        }
        if (gs->hosts == 0)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "groups[%zu].hosts: must be >= 1",
                             g);
        if (gs->nat < -1 || (gs->nat >= 0 && (size_t)gs->nat >= spec->n_nats))
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "groups[%zu].nat: %d, but %zu NATs are defined", g, gs->nat,
                             spec->n_nats);
        if (gs->addrs_per_host > 256)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "groups[%zu].addrs_per_host: %u, at most 256", g,
                             gs->addrs_per_host);
        total += gs->hosts;
    }
    if (total > 20000)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "groups: %zu hosts, at most 20000",
                         total);
    return 0;
}

static int copy_sysctls(fl_host *h, const fl_sysctl *s, size_t n, const char *field, char *err,
                        size_t errlen)
{
    if (!n)
        return 0;
    h->sysctls = calloc(n, sizeof *h->sysctls);
    if (!h->sysctls)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "copy sysctls");
    for (size_t i = 0; i < n; i++) {
        if (!s[i].name || !s[i].value || !s[i].name[0])
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s[%zu]: name and value needed",
                             field, i);
        h->sysctls[i].name = strdup(s[i].name);
        h->sysctls[i].value = strdup(s[i].value);
        h->n_sysctls = i + 1;
        if (!h->sysctls[i].name || !h->sysctls[i].value)
            return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "copy sysctls");
    }
    return 0;
}

static void fmt_ipv4(uint32_t a, char out[ADDR_LEN])
{
    struct in_addr in = {htonl(a)};
    inet_ntop(AF_INET, &in, out, ADDR_LEN);
}

/* Next usable address: no .0 or .255 in the last octet (they confuse readers
 * of logs even where they are valid host addresses). */
static uint32_t next_addr(uint32_t *cursor)
{
    uint32_t a;
    do
        a = (*cursor)++;
    while ((a & 0xff) == 0 || (a & 0xff) == 0xff);
    return a;
}

static int host_init(fl_netem *net, fl_host *h, fl_host_kind kind, const char *name, size_t naddrs,
                     uint32_t *cursor, int prefixlen, char *err, size_t errlen)
{
    h->net = net;
    h->kind = kind;
    h->group = -1;
    h->nat = -1;
    h->index = (size_t)(h - net->hosts);
    h->powered = true;
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->netns, sizeof h->netns, "%s-%s", net->prefix, name);
    snprintf(h->port, sizeof h->port, "p%zu", h->index);
    uint8_t mac[6] = {0x02, 0x00, (uint8_t)(h->index >> 16), (uint8_t)(h->index >> 8),
                      (uint8_t)h->index, 0x01};
    memcpy(h->mac_host, mac, 6);
    mac[5] = 0x02;
    memcpy(h->mac_port, mac, 6);
    h->addrs = calloc(naddrs ? naddrs : 1, sizeof *h->addrs);
    if (!h->addrs)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate addresses");
    h->n_addrs = naddrs;
    for (size_t i = 0; i < naddrs; i++)
        fmt_ipv4(next_addr(cursor), h->addrs[i]);
    h->prefixlen = prefixlen;
    h->upstream = &net->sw;
    return 0;
}

static void host_free(fl_host *h)
{
    for (size_t i = 0; i < h->n_sysctls; i++) {
        free(h->sysctls[i].name);
        free(h->sysctls[i].value);
    }
    free(h->sysctls);
    free(h->addrs);
    free(h->pids);
}

static void net_free(fl_netem *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->n_hosts; i++)
        host_free(&net->hosts[i]);
    free(net->hosts);
    free(net->group_first);
    free(net->group_size);
    free(net->nat_host);
    free(net);
}

static int plan(const fl_topology_spec *spec, fl_netem **out, char *err, size_t errlen)
{
    fl_netem *net = calloc(1, sizeof *net);
    if (!net)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate topology");
    snprintf(net->prefix, sizeof net->prefix, "%s", spec->prefix);
    snprintf(net->sw.netns, sizeof net->sw.netns, "%s-sw", net->prefix);
    size_t clients = 0;
    for (size_t g = 0; g < spec->n_groups; g++)
        clients += spec->groups[g].hosts;
    size_t total = 1 + spec->n_nats + clients;
    net->hosts = calloc(total, sizeof *net->hosts);
    net->group_first = calloc(spec->n_groups + 1, sizeof *net->group_first);
    net->group_size = calloc(spec->n_groups + 1, sizeof *net->group_size);
    net->nat_host = calloc(spec->n_nats + 1, sizeof *net->nat_host);
    *out = net;
    if (!net->hosts || !net->group_first || !net->group_size || !net->nat_host)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate topology");
    net->n_groups = spec->n_groups;
    net->n_nats = spec->n_nats;

    uint32_t switch_cursor = (198u << 24) | (18u << 16) | 1u; /* 198.18.0.1 */
    fl_host *b = &net->hosts[net->n_hosts++];
    int rc = host_init(net, b, FL_HOST_BROKER, "broker", spec->broker_addrs ? spec->broker_addrs : 1,
                       &switch_cursor, 15, err, errlen);
    if (!rc)
        rc = copy_sysctls(b, spec->broker_sysctls, spec->n_broker_sysctls, "broker_sysctls", err,
                          errlen);
    if (rc)
        return rc;

    uint32_t *lan_cursor = calloc(spec->n_nats + 1, sizeof *lan_cursor);
    if (!lan_cursor)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "allocate topology");
    for (size_t j = 0; j < spec->n_nats && !rc; j++) {
        const fl_nat_spec *ns = &spec->nats[j];
        char name[24];
        snprintf(name, sizeof name, "%s", ns->name ? ns->name : "");
        if (!name[0])
            snprintf(name, sizeof name, "nat%zu", j);
        for (size_t o = 0; o < j; o++)
            if (!strcmp(net->hosts[net->nat_host[o]].name, name))
                rc = fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "nats[%zu].name \"%s\": used twice",
                               j, name);
        if (rc)
            break;
        uint32_t outer = (198u << 24) | (18u << 16) | (uint32_t)(10 + j);
        net->nat_host[j] = net->n_hosts;
        fl_host *h = &net->hosts[net->n_hosts++];
        rc = host_init(net, h, FL_HOST_NAT, name, 1, &outer, 15, err, errlen);
        if (!rc) {
            char field[48];
            snprintf(field, sizeof field, "nats[%zu].sysctls", j);
            rc = copy_sysctls(h, ns->sysctls, ns->n_sysctls, field, err, errlen);
        }
        h->nat = (int)j;
        h->nat_timeout_s = ns->timeout_s;
        h->nat_on_expiry = ns->on_expiry;
        h->nat_loose = ns->loose;
        uint32_t base = (100u << 24) | ((64u + (uint32_t)j) << 16);
        fmt_ipv4(base | 1u, h->lan_addr);
        snprintf(h->lan.netns, sizeof h->lan.netns, "%s", h->netns);
        lan_cursor[j] = base | (1u << 8) | 1u; /* 100.(64+j).1.1 */
    }

    switch_cursor = (198u << 24) | (18u << 16) | (1u << 8) | 1u; /* 198.18.1.1 */
    for (size_t g = 0; g < spec->n_groups && !rc; g++) {
        const fl_group_spec *gs = &spec->groups[g];
        char gname[24];
        snprintf(gname, sizeof gname, "%s", gs->name ? gs->name : "");
        if (!gname[0])
            snprintf(gname, sizeof gname, "g%zu", g);
        net->group_first[g] = net->n_hosts;
        net->group_size[g] = gs->hosts;
        for (unsigned i = 0; i < gs->hosts && !rc; i++) {
            char name[40];
            snprintf(name, sizeof name, "%s-%u", gname, i);
            fl_host *h = &net->hosts[net->n_hosts++];
            bool natted = gs->nat >= 0;
            rc = host_init(net, h, FL_HOST_CLIENT, name, gs->addrs_per_host ? gs->addrs_per_host : 1,
                           natted ? &lan_cursor[gs->nat] : &switch_cursor, natted ? 16 : 15, err,
                           errlen);
            if (rc)
                break;
            char field[48];
            snprintf(field, sizeof field, "groups[%zu].sysctls", g);
            rc = copy_sysctls(h, gs->sysctls, gs->n_sysctls, field, err, errlen);
            h->group = (int)g;
            if (natted) {
                fl_host *nat = &net->hosts[net->nat_host[gs->nat]];
                h->nat = gs->nat;
                h->upstream = &nat->lan;
                snprintf(h->gateway, sizeof h->gateway, "%s", nat->lan_addr);
            }
        }
        if (!rc && (switch_cursor >> 16) > ((198u << 8) | 19u))
            rc = fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                           "groups: too many addresses for 198.18.0.0/15");
    }
    for (size_t j = 0; j < spec->n_nats && !rc; j++)
        if ((lan_cursor[j] >> 16) != (100u << 8) + 64u + j)
            rc = fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                           "groups: too many addresses behind NAT %zu (a /16)", j);
    free(lan_cursor);
    return rc;
}

/* IPv6 off so that router and MLD chatter stays out of interface counters;
 * bridged frames must not pass the IP hooks (br_netfilter) in our switches. */
static const fl_sysctl base_sysctls[] = {
    {"net.ipv6.conf.all.disable_ipv6", "1"},
    {"net.ipv6.conf.default.disable_ipv6", "1"},
    /* IGMP reports for link-local groups would show in counters and in the
     * NATs' conntrack tables. */
    {"net.ipv4.igmp_link_local_mcast_reports", "0"},
};

static int apply_sysctls(const fl_host *h, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof base_sysctls / sizeof base_sysctls[0]; i++) {
        int rc = fl_sysctl_write(base_sysctls[i].name, base_sysctls[i].value, err, errlen);
        if (rc)
            return rc;
    }
    if (h && h->kind == FL_HOST_NAT) {
        char timeout[16];
        int rc = fl_sysctl_write("net.ipv4.ip_forward", "1", err, errlen);
        if (!rc)
            rc = fl_sysctl_write("net.netfilter.nf_conntrack_tcp_loose", h->nat_loose ? "1" : "0",
                                 err, errlen);
        if (!rc && h->nat_timeout_s) {
            snprintf(timeout, sizeof timeout, "%u", h->nat_timeout_s);
            rc = fl_sysctl_write("net.netfilter.nf_conntrack_tcp_timeout_established", timeout,
                                 err, errlen);
        }
        if (rc)
            return rc;
    }
    if (!h || h->kind == FL_HOST_NAT)
        fl_sysctl_write("net.bridge.bridge-nf-call-iptables", "0", NULL, 0);
    for (size_t i = 0; h && i < h->n_sysctls; i++) {
        int rc = fl_sysctl_write(h->sysctls[i].name, h->sysctls[i].value, err, errlen);
        if (rc) {
            /* Name the host: the same sysctl may work elsewhere. */
            char inner[256];
            snprintf(inner, sizeof inner, "%s", err);
            return fl_neterr(err, errlen, -rc, 0, "host %s: %s", h->name,
                             strncmp(inner, "netem: ", 7) ? inner : inner + 7);
        }
    }
    return 0;
}

static const uint8_t switch_mac[6] = {0x02, 0x00, 0xff, 0xff, 0xff, 0x00};

static int switch_bring_up(fl_netem *net, char *err, size_t errlen)
{
    int rc = fl_ns_create(net->sw.netns, err, errlen);
    if (rc)
        return rc;
    int saved;
    if ((rc = fl_ns_enter(net->sw.netns, &saved, err, errlen)))
        return rc;
    rc = apply_sysctls(NULL, err, errlen);
    if (!rc && !(net->sw.rt = fl_rt_socket(err, errlen)))
        rc = -FL_NETEM_ESYS;
    fl_ns_leave(saved);
    if (!rc)
        rc = fl_link_bridge_add(net->sw.rt, SWITCH_BRIDGE, switch_mac, &net->sw.bridge_ifindex, err,
                                errlen);
    return rc;
}

int fl_host_bring_up(fl_host *h, char *err, size_t errlen)
{
    int rc = fl_ns_create(h->netns, err, errlen);
    if (rc)
        return rc;
    int saved;
    if ((rc = fl_ns_enter(h->netns, &saved, err, errlen)))
        return rc;
    struct nl_sock *rt = NULL;
    rc = apply_sysctls(h, err, errlen);
    if (!rc && !(rt = fl_rt_socket(err, errlen)))
        rc = -FL_NETEM_ESYS;
    fl_ns_leave(saved);
    if (!rc)
        rc = fl_link_set_up(rt, 1, true, err, errlen); /* lo */
    if (!rc && h->kind == FL_HOST_NAT) {
        uint8_t lan_mac[6];
        memcpy(lan_mac, h->mac_host, 6);
        lan_mac[5] = 0x03;
        rc = fl_link_bridge_add(rt, NAT_BRIDGE, lan_mac, &h->lan.bridge_ifindex, err, errlen);
        if (!rc)
            rc = fl_addr_add(rt, h->lan.bridge_ifindex, h->lan_addr, 16, err, errlen);
    }
    if (!rc) {
        int nsfd = fl_ns_open(h->netns, err, errlen);
        rc = nsfd < 0 ? nsfd
                      : fl_link_veth_add(h->upstream->rt, h->port, h->mac_port,
                                         h->upstream->bridge_ifindex, nsfd, HOST_IF, h->mac_host,
                                         &h->port_ifindex, err, errlen);
        if (nsfd >= 0)
            close(nsfd);
    }
    int ifindex = 0;
    if (!rc) {
        rc = fl_link_ifindex(rt, HOST_IF, err, errlen);
        ifindex = rc;
        if (rc > 0)
            rc = fl_link_set_up(rt, ifindex, true, err, errlen);
    }
    for (size_t i = 0; !rc && i < h->n_addrs; i++)
        rc = fl_addr_add(rt, ifindex, h->addrs[i], h->prefixlen, err, errlen);
    if (!rc && h->gateway[0])
        rc = fl_route_default_add(rt, h->gateway, err, errlen);
    /* Until linkwatch has run, the first frames are dropped (measured: one
     * in two first segments after a power restore lost, 200 ms RTO). */
    if (!rc)
        rc = fl_link_wait_running(rt, ifindex, 2000, err, errlen);
    if (!rc)
        rc = fl_link_wait_running(h->upstream->rt, h->port_ifindex, 2000, err, errlen);
    if (h->kind == FL_HOST_NAT) {
        h->lan.rt = rt;
        if (!rc)
            rc = fl_nat_configure(h, err, errlen);
    } else if (rt) {
        nl_socket_free(rt);
    }
    if (rc) {
        char prefixed[256];
        snprintf(prefixed, sizeof prefixed, "%s", err);
        if (errlen && !strstr(prefixed, h->name))
            fl_neterr(err, errlen, -rc, 0, "host %s: %s", h->name,
                      strncmp(prefixed, "netem: ", 7) ? prefixed : prefixed + 7);
    }
    return rc;
}

int fl_netem_build(const fl_topology_spec *spec, fl_netem **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = validate(spec, err, errlen);
    if (rc)
        return rc;
    fl_netem *net = NULL;
    rc = plan(spec, &net, err, errlen);
    if (rc) {
        net_free(net);
        return rc;
    }
    if (fl_ns_exists(net->sw.netns)) {
        rc = fl_neterr(err, errlen, FL_NETEM_ESTATE, EEXIST, "namespace %s", net->sw.netns);
        net_free(net);
        return rc;
    }
    /* The state file comes first: a runner killed halfway through leaves
     * nothing that cleanup_stale cannot find. */
    if ((rc = fl_state_write(net, err, errlen))) {
        net_free(net);
        return rc;
    }
    rc = switch_bring_up(net, err, errlen);
    for (size_t i = 0; !rc && i < net->n_hosts; i++)
        rc = fl_host_bring_up(&net->hosts[i], err, errlen);
    if (rc) {
        fl_netem_teardown(net, NULL, 0);
        return rc;
    }
    *out = net;
    return 0;
}

int fl_netem_teardown(fl_netem *net, char *err, size_t errlen)
{
    if (!net)
        return 0;
    const char **names = calloc(net->n_hosts + 1, sizeof *names);
    if (names) {
        for (size_t i = 0; i < net->n_hosts; i++)
            names[i] = net->hosts[i].netns;
        names[net->n_hosts] = net->sw.netns;
        fl_ns_kill_many(names, net->n_hosts + 1, 2000);
        free(names);
    }
    for (size_t i = 0; i < net->n_hosts; i++)
        fl_segment_close(&net->hosts[i].lan);
    fl_segment_close(&net->sw);
    int rc = 0;
    /* Hosts first: their veth pairs die with them, the bridges last. */
    for (size_t i = net->n_hosts; i-- > 0;) {
        int r = fl_ns_delete(net->hosts[i].netns, rc ? NULL : err, rc ? 0 : errlen);
        if (r && !rc)
            rc = r;
    }
    int r = fl_ns_delete(net->sw.netns, rc ? NULL : err, rc ? 0 : errlen);
    if (r && !rc)
        rc = r;
    fl_state_remove(net);
    net_free(net);
    return rc;
}

/* ---- queries ---- */

const char *fl_netem_prefix(const fl_netem *net) { return net->prefix; }
fl_host *fl_netem_broker(fl_netem *net) { return &net->hosts[0]; }
const char *fl_netem_broker_addr(const fl_netem *net) { return net->hosts[0].addrs[0]; }
size_t fl_netem_host_count(const fl_netem *net) { return net->n_hosts; }

fl_host *fl_netem_host(fl_netem *net, size_t i)
{
    return i < net->n_hosts ? &net->hosts[i] : NULL;
}

fl_host *fl_netem_find_host(fl_netem *net, const char *name)
{
    for (size_t i = 0; i < net->n_hosts; i++)
        if (!strcmp(net->hosts[i].name, name))
            return &net->hosts[i];
    return NULL;
}

fl_host *fl_netem_group_host(fl_netem *net, size_t group, size_t i)
{
    if (group >= net->n_groups || i >= net->group_size[group])
        return NULL;
    return &net->hosts[net->group_first[group] + i];
}

fl_host *fl_netem_nat(fl_netem *net, size_t nat)
{
    return nat < net->n_nats ? &net->hosts[net->nat_host[nat]] : NULL;
}

const char *fl_host_name(const fl_host *h) { return h->name; }
fl_host_kind fl_host_kind_of(const fl_host *h) { return h->kind; }
int fl_host_group(const fl_host *h) { return h->group; }
const char *fl_host_netns(const fl_host *h) { return h->netns; }
size_t fl_host_addr_count(const fl_host *h) { return h->n_addrs; }
const char *fl_host_addr(const fl_host *h, size_t i) { return i < h->n_addrs ? h->addrs[i] : NULL; }
bool fl_host_powered(const fl_host *h) { return h->powered; }
