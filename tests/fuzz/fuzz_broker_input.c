/* libFuzzer target for the broker's per-connection input path: bk_conn_input
 * driven through an in-memory transport, an injected clock and a caller-owned
 * timer heap, as server.c drives it, without sockets.
 *
 * Input: byte 0 picks the broker configuration (limits small enough to be
 * reached); the rest is a program of operations, each one byte
 * (kind = byte % 10, connection slot = byte / 10 % SLOTS) and its operands:
 *   0 accept a connection into the slot
 *   1, 2 feed the next N bytes (N = the following byte) to the slot
 *   3, 4 advance the clock by (following byte) x 250 ms / x 1.7 ms, firing
 *        every deadline on the way in order
 *   5 the transport loses the slot's connection (reason from the next byte)
 *   6 a well-formed CONNECT, 7 SUBSCRIBE, 8 PUBLISH, 9 an ack, PINGREQ,
 *     UNSUBSCRIBE or DISCONNECT, each shaped by the following byte, so that
 *     sessions, takeovers, QoS flows and wills are reached quickly.
 * Oracles (beyond ASan/UBSan and leaks):
 *   - everything the broker sends a connection frames and decodes as MQTT;
 *   - the broker's count of connections equals the transport's after every
 *     operation, and a released connection is never written to again;
 *   - shutdown closes and releases every remaining connection. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "core/vclock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                             \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

#define SLOTS 6
#define MAX_OUT (1u << 20)

typedef struct slot {
    bk_conn *c; /* NULL: free, or released by the broker */
    uint8_t *out;
    size_t out_len, out_cap, out_pos;
    uint8_t version; /* the connection's version when the broker last wrote */
} slot;

typedef struct fuzz_net {
    fl_vclock vt; /* the broker's clock and timer heap */
    bk_broker *b;
    slot slots[SLOTS];
    size_t live;
} fuzz_net;

/* Whole packets the broker sent must decode: with the connection's version
 * once known; before CONNECT was accepted the broker may answer in either. */
static void check_output(slot *s)
{
    for (;;) {
        size_t plen;
        mqtt_error err;
        mqtt_result r = mqtt_frame(s->out + s->out_pos, s->out_len - s->out_pos, 0, &plen, &err);
        CHECK(r != MQTT_MALFORMED);
        if (r == MQTT_NEED_MORE)
            break;
        mqtt_packet p;
        const uint8_t *pkt = s->out + s->out_pos;
        bool ok;
        if (s->version == MQTT_V311 || s->version == MQTT_V5)
            ok = mqtt_decode(pkt, plen, s->version, &p, &err) == MQTT_PACKET;
        else
            ok = mqtt_decode(pkt, plen, MQTT_V311, &p, &err) == MQTT_PACKET ||
                 mqtt_decode(pkt, plen, MQTT_V5, &p, &err) == MQTT_PACKET;
        if (!ok)
            fprintf(stderr, "broker sent a malformed %u-byte packet (v%u): %s\n", (unsigned)plen, s->version,
                    err.what ? err.what : "?");
        CHECK(ok);
        /* A broker never sends what only clients send. */
        CHECK(p.type != MQTT_CONNECT && p.type != MQTT_SUBSCRIBE && p.type != MQTT_UNSUBSCRIBE &&
              p.type != MQTT_PINGREQ);
        s->out_pos += plen;
    }
    /* Keep the buffer small: drop what has been checked. */
    if (s->out_pos == s->out_len)
        s->out_len = s->out_pos = 0;
}

static void tx_write(bk_conn *c, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    slot *s = (slot *)c->listener;
    CHECK(s->c == c); /* never after release */
    s->version = c->version;
    if (s->out_len + len > MAX_OUT)
        return; /* a peer that stopped reading; the checked prefix is enough */
    if (s->out_len + len > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 256;
        while (cap < s->out_len + len)
            cap *= 2;
        uint8_t *grown = realloc(s->out, cap);
        CHECK(grown);
        s->out = grown;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    check_output(s);
}

static void tx_release(bk_conn *c, void *ctx)
{
    fuzz_net *n = ctx;
    slot *s = (slot *)c->listener;
    CHECK(s->c == c);
    s->c = NULL;
    n->live--;
}

static void config_from(bk_config *cfg, uint8_t b)
{
    bk_config_defaults(cfg);
    cfg->duplicate_reject = b & 1;
    if (b & 2)
        cfg->max_packet_size = 96;
    if (b & 4) {
        cfg->max_inflight = 1;
        cfg->max_queued = 2;
    }
    if (b & 8)
        cfg->ka.idle_timeout = 3;
    if (b & 16) {
        cfg->ka.max_keepalive = 10;
        cfg->ka.v3_refuse_over_max = b & 32;
    }
    if (b & 64)
        cfg->ka.zero_ceiling = 7;
    if (b & 128) {
        cfg->max_subscriptions = 2;
        cfg->max_topic_length = 8;
    }
}

static void feed(slot *s, const uint8_t *bytes, size_t len)
{
    if (s->c && len)
        bk_conn_input(s->c, bytes, len);
}

static void send_packet(slot *s, const mqtt_packet *p, mqtt_version v)
{
    uint8_t buf[512];
    mqtt_error err;
    size_t len = mqtt_encode(p, v, buf, sizeof buf, &err);
    if (len > 0 && len <= sizeof buf)
        feed(s, buf, len);
}

static mqtt_version slot_version(const slot *s)
{
    return s->c && s->c->version == MQTT_V5 ? MQTT_V5 : MQTT_V311;
}

static const char *const ids[] = { "a", "b", "c", "" };
static const char *const topics[] = { "t", "t/x", "$SYS/x", "will/a", "t/x/y", "longer-than-eight" };
static const char *const filters[] = { "#", "t/+", "t", "+/x/#", "$SYS/#", "will/#" };

static void op_connect(slot *s, uint8_t b)
{
    mqtt_version v = b & 1 ? MQTT_V5 : MQTT_V311;
    mqtt_packet p = { .type = MQTT_CONNECT };
    mqtt_connect *c = &p.u.connect;
    c->version = v;
    c->clean_session = b & 2;
    c->client_id = mqtt_cstr(ids[(b >> 2) & 3]);
    static const uint16_t kas[] = { 0, 1, 5, 60 };
    c->keep_alive = kas[(b >> 4) & 3];
    if (b & 64) {
        c->has_will = true;
        c->will_qos = (b >> 7) & 1;
        c->will_topic = mqtt_cstr("will/a");
        c->will_payload = mqtt_cstr("gone");
        if (v == MQTT_V5 && (b & 128)) {
            c->will_props.present |= MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY);
            c->will_props.will_delay = 2;
        }
    }
    if (v == MQTT_V5 && (b & 8)) {
        c->props.present |= MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY);
        c->props.session_expiry = 30;
    }
    send_packet(s, &p, v);
}

static void op_subscribe(slot *s, uint8_t b)
{
    mqtt_topic_entry e = { .filter = mqtt_cstr(filters[b % 6]), .qos = (b / 6) % 3 };
    mqtt_packet p = { .type = (b & 128) ? MQTT_UNSUBSCRIBE : MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = (uint16_t)(1 + (b & 3));
    p.u.subscribe.entries = &e;
    p.u.subscribe.count = 1;
    send_packet(s, &p, slot_version(s));
}

static void op_publish(slot *s, uint8_t b)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = mqtt_cstr(topics[b % 6]);
    p.u.publish.payload = (b & 64) ? mqtt_cstr("") : mqtt_cstr("payload");
    p.u.publish.qos = (b / 6) % 3;
    p.u.publish.retain = b & 128;
    p.u.publish.packet_id = p.u.publish.qos ? (uint16_t)(1 + (b & 1)) : 0;
    send_packet(s, &p, slot_version(s));
}

static void op_control(slot *s, uint8_t b)
{
    static const mqtt_type types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
                                       MQTT_PINGREQ, MQTT_DISCONNECT, MQTT_PINGREQ, MQTT_PUBACK };
    mqtt_packet p = { .type = types[b & 7] };
    if (p.type == MQTT_DISCONNECT)
        p.u.disconnect.reason = (b & 8) ? MQTT_RC_DISCONNECT_WITH_WILL : 0;
    else if (p.type != MQTT_PINGREQ)
        p.u.ack.packet_id = (uint16_t)(1 + ((b >> 3) & 3));
    send_packet(s, &p, slot_version(s));
}

static void op_accept(fuzz_net *n, slot *s, unsigned idx)
{
    if (s->c)
        return;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(40000 + idx)) };
    inet_pton(AF_INET, "198.18.1.2", &sin.sin_addr);
    s->out_len = s->out_pos = 0;
    s->version = 0;
    s->c = bk_conn_new(n->b, -1, (struct sockaddr *)&sin, "198.18.0.1:1883", s);
    CHECK(s->c);
    n->live++;
}

static void op_lost(slot *s, uint8_t b)
{
    static const char *const reasons[] = { "eof", "reset", "tcp_keepalive", "user_timeout" };
    if (s->c)
        bk_conn_lost(s->c, reasons[b & 3], (b & 4) ? 104 : 0, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static fuzz_net n;
    memset(&n, 0, sizeof n);
    fl_vclock_init(&n.vt, 1000 * FL_NS_PER_S);
    bk_config cfg;
    config_from(&cfg, data[0]);
    char err[128];
    fl_evlog *log = fl_evlog_open(NULL, "broker", err, sizeof err);
    bk_transport tx = { tx_write, tx_release, &n };
    n.b = bk_broker_new(&cfg, &n.vt.timers, &n.vt.clock, log, &tx);
    CHECK(n.b);

    size_t i = 1;
    while (i < size) {
        uint8_t op = data[i++];
        unsigned idx = (op / 10u) % SLOTS;
        slot *s = &n.slots[idx];
        uint8_t arg = i < size ? data[i] : 0;
        switch (op % 10) {
        case 0:
            op_accept(&n, s, idx);
            break;
        case 1:
        case 2: {
            i++;
            size_t len = arg;
            if (len > size - (i < size ? i : size))
                len = size - (i < size ? i : size);
            feed(s, data + i, len);
            i += len;
            break;
        }
        case 3:
            i++;
            fl_vclock_advance(&n.vt, (uint64_t)arg * 250 * FL_NS_PER_MS);
            break;
        case 4:
            i++;
            fl_vclock_advance(&n.vt, (uint64_t)arg * 1700 * 1000);
            break;
        case 5:
            i++;
            op_lost(s, arg);
            break;
        case 6:
            i++;
            op_connect(s, arg);
            break;
        case 7:
            i++;
            op_subscribe(s, arg);
            break;
        case 8:
            i++;
            op_publish(s, arg);
            break;
        default:
            i++;
            op_control(s, arg);
            break;
        }
        CHECK(bk_broker_stats(n.b).connections == n.live);
    }

    size_t closed = bk_broker_shutdown(n.b);
    (void)closed;
    CHECK(n.live == 0);
    CHECK(bk_broker_stats(n.b).connections == 0);
    bk_broker_free(n.b);
    fl_vclock_free(&n.vt);
    fl_evlog_close(log);
    bk_config_free(&cfg);
    for (unsigned k = 0; k < SLOTS; k++)
        free(n.slots[k].out);
    return 0;
}
