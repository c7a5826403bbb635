/* flatline-swarm end to end against mosquitto, one feature a test: the CLI's
 * exit codes, wills reaching a watcher, MQTT 5 Server Keep Alive, reconnect
 * after a broker restart, the control channel and signals. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clients/backoff.h"
#include "harness.h"

#define SWARM FLATLINE_BINARY_DIR "/flatline-swarm"
#define MAXP 8

static char dir[256];
static pid_t broker = -1, procs[MAXP];
static int nprocs;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-swarm-fn-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
    nprocs = 0;
}

static void teardown(void)
{
    for (int i = 0; i < nprocs; i++)
        th_kill(procs[i]);
    th_kill(broker);
    broker = -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static pid_t track(pid_t p)
{
    if (nprocs < MAXP)
        procs[nprocs++] = p;
    return p;
}

static void path(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", dir, name); }

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs the swarm to completion with its stderr in a file; returns the exit code. */
static int run_cli(char *const argv[], char *errbuf, size_t errlen)
{
    char errpath[300];
    path(errpath, sizeof errpath, "stderr.txt");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(errpath, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(99);
        execv(argv[0], argv);
        _exit(127);
    }
    int rc = th_wait_exit(pid, 10);
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(errbuf, 1, errlen - 1, f) : 0;
    errbuf[n] = '\0';
    if (f)
        fclose(f);
    return rc;
}

Test(swarm_cli, exit_codes_and_messages, .init = setup, .fini = teardown)
{
    char err[2048];
    char *bad_flag[] = { SWARM, "--broker", "127.0.0.1:1", "--clients", "x", "--keepalive", "5", NULL };
    cr_assert_eq(run_cli(bad_flag, err, sizeof err), 2);
    cr_assert(strstr(err, "--clients") != NULL, "%s", err);

    char *missing[] = { SWARM, "--clients", "3", NULL };
    cr_assert_eq(run_cli(missing, err, sizeof err), 2);

    char *too_many[] = { SWARM, "--broker", "127.0.0.1:1", "--clients", "500000", "--keepalive", "5", NULL };
    cr_assert_eq(run_cli(too_many, err, sizeof err), 3);
    cr_assert(strstr(err, "500000 clients") && strstr(err, "RLIMIT_NOFILE"), "%s", err);

    char cfg[300];
    path(cfg, sizeof cfg, "bad.json");
    write_file(cfg, "{\"broker\":\"127.0.0.1:1\",\"groups\":[{\"clients\":1,\"keepalive\":5,"
                    "\"strategy\":{\"kind\":\"probe\",\"count\":0}}]}");
    char *bad_cfg[] = { SWARM, "--config", cfg, NULL };
    cr_assert_eq(run_cli(bad_cfg, err, sizeof err), 2);
    cr_assert(strstr(err, "groups[0].strategy.count") != NULL, "%s", err);

    char *cfg_and_flag[] = { SWARM, "--config", cfg, "--clients", "3", NULL };
    cr_assert_eq(run_cli(cfg_and_flag, err, sizeof err), 2);

    char *bad_broker[] = { SWARM, "--broker", "nowhere", "--clients", "1", "--keepalive", "5", NULL };
    cr_assert_eq(run_cli(bad_broker, err, sizeof err), 2);
    cr_assert(strstr(err, "broker") != NULL, "%s", err);

    char *bad_control[] = { SWARM, "--broker", "127.0.0.1:1", "--clients", "1", "--keepalive", "5", "--control",
                            "fd:999", NULL };
    cr_assert_eq(run_cli(bad_control, err, sizeof err), 2);
    cr_assert(strstr(err, "--control") != NULL, "%s", err);

    char *help[] = { SWARM, "--help", NULL };
    cr_assert_eq(run_cli(help, err, sizeof err), 0);
}

Test(swarm_fn, wills_reach_the_watcher, .init = setup, .fini = teardown, .timeout = 60)
{
    int port = th_free_port();
    broker = th_start_mosquitto(dir, port);
    cr_assert_gt(broker, 0);
    char wcfg[300], dcfg[300], wev[300], dev[300], text[1024];
    path(wcfg, sizeof wcfg, "watch.json");
    path(dcfg, sizeof dcfg, "dev.json");
    path(wev, sizeof wev, "watch.jsonl");
    path(dev, sizeof dev, "dev.jsonl");
    snprintf(text, sizeof text,
             "{\"broker\":\"127.0.0.1:%d\",\"groups\":[{\"name\":\"w\",\"clients\":1,\"keepalive\":5,"
             "\"id_pattern\":\"watch-%d\",\"role\":\"watcher\",\"subscribe\":[\"will/%d/#\"]}]}",
             port, (int)getpid(), (int)getpid());
    write_file(wcfg, text);
    snprintf(text, sizeof text,
             "{\"broker\":\"127.0.0.1:%d\",\"groups\":[{\"name\":\"d\",\"clients\":20,\"keepalive\":5,"
             "\"id_pattern\":\"dev%d-{n}\",\"will\":{\"topic\":\"will/%d/{id}\",\"payload\":\"{id}\",\"qos\":1},"
             "\"workload\":{\"publish_interval\":0.05,\"qos\":1,\"payload\":100,\"topic\":\"data/{id}\"}}]}",
             port, (int)getpid(), (int)getpid());
    write_file(dcfg, text);
    char *wargv[] = { SWARM, "--config", wcfg, "--events", wev, NULL };
    track(th_spawn(wargv, -1));
    cr_assert(th_wait_event(wev, "ready", 10));
    int ctl[2];
    cr_assert_eq(pipe(ctl), 0);
    char spec[32];
    snprintf(spec, sizeof spec, "fd:%d", ctl[0]);
    char *dargv[] = { SWARM, "--config", dcfg, "--events", dev, "--control", spec, NULL };
    pid_t d = track(th_spawn(dargv, ctl[0]));
    close(ctl[0]);
    cr_assert(th_wait_event(dev, "ready", 10));
    th_sleep(0.5); /* some publishes at QoS 1 */
    /* kill: no DISCONNECT, the kernel closes the sockets: the broker sends every will. */
    cr_assert_eq(write(ctl[1], "counters\nkill\n", 14), 14);
    cr_assert_eq(th_wait_exit(d, 5), 0);
    close(ctl[1]);
    th_sleep(1.0);

    json_t *ev = th_read_events(wev);
    bool seen[20] = { false };
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "will_received") != 0)
            continue;
        const char *whose = json_string_value(json_object_get(e, "whose"));
        int pid, n;
        cr_assert_eq(sscanf(whose, "dev%d-%d", &pid, &n), 2, "whose '%s'", whose);
        cr_assert_eq(pid, (int)getpid());
        cr_assert(n >= 0 && n < 20);
        seen[n] = true;
        char want[64];
        snprintf(want, sizeof want, "will/%d/%s", (int)getpid(), whose);
        cr_assert_str_eq(json_string_value(json_object_get(e, "topic")), want);
    }
    for (int n = 0; n < 20; n++)
        cr_assert(seen[n], "no will from dev-%d", n);
    json_decref(ev);
    ev = th_read_events(dev);
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "counters") == 0)
            cr_assert_gt(json_integer_value(json_object_get(e, "published")), 20);
    }
    json_decref(ev);
}

Test(swarm_fn, v5_server_keep_alive, .init = setup, .fini = teardown, .timeout = 60)
{
    int port = th_free_port();
    /* mosquitto with max_keepalive 10 (its minimum): a v5 client asking 60
     * is told 10 in CONNACK; a v3.1.1 client keeps its 60 (no way to tell it). */
    char conf[300], text[512];
    path(conf, sizeof conf, "m5.conf");
    snprintf(text, sizeof text, "listener %d 127.0.0.1\nallow_anonymous true\nmax_keepalive 10\nlog_type error\n", port);
    write_file(conf, text);
    char *margv[] = { "/usr/sbin/mosquitto", "-c", conf, NULL };
    broker = th_spawn(margv, -1);
    cr_assert(th_wait_port(port, 5));
    char ev5[300], ev3[300], addr[64];
    path(ev5, sizeof ev5, "v5.jsonl");
    path(ev3, sizeof ev3, "v3.jsonl");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    char *a5[] = { SWARM, "--broker", addr, "--clients", "3", "--keepalive", "60", "--version", "5", "--events", ev5,
                   "--duration", "11", "--log-pings", NULL };
    char *a3[] = { SWARM, "--broker", addr, "--clients", "1", "--keepalive", "60", "--events", ev3, "--duration",
                   "1", NULL };
    pid_t p5 = track(th_spawn(a5, -1)), p3 = track(th_spawn(a3, -1));
    cr_assert_eq(th_wait_exit(p3, 10), 0);
    cr_assert_eq(th_wait_exit(p5, 20), 0);
    json_t *ev = th_read_events(ev5);
    size_t i, connected = 0;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "connected") == 0) {
            connected++;
            cr_assert_eq(json_integer_value(json_object_get(e, "keepalive")), 10);
        }
    }
    cr_assert_eq(connected, 3);
    /* Pinging every 10 s (not 60): one ping each in 11 s, all answered. */
    cr_assert_eq(th_count(ev, "ping_sent"), 3);
    cr_assert_eq(th_count(ev, "pingresp"), 3);
    cr_assert_eq(th_count(ev, "dead_detected"), 0);
    json_decref(ev);
    ev = th_read_events(ev3);
    cr_assert_eq(th_count(ev, "connected"), 1);
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "connected") == 0)
            cr_assert_eq(json_integer_value(json_object_get(e, "keepalive")), 60);
    }
    json_decref(ev);
}

Test(swarm_fn, reconnect_with_backoff_after_broker_restart, .init = setup, .fini = teardown, .timeout = 60)
{
    int port = th_free_port();
    broker = th_start_mosquitto(dir, port);
    cr_assert_gt(broker, 0);
    char cfg[300], events[300], text[1024];
    path(cfg, sizeof cfg, "re.json");
    path(events, sizeof events, "re.jsonl");
    snprintf(text, sizeof text,
             "{\"broker\":\"127.0.0.1:%d\",\"seed\":5,\"groups\":[{\"name\":\"r\",\"clients\":50,\"keepalive\":5,"
             "\"id_pattern\":\"re%d-{n}\",\"reconnect\":{\"kind\":\"backoff\",\"base\":0.1,\"cap\":0.4}}]}",
             port, (int)getpid());
    write_file(cfg, text);
    char *argv[] = { SWARM, "--config", cfg, "--events", events, NULL };
    pid_t s = track(th_spawn(argv, -1));
    cr_assert(th_wait_event(events, "ready", 10));
    /* The broker dies: its kernel closes every socket (FIN), clients see eof,
     * and keep failing (refused) until it is back. */
    th_kill(broker);
    th_sleep(1.0);
    broker = th_start_mosquitto(dir, port);
    cr_assert_gt(broker, 0);
    th_sleep(2.0);
    kill(s, SIGTERM);
    cr_assert_eq(th_wait_exit(s, 5), 0, "SIGTERM stops with exit 0");

    json_t *ev = th_read_events(events);
    size_t i;
    json_t *e;
    reconnect_config rc = { .kind = RECONNECT_BACKOFF, .base_ns = 100000000, .cap_ns = 400000000 };
    size_t eof = 0, refused = 0;
    json_array_foreach(ev, i, e) {
        const char *name = json_string_value(json_object_get(e, "ev"));
        if (strcmp(name, "dead_detected") == 0) {
            const char *reason = json_string_value(json_object_get(e, "reason"));
            eof += strcmp(reason, "eof") == 0 || strcmp(reason, "reset") == 0;
            refused += strcmp(reason, "refused") == 0;
        } else if (strcmp(name, "reconnect_attempt") == 0) {
            int n;
            cr_assert_eq(sscanf(json_string_value(json_object_get(e, "client_id")), "re%*d-%d", &n), 1);
            uint64_t delay = (uint64_t)json_integer_value(json_object_get(e, "delay"));
            uint64_t attempt = (uint64_t)json_integer_value(json_object_get(e, "attempt"));
            /* Consecutive failures since the last success: this run never
             * succeeded in between, so attempt - 1 is the exponent. */
            uint64_t want;
            reconnect_delay(&rc, 5, (uint64_t)n, (uint32_t)(attempt - 1), &want);
            cr_assert_eq(delay, want, "client %d attempt %llu", n, (unsigned long long)attempt);
            cr_assert_leq(delay, backoff_ceiling(&rc, (uint32_t)(attempt - 1)));
        }
    }
    cr_assert_eq(eof, 50, "every client sees the broker's close");
    cr_assert_gt(refused, 0, "attempts while the broker is down are refused");
    cr_assert_eq(th_count(ev, "reconnected"), 50);
    cr_assert_eq(th_count(ev, "connected"), 100);
    json_decref(ev);
}

Test(swarm_fn, control_status_and_signals, .init = setup, .fini = teardown, .timeout = 30)
{
    int port = th_free_port();
    broker = th_start_mosquitto(dir, port);
    cr_assert_gt(broker, 0);
    char events[300], addr[64], out[300];
    path(events, sizeof events, "c.jsonl");
    path(out, sizeof out, "stdout.txt");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int ctl[2];
    cr_assert_eq(pipe(ctl), 0);
    char spec[32];
    snprintf(spec, sizeof spec, "fd:%d", ctl[0]);
    char *argv[] = { SWARM, "--broker", addr, "--clients", "10", "--keepalive", "5", "--events", events, "--control",
                     spec, NULL };
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout))
            _exit(99);
        execv(argv[0], argv);
        _exit(127);
    }
    track(pid);
    close(ctl[0]);
    cr_assert(th_wait_event(events, "ready", 10));
    kill(pid, SIGUSR1); /* counters on stderr; must not stop it */
    cr_assert_eq(write(ctl[1], "status\ncounters\n", 16), 16);
    cr_assert(th_wait_event(events, "counters", 5));
    cr_assert_eq(write(ctl[1], "stop\n", 5), 5);
    cr_assert_eq(th_wait_exit(pid, 5), 0);
    close(ctl[1]);
    FILE *f = fopen(out, "r");
    char line[512] = "";
    cr_assert(f && fgets(line, sizeof line, f));
    fclose(f);
    cr_assert(strstr(line, "connected 10") != NULL, "status: %s", line);
}

Test(swarm_fn, connect_rate_is_respected, .init = setup, .fini = teardown, .timeout = 30)
{
    int port = th_free_port();
    broker = th_start_mosquitto(dir, port);
    cr_assert_gt(broker, 0);
    char events[300], addr[64];
    path(events, sizeof events, "rate.jsonl");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    char *argv[] = { SWARM, "--broker", addr, "--clients", "301", "--keepalive", "30", "--rate", "500", "--events",
                     events, "--duration", "3", NULL };
    pid_t p = track(th_spawn(argv, -1));
    cr_assert_eq(th_wait_exit(p, 10), 0);
    json_t *ev = th_read_events(events);
    size_t i;
    json_t *e;
    uint64_t first = UINT64_MAX, last = 0;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "connected") != 0)
            continue;
        uint64_t t = (uint64_t)json_integer_value(json_object_get(e, "t"));
        first = t < first ? t : first;
        last = t > last ? t : last;
    }
    cr_assert_eq(th_count(ev, "connected"), 301);
    /* 300 gaps of 2 ms: never faster than the rate (a late timer may catch up 10 ms). */
    cr_assert_geq(last - first, 600000000u - 10000000u, "301 connects in %.3f s at 500/s",
                  (double)(last - first) / 1e9);
    json_decref(ev);
}
