/* Real netem qdiscs measured (label "netem": needs sch_netem, e.g. the VM;
 * skipped with the reason otherwise): what fl_fault_degrade installs is what
 * the traffic shows. A UDP echo between a client host and the broker host,
 * both driven from this thread, gives each probe's round trip; the hosts'
 * eth0 counters (rtnetlink, read inside each namespace) give what really left
 * and arrived. Delay, jitter and loss are checked for FL_DIR_OUT (client ->
 * broker), FL_DIR_IN (broker -> client) and FL_DIR_BOTH.
 *
 * A test of the tests: FLATLINE_TEST_NETEM_SKEW_MS / FLATLINE_TEST_NETEM_SKEW_LOSS
 * add to every delay / loss requested while the assertions keep the nominal
 * values, so a wrong installation must make these tests fail (docs/testing.md). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "core/clock.h"
#include "helpers.h"

TestSuite(netem_measure, .fini = th_teardown, .timeout = 120);

enum { MAX_PROBES = 2000 };

static double env_number(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtod(v, NULL) : 0;
}

/* What the test asks netem for: the nominal parameters, plus the skew knobs. */
static void apply_skew(fl_degrade *d)
{
    double ms = env_number("FLATLINE_TEST_NETEM_SKEW_MS"), loss = env_number("FLATLINE_TEST_NETEM_SKEW_LOSS");
    if (d->delay_us && ms != 0)
        d->delay_us = (uint32_t)fmax(1, d->delay_us + ms * 1000);
    if (d->loss > 0 && loss != 0)
        d->loss = fmin(1, fmax(0, d->loss + loss));
}

/* ---- the topology: broker host (echo server) and one client host ---- */

static fl_host *client, *server;

static void resolve_neighbours(void);

static void build(const char *tag)
{
    static fl_group_spec g = {.hosts = 1, .nat = -1};
    static fl_topology_spec spec;
    spec = (fl_topology_spec){.groups = &g, .n_groups = 1};
    th_build(&spec, tag);
    client = fl_netem_group_host(th_net, 0, 0);
    server = fl_netem_broker(th_net);
    resolve_neighbours();
}

struct udp_job {
    const char *addr;
    int fd;
    uint16_t port;
};

static int udp_job(void *p)
{
    struct udp_job *j = p;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, j->addr, &sa.sin_addr);
    j->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (j->fd < 0 || bind(j->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -1;
    socklen_t len = sizeof sa;
    getsockname(j->fd, (struct sockaddr *)&sa, &len);
    j->port = ntohs(sa.sin_port);
    return 0;
}

static int udp_socket(fl_host *h, const char *addr, uint16_t *port)
{
    struct udp_job j = {.addr = addr, .fd = -1};
    cr_assert_eq(fl_host_run(h, udp_job, &j, th_err, sizeof th_err), 0, "UDP socket in %s: %s", fl_host_name(h),
                 th_err);
    *port = j.port;
    return j.fd;
}

/* ---- interface counters of a host's eth0, read inside its namespace ---- */

struct counters {
    uint64_t tx, rx;
};

static int counters_job(void *p)
{
    struct counters *c = p;
    struct nl_sock *sk = nl_socket_alloc();
    struct rtnl_link *link = NULL;
    int rc = -1;
    if (sk && nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_link_get_kernel(sk, 0, "eth0", &link) == 0) {
        c->tx = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
        c->rx = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
        rtnl_link_put(link);
        rc = 0;
    }
    nl_socket_free(sk);
    return rc;
}

static struct counters counters_of(fl_host *h)
{
    struct counters c = {0};
    cr_assert_eq(fl_host_run(h, counters_job, &c, th_err, sizeof th_err), 0, "eth0 counters of %s: %s",
                 fl_host_name(h), th_err);
    return c;
}

/* ---- the echo: n probes every interval_us from the client, echoed at once ---- */

struct probe {
    uint64_t seq; /* 64 bits: no padding goes on the wire uninitialised */
    uint64_t sent_ns;
};

struct echo_result {
    size_t sent, echoed, returned; /* probes sent, echoed by the server, back at the client */
    double rtt_ms[MAX_PROBES];     /* of the returned ones, sorted */
    struct counters client_before, client_after, server_before, server_after;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank, as the reports do. */
static double percentile(const struct echo_result *r, double p)
{
    cr_assert_gt(r->returned, 0, "no probe came back");
    size_t rank = (size_t)ceil(p / 100 * (double)r->returned);
    return r->rtt_ms[rank ? rank - 1 : 0];
}

static void echo(size_t n, unsigned interval_us, unsigned tail_ms, struct echo_result *r)
{
    cr_assert_leq(n, MAX_PROBES);
    memset(r, 0, sizeof *r);
    uint16_t sport, cport;
    int s = udp_socket(server, fl_netem_broker_addr(th_net), &sport);
    int c = udp_socket(client, fl_host_addr(client, 0), &cport);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(sport)};
    inet_pton(AF_INET, fl_netem_broker_addr(th_net), &to.sin_addr);
    /* One unmeasured round trip first: ARP resolved both ways before counting. */
    struct probe warm = {.seq = UINT32_MAX};
    sendto(c, &warm, sizeof warm, 0, (struct sockaddr *)&to, sizeof to);
    struct probe got;
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    uint64_t warm_until = fl_now_ns() + 3 * FL_NS_PER_S;
    bool warmed = false;
    while (!warmed && fl_now_ns() < warm_until) {
        struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = c, .events = POLLIN}};
        poll(p, 2, 50);
        if (recvfrom(s, &got, sizeof got, 0, (struct sockaddr *)&from, &flen) == sizeof got)
            sendto(s, &got, sizeof got, 0, (struct sockaddr *)&from, flen);
        warmed = recv(c, &got, sizeof got, 0) == sizeof got;
        if (!warmed && fl_now_ns() + 2 * FL_NS_PER_S < warm_until) /* a lossy link: ask again */
            sendto(c, &warm, sizeof warm, 0, (struct sockaddr *)&to, sizeof to);
    }
    cr_assert(warmed, "no warm-up probe came back in 3 s: the link is down or ARP never resolved");
    r->client_before = counters_of(client);
    r->server_before = counters_of(server);

    uint64_t next = fl_now_ns(), end = 0;
    for (;;) {
        uint64_t now = fl_now_ns();
        if (r->sent < n && now >= next) {
            struct probe pr = {.seq = r->sent, .sent_ns = now};
            cr_assert_eq(sendto(c, &pr, sizeof pr, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)sizeof pr);
            r->sent++;
            next += (uint64_t)interval_us * 1000;
            if (r->sent == n)
                end = now + (uint64_t)tail_ms * FL_NS_PER_MS;
        }
        if (end && (now >= end || r->returned == r->sent))
            break;
        int wait_ms = r->sent < n ? (int)((next > now ? next - now : 0) / FL_NS_PER_MS) : 20;
        struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = c, .events = POLLIN}};
        poll(p, 2, wait_ms);
        flen = sizeof from;
        while (recvfrom(s, &got, sizeof got, 0, (struct sockaddr *)&from, &flen) == sizeof got) {
            if (got.seq != UINT32_MAX) {
                r->echoed++;
                sendto(s, &got, sizeof got, 0, (struct sockaddr *)&from, flen);
            }
            flen = sizeof from;
        }
        while (recv(c, &got, sizeof got, 0) == sizeof got) {
            if (got.seq == UINT32_MAX || r->returned >= MAX_PROBES)
                continue;
            r->rtt_ms[r->returned++] = (double)(fl_now_ns() - got.sent_ns) / 1e6;
        }
    }
    r->client_after = counters_of(client);
    r->server_after = counters_of(server);
    close(s);
    close(c);
    qsort(r->rtt_ms, r->returned, sizeof r->rtt_ms[0], cmp_double);
}

/* ARP resolved both ways on the clean link, before any qdisc: ARP frames
 * are subject to netem loss too, and an entry that fails to resolve under 20 %
 * loss both ways (0.36 per try, one try a second) would silently eat every
 * probe of a 1 s measurement. Entries stay REACHABLE for 15 s or more, longer
 * than any test here runs. */
static void resolve_neighbours(void)
{
    static struct echo_result r;
    echo(10, 1000, 200, &r);
    cr_assert_eq(r.returned, r.sent, "the undegraded link lost %zu of %zu probes", r.sent - r.returned, r.sent);
}

/* The link's own round trip before any qdisc: what netem's delay adds to. */
static double base_median_ms(void)
{
    static struct echo_result r;
    echo(100, 2000, 500, &r);
    cr_assert_eq(r.returned, r.sent, "the undegraded link lost %zu of %zu probes", r.sent - r.returned, r.sent);
    return percentile(&r, 50);
}

/* Installs the nominal parameters (skewed by the knobs) and checks the
 * read-back: what was asked where dir put a qdisc, nothing on the other end.
 * The traffic is then checked against the nominal values. */
static void check_read_back(const fl_degrade *nominal, fl_direction dir);

static void degrade(const fl_degrade *nominal, fl_direction dir)
{
    fl_degrade asked = *nominal;
    apply_skew(&asked);
    cr_assert_eq(fl_fault_degrade(th_net, &client, 1, &asked, dir, NULL, th_err, sizeof th_err), 0, "%s", th_err);
    check_read_back(&asked, dir);
}

static void check_read_back(const fl_degrade *nominal, fl_direction dir)
{
    for (int end = FL_DIR_IN; end <= FL_DIR_OUT; end++) {
        fl_degrade back;
        int rc = fl_degrade_read(th_net, client, (fl_direction)end, &back, th_err, sizeof th_err);
        const char *name = end == FL_DIR_IN ? "in (switch end)" : "out (host end)";
        if (dir != FL_DIR_BOTH && (int)dir != end) {
            cr_assert_eq(rc, -FL_NETEM_ESTATE, "%s: a qdisc where none was asked", name);
            continue;
        }
        cr_assert_eq(rc, 0, "%s: %s", name, th_err);
        cr_assert_leq(abs((int)back.delay_us - (int)nominal->delay_us), 2, "%s: delay %u us installed, %u asked",
                      name, back.delay_us, nominal->delay_us);
        cr_assert_leq(abs((int)back.jitter_us - (int)nominal->jitter_us), 2, "%s: jitter %u us, %u asked", name,
                      back.jitter_us, nominal->jitter_us);
        cr_assert_lt(fabs(back.loss - nominal->loss), 1e-6, "%s: loss %g installed, %g asked", name, back.loss,
                     nominal->loss);
    }
}

static const char *dir_name(fl_direction dir)
{
    return dir == FL_DIR_OUT ? "out" : dir == FL_DIR_IN ? "in" : "both";
}

/* ---- delay: the added round trip is the delay once per impaired direction ---- */

static void delay_case(fl_direction dir, const char *tag)
{
    th_need_netem();
    build(tag);
    double base = base_median_ms();
    fl_degrade d = {.delay_us = 30000};
    degrade(&d, dir);
    static struct echo_result r;
    echo(150, 4000, 500, &r);
    double want = (dir == FL_DIR_BOTH ? 2 : 1) * d.delay_us / 1000.0;
    double min = percentile(&r, 0), med = percentile(&r, 50);
    cr_log_info("delay %s: base median %.2f ms; with %.0f ms asked: min %.2f, median %.2f, max %.2f ms (%zu/%zu back)",
                dir_name(dir), base, want, min, med, percentile(&r, 100), r.returned, r.sent);
    cr_assert_eq(r.returned, r.sent, "a delay without loss lost %zu probes", r.sent - r.returned);
    /* netem never sends early; the clock reads within microseconds. */
    cr_assert_geq(min, want - 0.05, "%s: a probe came back in %.2f ms, under the %.0f ms delay", dir_name(dir), min,
                  want);
    /* The median probe: the delay plus the link's own round trip, with 25 %
     * of the delay for an emulated, loaded CPU (tens of times slower). */
    cr_assert_leq(fabs(med - base - want), 1 + 0.25 * want, "%s: median %.2f ms = base %.2f + %.2f, want + %.0f ms",
                  dir_name(dir), med, base, med - base, want);
}

Test(netem_measure, delay_out) { delay_case(FL_DIR_OUT, "mdo"); }
Test(netem_measure, delay_in) { delay_case(FL_DIR_IN, "mdi"); }
Test(netem_measure, delay_both) { delay_case(FL_DIR_BOTH, "mdb"); }

/* ---- jitter: uniform on [delay - jitter, delay + jitter] without a table ---- */

Test(netem_measure, jitter_spread)
{
    th_need_netem();
    build("mj");
    double base = base_median_ms();
    fl_degrade d = {.delay_us = 60000, .jitter_us = 20000};
    degrade(&d, FL_DIR_OUT);
    static struct echo_result r;
    echo(400, 3000, 600, &r);
    double lo = d.delay_us / 1000.0 - d.jitter_us / 1000.0, j = d.jitter_us / 1000.0;
    double p25 = percentile(&r, 25), p50 = percentile(&r, 50), p75 = percentile(&r, 75);
    double iqr = p75 - p25;
    cr_log_info("jitter: base %.2f ms; 60 +- 20 ms asked: min %.2f p25 %.2f p50 %.2f p75 %.2f max %.2f ms", base,
                percentile(&r, 0), p25, p50, p75, percentile(&r, 100));
    cr_assert_eq(r.returned, r.sent);
    cr_assert_geq(percentile(&r, 0), lo - 0.05, "a probe came back before delay - jitter");
    cr_assert_leq(fabs(p50 - base - 60), 1 + 0.15 * 60, "median %.2f ms, want 60 ms + base %.2f", p50, base);
    /* A uniform spread of +-J has an interquartile range of J: allow a
     * third either way for sampling (400 probes) and the emulated CPU. */
    cr_assert(iqr >= 0.67 * j && iqr <= 1.33 * j, "interquartile range %.2f ms, want %.0f ms (+-33 %%)", iqr, j);
}

/* ---- loss: probes and interface counters in the impaired direction only ---- */

/* Tolerance on a loss fraction from n trials: 4.5 standard deviations. */
static double loss_tolerance(double p, size_t n)
{
    return 4.5 * sqrt(p * (1 - p) / (double)n);
}

static void loss_case(fl_direction dir, const char *tag)
{
    th_need_netem();
    build(tag);
    fl_degrade d = {.loss = 0.2};
    degrade(&d, dir);
    static struct echo_result r;
    echo(1000, 1000, 500, &r);
    bool out = dir != FL_DIR_IN, in = dir != FL_DIR_OUT;
    double arrived = (double)r.echoed / (double)r.sent;                 /* client -> server */
    double came_back = (double)r.returned / (double)(r.echoed ? r.echoed : 1); /* server -> client */
    cr_log_info("loss %s: %zu sent, %zu reached the server, %zu came back (%.3f and %.3f of each leg)",
                dir_name(dir), r.sent, r.echoed, r.returned, arrived, came_back);
    double want_out = out ? 1 - d.loss : 1, want_in = in ? 1 - d.loss : 1;
    cr_assert_leq(fabs(arrived - want_out), out ? loss_tolerance(d.loss, r.sent) : 0.005,
                  "client->server: %.3f arrived, want %.2f", arrived, want_out);
    cr_assert_leq(fabs(came_back - want_in), in ? loss_tolerance(d.loss, r.echoed) : 0.005,
                  "server->client: %.3f came back, want %.2f", came_back, want_in);

    /* The counters agree with the sockets: netem drops before the device, so
     * what a sender's eth0 transmitted is what arrived at the other eth0. A
     * few frames of slack for ARP. */
    uint64_t c_tx = r.client_after.tx - r.client_before.tx, c_rx = r.client_after.rx - r.client_before.rx;
    uint64_t s_tx = r.server_after.tx - r.server_before.tx, s_rx = r.server_after.rx - r.server_before.rx;
    cr_log_info("counters: client eth0 tx %llu rx %llu, broker eth0 tx %llu rx %llu", (unsigned long long)c_tx,
                (unsigned long long)c_rx, (unsigned long long)s_tx, (unsigned long long)s_rx);
    cr_assert_leq(llabs((long long)s_rx - (long long)r.echoed), 2, "broker eth0 received %llu, its socket %zu",
                  (unsigned long long)s_rx, r.echoed);
    cr_assert_leq(llabs((long long)c_rx - (long long)r.returned), 2, "client eth0 received %llu, its socket %zu",
                  (unsigned long long)c_rx, r.returned);
    double wire_out = (double)s_rx / (double)r.sent, wire_in = (double)c_rx / (double)(s_tx ? s_tx : 1);
    cr_assert_leq(fabs(wire_out - want_out), out ? loss_tolerance(d.loss, r.sent) : 0.01,
                  "client->server on the wire: %.3f, want %.2f", wire_out, want_out);
    cr_assert_leq(fabs(wire_in - want_in), in ? loss_tolerance(d.loss, (size_t)s_tx) : 0.01,
                  "server->client on the wire: %.3f, want %.2f", wire_in, want_in);
    /* The host end's own eth0 counts what passed its qdisc: out-loss shows
     * as the client transmitting fewer frames than it sent. */
    double left = (double)c_tx / (double)r.sent;
    cr_assert_leq(fabs(left - want_out), out ? loss_tolerance(d.loss, r.sent) : 0.01,
                  "client eth0 transmitted %.3f of the probes, want %.2f", left, want_out);
}

Test(netem_measure, loss_out) { loss_case(FL_DIR_OUT, "mlo"); }
Test(netem_measure, loss_in) { loss_case(FL_DIR_IN, "mli"); }
Test(netem_measure, loss_both) { loss_case(FL_DIR_BOTH, "mlb"); }

/* ---- heal: the round trip is back to the undegraded link's ---- */

Test(netem_measure, heal_restores_the_link)
{
    th_need_netem();
    build("mh");
    double base = base_median_ms();
    fl_degrade d = {.delay_us = 50000, .loss = 0.3};
    degrade(&d, FL_DIR_BOTH);
    cr_assert_eq(fl_fault_degrade_heal(th_net, &client, 1, NULL, th_err, sizeof th_err), 0, "%s", th_err);
    static struct echo_result r;
    echo(100, 2000, 500, &r);
    cr_log_info("healed: base %.2f ms, now median %.2f ms, %zu/%zu back", base, percentile(&r, 50), r.returned,
                r.sent);
    cr_assert_eq(r.returned, r.sent, "healed link still lost %zu probes", r.sent - r.returned);
    cr_assert_lt(percentile(&r, 50), base + 25, "healed link still delays: median %.2f ms", percentile(&r, 50));
}
