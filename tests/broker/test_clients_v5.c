/* flatline-broker's MQTT 5 session features against third-party clients
 * over real sockets (paho, mosquitto_pub/sub -V mqttv5), and keep-alive
 * deadlines from the kernel's receive timestamp. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "mqtt/mqtt.h"
#include "proc.h"

#define MAX_CHILDREN 8
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

TestSuite(clients_v5, .fini = fini, .timeout = 90);

static child *spawn(char *const argv[])
{
    cr_assert_lt(nkids, MAX_CHILDREN);
    child *c = &kids[nkids++];
    child_start(c, argv);
    return c;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0, "connect: %s", strerror(errno));
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_packet(int fd, const mqtt_packet *p, mqtt_version v)
{
    uint8_t buf[512];
    size_t n = mqtt_encode(p, v, buf, sizeof buf, NULL);
    cr_assert(n > 0 && n <= sizeof buf);
    cr_assert_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads one whole packet (decoded into *p, pointing into buf). */
static void read_packet(int fd, mqtt_version v, uint8_t *buf, size_t cap, mqtt_packet *p)
{
    size_t len = 0, plen;
    mqtt_error e;
    for (;;) {
        if (len && mqtt_frame(buf, len, 0, &plen, &e) == MQTT_PACKET)
            break;
        ssize_t n = recv(fd, buf + len, 1, 0); /* one byte at a time: never past the packet */
        cr_assert(n == 1, "connection ended or timed out reading a packet");
        len++;
        cr_assert_lt(len, cap);
    }
    cr_assert_eq(mqtt_decode(buf, plen, v, p, &e), MQTT_PACKET);
}

Test(clients_v5, paho_v5_script)
{
    broker_start(&broker, NULL);
    char *argv[] = { "/usr/bin/python3", FLATLINE_SOURCE_DIR "/tests/broker/paho_v5_check.py", broker.port_str,
                     broker.events_path, NULL };
    child *py = spawn(argv);
    bool done = child_wait(py, 80000);
    char *out = child_output(py);
    cr_assert(done, "paho_v5_check.py hung:\n%s", out);
    cr_assert(WIFEXITED(py->status) && WEXITSTATUS(py->status) == 0, "paho_v5_check.py failed:\n%s", out);
    cr_log_info("%s", out);
    free(out);
    broker_stop(&broker);
}

/* A shared-subscription member leaves (its session ends) with a message in
 * flight: the other member, mosquitto_sub, gets it. */
Test(clients_v5, shared_member_leaves_with_message_in_flight)
{
    broker_start(&broker, NULL);
    int a = tcp_connect(broker.port);
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = MQTT_V5;
    p.u.connect.clean_session = true;
    p.u.connect.client_id = mqtt_cstr("member-a");
    send_packet(a, &p, MQTT_V5);
    uint8_t buf[512];
    mqtt_packet r;
    read_packet(a, MQTT_V5, buf, sizeof buf, &r);
    cr_assert_eq(r.type, MQTT_CONNACK);
    mqtt_topic_entry e = { .filter = mqtt_cstr("$share/g/w"), .qos = 1 };
    mqtt_packet s = { .type = MQTT_SUBSCRIBE };
    s.u.subscribe.packet_id = 1;
    s.u.subscribe.entries = &e;
    s.u.subscribe.count = 1;
    send_packet(a, &s, MQTT_V5);
    read_packet(a, MQTT_V5, buf, sizeof buf, &r);
    cr_assert_eq(r.type, MQTT_SUBACK);

    char *sub_argv[] = { "stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.port_str, "-V", "mqttv5",
                         "-i", "member-b", "-t", "$share/g/w", "-q", "1", "-C", "2", "-d", "-W", "20", NULL };
    child *b = spawn(sub_argv);
    cr_assert(child_wait_output(b, "SUBACK", 10000), "mosquitto_sub never got its SUBACK");
    for (int i = 1; i <= 2; i++) {
        char msg[8];
        snprintf(msg, sizeof msg, "m%d", i);
        char *pub_argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", broker.port_str, "-V", "mqttv5", "-t", "w",
                             "-q", "1", "-m", msg, NULL };
        child *pub = spawn(pub_argv);
        cr_assert(child_wait(pub, 10000) && WIFEXITED(pub->status) && WEXITSTATUS(pub->status) == 0);
    }
    /* round-robin: a (first member) has m1, unacknowledged; mosquitto_sub has m2 */
    read_packet(a, MQTT_V5, buf, sizeof buf, &r);
    cr_assert_eq(r.type, MQTT_PUBLISH);
    cr_assert(mqtt_bytes_eq(r.u.publish.payload, mqtt_cstr("m1")));
    cr_assert(child_wait_output(b, "m2", 10000));
    close(a); /* Session Expiry 0: the session ends, m1 goes to the other member */
    cr_assert(child_wait(b, 10000), "mosquitto_sub did not get m1 after the member left");
    char *out = child_output(b);
    cr_assert(strstr(out, "\nm1") || strstr(out, "m1\n"), "m1 not in:\n%s", out);
    free(out);
    broker_stop(&broker);
}

/* The kernel switches receive stamps on for the whole system from a work
 * queue, some time after the first socket asks (net_enable_timestamp); until
 * then a segment carries none and the broker falls back on its read time. CI
 * once saw that window outlast a connect and a CONNACK. This waits until a
 * loopback segment of the test's own comes stamped, so the check measures the
 * broker and not the kernel's switch. */
static bool kernel_stamps_arrivals(int timeout_ms)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in sin = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    socklen_t sl = sizeof sin;
    cr_assert(l >= 0 && bind(l, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&sin, &sl) == 0 &&
              setsockopt(l, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&sin, sizeof sin), 0, "connect: %s", strerror(errno));
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s, 0);
    bool stamped = false;
    for (int waited = 0; !stamped && waited <= timeout_ms; waited += 10) {
        cr_assert_eq(write(c, "x", 1), 1);
        char b;
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { &b, 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                             .msg_controllen = sizeof ctl.buf };
        cr_assert_eq(recvmsg(s, &mh, 0), 1);
        stamped = CMSG_FIRSTHDR(&mh) != NULL;
        if (!stamped)
            sleep_ms(10);
    }
    close(s);
    close(c);
    close(l);
    return stamped;
}

/* The broker is stopped (SIGSTOP) while a PINGREQ arrives and reads it 0.8 s
 * late: the deadline still counts from the arrival, the kernel's stamp. */
Test(clients_v5, deadline_from_the_kernel_arrival_stamp)
{
    broker_start(&broker, NULL);
    int fd = tcp_connect(broker.port);
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = MQTT_V311;
    p.u.connect.clean_session = true;
    p.u.connect.keep_alive = 2;
    p.u.connect.client_id = mqtt_cstr("late-read");
    send_packet(fd, &p, MQTT_V311);
    uint8_t buf[64];
    mqtt_packet r;
    read_packet(fd, MQTT_V311, buf, sizeof buf, &r);
    cr_assert_eq(r.type, MQTT_CONNACK);

    cr_assert(kernel_stamps_arrivals(5000), "the kernel stamped no received segment in 5 s");
    int64_t clocks_before = fl_realtime_minus_mono(NULL);
    cr_assert_eq(kill(broker.proc.pid, SIGSTOP), 0);
    /* the send bracketed: this process may lose its CPU around it */
    uint64_t sent = mono_ns();
    mqtt_packet ping = { .type = MQTT_PINGREQ };
    send_packet(fd, &ping, MQTT_V311);
    uint64_t sent_by = mono_ns();
    sleep_ms(800);
    cr_assert_eq(kill(broker.proc.pid, SIGCONT), 0);
    read_packet(fd, MQTT_V311, buf, sizeof buf, &r);
    cr_assert_eq(r.type, MQTT_PINGRESP);

    json_t *ev = broker_wait_event(&broker, "close", "client_id", "late-read", 6000);
    cr_assert_not_null(ev, "no close event");
    uint64_t last_rx = (uint64_t)json_integer_value(json_object_get(ev, "last_rx"));
    uint64_t last_read = (uint64_t)json_integer_value(json_object_get(ev, "last_read"));
    uint64_t deadline = (uint64_t)json_integer_value(json_object_get(ev, "deadline"));
    uint64_t t = (uint64_t)json_integer_value(json_object_get(ev, "t"));
    cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), "keepalive_timeout");
    cr_log_info("arrival %.3f ms after the send, read %.3f ms after the arrival, closed %.3f ms after the deadline",
                ((double)last_rx - (double)sent) / 1e6, (double)(last_read - last_rx) / 1e6,
                ((double)t - (double)deadline) / 1e6);
    cr_assert(last_rx + 50000000u > sent && last_rx < sent_by + 50000000u,
              "the arrival is when it was sent: %.3f ms after the send began, which took %.3f ms "
              "(and %.3f ms before the broker read it: 0 if it had no kernel stamp; the real-time clock "
              "moved %+.3f ms against the monotonic one meanwhile)",
              ((double)last_rx - (double)sent) / 1e6, (double)(sent_by - sent) / 1e6,
              ((double)last_read - (double)last_rx) / 1e6,
              (double)(fl_realtime_minus_mono(NULL) - clocks_before) / 1e6);
    cr_assert_geq(last_read - last_rx, 700000000u, "read late, while the broker was stopped");
    cr_assert_eq(deadline, last_rx + 3000000000u, "1.5 x 2 s after the arrival");
    json_decref(ev);
    close(fd);
    broker_stop(&broker);
}
