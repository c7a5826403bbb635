/* Cable pull, power loss and partition. Each stamps the time right after the
 * kernel call that changed the host's traffic returned. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>

#include "core/clock.h"
#include "netem/internal.h"

static int check_hosts(fl_netem *net, fl_host *const *hosts, size_t n, const char *what, char *err,
                       size_t errlen)
{
    if (!net || (n && !hosts))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s: no hosts", what);
    for (size_t i = 0; i < n; i++)
        if (!hosts[i] || hosts[i]->net != net)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s: hosts[%zu] is not in this run",
                             what, i);
    return 0;
}

static int cable(fl_netem *net, fl_host *const *hosts, size_t n, bool up, uint64_t *t_ns,
                 char *err, size_t errlen)
{
    const char *what = up ? "cable-restore" : "cable-pull";
    int rc = check_hosts(net, hosts, n, what, err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (!h->powered)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "%s %s: host is powered off", what,
                             h->name);
        rc = fl_link_set_up(h->upstream->rt, h->port_ifindex, up, err, errlen);
        /* Down takes effect in the call; up only once linkwatch has seen the
         * carrier (frames sent before that are dropped). */
        if (!rc && up)
            rc = fl_link_wait_running(h->upstream->rt, h->port_ifindex, 2000, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
    }
    return rc;
}

int fl_fault_cable_pull(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns, char *err,
                        size_t errlen)
{
    return cable(net, hosts, n, false, t_ns, err, errlen);
}

int fl_fault_cable_restore(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                           char *err, size_t errlen)
{
    return cable(net, hosts, n, true, t_ns, err, errlen);
}

int fl_fault_power_loss(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns, char *err,
                        size_t errlen)
{
    int rc = check_hosts(net, hosts, n, "power-loss", err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (h->kind == FL_HOST_NAT)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "power-loss %s: a NAT carries its clients' ports; partition it "
                             "instead",
                             h->name);
        if (!h->powered)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "power-loss %s: already off",
                             h->name);
        /* Traffic first: killing first would send FIN (or RST for unread data). */
        rc = fl_link_set_up(h->upstream->rt, h->port_ifindex, false, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (rc)
            return rc;
        fl_ns_kill_all(h->netns, 2000);
        /* Deleting our end deletes the pair, even while orphaned sockets keep
         * the old namespace alive a little longer. */
        rc = fl_link_delete(h->upstream->rt, h->port_ifindex, err, errlen);
        if (!rc)
            rc = fl_ns_delete(h->netns, err, errlen);
        if (rc)
            return rc;
        /* A partition is in the network, not in the host: it outlives a power
         * cycle (the rule matches the port by name). A qdisc died with the link. */
        h->powered = false;
        h->degraded_ends = 0;
        h->n_pids = 0;
    }
    return rc;
}

int fl_fault_power_restore(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                           char *err, size_t errlen)
{
    int rc = check_hosts(net, hosts, n, "power-restore", err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (h->powered)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "power-restore %s: not off",
                             h->name);
        rc = fl_host_bring_up(h, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (rc)
            return rc;
        h->powered = true;
    }
    return rc;
}

/* One table a host, so that heal is one atomic delete and hosts never share
 * rule handles. The bridge family sees frames at the switch port: the host's
 * own stack gets no error and the far side no hint. */
int fl_fault_partition(fl_netem *net, fl_host *const *hosts, size_t n, fl_direction dir,
                       uint64_t *t_ns, char *err, size_t errlen)
{
    int rc = check_hosts(net, hosts, n, "partition", err, errlen);
    if (!rc && dir != FL_DIR_BOTH && dir != FL_DIR_IN && dir != FL_DIR_OUT)
        rc = fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "partition: direction %d", (int)dir);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (!h->powered)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "partition %s: host is powered off",
                             h->name);
        if (h->partitioned)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "partition %s: already partitioned",
                             h->name);
        char script[512];
        char from_rule[64] = "", to_rule[64] = "";
        if (dir != FL_DIR_IN)
            snprintf(from_rule, sizeof from_rule, "iifname \"%s\" drop;", h->port);
        if (dir != FL_DIR_OUT)
            snprintf(to_rule, sizeof to_rule, "oifname \"%s\" drop;", h->port);
        snprintf(script, sizeof script,
                 "table bridge flpart_%s {\n"
                 " chain from_host { type filter hook prerouting priority -300; %s }\n"
                 " chain to_host { type filter hook postrouting priority -300; %s }\n"
                 "}\n",
                 h->port, from_rule, to_rule);
        rc = fl_nft_run(h->upstream, script, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (!rc)
            h->partitioned = true;
    }
    return rc;
}

int fl_fault_partition_heal(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                            char *err, size_t errlen)
{
    int rc = check_hosts(net, hosts, n, "partition-heal", err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (!h->partitioned)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "partition-heal %s: not partitioned",
                             h->name);
        char script[64];
        snprintf(script, sizeof script, "delete table bridge flpart_%s\n", h->port);
        rc = fl_nft_run(h->upstream, script, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (!rc)
            h->partitioned = false;
    }
    return rc;
}
