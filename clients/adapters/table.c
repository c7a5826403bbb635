#include "table.h"

#include <stdio.h>
#include <string.h>

#define S UINT64_C(1000000000)
#define MS UINT64_C(1000000)

#define NO_TCP(lib) "tcp: " lib " sets no TCP keep-alive or user timeout"
#define NO_WORKLOAD "workload: publishing is not mapped yet; the adapter's clients are idle"
#define OWN_RULE(lib, where) "strategy: runs " lib "'s own keep-alive rule (" where "); tune it with keepalive"

static const char *const paho_c_refused[] = { OWN_RULE("paho.mqtt.c", "MQTTProtocol_keepalive"),
                                              NO_TCP("paho.mqtt.c"), NO_WORKLOAD, NULL };
static const char *const paho_c_options[] = { "connect_timeout: seconds", NULL };
static const char *const mosq_refused[] = { OWN_RULE("libmosquitto", "mosquitto__check_keepalive"),
                                            NO_TCP("libmosquitto"), NO_WORKLOAD, NULL };
static const char *const none[] = { NULL };
static const char *const py_refused[] = { OWN_RULE("paho", "Client._check_keepalive"), NO_TCP("paho"), NO_WORKLOAD,
                                          NULL };
static const char *const go_refused[] = {
    "strategy: runs paho.mqtt.golang's own keep-alive rule (ping.go); tune it with keepalive and "
    "client_options.ping_timeout",
    NO_TCP("paho.mqtt.golang"), NO_WORKLOAD, NULL
};
static const char *const go_options[] = { "ping_timeout: seconds", "connect_timeout: seconds", "write_timeout: seconds",
                                          NULL };
static const char *const js_refused[] = { OWN_RULE("MQTT.js", "KeepaliveManager"), NO_TCP("MQTT.js"), NO_WORKLOAD,
                                          NULL };
static const char *const js_options[] = { "connect_timeout: seconds", NULL };

static const char *const cmd_refused[] = {
    "strategy: a command client is a black box: the program keeps its own keep-alive",
    "tcp: a command client is a black box: the program sets its own socket options",
    "workload: a command client is a black box: the program publishes what it publishes",
    "reconnect: a command client is a black box: the program reconnects (or not) on its own",
    "will: a command client is a black box: give the program its will in the command",
    "subscribe: a command client is a black box: give the program its topics in the command",
    "role: a command client is a black box: it logs no will_received",
    "clean: a command client is a black box: give the program its session flag in the command",
    NULL,
};
static const char *const cmd_options[] = { "command: argv", NULL };

static const fl_adapter_info table[] = {
    { "paho-c", "flatline-adapter-paho-c", "paho.mqtt.c 1.3.12 (Debian libpaho-mqtt-dev 1.3.12-1), MQTTAsync",
      paho_c_refused, paho_c_options, false, true, 1, "",
      "PINGREQ after Keep Alive without sending (or receiving); the session closed when no PINGRESP came within "
      "1.5 x Keep Alive of the PINGREQ; checked in the receive thread every max(1 s select timeout, "
      "retryLoopInterval = K/10 clamped to 0.1..5 s)",
      "eclipse/paho.mqtt.c v1.3.12 src/MQTTProtocolClient.c MQTTProtocol_keepalive, src/MQTTAsyncUtils.c "
      "setRetryLoopInterval, MQTTAsync_retry, MQTTAsync_cycle" },
    { "libmosquitto", "flatline-adapter-libmosquitto", "libmosquitto 2.0.11 (Debian libmosquitto-dev 2.0.11-1.2+deb12u2)",
      mosq_refused, none, true, true, 5, "lib/connect.c mosquitto__connect_init, 2.0.11",
      "PINGREQ when Keep Alive passed since the last send or receive (whole seconds of mosquitto_time()); "
      "the connection closed with MOSQ_ERR_KEEPALIVE when Keep Alive passed again with the ping unanswered; "
      "checked by mosquitto_loop_misc (every 0.1 s in the adapter)",
      "eclipse/mosquitto v2.0.11 lib/util_mosq.c mosquitto__check_keepalive, lib/loop.c mosquitto_loop_misc" },
    { "paho-python", "flatline-adapter-paho-python", "paho-mqtt 1.6.1 (Debian python3-paho-mqtt 1.6.1-1)", py_refused,
      none, true, true, 0, "",
      "PINGREQ when Keep Alive passed since the last send or receive (time.monotonic); the connection closed with "
      "MQTT_ERR_KEEPALIVE when Keep Alive passed since the ping; checked by loop_misc (every 1 s, as loop())",
      "/usr/lib/python3/dist-packages/paho/mqtt/client.py (1.6.1) Client._check_keepalive, Client.loop_misc" },
    { "paho-go", "flatline-adapter-paho-go", "paho.mqtt.golang 1.1.1 (Debian golang-github-eclipse-paho.mqtt.golang-dev "
      "1.1.1-1.1)", go_refused, go_options, false, true, 2, "ping.go: the check interval K/2 would be 0",
      "a ticker every 5 s (K > 10) or K/2 whole seconds; PINGREQ at a tick when Keep Alive passed (Unix seconds) "
      "since the last send or receive; \"pingresp not received, disconnecting\" at the first tick PingTimeout "
      "(default 10 s) after the ping",
      "/usr/share/gocode/src/github.com/eclipse/paho.mqtt.golang/ping.go keepalive, options.go NewClientOptions "
      "(1.1.1)" },
    { "mqtt.js", "flatline-adapter-mqtt.js", "MQTT.js 5.10.4 (npm mqtt, clients/adapters/mqtt.js/package-lock.json)",
      js_refused, js_options, false, false, 1, "",
      "a timer every ceil(K/2), restarted by every PINGRESP: PINGREQ on its 2nd tick, \"Keepalive timeout\" on the "
      "3rd, i.e. 1.5 x Keep Alive after the last PINGRESP",
      "clients/adapters/mqtt.js/node_modules/mqtt/build/lib/KeepaliveManager.js reschedule, "
      "build/lib/handlers/index.js (pingresp: reschedulePing(true)) (5.10.4)" },
    { "command", "flatline-adapter-command", "any program: {broker}, {port}, {id} in its arguments", cmd_refused,
      cmd_options, true, true, 0, "",
      "unknown: seen from outside, the program's TCP connection to the broker leaving ESTABLISHED (sock_diag, "
      "polled every 10 ms)",
      "none: a black box; measure it" },
};

size_t fl_adapter_count(void) { return sizeof table / sizeof table[0]; }

const fl_adapter_info *fl_adapter_at(size_t i) { return i < fl_adapter_count() ? &table[i] : NULL; }

const fl_adapter_info *fl_adapter_find(const char *name)
{
    for (size_t i = 0; name && i < fl_adapter_count(); i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *fl_adapter_names(void)
{
    static char buf[256];
    if (!buf[0])
        for (size_t i = 0; i < fl_adapter_count(); i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", table[i].name);
    return buf;
}

static const char *lookup(const char *const *list, const char *key)
{
    size_t len = strlen(key);
    for (; list && *list; list++)
        if (strncmp(*list, key, len) == 0 && (*list)[len] == ':')
            return *list + len + 2;
    return NULL;
}

const char *fl_adapter_refuses(const fl_adapter_info *a, const char *field) { return lookup(a->refused, field); }

const char *fl_adapter_option_type(const fl_adapter_info *a, const char *option) { return lookup(a->options, option); }

static uint64_t option_ns(const json_t *opts, const char *key, uint64_t def)
{
    const json_t *v = opts ? json_object_get(opts, key) : NULL;
    return json_is_number(v) ? (uint64_t)(json_number_value(v) * 1e9) : def;
}

bool fl_adapter_window(const fl_adapter_info *a, unsigned keepalive_s, const json_t *opts, uint64_t *lo, uint64_t *hi)
{
    if (keepalive_s == 0)
        return false;
    uint64_t k = keepalive_s * S;
    if (strcmp(a->name, "paho-c") == 0) {
        /* ping at K after the last send (+ a check), dead 1.5 K after the ping (+ a check). */
        uint64_t retry = keepalive_s * 100 * MS;
        retry = retry < 100 * MS ? 100 * MS : retry > 5 * S ? 5 * S : retry;
        uint64_t check = retry + 1 * S;
        *lo = k + k * 3 / 2;
        *hi = *lo + 2 * check;
    } else if (strcmp(a->name, "libmosquitto") == 0) {
        /* Two waits of K in whole seconds, each seen by a loop_misc of 0.1 s. */
        *lo = 2 * k - 2 * S;
        *hi = 2 * k + 1 * S + 200 * MS;
    } else if (strcmp(a->name, "paho-python") == 0) {
        /* Two waits of K, each seen by a loop_misc of up to 1 s. */
        *lo = 2 * k - 100 * MS;
        *hi = 2 * k + 2 * S;
    } else if (strcmp(a->name, "paho-go") == 0) {
        uint64_t iv = keepalive_s > 10 ? 5 * S : (keepalive_s / 2) * S;
        uint64_t pt = option_ns(opts, "ping_timeout", 10 * S);
        uint64_t ticks = (pt + iv - 1) / iv;
        /* ping at the first tick a whole second count of K allows, dead at the
         * first tick PingTimeout after it (one more when the tick falls a hair short) */
        *lo = k - 1 * S + ticks * iv;
        *hi = k + iv + (ticks + 1) * iv;
    } else if (strcmp(a->name, "mqtt.js") == 0) {
        uint64_t tick = ((uint64_t)keepalive_s * 1000 + 1) / 2 * MS;
        *lo = 3 * tick;
        *hi = 3 * tick + 100 * MS;
    } else {
        return false;
    }
    return true;
}
