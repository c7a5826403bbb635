#include "harness/run/topology.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/scenario/profiles.h"

unsigned fl_group_procs_per_host(const fl_sc_group *g)
{
    return (g->clients_per_host + FL_SWARM_SPLIT - 1) / FL_SWARM_SPLIT;
}

/* sysctls object -> array; values point into the scenario or into buf. */
static fl_sysctl *sysctls_of(const json_t *obj, size_t *n, char (*buf)[24])
{
    *n = json_object_size(obj);
    fl_sysctl *list = calloc(*n ? *n : 1, sizeof *list);
    if (!list)
        return NULL;
    size_t i = 0;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        list[i].name = name;
        if (json_is_integer(v)) {
            snprintf(buf[i], sizeof buf[i], "%lld", (long long)json_integer_value(v));
            list[i].value = buf[i];
        } else {
            list[i].value = json_string_value(v);
        }
        i++;
    }
    return list;
}

/* A group's or the broker's link (a profile) holds for the whole run: its
 * netem qdiscs go on both ends of each host's link before anything starts. */
static int apply_links(const fl_scenario *sc, fl_netem *net, char *err, size_t errlen)
{
    fl_degrade d;
    if (sc->broker.link >= 0) {
        fl_host *b = fl_netem_broker(net);
        fl_link_to_degrade(&sc->links[sc->broker.link], &d);
        int rc = fl_fault_degrade(net, &b, 1, &d, FL_DIR_BOTH, NULL, err, errlen);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < sc->ngroups; i++) {
        if (sc->groups[i].link < 0)
            continue;
        fl_link_to_degrade(&sc->links[sc->groups[i].link], &d);
        for (unsigned h = 0; h < sc->groups[i].hosts; h++) {
            fl_host *host = fl_netem_group_host(net, i, h);
            int rc = fl_fault_degrade(net, &host, 1, &d, FL_DIR_BOTH, NULL, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int fl_topology_build(const fl_scenario *sc, const char *prefix, fl_netem **out, char *err, size_t errlen)
{
    size_t nsys = json_object_size(sc->broker.sysctls);
    for (size_t i = 0; i < sc->ngroups; i++)
        nsys += json_object_size(sc->groups[i].sysctls);
    char(*numbers)[24] = calloc(nsys + 1, sizeof *numbers);
    fl_group_spec *groups = calloc(sc->ngroups, sizeof *groups);
    fl_nat_spec *nats = calloc(sc->nmiddleboxes ? sc->nmiddleboxes : 1, sizeof *nats);
    fl_sysctl **lists = calloc(sc->ngroups + 1, sizeof *lists);
    int rc = -FL_NETEM_ESYS;
    if (!numbers || !groups || !nats || !lists) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t used = 0, n;
    fl_topology_spec spec = { .prefix = prefix, .broker_addrs = 1 };
    if (sc->broker.sysctls) {
        lists[sc->ngroups] = sysctls_of(sc->broker.sysctls, &n, numbers + used);
        spec.broker_sysctls = lists[sc->ngroups];
        spec.n_broker_sysctls = n;
        used += n;
    }
    for (size_t i = 0; i < sc->nmiddleboxes; i++) {
        const fl_sc_middlebox *m = &sc->middleboxes[i];
        /* netem names are short; the scenario's names stay in the report. */
        nats[i] = (fl_nat_spec){ .name = NULL, .timeout_s = (unsigned)((m->timeout_ns + 999999999) / 1000000000),
                                 .on_expiry = m->on_expiry == FL_EXPIRY_RESET ? FL_NAT_EXPIRY_RESET
                                                                              : FL_NAT_EXPIRY_DROP,
                                 .loose = false };
    }
    for (size_t i = 0; i < sc->ngroups; i++) {
        const fl_sc_group *g = &sc->groups[i];
        groups[i] = (fl_group_spec){ .name = NULL, .hosts = g->hosts, .addrs_per_host = fl_group_procs_per_host(g),
                                     .nat = g->behind };
        if (g->sysctls) {
            lists[i] = sysctls_of(g->sysctls, &n, numbers + used);
            groups[i].sysctls = lists[i];
            groups[i].n_sysctls = n;
            used += n;
        }
    }
    spec.groups = groups;
    spec.n_groups = sc->ngroups;
    spec.nats = nats;
    spec.n_nats = sc->nmiddleboxes;
    rc = fl_netem_build(&spec, out, err, errlen);
    if (rc == 0 && (rc = apply_links(sc, *out, err, errlen)) < 0) {
        fl_netem_teardown(*out, NULL, 0);
        *out = NULL;
    }
out:
    for (size_t i = 0; lists && i <= sc->ngroups; i++)
        free(lists[i]);
    free(lists);
    free(numbers);
    free(groups);
    free(nats);
    return rc;
}

/* splitmix64: the same seed picks the same hosts in every run. */
static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

size_t fl_fault_hosts(const fl_scenario *sc, const fl_sc_fault *f, fl_netem *net, fl_host **hosts, size_t cap)
{
    if ((f->kind == FL_FAULT_NAT_EXPIRY || f->kind == FL_FAULT_EXPIRE_NOW) && f->middlebox >= 0) {
        if (cap < 1)
            return 0;
        hosts[0] = fl_netem_nat(net, (size_t)f->middlebox);
        return hosts[0] ? 1 : 0;
    }
    if (f->group < 0)
        return 0;
    const fl_sc_group *g = &sc->groups[f->group];
    if (f->host >= 0) {
        hosts[0] = fl_netem_group_host(net, (size_t)f->group, (size_t)f->host);
        return cap >= 1 && hosts[0] ? 1 : 0;
    }
    unsigned count = g->hosts;
    if (f->fraction > 0) {
        count = (unsigned)(f->fraction * g->hosts + 0.999999);
        if (count < 1)
            count = 1;
    }
    /* A seeded partial Fisher-Yates over the host indexes. */
    unsigned order[64];
    for (unsigned i = 0; i < g->hosts; i++)
        order[i] = i;
    for (unsigned i = 0; i < count && f->fraction > 0; i++) {
        unsigned j = i + (unsigned)(mix(sc->seed ^ ((uint64_t)f->at_ns << 8) ^ i) % (g->hosts - i));
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    size_t n = 0;
    for (unsigned i = 0; i < count && n < cap; i++) {
        fl_host *h = fl_netem_group_host(net, (size_t)f->group, order[i]);
        if (h)
            hosts[n++] = h;
    }
    return n;
}
