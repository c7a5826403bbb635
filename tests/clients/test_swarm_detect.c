/* flatline-swarm against Debian's mosquitto and against flatline-broker:
 * 5,000 clients at Keep Alive 2 held for 10 s without a disconnect, then the
 * broker is frozen (SIGSTOP: its kernel keeps ACKing, so only application
 * pings can notice; that is why only the application-ping strategies are
 * here) and every client must detect it within its strategy's bound, checked
 * per client from the event log.
 *
 * The end-to-end check over real sockets and real time (label slow: it holds
 * for 10 s and waits out the bounds). The rules themselves, each strategy's
 * timing against hb_detection_bound to the nanosecond, are unit-tested on
 * virtual time in test_client_core.c. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect_check.h"
#include "harness.h"

#define SWARM FLATLINE_BINARY_DIR "/flatline-swarm"
#define FLATLINE_BROKER FLATLINE_BINARY_DIR "/flatline-broker"
/* Timers in the swarm are precise; 5,000 of them due in the same millisecond
 * and the event-log writes take a little time. */
#define TOLERANCE_NS (250 * UINT64_C(1000000))

static char dir[256];
static pid_t broker = -1, swarm_pid = -1;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-swarm-test-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void teardown(void)
{
    th_kill(swarm_pid);
    th_kill(broker);
    swarm_pid = broker = -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static pid_t start_flatline_broker(int port)
{
    char listen[64], events[300];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(events, sizeof events, "%s/broker.jsonl", dir);
    char *argv[] = { FLATLINE_BROKER, "--listen", listen, "--events", events, NULL };
    pid_t pid = th_spawn(argv, -1);
    if (pid > 0 && !th_wait_port(port, 5)) {
        th_kill(pid);
        return -1;
    }
    return pid;
}

static void hold_then_detect(bool use_mosquitto)
{
    int port = th_free_port();
    broker = use_mosquitto ? th_start_mosquitto(dir, port) : start_flatline_broker(port);
    cr_assert_gt(broker, 0, "the broker did not start");
    char cfg[300], events[300];
    snprintf(cfg, sizeof cfg, "%s/swarm.json", dir);
    snprintf(events, sizeof events, "%s/events.jsonl", dir);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    write_app_config(cfg, addr);
    int ctl[2];
    cr_assert_eq(pipe(ctl), 0);
    char ctlspec[32];
    snprintf(ctlspec, sizeof ctlspec, "fd:%d", ctl[0]);
    char *argv[] = { SWARM, "--config", cfg, "--events", events, "--control", ctlspec, NULL };
    swarm_pid = th_spawn(argv, ctl[0]);
    close(ctl[0]);
    cr_assert(th_wait_event(events, "ready", 30), "not all 5,000 clients connected");

    /* Hold: 10 s at Keep Alive 2 is five ping rounds for every client. */
    th_sleep(10);
    json_t *ev = th_read_events(events);
    cr_assert_eq(th_count(ev, "connected"), 5000);
    cr_assert_eq(th_count(ev, "dead_detected"), 0, "a client lost its connection while the broker was healthy");
    json_decref(ev);

    uint64_t t_stop = th_now_ns();
    cr_assert_eq(kill(broker, SIGSTOP), 0);
    /* The slowest bound here is the adaptive one: 2 + 3 x 1 s. */
    th_sleep(6);
    cr_assert_eq(write(ctl[1], "counters\nstop\n", 14), 14);
    cr_assert_eq(th_wait_exit(swarm_pid, 10), 0, "stop must exit 0");
    swarm_pid = -1;
    close(ctl[1]);

    assert_app_detection(events, t_stop, TOLERANCE_NS);
    ev = th_read_events(events);
    cr_assert_eq(th_count(ev, "counters"), 2, "one on request, one at exit");
    json_decref(ev);
}

Test(swarm_detect, mosquitto_hold_5000_then_frozen, .init = setup, .fini = teardown, .timeout = 90)
{
    hold_then_detect(true);
}

Test(swarm_detect, flatline_broker_hold_5000_then_frozen, .init = setup, .fini = teardown, .timeout = 90)
{
    struct stat st;
    if (stat(FLATLINE_BROKER, &st) != 0)
        cr_skip_test("flatline-broker is not built in " FLATLINE_BINARY_DIR);
    hold_then_detect(false);
}
