/* An in-memory transport and an injected clock for driving the broker's
 * protocol core without sockets: each fake client is one bk_conn whose
 * output is collected and decoded with the codec. */
#ifndef FLATLINE_TESTS_BROKER_FAKE_NET_H
#define FLATLINE_TESTS_BROKER_FAKE_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "core/vclock.h"

typedef struct fake_net {
    /* The clock and timer heap the broker is given. `now` is the clock's
     * time under the name the tests read (fl_vclock's first member). */
    union {
        fl_vclock vt;
        uint64_t now;
    };
    bk_config cfg;
    bk_broker *b;
    fl_evlog *log;
    char log_path[128];
} fake_net;

typedef struct fake_client {
    fake_net *net;
    bk_conn *c;       /* NULL once the broker released it */
    mqtt_version version;
    uint8_t *rx;      /* everything the broker sent */
    size_t rx_len, rx_cap, rx_pos;
    bool released;
    uint16_t port;
} fake_client;

/* cfg may be NULL for the defaults. */
void fake_net_init(fake_net *n, const bk_config *cfg);
void fake_net_free(fake_net *n);
/* Moves the clock by ns and fires what is due. */
void fake_net_advance(fake_net *n, uint64_t ns);

fake_client *fake_connect_tcp(fake_net *n, uint16_t port);
void fake_client_free(fake_client *fc);
/* Encodes p for the client's version and feeds it to the broker. */
void fake_send(fake_client *fc, const mqtt_packet *p);
void fake_send_raw(fake_client *fc, const void *bytes, size_t len);
/* The next packet the broker sent, or false. Valid until the next send. */
bool fake_next(fake_client *fc, mqtt_packet *out);
/* Drops every packet not read yet. */
void fake_drain(fake_client *fc);

/* CONNECT helper: a v3 or v5 client with id, keep-alive, clean flag. */
fake_client *fake_mqtt_connect(fake_net *n, mqtt_version v, const char *id, uint16_t keepalive, bool clean);
void fake_subscribe(fake_client *fc, const char *filter, uint8_t qos);
void fake_publish(fake_client *fc, const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id);

/* v5 variants: CONNECT with properties, SUBSCRIBE with a Subscription
 * Identifier (0 = none) and options, PUBLISH with properties (may be NULL). */
fake_client *fake_connect_props(fake_net *n, const char *id, uint16_t keepalive, bool clean, const mqtt_props *props);
void fake_subscribe_ex(fake_client *fc, const char *filter, uint8_t qos, uint32_t sub_id, bool no_local);
void fake_publish_props(fake_client *fc, const char *topic, const char *payload, uint8_t qos, uint16_t id,
                        const mqtt_props *props);
/* Like fake_send, for bytes that arrived at `arrived` on the fake clock. */
void fake_send_at(fake_client *fc, const mqtt_packet *p, uint64_t arrived);

/* The nth (0-based) event named ev in the log, or NULL. Caller decrefs. */
json_t *fake_event(fake_net *n, const char *ev, int nth);
int fake_event_count(fake_net *n, const char *ev);

#endif
