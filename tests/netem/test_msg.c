/* The netem request as the kernel will parse it (no root, no sch_netem
 * needed): libnl's tc_netem_qopt plus our raw rate / Gilbert-Elliott
 * attributes, all inside one TCA_OPTIONS, read back through the parser that
 * fl_degrade_read uses. */
#include <criterion/criterion.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <stdint.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "netem/internal.h"

static struct nlattr *options_of(struct nl_msg *msg, const struct tcmsg **tcm)
{
    struct nlmsghdr *hdr = nlmsg_hdr(msg);
    cr_assert_eq(hdr->nlmsg_type, RTM_NEWQDISC);
    cr_assert_eq(hdr->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE), NLM_F_CREATE | NLM_F_REPLACE);
    struct nlattr *tb[TCA_MAX + 1];
    cr_assert_eq(nlmsg_parse(hdr, sizeof(struct tcmsg), tb, TCA_MAX, NULL), 0,
                 "the request does not parse: a bad attribute length");
    *tcm = nlmsg_data(hdr);
    cr_assert_not_null(tb[TCA_KIND]);
    cr_assert_str_eq(nla_get_string(tb[TCA_KIND]), "netem");
    cr_assert_not_null(tb[TCA_OPTIONS]);
    return tb[TCA_OPTIONS];
}

static void near(double got, double want, const char *what)
{
    cr_assert_lt(fabs(got - want), 1e-6, "%s: %.9f, want %.9f", what, got, want);
}

Test(netem_msg, libnl_parameters_round_trip)
{
    fl_degrade d = {.delay_us = 40000, .jitter_us = 5000, .delay_corr = 0.25, .loss = 0.02,
                    .loss_corr = 0.1, .duplicate = 0.01, .duplicate_corr = 0.5, .reorder = 0.05,
                    .reorder_corr = 0.2, .gap = 3, .limit = 500, .corrupt = 0.03, .corrupt_corr = 0.4};
    struct nl_msg *msg;
    cr_assert_eq(fl_netem_request(7, &d, &msg), 0);
    const struct tcmsg *tcm;
    struct nlattr *opt = options_of(msg, &tcm);
    cr_assert_eq(tcm->tcm_ifindex, 7);
    cr_assert_eq(tcm->tcm_parent, TC_H_ROOT);
    const struct tc_netem_qopt *q = nla_data(opt);
    cr_assert_eq(q->limit, 500);
    cr_assert_eq(q->loss, (uint32_t)(0.02 * (double)UINT32_MAX));
    cr_assert_eq(q->gap, 3);
    fl_degrade back;
    cr_assert_eq(fl_netem_parse_options(nla_data(opt), (size_t)nla_len(opt), &back), 0);
    cr_assert_leq(abs((int)back.delay_us - 40000), 2, "delay %u", back.delay_us);
    cr_assert_leq(abs((int)back.jitter_us - 5000), 2, "jitter %u", back.jitter_us);
    near(back.delay_corr, 0.25, "delay_corr");
    near(back.loss, 0.02, "loss");
    near(back.loss_corr, 0.1, "loss_corr");
    near(back.duplicate, 0.01, "duplicate");
    near(back.duplicate_corr, 0.5, "duplicate_corr");
    near(back.reorder, 0.05, "reorder");
    near(back.reorder_corr, 0.2, "reorder_corr");
    near(back.corrupt, 0.03, "corrupt");
    near(back.corrupt_corr, 0.4, "corrupt_corr");
    cr_assert_eq(back.rate_bytes_per_s, 0);
    near(back.ge_p, 0, "ge_p");
    nlmsg_free(msg);
}

Test(netem_msg, rate_and_gilbert_elliott_inside_the_options)
{
    fl_degrade d = {.delay_us = 1000, .loss = 0.3, .rate_bytes_per_s = 125000, .ge_p = 0.01,
                    .ge_r = 0.3, .ge_h = 0.9, .ge_k = 1.0};
    struct nl_msg *msg;
    cr_assert_eq(fl_netem_request(3, &d, &msg), 0);
    const struct tcmsg *tcm;
    struct nlattr *opt = options_of(msg, &tcm);
    /* Our attributes extend TCA_OPTIONS to the end of the message. */
    struct nlmsghdr *hdr = nlmsg_hdr(msg);
    cr_assert_eq((char *)opt + NLA_ALIGN(opt->nla_len), (char *)nlmsg_tail(hdr));
    const struct tc_netem_qopt *q = nla_data(opt);
    cr_assert_eq(q->loss, 0, "random loss must be off when the Gilbert-Elliott model is on");
    fl_degrade back;
    cr_assert_eq(fl_netem_parse_options(nla_data(opt), (size_t)nla_len(opt), &back), 0);
    cr_assert_eq(back.rate_bytes_per_s, 125000);
    near(back.ge_p, 0.01, "ge_p");
    near(back.ge_r, 0.3, "ge_r");
    near(back.ge_h, 0.9, "ge_h");
    near(back.ge_k, 1.0, "ge_k");
    cr_assert_leq(abs((int)back.delay_us - 1000), 2);
    nlmsg_free(msg);

    /* Above 4 GB/s the 64-bit attribute carries the rate. */
    d = (fl_degrade){.rate_bytes_per_s = UINT64_C(10000000000)};
    cr_assert_eq(fl_netem_request(3, &d, &msg), 0);
    opt = options_of(msg, &tcm);
    cr_assert_eq(fl_netem_parse_options(nla_data(opt), (size_t)nla_len(opt), &back), 0);
    cr_assert_eq(back.rate_bytes_per_s, UINT64_C(10000000000));
    nlmsg_free(msg);
}

Test(netem_msg, short_options_rejected)
{
    fl_degrade back;
    char tiny[8] = {0};
    cr_assert_lt(fl_netem_parse_options(tiny, sizeof tiny, &back), 0);
}
