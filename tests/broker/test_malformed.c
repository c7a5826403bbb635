/* Malformed input over real sockets: each offender is closed with
 * protocol_error, and a well-behaved client stays connected and served. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt/mqtt.h"
#include "proc.h"

static broker_proc broker;
static void fini(void) { broker_free(&broker); }
TestSuite(malformed, .fini = fini, .timeout = 120);

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0, "connect: %s", strerror(errno));
    return fd;
}

static void send_bytes(int fd, const void *data, size_t len)
{
    /* The broker may close in the middle; that is the point. */
    (void)send(fd, data, len, MSG_NOSIGNAL);
}

static void send_packet(int fd, const mqtt_packet *p, mqtt_version v)
{
    uint8_t buf[4096];
    size_t n = mqtt_encode(p, v, buf, sizeof buf, NULL);
    cr_assert(n > 0 && n <= sizeof buf);
    send_bytes(fd, buf, n);
}

static void send_connect(int fd, mqtt_version v, const char *id)
{
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = v;
    p.u.connect.clean_session = true;
    p.u.connect.client_id = mqtt_cstr(id);
    send_packet(fd, &p, v);
}

/* Reads until EOF or error; returns true if the broker closed within timeout_ms. */
static bool wait_closed(int fd, int timeout_ms, uint8_t *got, size_t *got_len)
{
    size_t len = 0;
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            break;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, left) <= 0)
            break;
        uint8_t buf[512];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (got_len)
                *got_len = len;
            return true;
        }
        if (got && len + (size_t)n <= 4096) {
            memcpy(got + len, buf, (size_t)n);
            len += (size_t)n;
        }
    }
    if (got_len)
        *got_len = len;
    return false;
}

static bool read_packet(int fd, uint8_t *buf, size_t cap, mqtt_packet *out, mqtt_version v, int timeout_ms)
{
    size_t len = 0, plen;
    mqtt_error err;
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (mqtt_frame(buf, len, 0, &plen, &err) == MQTT_PACKET)
            return mqtt_decode(buf, plen, v, out, &err) == MQTT_PACKET;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, 1, 0); /* one byte at a time: never read past this packet */
        if (n <= 0 || ++len >= cap)
            return false;
    }
    return false;
}

typedef struct bad_case {
    const char *name;
    bool connect_first;
    mqtt_version version;
    uint8_t bytes[32];
    size_t len;
} bad_case;

Test(malformed, offenders_closed_others_unaffected)
{
    char *extra[] = { "--max-packet-size", "1024", NULL };
    broker_start(&broker, extra);

    int good = tcp_connect(broker.port);
    send_connect(good, MQTT_V311, "good");
    uint8_t buf[4096];
    mqtt_packet p;
    cr_assert(read_packet(good, buf, sizeof buf, &p, MQTT_V311, 5000) && p.type == MQTT_CONNACK);
    mqtt_topic_entry e = { .filter = mqtt_cstr("x"), .qos = 0 };
    mqtt_packet sub = { .type = MQTT_SUBSCRIBE };
    sub.u.subscribe.packet_id = 1;
    sub.u.subscribe.entries = &e;
    sub.u.subscribe.count = 1;
    send_packet(good, &sub, MQTT_V311);
    cr_assert(read_packet(good, buf, sizeof buf, &p, MQTT_V311, 5000) && p.type == MQTT_SUBACK);

    static const bad_case cases[] = {
        { "reserved type 0", false, 0, { 0x00, 0x00 }, 2 },
        { "remaining length of 5 bytes", false, 0, { 0x30, 0xff, 0xff, 0xff, 0xff, 0x7f }, 6 },
        { "protocol name", false, 0, { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00 }, 14 },
        { "PINGREQ before CONNECT", false, 0, { 0xc0, 0x00 }, 2 },
        { "PUBLISH QoS 3", true, MQTT_V311, { 0x36, 0x05, 0x00, 0x01, 'x', 0x00, 0x01 }, 7 },
        { "SUBSCRIBE flags", true, MQTT_V311, { 0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'x', 0x00 }, 8 },
        { "second CONNECT", true, MQTT_V311, { 0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 'z' }, 15 },
        { "v5 topic with U+0000", true, MQTT_V5, { 0x30, 0x07, 0x00, 0x03, 'a', 0x00, 'b', 0x00, 'p' }, 9 },
        { "v5 unknown property", true, MQTT_V5, { 0x30, 0x07, 0x00, 0x01, 'x', 0x02, 0x7f, 0x00, 'p' }, 9 },
        { "too large for max_packet_size", true, MQTT_V311, { 0x30, 0xd0, 0x0f }, 3 },
        { "SUBACK from a client", true, MQTT_V311, { 0x90, 0x03, 0x00, 0x01, 0x00 }, 5 },
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        const bad_case *c = &cases[i];
        int fd = tcp_connect(broker.port);
        char id[16];
        snprintf(id, sizeof id, "bad%d", i);
        if (c->connect_first) {
            send_connect(fd, c->version, id);
            cr_assert(read_packet(fd, buf, sizeof buf, &p, c->version, 5000) && p.type == MQTT_CONNACK, "%s", c->name);
        }
        send_bytes(fd, c->bytes, c->len);
        size_t got = 0;
        cr_assert(wait_closed(fd, 5000, buf, &got), "%s: not closed", c->name);
        if (c->version == MQTT_V5) {
            /* v5: a DISCONNECT with the codec's reason code comes first. */
            cr_assert(got >= 2 && buf[0] == 0xe0 && buf[2] >= 0x80, "%s: no DISCONNECT before the close", c->name);
        }
        close(fd);
    }
    /* An unknown protocol level is answered with CONNACK 0x01 (MQTT-3.1.2-2). */
    int fd = tcp_connect(broker.port);
    static const uint8_t level9[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x09, 0x02, 0x00, 0x3c, 0x00, 0x00 };
    send_bytes(fd, level9, sizeof level9);
    size_t got = 0;
    cr_assert(wait_closed(fd, 5000, buf, &got));
    cr_assert(got == 4 && buf[0] == 0x20 && buf[3] == 0x01, "got %zu bytes", got);
    close(fd);
    n++;

    /* Garbage: a fixed-seed stream of random bytes on fresh connections. */
    srand(12345);
    for (int i = 0; i < 50; i++) {
        fd = tcp_connect(broker.port);
        uint8_t junk[64];
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = (uint8_t)rand();
        /* A whole frame (so the broker need not wait for more) that is not a CONNECT. */
        junk[0] = (uint8_t)((junk[0] & 0x0f) | 0x30);
        junk[1] = sizeof junk - 2;
        send_bytes(fd, junk, sizeof junk);
        cr_assert(wait_closed(fd, 5000, NULL, NULL), "garbage %d not closed", i);
        close(fd);
    }
    n += 50;

    /* Every offender was logged as a protocol error; the good client was not closed. */
    for (int i = 0; i < n; i++) {
        json_t *ev = broker_wait_event(&broker, "close", NULL, NULL, 2000);
        json_decref(ev);
        ev = broker_event(&broker, "close", NULL, NULL, i);
        cr_assert_not_null(ev, "close event %d missing", i);
        cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")), "protocol_error", "close %d", i);
        json_decref(ev);
    }
    json_t *ev = broker_event(&broker, "close", "client_id", "good", 0);
    cr_assert_null(ev, "the good client was closed");

    int pub = tcp_connect(broker.port);
    send_connect(pub, MQTT_V311, "pub");
    cr_assert(read_packet(pub, buf, sizeof buf, &p, MQTT_V311, 5000) && p.type == MQTT_CONNACK);
    mqtt_packet m = { .type = MQTT_PUBLISH };
    m.u.publish.topic = mqtt_cstr("x");
    m.u.publish.payload = mqtt_cstr("still here");
    send_packet(pub, &m, MQTT_V311);
    cr_assert(read_packet(good, buf, sizeof buf, &p, MQTT_V311, 5000) && p.type == MQTT_PUBLISH,
              "the good client no longer receives");
    cr_assert(mqtt_bytes_eq(p.u.publish.payload, mqtt_cstr("still here")));
    close(pub);
    close(good);
    broker_stop(&broker);
}
