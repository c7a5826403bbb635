#include "fake_wire.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static int fw_send(cc_conn *cc, const uint8_t *buf, size_t len)
{
    fake_wire *w = (fake_wire *)((char *)cc - offsetof(fake_wire, c));
    if (w->fail_send) {
        int e = w->fail_send;
        w->fail_send = 0;
        return e;
    }
    if (w->tx_len + len > w->tx_cap) {
        size_t cap = w->tx_cap ? w->tx_cap : 1024;
        while (cap < w->tx_len + len)
            cap *= 2;
        w->tx = realloc(w->tx, cap);
        cr_assert_not_null(w->tx);
        w->tx_cap = cap;
    }
    memcpy(w->tx + w->tx_len, buf, len);
    w->tx_len += len;
    if (w->backed_up)
        cc->blocked = 1;
    return 0;
}

static const char *fw_reason(cc_conn *cc, int err)
{
    fake_wire *w = (fake_wire *)((char *)cc - offsetof(fake_wire, c));
    fl_tcp_facts f = w->facts;
    f.unsent_output = cc->blocked;
    return fl_classify_socket_error(err, &f);
}

static void copy(char *dst, size_t cap, const char *src)
{
    if (src)
        snprintf(dst, cap, "%s", src);
}

static void fw_report(void *ctx, cc_conn *cc, const cc_event *ev)
{
    fake_wire *w = ctx;
    cr_assert_lt(w->nev, FW_MAX_EVENTS, "more reports than the test keeps");
    fw_event *e = &w->ev[w->nev++];
    memset(e, 0, sizeof *e);
    e->t = w->vt.now;
    e->ev = *ev;
    e->attempts = cc->attempts;
    copy(e->reason, sizeof e->reason, ev->reason);
    copy(e->whose, sizeof e->whose, ev->whose);
    copy(e->topic, sizeof e->topic, ev->topic);
    e->ev.reason = ev->reason ? e->reason : NULL;
    e->ev.whose = ev->whose ? e->whose : NULL;
    e->ev.topic = ev->topic ? e->topic : NULL;
    if (ev->kind == CC_EV_REQUEUE)
        w->requeued++;
    /* The swarm closes the socket here; the fake drops what was not read. */
    if (ev->kind == CC_EV_DEAD || ev->kind == CC_EV_STOPPED)
        cc->blocked = 0;
}

void fw_init(fake_wire *w, const char *config_json)
{
    memset(w, 0, sizeof *w);
    char err[256] = "";
    cr_assert_eq(swarm_config_parse(config_json, &w->cfg, err, sizeof err), 0, "%s", err);
    fl_vclock_init(&w->vt, S(1000));
    memset(w->payload, 'x', sizeof w->payload);
    cr_assert_leq(w->cfg.groups[0].workload.payload, sizeof w->payload);
    w->env = (cc_env){
        .cfg = &w->cfg,
        .clock = &w->vt.clock,
        .timers = &w->vt.timers,
        .host = "host",
        .pid = 42,
        .payload = w->payload,
        .send = fw_send,
        .reason = fw_reason,
        .report = fw_report,
        .ctx = w,
    };
    cc_init(&w->c, &w->env, 0, 0, 0);
}

void fw_free(fake_wire *w)
{
    cc_release(&w->c);
    fl_vclock_free(&w->vt);
    swarm_config_free(&w->cfg);
    free(w->tx);
}

uint64_t fw_now(const fake_wire *w) { return w->vt.now; }

void fw_advance(fake_wire *w, uint64_t ns) { fl_vclock_advance(&w->vt, ns); }

void fw_start(fake_wire *w)
{
    cc_connecting(&w->c);
    cc_transport_up(&w->c);
}

void fw_broker_sends(fake_wire *w, const mqtt_packet *p)
{
    uint8_t buf[4096];
    mqtt_error e;
    size_t n = mqtt_encode(p, (mqtt_version)w->cfg.groups[0].version, buf, sizeof buf, &e);
    cr_assert(n > 0 && n <= sizeof buf, "cannot encode %s: %s", mqtt_type_name(p->type), e.what ? e.what : "?");
    cc_input(&w->c, buf, n);
}

void fw_connack(fake_wire *w, uint8_t code)
{
    mqtt_packet p = { .type = MQTT_CONNACK };
    p.u.connack.code = code;
    fw_broker_sends(w, &p);
}

void fw_pingresp(fake_wire *w)
{
    mqtt_packet p = { .type = MQTT_PINGRESP };
    fw_broker_sends(w, &p);
}

void fw_lost(fake_wire *w, const char *reason, int err) { cc_lost(&w->c, reason, err); }

bool fw_sent(fake_wire *w, mqtt_packet *out)
{
    if (w->tx_pos >= w->tx_len)
        return false;
    size_t plen;
    mqtt_error e;
    cr_assert_eq(mqtt_frame(w->tx + w->tx_pos, w->tx_len - w->tx_pos, 0, &plen, &e), MQTT_PACKET,
                 "the client sent a partial or bad frame");
    mqtt_result r = mqtt_decode(w->tx + w->tx_pos, plen, (mqtt_version)w->cfg.groups[0].version, out, &e);
    cr_assert_eq(r, MQTT_PACKET, "the client sent a malformed packet: %s", e.what ? e.what : "?");
    w->tx_pos += plen;
    return true;
}

void fw_expect(fake_wire *w, mqtt_type t, mqtt_packet *out)
{
    mqtt_packet p;
    cr_assert(fw_sent(w, &p), "at %.3f s the client sent nothing; expected %s", (w->vt.now - S(1000)) / 1e9,
              mqtt_type_name(t));
    cr_assert_eq(p.type, t, "at %.3f s the client sent %s; expected %s", (w->vt.now - S(1000)) / 1e9,
                 mqtt_type_name(p.type), mqtt_type_name(t));
    if (out)
        *out = p;
}

void fw_expect_quiet(fake_wire *w)
{
    mqtt_packet p;
    bool sent = fw_sent(w, &p);
    cr_assert(!sent, "at %.3f s the client sent %s; expected nothing", (w->vt.now - S(1000)) / 1e9,
              mqtt_type_name(p.type));
}

const fw_event *fw_event_of(const fake_wire *w, cc_event_kind kind, int nth)
{
    for (size_t i = 0; i < w->nev; i++)
        if (w->ev[i].ev.kind == kind && nth-- == 0)
            return &w->ev[i];
    return NULL;
}

size_t fw_count(const fake_wire *w, cc_event_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nev; i++)
        n += w->ev[i].ev.kind == kind;
    return n;
}
