/* libFuzzer target for the swarm client's core (clients/client_core.c): one
 * client driven through a fake transport on virtual time (core/vclock.h), as
 * client_io.c drives it, without sockets.
 *
 * Input: byte 0 picks the group (strategy, version, will, watcher, reconnect,
 * workload); the rest is a program of one-byte operations
 * (kind = byte % 10) and their operands:
 *   0 the ramp starts a connect (when the client is queued or dead), and the
 *     transport connects unless the next byte is odd
 *   1, 2 feed the next N bytes (N = the following byte) from the broker
 *   3, 4 advance the clock by (following byte) x 250 ms / x 1.7 ms, firing
 *        every deadline on the way in order
 *   5 the transport fails (eof, reset, ETIMEDOUT with keep-alive facts, ...)
 *   6 a CONNACK (code, v5 Server Keep Alive from the next byte), 7 PINGRESP,
 *   8 a PUBLISH (QoS, payload, topic shaped by the next byte), 9 PUBREC,
 *     PUBREL, SUBACK, DISCONNECT, or the transport backs up / fails the next send
 * Oracles (beyond ASan/UBSan and leaks):
 *   - everything the client sends frames and decodes as MQTT, is a packet a
 *     client may send, and is sent only while it is connecting or up;
 *   - the client's timer is armed exactly when cc_deadline says, for that time;
 *   - a death is reported only from a live state, with a documented reason,
 *     and a report of retry leaves the client waiting, else dead;
 *   - cc_stop leaves it dead with no timer. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/client_core.h"
#include "core/tcpclass.h"
#include "core/vclock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                             \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

typedef struct fuzz_client {
    cc_conn c; /* first: the callbacks find the rest from it */
    fl_vclock vt;
    swarm_config cfg;
    cc_env env;
    uint8_t payload[64];
    uint8_t out[4096]; /* the unchecked tail of what the client sent */
    size_t out_len;
    bool backed_up, fail_next;
    int facts; /* which TCP facts the transport reports on a timeout */
} fuzz_client;

static fuzz_client *of(cc_conn *c) { return (fuzz_client *)c; }

static void check_output(fuzz_client *f)
{
    size_t pos = 0;
    for (;;) {
        size_t plen;
        mqtt_error err;
        mqtt_result r = mqtt_frame(f->out + pos, f->out_len - pos, 0, &plen, &err);
        CHECK(r != MQTT_MALFORMED);
        if (r == MQTT_NEED_MORE)
            break;
        mqtt_packet p;
        CHECK(mqtt_decode(f->out + pos, plen, (mqtt_version)f->cfg.groups[0].version, &p, &err) == MQTT_PACKET);
        /* Only what a client sends. */
        CHECK(p.type == MQTT_CONNECT || p.type == MQTT_PUBLISH || p.type == MQTT_PUBACK || p.type == MQTT_PUBREC ||
              p.type == MQTT_PUBREL || p.type == MQTT_PUBCOMP || p.type == MQTT_SUBSCRIBE ||
              p.type == MQTT_PINGREQ || p.type == MQTT_DISCONNECT);
        CHECK((p.type == MQTT_CONNECT) == (f->c.state == CC_TCP));
        pos += plen;
    }
    memmove(f->out, f->out + pos, f->out_len - pos);
    f->out_len -= pos;
}

static int tx_send(cc_conn *c, const uint8_t *buf, size_t len)
{
    fuzz_client *f = of(c);
    CHECK(c->state == CC_TCP || c->state == CC_CONNACK || c->state == CC_UP);
    if (f->fail_next) {
        f->fail_next = false;
        return EPIPE;
    }
    CHECK(f->out_len + len <= sizeof f->out); /* the client sends small packets, whole */
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    check_output(f);
    if (f->backed_up)
        c->blocked = 1;
    return 0;
}

static const char *tx_reason(cc_conn *c, int err)
{
    fl_tcp_facts facts = { .keepalive_on = of(c)->facts & 1, .probes = (uint8_t)(of(c)->facts & 2),
                           .unacked = (uint32_t)(of(c)->facts & 4), .user_timeout_ms = (of(c)->facts & 8) ? 500u : 0u };
    facts.unsent_output = c->blocked;
    return fl_classify_socket_error(err, &facts);
}

static void on_report(void *ctx, cc_conn *c, const cc_event *ev)
{
    (void)ctx;
    static const char *const reasons[] = { "ping_timeout", "tcp_keepalive", "user_timeout", "retransmit_timeout",
                                           "reset", "eof", "refused", "broker_disconnect", "connect_timeout",
                                           "protocol_error" };
    if (ev->kind == CC_EV_DEAD) {
        CHECK(ev->was == CC_TCP || ev->was == CC_CONNACK || ev->was == CC_UP);
        bool known = false;
        for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
            known |= strcmp(ev->reason, reasons[i]) == 0;
        CHECK(known);
        CHECK(c->state == (ev->retry ? CC_WAIT : CC_DEAD));
        CHECK(!ev->retry || !c->env->stopping);
        c->blocked = 0; /* the owner closes the transport here */
        of(c)->out_len = 0;
    }
    if (ev->kind == CC_EV_STOPPED) {
        c->blocked = 0;
        of(c)->out_len = 0;
    }
    if (ev->kind == CC_EV_CONNECTED)
        CHECK(c->state == CC_UP);
}

static void check_timer(const fuzz_client *f)
{
    uint64_t d = cc_deadline(&f->c);
    if (d == UINT64_MAX)
        CHECK(!fl_timer_armed(&f->c.timer));
    else
        CHECK(fl_timer_armed(&f->c.timer) && f->c.timer.deadline_ns == d);
}

static void group_from(char *json, size_t cap, uint8_t b)
{
    static const char *const strategies[] = {
        "{\"kind\":\"mqtt\",\"ping_timeout\":1}", "{\"kind\":\"miss-tolerant\",\"ping_timeout\":0.5,\"misses\":2}",
        "{\"kind\":\"probe\",\"idle\":2,\"interval\":0.5,\"count\":2}", "{\"kind\":\"adaptive\",\"min\":1,\"max\":4}",
        "{\"kind\":\"tcp-only\"}",
    };
    static const char *const reconnects[] = {
        "{\"kind\":\"none\"}", "{\"kind\":\"fixed\",\"delay\":0.3}", "{\"kind\":\"backoff\",\"base\":0.1,\"cap\":2}",
        "{\"kind\":\"fixed\",\"delay\":0}",
    };
    snprintf(json, cap,
             "{\"broker\":\"198.18.0.1:1883\",\"seed\":%u,\"connect_timeout\":3,\"groups\":[{\"name\":\"g\","
             "\"clients\":1,\"id_pattern\":\"d{n}\",\"version\":%d,\"keepalive\":%d,\"strategy\":%s,"
             "\"reconnect\":%s,\"role\":\"%s\"%s%s}]}",
             (unsigned)b, (b & 8) ? 5 : 4, (b & 16) ? 2 : 5, strategies[(b & 7) % 5], reconnects[(b >> 5) & 3],
             (b & 128) ? "watcher" : "device",
             (b & 128) ? "" : ",\"will\":{\"topic\":\"will/{id}\",\"payload\":\"\",\"qos\":1,\"retain\":false}",
             (b & 64) ? ",\"workload\":{\"publish_interval\":0.4,\"qos\":1,\"payload\":20,\"topic\":\"t/{id}\"}"
                      : "");
}

static void broker_sends(fuzz_client *f, const mqtt_packet *p)
{
    uint8_t buf[512];
    size_t n = mqtt_encode(p, (mqtt_version)f->cfg.groups[0].version, buf, sizeof buf, NULL);
    if (n && n <= sizeof buf)
        cc_input(&f->c, buf, n);
}

static void op_packet(fuzz_client *f, unsigned kind, uint8_t b)
{
    mqtt_packet p = { 0 };
    switch (kind) {
    case 6:
        p.type = MQTT_CONNACK;
        p.u.connack.code = (b & 3) == 3 ? 5 : 0;
        if (b & 4) {
            p.u.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
            p.u.connack.props.server_keep_alive = b >> 4;
        }
        break;
    case 7:
        p.type = MQTT_PINGRESP;
        break;
    case 8:
        p.type = MQTT_PUBLISH;
        p.u.publish.qos = b % 3;
        p.u.publish.packet_id = p.u.publish.qos ? (uint16_t)(b | 1) : 0;
        p.u.publish.retain = b & 4;
        p.u.publish.topic = mqtt_cstr((b & 8) ? "will/dev-7" : "x");
        p.u.publish.payload = mqtt_cstr((b & 16) ? "dev-9" : "");
        break;
    default:
        switch (b % 6) {
        case 0:
            p.type = MQTT_PUBREC;
            break;
        case 1:
            p.type = MQTT_PUBREL;
            break;
        case 2:
            p.type = MQTT_SUBACK;
            break;
        case 3:
            p.type = MQTT_DISCONNECT;
            break;
        case 4:
            f->backed_up = !f->backed_up;
            if (!f->backed_up)
                f->c.blocked = 0; /* the transport flushed */
            return;
        default:
            f->fail_next = true;
            return;
        }
        if (p.type == MQTT_SUBACK) {
            static const uint8_t codes[] = { 1 };
            p.u.suback.packet_id = (uint16_t)(b | 1);
            p.u.suback.codes = codes;
            p.u.suback.count = 1;
        } else if (p.type != MQTT_DISCONNECT) {
            p.u.ack.packet_id = (uint16_t)(b | 1);
        }
        break;
    }
    broker_sends(f, &p);
}

static void op_lost(fuzz_client *f, uint8_t b)
{
    static const int errs[] = { 0, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ECONNREFUSED, EPIPE };
    int err = errs[b % 6];
    f->facts = b >> 3;
    cc_lost(&f->c, err ? NULL : "eof", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static fuzz_client f;
    memset(&f, 0, sizeof f);
    char json[1024], err[256];
    group_from(json, sizeof json, data[0]);
    if (swarm_config_parse(json, &f.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n%s\n", json, err);
        abort();
    }
    fl_vclock_init(&f.vt, 1000 * FL_NS_PER_S);
    memset(f.payload, 'x', sizeof f.payload);
    f.env = (cc_env){ .cfg = &f.cfg, .clock = &f.vt.clock, .timers = &f.vt.timers, .host = "h", .pid = 1,
                      .payload = f.payload, .send = tx_send, .reason = tx_reason, .report = on_report };
    cc_init(&f.c, &f.env, 0, 0, 0);
    cc_queued(&f.c);

    size_t i = 1;
    while (i < size) {
        uint8_t op = data[i++];
        uint8_t arg = i < size ? data[i] : 0;
        unsigned kind = op % 10;
        if (kind != 1 && kind != 2)
            i++;
        switch (kind) {
        case 0:
            if (f.c.state == CC_QUEUED || f.c.state == CC_DEAD) {
                f.out_len = 0;
                cc_connecting(&f.c);
                if (!(arg & 1))
                    cc_transport_up(&f.c);
            }
            break;
        case 1:
        case 2: {
            i++;
            size_t len = arg;
            if (len > size - (i < size ? i : size))
                len = size - (i < size ? i : size);
            if (len)
                cc_input(&f.c, data + i, len);
            i += len;
            break;
        }
        case 3:
            fl_vclock_advance(&f.vt, (uint64_t)arg * 250 * FL_NS_PER_MS);
            break;
        case 4:
            fl_vclock_advance(&f.vt, (uint64_t)arg * 1700 * 1000);
            break;
        case 5:
            op_lost(&f, arg);
            break;
        default:
            op_packet(&f, kind, arg);
            break;
        }
        check_timer(&f);
    }

    f.env.stopping = true;
    cc_stop(&f.c);
    CHECK(f.c.state == CC_DEAD);
    CHECK(!fl_timer_armed(&f.c.timer));
    cc_release(&f.c);
    fl_vclock_free(&f.vt);
    swarm_config_free(&f.cfg);
    return 0;
}
