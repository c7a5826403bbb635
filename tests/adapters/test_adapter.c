/* One client library adapter (ADAPTER, set by CMake) against flatline-broker
 * on loopback: 100 clients connect, stay idle 3 x Keep Alive without a false
 * disconnect, then the broker is frozen (SIGSTOP: its kernel keeps ACKing,
 * so only the library's own keep-alive can notice) and every client must log
 * a dead_detected (reason ping_timeout; the first, if it reconnected and died
 * again) inside the library's model window
 * (fl_adapter_window, clients/adapters/table.c) give or take TOLERANCE_NS;
 * the broker thaws and every client reconnects; `stop` ends it with exit 0.
 * ADAPTER "command" runs mosquitto_sub -k 5 (libmosquitto 2.0.11 in
 * loop_forever) as a black box: its detection is seen from outside (the
 * socket leaving ESTABLISHED) and must fall in libmosquitto's window, widened
 * by loop_forever's 1 s select (mosquitto_loop_misc runs once a loop). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/adapters/table.h"
#include "clients/harness.h"

#define FLATLINE_BROKER FLATLINE_BINARY_DIR "/flatline-broker"
#define CLIENTS 100
/* Callbacks run in the library's thread (or interpreter); 100 of them due
 * at once and the event writes take a little time. */
#define TOLERANCE_NS (250 * UINT64_C(1000000))

static char dir[256];
static pid_t broker = -1, client = -1;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-adapter-test-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void teardown(void)
{
    th_kill(client);
    th_kill(broker);
    client = broker = -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Each client's first `ev` at or after `after`, by client_id: a client that
 * reconnects on its own (mosquitto_sub) to the frozen broker, whose kernel
 * still accepts, can die a second time before the check. */
static json_t *first_after(json_t *events, const char *ev, uint64_t after)
{
    json_t *first = json_object(), *e;
    size_t i;
    json_array_foreach(events, i, e) {
        const char *id = json_string_value(json_object_get(e, "client_id"));
        if (id && strcmp(json_string_value(json_object_get(e, "ev")), ev) == 0 &&
            (uint64_t)json_integer_value(json_object_get(e, "t")) >= after && !json_object_get(first, id))
            json_object_set(first, id, e);
    }
    return first;
}

/* Whether the adapter logs pingresp (paho.mqtt.golang's debug log does not
 * name the client): then latencies count from the last one, else the check
 * is the upper bound from the freeze. */
static bool has_pingresp(void) { return strcmp(ADAPTER, "paho-go") != 0 && strcmp(ADAPTER, "command") != 0; }
static bool is_command(void) { return strcmp(ADAPTER, "command") == 0; }

Test(adapter, hold_detect_reconnect, .init = setup, .fini = teardown, .timeout = 90)
{
    const fl_adapter_info *info = fl_adapter_find(ADAPTER);
    cr_assert_not_null(info, "%s is not in the adapter table", ADAPTER);
    unsigned keepalive = info->min_keepalive > 2 ? info->min_keepalive : 2;
    /* paho.mqtt.golang's PingTimeout defaults to 10 s; 1 s keeps the test short. */
    json_t *opts = strcmp(ADAPTER, "paho-go") == 0 ? json_pack("{s:f}", "ping_timeout", 1.0) : json_object();
    uint64_t lo, hi;
    if (is_command()) {
        keepalive = 5; /* mosquitto_sub refuses less (libmosquitto) */
        json_decref(opts);
        opts = json_pack("{s:[s,s,s,s,s,s,s,s,s,s,s]}", "command", "/usr/bin/mosquitto_sub", "-h", "{broker}", "-p",
                         "{port}", "-i", "{id}", "-k", "5", "-t", "t/{id}");
        cr_assert(fl_adapter_window(fl_adapter_find("libmosquitto"), keepalive, NULL, &lo, &hi));
        hi += 2 * UINT64_C(1000000000);
    } else {
        cr_assert(fl_adapter_window(info, keepalive, opts, &lo, &hi));
    }

    int port = th_free_port();
    char listen[64], bevents[300], cfg[300], events[300], ctlspec[32], addr[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(bevents, sizeof bevents, "%s/broker.jsonl", dir);
    char *bargv[] = { FLATLINE_BROKER, "--listen", listen, "--events", bevents, NULL };
    broker = th_spawn(bargv, -1);
    cr_assert(broker > 0 && th_wait_port(port, 5), "flatline-broker did not start");

    snprintf(cfg, sizeof cfg, "%s/client.json", dir);
    snprintf(events, sizeof events, "%s/events.jsonl", dir);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    json_t *config = json_pack("{s:s, s:[{s:s, s:i, s:s, s:i, s:O}]}", "broker", addr, "groups", "name", "d", "clients",
                               CLIENTS, "id_pattern", "t-{n}", "keepalive", (int)keepalive, "client_options", opts);
    /* The command reconnects on its own (mosquitto_sub: libmosquitto's loop_forever). */
    if (!is_command())
        json_object_set_new(json_array_get(json_object_get(config, "groups"), 0), "reconnect",
                            json_pack("{s:s, s:f}", "kind", "fixed", "delay", 0.5));
    cr_assert_eq(json_dump_file(config, cfg, 0), 0);
    json_decref(config);

    int ctl[2];
    cr_assert_eq(pipe(ctl), 0);
    snprintf(ctlspec, sizeof ctlspec, "fd:%d", ctl[0]);
    char program[300];
    snprintf(program, sizeof program, "%s/%s", FLATLINE_BINARY_DIR, info->program);
    char *argv[] = { program, "--config", cfg, "--events", events, "--control", ctlspec, "--log-pings", NULL };
    client = th_spawn(argv, ctl[0]);
    close(ctl[0]);
    cr_assert(th_wait_event(events, "ready", 30), "not all %d %s clients connected", CLIENTS, ADAPTER);

    /* Hold: three Keep Alives of idle clients, no disconnect. */
    th_sleep(3.0 * keepalive);
    json_t *ev = th_read_events(events);
    cr_assert_eq(th_count(ev, "dead_detected"), 0, "%s: a false disconnect while the broker answered", ADAPTER);
    if (has_pingresp())
        cr_assert_geq(th_count(ev, "pingresp"), CLIENTS, "%s: the clients did not ping", ADAPTER);
    json_decref(ev);

    uint64_t t_freeze = th_now_ns();
    kill(broker, SIGSTOP);
    th_sleep((double)(hi + 2 * TOLERANCE_NS) / 1e9);
    ev = th_read_events(events);
    json_t *dead = first_after(ev, "dead_detected", t_freeze);
    cr_assert_eq(json_object_size(dead), CLIENTS, "%s: %zu of %d clients detected the frozen broker", ADAPTER,
                 json_object_size(dead), CLIENTS);
    /* Per client: from its last packet (pingresp or connected) to its first detection. */
    const char *id;
    json_t *e;
    uint64_t worst = 0, best = UINT64_MAX;
    json_object_foreach(dead, id, e) {
        cr_assert_str_eq(json_string_value(json_object_get(e, "reason")), is_command() ? "closed" : "ping_timeout",
                         "%s: %s: %s", ADAPTER, id,
                         json_string_value(json_object_get(e, "library_reason")));
        uint64_t t = (uint64_t)json_integer_value(json_object_get(e, "t")), last = t_freeze;
        if (has_pingresp()) {
            last = 0;
            size_t j;
            json_t *p;
            json_array_foreach(ev, j, p) {
                const char *name = json_string_value(json_object_get(p, "ev"));
                uint64_t tp = (uint64_t)json_integer_value(json_object_get(p, "t"));
                if ((strcmp(name, "pingresp") == 0 || strcmp(name, "connected") == 0) && tp < t &&
                    strcmp(json_string_value(json_object_get(p, "client_id")), id) == 0 && tp > last)
                    last = tp;
            }
        }
        uint64_t lat = t - last;
        worst = lat > worst ? lat : worst;
        best = lat < best ? lat : best;
        cr_assert_leq(lat, hi + TOLERANCE_NS, "%s: %s detected %.3f s after its last packet, model at most %.3f s",
                      ADAPTER, id, lat / 1e9, hi / 1e9);
        if (has_pingresp())
            cr_assert_geq(lat + TOLERANCE_NS, lo, "%s: %s detected %.3f s after its last packet, model at least %.3f s",
                          ADAPTER, id, lat / 1e9, lo / 1e9);
    }
    json_decref(dead);
    fprintf(stderr, "%s: K %u: detection %.3f..%.3f s after the last packet%s, model [%.3f, %.3f] s\n", ADAPTER,
            keepalive, best / 1e9, worst / 1e9, has_pingresp() ? "" : " (from the freeze)", lo / 1e9, hi / 1e9);
    json_decref(ev);

    kill(broker, SIGCONT);
    uint64_t deadline = th_now_ns() + 25 * UINT64_C(1000000000);
    size_t back = 0;
    while (th_now_ns() < deadline) {
        ev = th_read_events(events);
        back = th_count(ev, "reconnected");
        json_decref(ev);
        if (back >= CLIENTS)
            break;
        th_sleep(0.2);
    }
    cr_assert_geq(back, CLIENTS, "%s: %zu of %d clients reconnected", ADAPTER, back, CLIENTS);
    cr_assert_eq(write(ctl[1], "stop\n", 5), 5);
    cr_assert_eq(th_wait_exit(client, 10), 0, "%s did not stop with exit 0", ADAPTER);
    client = -1;
    close(ctl[1]);
    json_decref(opts);
}
