/* flatline doctor: what this machine can do, each item tried for real in a
 * scratch namespace that is removed again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <nftables/libnftables.h>

#include "netem/internal.h"

static void set(fl_probe_result *r, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(fl_probe_result *r, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->ok = ok;
}

static bool has_caps(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return false;
    char line[256];
    unsigned long long eff = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    const unsigned long long net_admin = 1ull << 12, sys_admin = 1ull << 21;
    return (eff & net_admin) && (eff & sys_admin);
}

static const char *strip(const char *msg)
{
    return strncmp(msg, "netem: ", 7) ? msg : msg + 7;
}

/* Each item below is tried in the scratch namespace ns; each returns 1 when it
 * failed (counted by fl_netem_probe), 0 when it worked. */

static int probe_bridge(struct nl_sock *rt, fl_probe_result *r, int *br)
{
    char err[256];
    static const uint8_t mac_br[6] = {0x02, 0, 0, 0, 0, 3};
    if (fl_link_bridge_add(rt, "b0", mac_br, br, err, sizeof err)) {
        set(r, false, "%s (needs CONFIG_BRIDGE)", strip(err));
        return 1;
    }
    set(r, true, "bridge created");
    return 0;
}

static int probe_veth(struct nl_sock *rt, const char *ns, int br, fl_probe_result *r, int *port)
{
    char err[256];
    int nsfd = fl_ns_open(ns, err, sizeof err);
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 1}, mac_b[6] = {0x02, 0, 0, 0, 0, 2};
    int failed = nsfd < 0 || fl_link_veth_add(rt, "v0", mac_a, br, nsfd, "v1", mac_b, port, err, sizeof err);
    if (failed)
        set(r, false, "%s (needs CONFIG_VETH)", strip(err));
    else
        set(r, true, "veth pair created%s", br ? " and enslaved to the bridge" : "");
    if (nsfd >= 0)
        close(nsfd);
    return failed;
}

static int probe_nftables(const char *ns, fl_probe_result *r)
{
    char err[256];
    if (fl_nft_run_in(ns,
                      "table ip flprobe {\n"
                      " chain post { type nat hook postrouting priority srcnat; masquerade; }\n"
                      " chain forward { type filter hook forward priority filter; ct state invalid "
                      "meta l4proto tcp reject with tcp reset; }\n"
                      "}\n"
                      "table bridge flprobe {\n"
                      " chain pre { type filter hook prerouting priority -300; iifname \"v0\" "
                      "drop; }\n"
                      "}\n",
                      err, sizeof err)) {
        set(r, false, "%s (needs nf_tables with nat, ct, masquerade and the bridge family)", strip(err));
        return 1;
    }
    set(r, true, "nat masquerade, ct state and bridge-family rules accepted");
    return 0;
}

static int probe_conntrack(const char *ns, fl_probe_result *r)
{
    char err[256];
    int saved;
    struct nl_sock *nf = NULL;
    int rc = fl_ns_enter(ns, &saved, err, sizeof err);
    if (!rc) {
        rc = fl_sysctl_write("net.netfilter.nf_conntrack_tcp_loose", "0", err, sizeof err);
        nf = nl_socket_alloc();
        int nrc = nf ? nfnl_connect(nf) : -NLE_NOMEM;
        fl_ns_leave(saved);
        if (!rc && nrc < 0)
            rc = fl_nlerr(err, sizeof err, nrc, "netfilter netlink socket");
    }
    struct nl_cache *cache = NULL;
    if (!rc) {
        int nrc = nfnl_ct_alloc_cache(nf, &cache);
        if (nrc < 0)
            rc = fl_nlerr(err, sizeof err, nrc, "conntrack dump");
    }
    if (rc)
        set(r, false, "%s (needs nf_conntrack and nf_conntrack_netlink)", strip(err));
    else
        set(r, true, "per-namespace conntrack sysctls and netlink dump work");
    if (cache)
        nl_cache_free(cache);
    if (nf)
        nl_socket_free(nf);
    return rc ? 1 : 0;
}

/* The same path a degrade fault takes, on the probe's veth. */
static int probe_netem(fl_netem *scratch, struct nl_sock *rt, const char *ns, int port, fl_probe_result *r)
{
    char err[256];
    if (!port) {
        set(r, false, "not tried: no veth to put a qdisc on");
        return 1;
    }
    fl_host h;
    memset(&h, 0, sizeof h);
    h.net = scratch;
    h.powered = true;
    h.upstream = &scratch->sw;
    scratch->sw.rt = rt;
    h.port_ifindex = port;
    snprintf(h.name, sizeof h.name, "probe");
    snprintf(h.netns, sizeof h.netns, "%s", ns);
    snprintf(h.port, sizeof h.port, "v0");
    fl_host *list[1] = {&h};
    fl_degrade d = {.delay_us = 1000};
    int rc = fl_fault_degrade(scratch, list, 1, &d, FL_DIR_IN, NULL, err, sizeof err);
    scratch->sw.rt = NULL;
    if (rc) {
        set(r, false, "%s", strip(err));
        return 1;
    }
    set(r, true, "netem qdisc installed on a veth");
    return 0;
}

/* The scratch namespace and a route socket in it; NULL (with the item set) when
 * namespaces do not work. A state file like a run's comes first, so that even a
 * probe killed halfway is cleaned up by cleanup_stale. */
static struct nl_sock *probe_namespaces(fl_netem *scratch, fl_probe_result *r)
{
    char err[256];
    int saved;
    memset(scratch, 0, sizeof *scratch);
    snprintf(scratch->prefix, sizeof scratch->prefix, "fp%d", (int)getpid() % 10000000);
    snprintf(scratch->sw.netns, sizeof scratch->sw.netns, "%s-probe", scratch->prefix);
    if (fl_state_write(scratch, err, sizeof err)) {
        set(r, false, "%s", strip(err));
        return NULL;
    }
    const char *ns = scratch->sw.netns;
    struct nl_sock *rt = NULL;
    if (fl_ns_create(ns, err, sizeof err) || fl_ns_enter(ns, &saved, err, sizeof err)) {
        set(r, false, "%s (needs CONFIG_NET_NS)", strip(err));
    } else {
        rt = fl_rt_socket(err, sizeof err);
        fl_ns_leave(saved);
        if (!rt)
            set(r, false, "%s", strip(err));
    }
    if (!rt) {
        fl_ns_delete(ns, NULL, 0);
        fl_state_remove(scratch);
        return NULL;
    }
    set(r, true, "created %s (unshare + bind mount under /run/netns)", ns);
    return rt;
}

int fl_netem_probe(fl_probe_result results[FL_PROBE_COUNT])
{
    static const char *const names[FL_PROBE_COUNT] = {
        "root", "namespaces", "veth", "bridge", "nftables", "conntrack", "netem"};
    for (int i = 0; i < FL_PROBE_COUNT; i++) {
        results[i].name = names[i];
        set(&results[i], false, "not tried (an earlier item failed)");
    }
    if (geteuid() != 0 || !has_caps()) {
        set(&results[FL_PROBE_ROOT], false,
            "not root with CAP_NET_ADMIN and CAP_SYS_ADMIN: run flatline as root");
        return FL_PROBE_COUNT;
    }
    set(&results[FL_PROBE_ROOT], true, "root, CAP_NET_ADMIN and CAP_SYS_ADMIN");

    fl_netem scratch;
    struct nl_sock *rt = probe_namespaces(&scratch, &results[FL_PROBE_NAMESPACES]);
    if (!rt)
        return FL_PROBE_COUNT - 1;
    const char *ns = scratch.sw.netns;
    int br = 0, port = 0, failed = 0;
    failed += probe_bridge(rt, &results[FL_PROBE_BRIDGE], &br);
    failed += probe_veth(rt, ns, br, &results[FL_PROBE_VETH], &port);
    failed += probe_nftables(ns, &results[FL_PROBE_NFTABLES]);
    failed += probe_conntrack(ns, &results[FL_PROBE_CONNTRACK]);
    failed += probe_netem(&scratch, rt, ns, port, &results[FL_PROBE_NETEM]);

    nl_socket_free(rt);
    fl_ns_delete(ns, NULL, 0);
    fl_state_remove(&scratch);
    return failed;
}
