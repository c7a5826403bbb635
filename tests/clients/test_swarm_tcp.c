/* TCP-level detection with the test network of netem/: a broker host and a
 * client host on the switch; the broker host is then partitioned (every frame
 * to and from it dropped at its switch port: no FIN, no RST) and each group
 * must name the TCP mechanism that ended its connections, within the kernel
 * model's window (docs/swarm.md, linux-facts). Names carry the pid; netem
 * removes the namespaces in .fini whatever happened. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detect_check.h"
#include "harness.h"
#include "netem/netem.h"

#define SWARM FLATLINE_BINARY_DIR "/flatline-swarm"
#define BROKER FLATLINE_BINARY_DIR "/flatline-broker"
#define S(x) ((uint64_t)((x) * 1e9))
/* Kernel TCP timers fire late by up to a wheel slot (32 ms under 2 s at HZ=250)
 * on every re-arm; a few re-arms plus loop and log time. */
#define TOLERANCE_NS S(0.3)

static fl_netem *net;
static char dir[256], err[512], broker_addr[64];
static fl_host *broker_host, *client_host;

static void setup(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for network namespaces");
    struct stat st;
    if (stat(BROKER, &st) != 0)
        cr_skip_test("flatline-broker is not built in " FLATLINE_BINARY_DIR);
    snprintf(dir, sizeof dir, "/tmp/flatline-swarm-tcp-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
    static char prefix[16];
    snprintf(prefix, sizeof prefix, "sw%d", (int)(getpid() % 10000000));
    fl_group_spec g = { .name = "c", .hosts = 1, .nat = -1 };
    fl_topology_spec spec = { .prefix = prefix, .groups = &g, .n_groups = 1 };
    fl_netem_cleanup_stale(NULL, 0);
    cr_assert_eq(fl_netem_build(&spec, &net, err, sizeof err), 0, "netem: %s", err);
    broker_host = fl_netem_broker(net);
    client_host = fl_netem_group_host(net, 0, 0);
    snprintf(broker_addr, sizeof broker_addr, "%s:1883", fl_netem_broker_addr(net));
}

static void teardown(void)
{
    if (net) {
        /* SIGKILLs what still runs in the hosts, deletes the namespaces. */
        if (fl_netem_teardown(net, err, sizeof err) != 0)
            fprintf(stderr, "netem teardown: %s\n", err);
        net = NULL;
    }
    if (dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

static pid_t spawn_in(fl_host *h, char *const argv[])
{
    pid_t pid = fl_host_spawn(h, argv, NULL, NULL, 0, err, sizeof err);
    cr_assert_gt(pid, 0, "spawn %s: %s", argv[0], err);
    return pid;
}

static void start_broker(void)
{
    char bev[300];
    snprintf(bev, sizeof bev, "%s/broker.jsonl", dir);
    char *bargv[] = { BROKER, "--listen", broker_addr, "--events", bev, NULL };
    spawn_in(broker_host, bargv);
    cr_assert(th_wait_event(bev, "listening", 5), "flatline-broker did not listen");
}

/* Silence the broker host at its switch port; returns netem's ground truth. */
static uint64_t partition_broker(void)
{
    uint64_t t = 0;
    cr_assert_eq(fl_fault_partition(net, &broker_host, 1, FL_DIR_BOTH, &t, err, sizeof err), 0, "partition: %s",
                 err);
    return t;
}

typedef struct expect {
    const char *group, *reason;
    double lo, hi; /* detection window after the drop, s */
} expect;

Test(swarm_tcp, silent_broker_host_named_by_mechanism, .init = setup, .fini = teardown, .timeout = 60)
{
    char sev[300], cfg[300];
    snprintf(sev, sizeof sev, "%s/swarm.jsonl", dir);
    snprintf(cfg, sizeof cfg, "%s/swarm.json", dir);
    start_broker();

    FILE *f = fopen(cfg, "w");
    cr_assert_not_null(f);
    /* Keep Alive 60 for the TCP groups: no MQTT traffic within the test, so
     * the keep-alive timer sees an idle connection. */
    fprintf(f,
            "{\"broker\":\"%s\",\"groups\":["
            "{\"name\":\"ka\",\"clients\":20,\"keepalive\":60,\"strategy\":{\"kind\":\"tcp-only\"},"
            " \"tcp\":{\"keepalive\":{\"idle\":1,\"interval\":1,\"count\":2}}},"
            "{\"name\":\"uto\",\"clients\":20,\"keepalive\":60,\"strategy\":{\"kind\":\"tcp-only\"},"
            " \"tcp\":{\"keepalive\":{\"idle\":1,\"interval\":1,\"count\":9},\"user_timeout_ms\":2000}},"
            "{\"name\":\"data\",\"clients\":20,\"keepalive\":60,\"strategy\":{\"kind\":\"tcp-only\"},"
            " \"tcp\":{\"keepalive\":\"off\",\"user_timeout_ms\":1500},"
            " \"workload\":{\"publish_interval\":0.2,\"qos\":0,\"payload\":32}},"
            "{\"name\":\"app\",\"clients\":20,\"keepalive\":2,\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":1}}"
            "]}\n",
            broker_addr);
    fclose(f);
    char *sargv[] = { SWARM, "--config", cfg, "--events", sev, NULL };
    spawn_in(client_host, sargv);
    cr_assert(th_wait_event(sev, "ready", 10), "the swarm did not connect");
    th_sleep(2.5); /* a few keep-alive probes answered: the connections are healthy */
    json_t *ev = th_read_events(sev);
    cr_assert_eq(th_count(ev, "dead_detected"), 0);
    json_decref(ev);

    uint64_t t_drop = partition_broker();
    th_sleep(4.5);

    /* Windows after the drop. ka: the last probe answer came within 1 s
     * before the drop; dead idle + count x interval = 3 s after it. uto: the
     * user timeout (2 s after the last answer) ends it at the keep-alive
     * timer, the probe count is ignored. data: a publish goes out within
     * 0.2 s, is never ACKed, its first retransmission comes an RTO (200 ms
     * minimum) later, and the user timeout of 1.5 s ends it from there. app: PINGREQ at the latest 2 s after the last
     * one, dead 1 s later. */
    const expect want[] = {
        { "ka", "tcp_keepalive", 2.0, 3.0 },
        { "uto", "user_timeout", 1.0, 2.0 },
        { "data", "user_timeout", 1.5, 1.5 + 0.2 + 0.2 + 0.2 },
        { "app", "ping_timeout", 1.0, 3.0 },
    };
    size_t counts[4] = { 0 };
    double first[4] = { 1e9, 1e9, 1e9, 1e9 }, last[4] = { 0 };
    ev = th_read_events(sev);
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "dead_detected") != 0)
            continue;
        const char *group = json_string_value(json_object_get(e, "group"));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        double after = (double)((uint64_t)json_integer_value(json_object_get(e, "t")) - t_drop) / 1e9;
        size_t g = 0;
        while (g < 4 && strcmp(want[g].group, group) != 0)
            g++;
        cr_assert_lt(g, 4);
        cr_assert_str_eq(reason, want[g].reason, "group %s: %s", group, json_dumps(e, 0));
        cr_assert(after >= want[g].lo - TOLERANCE_NS / 1e9 && after <= want[g].hi + TOLERANCE_NS / 1e9,
                  "group %s detected %.3f s after the drop, window [%.1f, %.1f]", group, after, want[g].lo,
                  want[g].hi);
        counts[g]++;
        first[g] = after < first[g] ? after : first[g];
        last[g] = after > last[g] ? after : last[g];
    }
    for (size_t g = 0; g < 4; g++)
    {
        fprintf(stderr, "group %-5s %-14s detected %.3f .. %.3f s after the drop (window %.1f .. %.1f)\n",
                want[g].group, want[g].reason, first[g], last[g], want[g].lo, want[g].hi);
        cr_assert_eq(counts[g], 20, "group %s: %zu of 20 detected", want[g].group, counts[g]);
    }
    json_decref(ev);
}

/* The 5,000-client scenario of test_swarm_detect.c with a really silent peer
 * instead of SIGSTOP: the PINGREQs now sit unacknowledged in TCP and are
 * retransmitted, and still the application timers must decide, each within
 * its strategy's bound. */
Test(swarm_tcp, silent_broker_5000_app_strategies, .init = setup, .fini = teardown, .timeout = 90)
{
    char sev[300], cfg[300];
    snprintf(sev, sizeof sev, "%s/swarm.jsonl", dir);
    snprintf(cfg, sizeof cfg, "%s/swarm.json", dir);
    start_broker();
    write_app_config(cfg, broker_addr);
    char *sargv[] = { SWARM, "--config", cfg, "--events", sev, NULL };
    spawn_in(client_host, sargv);
    cr_assert(th_wait_event(sev, "ready", 30), "not all 5,000 clients connected");
    th_sleep(10);
    json_t *ev = th_read_events(sev);
    cr_assert_eq(th_count(ev, "connected"), APP_CLIENTS);
    cr_assert_eq(th_count(ev, "dead_detected"), 0, "a client lost its connection while the broker was healthy");
    json_decref(ev);
    uint64_t t_drop = partition_broker();
    th_sleep(6); /* the slowest bound: adaptive, 2 + 3 x 1 s */
    assert_app_detection(sev, t_drop, S(0.25));
}
