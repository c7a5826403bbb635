/* A fake network for the client core: one client (cc_conn) on virtual time
 * (core/vclock.h), its sends collected and decoded as the broker would see
 * them, and the broker's side scripted by the test, so that heartbeat,
 * reconnect and will rules are asserted as they look on the wire without a
 * socket or a sleep:
 *
 *     fw_start(&w);                        client > CONNECT
 *     fw_expect(&w, MQTT_CONNECT, NULL);
 *     fw_connack(&w, 0);                   broker > CONNACK
 *     fw_advance(&w, S(10));               client > PINGREQ at +10 s
 *     fw_expect(&w, MQTT_PINGREQ, NULL);
 *     fw_advance(&w, S(5));                no PINGRESP: dead at +15 s
 */
#ifndef FLATLINE_TESTS_CLIENTS_FAKE_WIRE_H
#define FLATLINE_TESTS_CLIENTS_FAKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients/client_core.h"
#include "core/tcpclass.h"
#include "core/vclock.h"

#define S(x) ((uint64_t)((x) * 1e9))
#define FW_MAX_EVENTS 256

/* A report as the test sees it: when, and what (strings copied). */
typedef struct fw_event {
    uint64_t t;
    cc_event ev;
    uint16_t attempts; /* the client's count when it was reported */
    char reason[32], whose[64], topic[64];
} fw_event;

typedef struct fake_wire {
    fl_vclock vt;
    swarm_config cfg;
    cc_env env;
    cc_conn c;
    uint8_t payload[512];
    /* What the client sent (the broker's view), and how far the test read. */
    uint8_t *tx;
    size_t tx_len, tx_cap, tx_pos;
    int fail_send;     /* errno the next send fails with (0: none) */
    bool backed_up;    /* sends are queued: the transport sets c.blocked */
    fl_tcp_facts facts; /* what the socket would say when a transport error is named */
    fw_event ev[FW_MAX_EVENTS];
    size_t nev;
    size_t requeued; /* CC_EV_REQUEUE reports: the swarm would put it on the ramp */
} fake_wire;

/* config_json: a swarm configuration (docs/swarm.md) whose first group is the
 * client's; aborts the test if it does not parse. The clock starts at 1000 s. */
void fw_init(fake_wire *w, const char *config_json);
void fw_free(fake_wire *w);

uint64_t fw_now(const fake_wire *w);
/* Moves virtual time by ns, firing the client's timer on the way. */
void fw_advance(fake_wire *w, uint64_t ns);

/* The transport: opens (cc_connecting) and connects at once (CONNECT sent). */
void fw_start(fake_wire *w);
/* The broker sends p (encoded for the group's version). */
void fw_broker_sends(fake_wire *w, const mqtt_packet *p);
void fw_connack(fake_wire *w, uint8_t code);
void fw_pingresp(fake_wire *w);
/* The transport reports a failure; reason NULL: named from err and w->facts. */
void fw_lost(fake_wire *w, const char *reason, int err);

/* The next packet the client sent, decoded (valid until the next send); false
 * when it sent nothing more. */
bool fw_sent(fake_wire *w, mqtt_packet *out);
/* Asserts that the next packet the client sent is of type t (and copies it). */
void fw_expect(fake_wire *w, mqtt_type t, mqtt_packet *out);
/* Asserts the client sent nothing more. */
void fw_expect_quiet(fake_wire *w);

/* The nth (0-based) report of kind, or NULL; fw_count counts them. */
const fw_event *fw_event_of(const fake_wire *w, cc_event_kind kind, int nth);
size_t fw_count(const fake_wire *w, cc_event_kind kind);

#endif
