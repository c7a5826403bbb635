#include "fake_net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tx_write(bk_conn *c, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    fake_client *fc = (fake_client *)c->listener;
    if (fc->rx_len + len > fc->rx_cap) {
        size_t cap = fc->rx_cap ? fc->rx_cap : 256;
        while (cap < fc->rx_len + len)
            cap *= 2;
        fc->rx = realloc(fc->rx, cap);
        fc->rx_cap = cap;
    }
    memcpy(fc->rx + fc->rx_len, data, len);
    fc->rx_len += len;
}

static void tx_release(bk_conn *c, void *ctx)
{
    (void)ctx;
    fake_client *fc = (fake_client *)c->listener;
    fc->released = true;
    fc->c = NULL;
}

void fake_net_init(fake_net *n, const bk_config *cfg)
{
    static int seq;
    memset(n, 0, sizeof *n);
    fl_vclock_init(&n->vt, 1000 * FL_NS_PER_S);
    if (cfg)
        n->cfg = *cfg;
    else
        bk_config_defaults(&n->cfg);
    snprintf(n->log_path, sizeof n->log_path, "/tmp/flatline-broker-test-%d-%d.jsonl", (int)getpid(), seq++);
    char err[256];
    n->log = fl_evlog_open(n->log_path, "broker", err, sizeof err);
    bk_transport tx = { tx_write, tx_release, NULL };
    n->b = bk_broker_new(&n->cfg, &n->vt.timers, &n->vt.clock, n->log, &tx);
}

void fake_net_free(fake_net *n)
{
    bk_broker_free(n->b);
    fl_vclock_free(&n->vt);
    fl_evlog_close(n->log);
    unlink(n->log_path);
}

void fake_net_advance(fake_net *n, uint64_t ns) { fl_vclock_advance(&n->vt, ns); }

fake_client *fake_connect_tcp(fake_net *n, uint16_t port)
{
    static uint16_t next_port = 40000;
    fake_client *fc = calloc(1, sizeof *fc);
    fc->net = n;
    fc->port = port ? port : next_port++;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(fc->port) };
    inet_pton(AF_INET, "198.18.1.2", &sin.sin_addr);
    fc->c = bk_conn_new(n->b, -1, (struct sockaddr *)&sin, "198.18.0.1:1883", fc);
    return fc;
}

void fake_client_free(fake_client *fc)
{
    if (!fc)
        return;
    if (fc->c)
        bk_conn_lost(fc->c, "eof", 0, NULL); /* the broker must not outlive its view of this client */
    free(fc->rx);
    free(fc);
}

void fake_send_raw(fake_client *fc, const void *bytes, size_t len)
{
    if (fc->c)
        bk_conn_input(fc->c, bytes, len);
}

void fake_send_at(fake_client *fc, const mqtt_packet *p, uint64_t arrived)
{
    uint8_t buf[4096];
    mqtt_error err;
    size_t n = mqtt_encode(p, fc->version ? fc->version : MQTT_V311, buf, sizeof buf, &err);
    if (n == 0 || n > sizeof buf)
        abort();
    if (fc->c)
        bk_conn_input_at(fc->c, buf, n, arrived);
}

void fake_send(fake_client *fc, const mqtt_packet *p)
{
    uint8_t buf[4096];
    mqtt_error err;
    size_t n = mqtt_encode(p, fc->version ? fc->version : MQTT_V311, buf, sizeof buf, &err);
    if (n == 0 || n > sizeof buf) {
        fprintf(stderr, "fake_send: cannot encode %s: %s\n", mqtt_type_name(p->type), err.what ? err.what : "?");
        abort();
    }
    fake_send_raw(fc, buf, n);
}

bool fake_next(fake_client *fc, mqtt_packet *out)
{
    if (fc->rx_pos >= fc->rx_len)
        return false;
    size_t plen;
    mqtt_error err;
    if (mqtt_frame(fc->rx + fc->rx_pos, fc->rx_len - fc->rx_pos, 0, &plen, &err) != MQTT_PACKET)
        return false;
    mqtt_result r = mqtt_decode(fc->rx + fc->rx_pos, plen, fc->version ? fc->version : MQTT_V311, out, &err);
    fc->rx_pos += plen;
    if (r != MQTT_PACKET) {
        fprintf(stderr, "fake_next: broker sent a malformed packet: %s\n", err.what ? err.what : "?");
        abort();
    }
    return true;
}

void fake_drain(fake_client *fc) { fc->rx_pos = fc->rx_len; }

fake_client *fake_mqtt_connect(fake_net *n, mqtt_version v, const char *id, uint16_t keepalive, bool clean)
{
    fake_client *fc = fake_connect_tcp(n, 0);
    fc->version = v;
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = v;
    p.u.connect.clean_session = clean;
    p.u.connect.keep_alive = keepalive;
    p.u.connect.client_id = mqtt_cstr(id);
    fake_send(fc, &p);
    return fc;
}

void fake_subscribe(fake_client *fc, const char *filter, uint8_t qos)
{
    mqtt_topic_entry e = { .filter = mqtt_cstr(filter), .qos = qos };
    mqtt_packet p = { .type = MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = 77;
    p.u.subscribe.entries = &e;
    p.u.subscribe.count = 1;
    fake_send(fc, &p);
}

void fake_publish(fake_client *fc, const char *topic, const char *payload, uint8_t qos, bool retain, uint16_t id)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = mqtt_cstr(topic);
    p.u.publish.payload = mqtt_cstr(payload);
    p.u.publish.qos = qos;
    p.u.publish.retain = retain;
    p.u.publish.packet_id = qos ? id : 0;
    fake_send(fc, &p);
}

fake_client *fake_connect_props(fake_net *n, const char *id, uint16_t keepalive, bool clean, const mqtt_props *props)
{
    fake_client *fc = fake_connect_tcp(n, 0);
    fc->version = MQTT_V5;
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = MQTT_V5;
    p.u.connect.clean_session = clean;
    p.u.connect.keep_alive = keepalive;
    p.u.connect.client_id = mqtt_cstr(id);
    if (props)
        p.u.connect.props = *props;
    fake_send(fc, &p);
    return fc;
}

void fake_subscribe_ex(fake_client *fc, const char *filter, uint8_t qos, uint32_t sub_id, bool no_local)
{
    mqtt_topic_entry e = { .filter = mqtt_cstr(filter), .qos = qos, .no_local = no_local };
    mqtt_packet p = { .type = MQTT_SUBSCRIBE };
    p.u.subscribe.packet_id = 78;
    p.u.subscribe.entries = &e;
    p.u.subscribe.count = 1;
    if (sub_id) {
        p.u.subscribe.props.present = MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_ID);
        p.u.subscribe.props.subscription_id = sub_id;
    }
    fake_send(fc, &p);
}

void fake_publish_props(fake_client *fc, const char *topic, const char *payload, uint8_t qos, uint16_t id,
                        const mqtt_props *props)
{
    mqtt_packet p = { .type = MQTT_PUBLISH };
    p.u.publish.topic = mqtt_cstr(topic);
    p.u.publish.payload = mqtt_cstr(payload);
    p.u.publish.qos = qos;
    p.u.publish.packet_id = qos ? id : 0;
    if (props)
        p.u.publish.props = *props;
    fake_send(fc, &p);
}

static json_t *scan(fake_net *n, const char *ev, int nth, int *count)
{
    FILE *f = fopen(n->log_path, "r");
    if (!f)
        return NULL;
    char line[8192];
    int seen = 0;
    json_t *found = NULL;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        const char *name = json_string_value(json_object_get(j, "ev"));
        if (name && strcmp(name, ev) == 0) {
            if (seen++ == nth && !found) {
                found = j;
                continue;
            }
        }
        json_decref(j);
    }
    fclose(f);
    if (count)
        *count = seen;
    return found;
}

json_t *fake_event(fake_net *n, const char *ev, int nth) { return scan(n, ev, nth, NULL); }

int fake_event_count(fake_net *n, const char *ev)
{
    int count = 0;
    json_decref(scan(n, ev, -1, &count));
    return count;
}
