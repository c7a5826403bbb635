/* netem qdiscs on a host's veth ends through libnl's netem API; rate and
 * Gilbert-Elliott loss, which libnl does not know, as raw TCA_NETEM_*
 * attributes appended to libnl's own request. netem shapes egress only: the
 * host end shapes what the host sends, the switch end what it receives. */
#include <errno.h>
#include <linux/pkt_sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>
#include <netlink/utils.h>

#include "core/clock.h"
#include "netem/internal.h"

#define HOST_IF "eth0"

/* The kernel's probability scale: 0xFFFFFFFF is 100 %, passed to libnl as int. */
static int prob_to_kernel(double p)
{
    if (p <= 0)
        return 0;
    if (p >= 1)
        return (int)UINT32_MAX;
    return (int)(uint32_t)(p * (double)UINT32_MAX);
}

static double prob_from_kernel(int v)
{
    return (double)(uint32_t)v / (double)UINT32_MAX;
}

static int check_degrade(const fl_degrade *d, char *err, size_t errlen)
{
    struct {
        const char *name;
        double v;
    } probs[] = {{"delay_corr", d->delay_corr},     {"loss", d->loss},
                 {"loss_corr", d->loss_corr},       {"ge_p", d->ge_p},
                 {"ge_r", d->ge_r},                 {"ge_h", d->ge_h},
                 {"ge_k", d->ge_k},                 {"reorder", d->reorder},
                 {"reorder_corr", d->reorder_corr}, {"duplicate", d->duplicate},
                 {"duplicate_corr", d->duplicate_corr}, {"corrupt", d->corrupt},
                 {"corrupt_corr", d->corrupt_corr}};
    for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++)
        if (!(probs[i].v >= 0 && probs[i].v <= 1))
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade.%s: %g, must be 0..1",
                             probs[i].name, probs[i].v);
    if (d->delay_us > 200000000u || d->jitter_us > 200000000u)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                         "degrade.delay_us/jitter_us: at most 200 s (libnl tick overflow)");
    if (d->reorder > 0 && d->delay_us == 0)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade.reorder: needs delay_us > 0");
    return 0;
}

/* libnl closes TCA_OPTIONS last and fixes its length itself; we extend it the
 * same way with the attributes it cannot build. */
static int append_raw(struct nl_msg *msg, const fl_degrade *d)
{
    struct nlmsghdr *hdr = nlmsg_hdr(msg);
    struct nlattr *opt = nlmsg_find_attr(hdr, sizeof(struct tcmsg), TCA_OPTIONS);
    if (!opt || (char *)opt + NLA_ALIGN(opt->nla_len) != (char *)nlmsg_tail(hdr))
        return -NLE_OPNOTSUPP;
    if (d->rate_bytes_per_s) {
        struct tc_netem_rate rate = {
            .rate = d->rate_bytes_per_s > UINT32_MAX ? UINT32_MAX : (uint32_t)d->rate_bytes_per_s,
        };
        if (nla_put(msg, TCA_NETEM_RATE, sizeof rate, &rate) < 0)
            return -NLE_NOMEM;
        if (d->rate_bytes_per_s > UINT32_MAX &&
            nla_put_u64(msg, TCA_NETEM_RATE64, d->rate_bytes_per_s) < 0)
            return -NLE_NOMEM;
    }
    if (d->ge_p > 0) {
        struct tc_netem_gemodel ge = {
            .p = (uint32_t)prob_to_kernel(d->ge_p),
            .r = (uint32_t)prob_to_kernel(d->ge_r),
            .h = (uint32_t)prob_to_kernel(d->ge_h),
            .k1 = (uint32_t)prob_to_kernel(d->ge_k),
        };
        struct nlattr *loss = nla_nest_start(msg, TCA_NETEM_LOSS);
        if (!loss || nla_put(msg, NETEM_LOSS_GE, sizeof ge, &ge) < 0)
            return -NLE_NOMEM;
        nla_nest_end(msg, loss);
    }
    hdr = nlmsg_hdr(msg);
    opt = nlmsg_find_attr(hdr, sizeof(struct tcmsg), TCA_OPTIONS);
    opt->nla_len = (uint16_t)((char *)nlmsg_tail(hdr) - (char *)opt);
    return 0;
}

int fl_netem_request(int ifindex, const fl_degrade *d, struct nl_msg **out)
{
    *out = NULL;
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return -NLE_NOMEM;
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), UINT32_C(0xf100) << 16); /* f100: */
    int rc = rtnl_tc_set_kind(TC_CAST(q), "netem");
    if (rc < 0) {
        rtnl_qdisc_put(q);
        return rc;
    }
    rtnl_netem_set_limit(q, d->limit ? (int)d->limit : 1000);
    if (d->delay_us)
        rtnl_netem_set_delay(q, (int)d->delay_us);
    if (d->jitter_us)
        rtnl_netem_set_jitter(q, (int)d->jitter_us);
    if (d->delay_corr > 0)
        rtnl_netem_set_delay_correlation(q, prob_to_kernel(d->delay_corr));
    if (d->loss > 0 && d->ge_p <= 0)
        rtnl_netem_set_loss(q, prob_to_kernel(d->loss));
    if (d->loss_corr > 0)
        rtnl_netem_set_loss_correlation(q, prob_to_kernel(d->loss_corr));
    if (d->reorder > 0) {
        rtnl_netem_set_reorder_probability(q, prob_to_kernel(d->reorder));
        rtnl_netem_set_reorder_correlation(q, prob_to_kernel(d->reorder_corr));
        rtnl_netem_set_gap(q, (int)d->gap);
    }
    if (d->duplicate > 0)
        rtnl_netem_set_duplicate(q, prob_to_kernel(d->duplicate));
    if (d->duplicate_corr > 0)
        rtnl_netem_set_duplicate_correlation(q, prob_to_kernel(d->duplicate_corr));
    if (d->corrupt > 0) {
        rtnl_netem_set_corruption_probability(q, prob_to_kernel(d->corrupt));
        rtnl_netem_set_corruption_correlation(q, prob_to_kernel(d->corrupt_corr));
    }
    struct nl_msg *msg = NULL;
    rc = rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_REPLACE, &msg);
    rtnl_qdisc_put(q);
    if (rc < 0)
        return rc;
    if ((d->rate_bytes_per_s || d->ge_p > 0) && (rc = append_raw(msg, d)) < 0) {
        nlmsg_free(msg);
        return rc;
    }
    *out = msg;
    return 0;
}

static int netem_add(struct nl_sock *rt, int ifindex, const fl_degrade *d, const char *where,
                     char *err, size_t errlen)
{
    struct nl_msg *msg;
    int rc = fl_netem_request(ifindex, d, &msg);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "build netem request for %s", where);
    rc = nl_send_sync(rt, msg); /* frees msg */
    /* ENOENT: the kernel knows no qdisc kind "netem" (and could not load it). */
    if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_OPNOTSUPP)
        return fl_neterr(err, errlen, FL_NETEM_ENONETEM, 0,
                         "sch_netem is not available in this kernel (netem qdisc on %s: %s); "
                         "degrade faults need CONFIG_NET_SCH_NETEM (modprobe sch_netem)",
                         where, nl_geterror(rc));
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "add netem qdisc on %s", where);
    return 0;
}

/* The TCA_OPTIONS payload of a netem qdisc: struct tc_netem_qopt, then
 * attributes from the next aligned offset (the kernel's parse_attr()). */
int fl_netem_parse_options(const void *data, size_t len, fl_degrade *out)
{
    const struct tc_netem_qopt *qopt = data;
    if (len < sizeof *qopt)
        return -NLE_MSG_TOOSHORT;
    memset(out, 0, sizeof *out);
    out->delay_us = (uint32_t)nl_ticks2us(qopt->latency);
    out->jitter_us = (uint32_t)nl_ticks2us(qopt->jitter);
    out->limit = qopt->limit;
    out->loss = prob_from_kernel((int)qopt->loss);
    out->gap = qopt->gap;
    out->duplicate = prob_from_kernel((int)qopt->duplicate);
    size_t skip = NLA_ALIGN(sizeof *qopt);
    if (len < skip + NLA_HDRLEN)
        return 0;
    struct nlattr *tb[TCA_NETEM_MAX + 1];
    int rc = nla_parse(tb, TCA_NETEM_MAX, (struct nlattr *)((char *)data + skip), (int)(len - skip),
                       NULL);
    if (rc < 0)
        return rc;
    if (tb[TCA_NETEM_CORR] && nla_len(tb[TCA_NETEM_CORR]) >= (int)sizeof(struct tc_netem_corr)) {
        const struct tc_netem_corr *c = nla_data(tb[TCA_NETEM_CORR]);
        out->delay_corr = prob_from_kernel((int)c->delay_corr);
        out->loss_corr = prob_from_kernel((int)c->loss_corr);
        out->duplicate_corr = prob_from_kernel((int)c->dup_corr);
    }
    if (tb[TCA_NETEM_REORDER] &&
        nla_len(tb[TCA_NETEM_REORDER]) >= (int)sizeof(struct tc_netem_reorder)) {
        const struct tc_netem_reorder *r = nla_data(tb[TCA_NETEM_REORDER]);
        out->reorder = prob_from_kernel((int)r->probability);
        out->reorder_corr = prob_from_kernel((int)r->correlation);
    }
    if (tb[TCA_NETEM_CORRUPT] &&
        nla_len(tb[TCA_NETEM_CORRUPT]) >= (int)sizeof(struct tc_netem_corrupt)) {
        const struct tc_netem_corrupt *c = nla_data(tb[TCA_NETEM_CORRUPT]);
        out->corrupt = prob_from_kernel((int)c->probability);
        out->corrupt_corr = prob_from_kernel((int)c->correlation);
    }
    if (tb[TCA_NETEM_RATE] && nla_len(tb[TCA_NETEM_RATE]) >= (int)sizeof(struct tc_netem_rate)) {
        const struct tc_netem_rate *r = nla_data(tb[TCA_NETEM_RATE]);
        out->rate_bytes_per_s = r->rate;
    }
    if (tb[TCA_NETEM_RATE64])
        out->rate_bytes_per_s = nla_get_u64(tb[TCA_NETEM_RATE64]);
    if (tb[TCA_NETEM_LATENCY64])
        out->delay_us = (uint32_t)((uint64_t)nla_get_u64(tb[TCA_NETEM_LATENCY64]) / 1000);
    if (tb[TCA_NETEM_JITTER64])
        out->jitter_us = (uint32_t)((uint64_t)nla_get_u64(tb[TCA_NETEM_JITTER64]) / 1000);
    if (tb[TCA_NETEM_LOSS]) {
        struct nlattr *loss[NETEM_LOSS_MAX + 1];
        if (nla_parse_nested(loss, NETEM_LOSS_MAX, tb[TCA_NETEM_LOSS], NULL) == 0 &&
            loss[NETEM_LOSS_GE] &&
            nla_len(loss[NETEM_LOSS_GE]) >= (int)sizeof(struct tc_netem_gemodel)) {
            const struct tc_netem_gemodel *ge = nla_data(loss[NETEM_LOSS_GE]);
            out->ge_p = prob_from_kernel((int)ge->p);
            out->ge_r = prob_from_kernel((int)ge->r);
            out->ge_h = prob_from_kernel((int)ge->h);
            out->ge_k = prob_from_kernel((int)ge->k1);
        }
    }
    return 0;
}

struct raw_find {
    int ifindex;
    fl_degrade *out;
    bool found;
};

static int raw_qdisc_cb(struct nl_msg *msg, void *arg)
{
    struct raw_find *f = arg;
    struct nlmsghdr *hdr = nlmsg_hdr(msg);
    if (hdr->nlmsg_type != RTM_NEWQDISC)
        return NL_OK;
    const struct tcmsg *tcm = nlmsg_data(hdr);
    struct nlattr *tb[TCA_MAX + 1];
    if (nlmsg_parse(hdr, sizeof *tcm, tb, TCA_MAX, NULL) < 0)
        return NL_OK;
    if (tcm->tcm_ifindex != f->ifindex || tcm->tcm_parent != TC_H_ROOT || !tb[TCA_KIND] ||
        !tb[TCA_OPTIONS] || strcmp(nla_get_string(tb[TCA_KIND]), "netem"))
        return NL_OK;
    if (fl_netem_parse_options(nla_data(tb[TCA_OPTIONS]), (size_t)nla_len(tb[TCA_OPTIONS]),
                               f->out) == 0)
        f->found = true;
    return NL_OK;
}

/* What libnl's netem parser does not know (rate, Gilbert-Elliott): our own
 * dump, with a callback set of its own so the shared socket is unchanged. */
static int raw_read(struct nl_sock *rt, int ifindex, fl_degrade *out)
{
    struct tcmsg tcm = {.tcm_family = AF_UNSPEC};
    int rc = nl_send_simple(rt, RTM_GETQDISC, NLM_F_DUMP, &tcm, sizeof tcm);
    if (rc < 0)
        return rc;
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (!cb)
        return -NLE_NOMEM;
    struct raw_find f = {.ifindex = ifindex, .out = out};
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, raw_qdisc_cb, &f);
    rc = nl_recvmsgs(rt, cb);
    nl_cb_put(cb);
    if (rc < 0)
        return rc;
    return f.found ? 0 : -NLE_OBJ_NOTFOUND;
}

static int netem_del(struct nl_sock *rt, int ifindex, const char *where, char *err, size_t errlen)
{
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "netem qdisc on %s", where);
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    int rc = rtnl_qdisc_delete(rt, q);
    rtnl_qdisc_put(q);
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND)
        return fl_nlerr(err, errlen, rc, "delete netem qdisc on %s", where);
    return 0;
}

/* A route socket inside the host's namespace and its eth0's ifindex. */
static struct nl_sock *host_socket(fl_host *h, int *ifindex, char *err, size_t errlen)
{
    int saved;
    if (fl_ns_enter(h->netns, &saved, err, errlen))
        return NULL;
    struct nl_sock *rt = fl_rt_socket(err, errlen);
    fl_ns_leave(saved);
    if (!rt)
        return NULL;
    int rc = fl_link_ifindex(rt, HOST_IF, err, errlen);
    if (rc < 0) {
        nl_socket_free(rt);
        return NULL;
    }
    *ifindex = rc;
    return rt;
}

typedef int (*end_fn)(struct nl_sock *rt, int ifindex, const fl_degrade *d, const char *where,
                      char *err, size_t errlen);

static int apply_ends(fl_host *h, unsigned ends, end_fn fn, const fl_degrade *d, char *err,
                      size_t errlen)
{
    char where[96];
    int rc = 0;
    if (ends & FL_DIR_IN) {
        snprintf(where, sizeof where, "%s switch port %s", h->name, h->port);
        rc = fn(h->upstream->rt, h->port_ifindex, d, where, err, errlen);
    }
    if (!rc && (ends & FL_DIR_OUT)) {
        int ifindex;
        struct nl_sock *rt = host_socket(h, &ifindex, err, errlen);
        if (!rt)
            return -FL_NETEM_ESYS;
        snprintf(where, sizeof where, "%s %s", h->name, HOST_IF);
        rc = fn(rt, ifindex, d, where, err, errlen);
        nl_socket_free(rt);
    }
    return rc;
}

static int add_end(struct nl_sock *rt, int ifindex, const fl_degrade *d, const char *where,
                   char *err, size_t errlen)
{
    return netem_add(rt, ifindex, d, where, err, errlen);
}

static int del_end(struct nl_sock *rt, int ifindex, const fl_degrade *d, const char *where,
                   char *err, size_t errlen)
{
    (void)d;
    return netem_del(rt, ifindex, where, err, errlen);
}

static unsigned ends_of(fl_direction dir)
{
    return dir == FL_DIR_BOTH ? (FL_DIR_IN | FL_DIR_OUT) : (unsigned)dir;
}

int fl_fault_degrade(fl_netem *net, fl_host *const *hosts, size_t n, const fl_degrade *d,
                     fl_direction dir, uint64_t *t_ns, char *err, size_t errlen)
{
    if (!net || !d || (n && !hosts))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade: missing argument");
    if (dir != FL_DIR_BOTH && dir != FL_DIR_IN && dir != FL_DIR_OUT)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade: direction %d", (int)dir);
    int rc = check_degrade(d, err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (!h || h->net != net)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade: hosts[%zu] not in this run",
                             i);
        if (!h->powered)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "degrade %s: host is powered off",
                             h->name);
        rc = apply_ends(h, ends_of(dir), add_end, d, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (!rc)
            h->degraded_ends |= (int)ends_of(dir);
    }
    return rc;
}

int fl_fault_degrade_heal(fl_netem *net, fl_host *const *hosts, size_t n, uint64_t *t_ns,
                          char *err, size_t errlen)
{
    if (!net || (n && !hosts))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "degrade-heal: missing argument");
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        fl_host *h = hosts[i];
        if (!h || h->net != net)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                             "degrade-heal: hosts[%zu] not in this run", i);
        if (!h->degraded_ends)
            return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "degrade-heal %s: not degraded",
                             h->name);
        rc = apply_ends(h, (unsigned)h->degraded_ends, del_end, NULL, err, errlen);
        if (t_ns)
            t_ns[i] = fl_now_ns();
        if (!rc)
            h->degraded_ends = 0;
    }
    return rc;
}

int fl_degrade_read(fl_netem *net, fl_host *h, fl_direction end, fl_degrade *out, char *err,
                    size_t errlen)
{
    if (!net || !h || h->net != net || !out || (end != FL_DIR_IN && end != FL_DIR_OUT))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0,
                         "degrade-read: needs a host of this run and FL_DIR_IN or FL_DIR_OUT");
    if (!h->powered)
        return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "degrade-read %s: host is powered off",
                         h->name);
    struct nl_sock *rt = h->upstream->rt, *own = NULL;
    int ifindex = h->port_ifindex;
    if (end == FL_DIR_OUT && !(rt = own = host_socket(h, &ifindex, err, errlen)))
        return -FL_NETEM_ESYS;
    struct nl_cache *cache = NULL;
    fl_degrade raw;
    int rc = rtnl_qdisc_alloc_cache(rt, &cache);
    int raw_rc = rc < 0 ? rc : raw_read(rt, ifindex, &raw);
    if (own)
        nl_socket_free(own);
    if (rc < 0)
        return fl_nlerr(err, errlen, rc, "dump qdiscs of %s", h->name);
    struct rtnl_qdisc *q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
    const char *kind = q ? rtnl_tc_get_kind(TC_CAST(q)) : NULL;
    if (!kind || strcmp(kind, "netem")) {
        if (q)
            rtnl_qdisc_put(q);
        nl_cache_free(cache);
        return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "degrade-read %s: no netem qdisc on %s",
                         h->name, end == FL_DIR_OUT ? HOST_IF : h->port);
    }
    memset(out, 0, sizeof *out);
    int v;
    if ((v = rtnl_netem_get_delay(q)) > 0)
        out->delay_us = (uint32_t)v;
    if ((v = rtnl_netem_get_jitter(q)) > 0)
        out->jitter_us = (uint32_t)v;
    if ((v = rtnl_netem_get_limit(q)) > 0)
        out->limit = (uint32_t)v;
    if ((v = rtnl_netem_get_gap(q)) > 0)
        out->gap = (uint32_t)v;
    /* Getters return -NLE_NOATTR for unset attributes, which is not a valid
     * kernel probability; anything else is the raw 32-bit value as int. */
    if ((v = rtnl_netem_get_delay_correlation(q)) != -NLE_NOATTR)
        out->delay_corr = prob_from_kernel(v);
    if ((v = rtnl_netem_get_loss(q)) != -NLE_NOATTR)
        out->loss = prob_from_kernel(v);
    if ((v = rtnl_netem_get_loss_correlation(q)) != -NLE_NOATTR)
        out->loss_corr = prob_from_kernel(v);
    if ((v = rtnl_netem_get_reorder_probability(q)) != -NLE_NOATTR)
        out->reorder = prob_from_kernel(v);
    if ((v = rtnl_netem_get_reorder_correlation(q)) != -NLE_NOATTR)
        out->reorder_corr = prob_from_kernel(v);
    if ((v = rtnl_netem_get_duplicate(q)) != -NLE_NOATTR)
        out->duplicate = prob_from_kernel(v);
    if ((v = rtnl_netem_get_duplicate_correlation(q)) != -NLE_NOATTR)
        out->duplicate_corr = prob_from_kernel(v);
    if ((v = rtnl_netem_get_corruption_probability(q)) != -NLE_NOATTR)
        out->corrupt = prob_from_kernel(v);
    if ((v = rtnl_netem_get_corruption_correlation(q)) != -NLE_NOATTR)
        out->corrupt_corr = prob_from_kernel(v);
    if (raw_rc == 0) {
        out->rate_bytes_per_s = raw.rate_bytes_per_s;
        out->ge_p = raw.ge_p;
        out->ge_r = raw.ge_r;
        out->ge_h = raw.ge_h;
        out->ge_k = raw.ge_k;
    }
    rtnl_qdisc_put(q);
    nl_cache_free(cache);
    if (raw_rc < 0)
        return fl_nlerr(err, errlen, raw_rc, "read netem rate/loss model on %s", h->name);
    return 0;
}
