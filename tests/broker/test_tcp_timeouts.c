/* The TCP timeout classification (docs/broker.md) against the real kernel:
 * each test runs in its own anonymous network namespace (unshare; it
 * disappears with the test process), where nftables drops everything the
 * client sends, so the broker's socket sees an unanswering peer. Needs root. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt/mqtt.h"
#include "proc.h"

static broker_proc broker;
static int fds[4];
static int nfds;

static void fini(void)
{
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    nfds = 0;
    broker_free(&broker);
}

static void enter_private_netns(void)
{
    cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
    close(s);
}

static void set_sysctl(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value));
    close(fd);
}

/* From now on the client at this port is silent: its segments never arrive. */
static void drop_from_port(uint16_t port)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    cr_assert_not_null(nft);
    nft_ctx_buffer_error(nft);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "add table inet flatline_test\n"
             "add chain inet flatline_test input { type filter hook input priority 0; policy accept; }\n"
             "add rule inet flatline_test input tcp sport %u drop\n",
             port);
    int rc = nft_run_cmd_from_buffer(nft, cmd);
    cr_assert_eq(rc, 0, "nft: %s", nft_ctx_get_error_buffer(nft));
    nft_ctx_free(nft);
}

static int client(uint16_t *local_port, const char *id, const char *subscribe)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(broker.port) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    fds[nfds++] = fd;
    struct sockaddr_in me;
    socklen_t sl = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &sl);
    if (local_port)
        *local_port = ntohs(me.sin_port);
    uint8_t buf[256];
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = MQTT_V311;
    p.u.connect.clean_session = true;
    p.u.connect.client_id = mqtt_cstr(id); /* KeepAlive 0: only TCP can notice */
    size_t n = mqtt_encode(&p, MQTT_V311, buf, sizeof buf, NULL);
    cr_assert_eq(send(fd, buf, n, 0), (ssize_t)n);
    if (subscribe) {
        mqtt_topic_entry e = { .filter = mqtt_cstr(subscribe) };
        mqtt_packet s = { .type = MQTT_SUBSCRIBE };
        s.u.subscribe.packet_id = 1;
        s.u.subscribe.entries = &e;
        s.u.subscribe.count = 1;
        n = mqtt_encode(&s, MQTT_V311, buf, sizeof buf, NULL);
        cr_assert_eq(send(fd, buf, n, 0), (ssize_t)n);
    }
    /* CONNACK (4 bytes) and SUBACK (5 bytes). */
    size_t want = subscribe ? 9 : 4, got = 0;
    while (got < want) {
        struct pollfd pf = { fd, POLLIN, 0 };
        cr_assert_gt(poll(&pf, 1, 5000), 0, "no CONNACK/SUBACK");
        ssize_t r = recv(fd, buf + got, want - got, 0);
        cr_assert_gt(r, 0);
        got += (size_t)r;
    }
    return fd;
}

static json_t *wait_close(const char *id, int timeout_ms)
{
    json_t *ev = broker_wait_event(&broker, "close", "client_id", id, timeout_ms);
    cr_assert_not_null(ev, "the broker never closed %s", id);
    char *text = json_dumps(ev, JSON_COMPACT);
    cr_log_info("%s", text);
    free(text);
    return ev;
}

static void expect(json_t *ev, const char *reason, const char *errno_name)
{
    cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), reason);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "errno")), errno_name);
}

TestSuite(tcp_timeouts, .fini = fini, .timeout = 60);

Test(tcp_timeouts, idle_peer_keepalive_probes)
{
    enter_private_netns();
    char *extra[] = { "--tcp-keepalive", "1,1,2", NULL };
    broker_start(&broker, extra);
    uint16_t port;
    client(&port, "idle", NULL);
    drop_from_port(port);
    json_t *ev = wait_close("idle", 15000);
    expect(ev, "tcp_keepalive", "ETIMEDOUT");
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(ev, "tcp"), "probes")), 0);
    json_decref(ev);
    broker_stop(&broker);
}

Test(tcp_timeouts, idle_peer_with_user_timeout)
{
    enter_private_netns();
    char *extra[] = { "--tcp-keepalive", "1,1,20", "--tcp-user-timeout-ms", "2500", NULL };
    broker_start(&broker, extra);
    uint16_t port;
    client(&port, "idle-uto", NULL);
    drop_from_port(port);
    json_t *ev = wait_close("idle-uto", 15000);
    expect(ev, "user_timeout", "ETIMEDOUT");
    json_decref(ev);
    broker_stop(&broker);
}

static void unacked_data(const char *uto, const char *reason)
{
    enter_private_netns();
    /* tcp_retries2 = 3: give up about 3 s after the first retransmission. */
    set_sysctl("/proc/sys/net/ipv4/tcp_retries2", "3");
    char *extra[] = { "--tcp-user-timeout-ms", (char *)uto, NULL };
    broker_start(&broker, extra);
    uint16_t port;
    client(&port, "sink", "x");
    int pub = client(NULL, "pub", NULL);
    drop_from_port(port);
    uint8_t buf[256];
    mqtt_packet m = { .type = MQTT_PUBLISH };
    m.u.publish.topic = mqtt_cstr("x");
    m.u.publish.payload = mqtt_cstr("data the sink never acknowledges");
    size_t n = mqtt_encode(&m, MQTT_V311, buf, sizeof buf, NULL);
    cr_assert_eq(send(pub, buf, n, 0), (ssize_t)n);
    json_t *ev = wait_close("sink", 30000);
    expect(ev, reason, "ETIMEDOUT");
    json_decref(ev);
    broker_stop(&broker);
}

Test(tcp_timeouts, unacked_data_retries2) { unacked_data("0", "retransmit_timeout"); }
Test(tcp_timeouts, unacked_data_user_timeout) { unacked_data("2000", "user_timeout"); }
