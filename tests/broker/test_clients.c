/* flatline-broker against real third-party clients over loopback:
 * mosquitto_pub / mosquitto_sub (Debian's mosquitto-clients) and paho. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

#define MAX_CHILDREN 16
static broker_proc broker;
static child kids[MAX_CHILDREN];
static int nkids;

static void fini(void)
{
    for (int i = 0; i < nkids; i++)
        child_cleanup(&kids[i]);
    nkids = 0;
    broker_free(&broker);
}

TestSuite(clients, .fini = fini, .timeout = 60);

static child *spawn(char *const argv[])
{
    cr_assert_lt(nkids, MAX_CHILDREN);
    child *c = &kids[nkids++];
    child_start(c, argv);
    return c;
}

/* A subscriber that is subscribed when this returns. */
static child *subscriber(const char *id, const char *version, const char *topic, const char *qos, const char *count)
{
    /* stdbuf: mosquitto_sub's -d lines must reach the file as they happen. */
    char *argv[] = { "stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.port_str, "-V",
                     (char *)version, "-i", (char *)id, "-t", (char *)topic, "-q", (char *)qos, "-C", (char *)count, "-v", "-d", "-W", "20",
                     NULL };
    child *c = spawn(argv);
    cr_assert(child_wait_output(c, "SUBACK", 10000), "%s never got its SUBACK", id);
    return c;
}

static void publish(const char *version, const char *topic, const char *msg, const char *qos, bool retain)
{
    char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", broker.port_str, "-V", (char *)version, "-t",
                     (char *)topic, "-m", (char *)msg, "-q", (char *)qos, retain ? "-r" : NULL, NULL };
    child *c = spawn(argv);
    cr_assert(child_wait(c, 10000), "mosquitto_pub hung");
    cr_assert(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0, "mosquitto_pub failed");
}

static void expect_received(child *sub, const char *line)
{
    cr_assert(child_wait(sub, 10000), "the subscriber did not get all its messages");
    char *out = child_output(sub);
    cr_assert(strstr(out, line), "'%s' not in:\n%s", line, out);
    free(out);
}

Test(clients, pubsub_qos_0_1_2_both_versions)
{
    broker_start(&broker, NULL);
    const char *versions[] = { "mqttv311", "mqttv5" };
    const char *qos[] = { "0", "1", "2" };
    for (int v = 0; v < 2; v++) {
        for (int q = 0; q < 3; q++) {
            char id[32], topic[32], msg[32], line[80];
            snprintf(id, sizeof id, "sub-%d-%d", v, q);
            snprintf(topic, sizeof topic, "t/%d/%d", v, q);
            snprintf(msg, sizeof msg, "m-%s-q%s", versions[v], qos[q]);
            child *sub = subscriber(id, versions[v], topic, qos[q], "1");
            publish(versions[1 - v], topic, msg, qos[q], false);
            snprintf(line, sizeof line, "%s %s", topic, msg);
            expect_received(sub, line);
            /* The subscriber got it at the QoS it asked for. */
            char *out = child_output(sub);
            char want[32];
            snprintf(want, sizeof want, "q%s", qos[q]);
            cr_assert(strstr(out, "PUBLISH") && strstr(out, want), "no QoS %s PUBLISH in:\n%s", qos[q], out);
            free(out);
        }
    }
    broker_stop(&broker);
}

Test(clients, retained_and_wildcards)
{
    broker_start(&broker, NULL);
    publish("mqttv311", "home/kitchen/temp", "21", "1", true);
    publish("mqttv5", "home/hall/temp", "19", "0", true);
    publish("mqttv5", "home/hall/humidity", "40", "0", true);
    child *sub = subscriber("w1", "mqttv5", "home/+/temp", "1", "3");
    publish("mqttv311", "home/garage/temp", "12", "2", false);
    publish("mqttv311", "home/garage/door", "open", "0", false);
    expect_received(sub, "home/kitchen/temp 21");
    expect_received(sub, "home/hall/temp 19");
    expect_received(sub, "home/garage/temp 12");
    char *out = child_output(sub);
    cr_assert_null(strstr(out, "humidity"));
    cr_assert_null(strstr(out, "door"));
    free(out);
    child *all = subscriber("w2", "mqttv311", "home/#", "0", "3");
    expect_received(all, "home/hall/humidity 40");
    broker_stop(&broker);
}

static void check_silent_close(const char *id, const char *what)
{
    json_t *ev = broker_wait_event(&broker, "close", "client_id", id, 5000);
    cr_assert_not_null(ev);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), "keepalive_timeout");
    double t = (double)json_integer_value(json_object_get(ev, "t"));
    double last_rx = (double)json_integer_value(json_object_get(ev, "last_rx"));
    double deadline = (double)json_integer_value(json_object_get(ev, "deadline"));
    double after = (t - last_rx) / 1e9, late = (t - deadline) / 1e9;
    cr_log_info("%s: close %.6f s after the last packet, %.3f ms past the deadline", what, after, late * 1e3);
    cr_assert(after >= 3.000 && after <= 3.100, "%s: closed %.6f s after the last packet, not in [3.000, 3.100]",
              what, after);
    cr_assert(late >= 0 && late <= 0.100, "%s: closed %.3f ms after the deadline", what, late * 1e3);
    json_decref(ev);
    ev = broker_event(&broker, "will", "client_id", id, 0);
    cr_assert_not_null(ev, "%s: no will event", what);
    json_decref(ev);
}

/* The silent-client case: SIGSTOP keeps its TCP open but it stops sending.
 * paho, because mosquitto_sub refuses a keep-alive under 5 s. */
static void silent_client_will(const char *version)
{
    broker_start(&broker, NULL);
    child *watch = subscriber("watcher", "mqttv311", "will/#", "1", "1");
    char *argv[] = { "/usr/bin/python3", FLATLINE_SOURCE_DIR "/tests/broker/paho_silent.py", broker.port_str,
                     "silent", "2", (char *)version, NULL };
    child *silent = spawn(argv);
    cr_assert(child_wait_output(silent, "ready", 10000), "paho_silent.py did not get ready");
    kill(silent->pid, SIGSTOP);
    expect_received(watch, "will/silent silent is gone");
    check_silent_close("silent", version[0] == '5' ? "paho v5 KA=2" : "paho v3.1.1 KA=2");
    kill(silent->pid, SIGCONT);
    broker_stop(&broker);
}

Test(clients, will_of_silent_client_v311) { silent_client_will("4"); }
Test(clients, will_of_silent_client_v5) { silent_client_will("5"); }

/* mosquitto_sub asks KeepAlive 5; the broker's max_keepalive answers Server
 * Keep Alive 2 (v5), which libmosquitto adopts, so the deadline is 3 s. */
Test(clients, server_keep_alive_with_mosquitto_sub)
{
    char *extra[] = { "--max-keepalive", "2", NULL };
    broker_start(&broker, extra);
    /* v5 too: a 3.1.1 watcher asking 60 s would be clamped to 2 s silently and dropped. */
    child *watch = subscriber("watcher", "mqttv5", "will/#", "1", "1");
    char *argv[] = { "stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.port_str, "-V", "mqttv5",
                     "-i", "silent5", "-k", "5", "-t", "nothing", "-d", "--will-topic", "will/silent5",
                     "--will-payload", "silent5 is gone", "--will-qos", "1", NULL };
    child *silent = spawn(argv);
    cr_assert(child_wait_output(silent, "SUBACK", 10000));
    json_t *ev = broker_event(&broker, "connect", "client_id", "silent5", 0);
    cr_assert_eq(json_integer_value(json_object_get(ev, "keepalive_granted")), 2);
    json_decref(ev);
    kill(silent->pid, SIGSTOP);
    expect_received(watch, "will/silent5 silent5 is gone");
    check_silent_close("silent5", "mosquitto_sub v5 KA=5 granted 2");
    kill(silent->pid, SIGCONT);
    broker_stop(&broker);
}

Test(clients, takeover)
{
    broker_start(&broker, NULL);
    child *first = subscriber("same-id", "mqttv5", "a", "0", "1");
    child *second = subscriber("same-id", "mqttv5", "a", "0", "1");
    json_t *ev = broker_wait_event(&broker, "close", "client_id", "same-id", 5000);
    cr_assert_not_null(ev);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), "takeover");
    json_decref(ev);
    /* mosquitto_sub v5 sees the DISCONNECT 0x8E (session taken over). */
    cr_assert(child_wait_output(first, "DISCONNECT", 5000) || child_wait(first, 5000));
    publish("mqttv311", "a", "to-second", "0", false);
    expect_received(second, "a to-second");
    broker_stop(&broker);
}

Test(clients, reject_duplicate)
{
    char *extra[] = { "--duplicate-client-id", "reject", NULL };
    broker_start(&broker, extra);
    child *first = subscriber("ghost", "mqttv311", "a", "0", "1");
    char *argv[] = { "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.port_str, "-V", "mqttv311", "-i", "ghost",
                     "-t", "a", "-C", "1", "-W", "10", NULL };
    child *second = spawn(argv);
    cr_assert(child_wait(second, 10000), "the refused client did not give up");
    cr_assert(WIFEXITED(second->status) && WEXITSTATUS(second->status) != 0);
    json_t *ev = broker_wait_event(&broker, "close", "reason", "rejected_duplicate", 5000);
    cr_assert_not_null(ev);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "client_id")), "ghost");
    json_decref(ev);
    publish("mqttv311", "a", "still-first", "0", false);
    expect_received(first, "a still-first");
    broker_stop(&broker);
}

Test(clients, paho_script)
{
    broker_start(&broker, NULL);
    /* Debian's interpreter: python3-paho-mqtt is installed for it, not for another python3 on PATH. */
    char *argv[] = { "/usr/bin/python3", FLATLINE_SOURCE_DIR "/tests/broker/paho_check.py", broker.port_str, NULL };
    child *py = spawn(argv);
    bool done = child_wait(py, 50000);
    char *out = child_output(py);
    cr_assert(done, "paho_check.py hung:\n%s", out);
    cr_assert(WIFEXITED(py->status) && WEXITSTATUS(py->status) == 0, "paho_check.py failed:\n%s", out);
    free(out);
    broker_stop(&broker);
}

Test(clients, sigterm_closes_everyone)
{
    broker_start(&broker, NULL);
    subscriber("s1", "mqttv311", "x", "0", "1");
    subscriber("s2", "mqttv5", "x", "0", "1");
    broker_stop(&broker);
    json_t *ev = broker_event(&broker, "shutdown", NULL, NULL, 0);
    cr_assert_not_null(ev);
    cr_assert_eq(json_integer_value(json_object_get(ev, "connections")), 2);
    json_decref(ev);
    for (int i = 0; i < 2; i++) {
        ev = broker_event(&broker, "close", NULL, NULL, i);
        cr_assert_not_null(ev);
        cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), "shutdown");
        json_decref(ev);
    }
}
