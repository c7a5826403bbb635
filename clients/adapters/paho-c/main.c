/* flatline-adapter-paho-c: N Eclipse paho.mqtt.c 1.3 MQTTAsync clients in one
 * process (docs/clients.md). The library runs everything in its own two
 * threads: keep-alive (MQTTProtocol_keepalive: PINGREQ after Keep Alive of
 * silence, the session closed when no PINGRESP came within 1.5 x Keep Alive),
 * and automaticReconnect. Its connectionLost callback gets no cause (1.3.12
 * passes NULL), so the reason is taken from the library's own trace line that
 * precedes the close in the same thread ("PINGRESP not received in keepalive
 * interval for client ...", "Socket error ..."). */
#include <MQTTAsync.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/reason.h"
#include "clients/adapters/common/adapter.h"
#include "core/clock.h"
#include "core/evlog.h"

static const adapter_desc desc = { .name = "paho-c", .fd_overhead = 32 };

typedef struct pc_client {
    char why[160]; /* the library's trace line that preceded a close */
    int sock;      /* from the trace ("%d %s <- CONNACK"): MQTTAsync hides its socket */
} pc_client;

static adapter A;
static pc_client *P;
static struct hsearch_data ids;

static adapter_client *by_id(const char *id)
{
    ENTRY e = { .key = (char *)id }, *found = NULL;
    return hsearch_r(e, FIND, &found, &ids) && found ? found->data : NULL;
}

/* The trace runs in the thread that then calls connectionLost. */
static void on_trace(enum MQTTASYNC_TRACE_LEVELS level, char *message)
{
    (void)level;
    const char *p;
    if (getenv("FLATLINE_PAHO_TRACE"))
        fprintf(stderr, "trace: %s\n", message);
    /* Lines open with the library's wall-clock stamp, "20261202 163041.304 ". */
    for (int k = 0; k < 2 && (p = strchr(message, ' ')); k++)
        message = (char *)p + 1;
    char id[128];
    if ((p = strstr(message, " for client ")) &&
        (strstr(message, "PINGRESP not received") || strstr(message, "PINGREQ still outstanding") ||
         strstr(message, "Error sending PINGREQ"))) {
        if (sscanf(p + 12, "%127s", id) == 1) {
            adapter_client *c = by_id(id);
            if (c)
                snprintf(P[c->index].why, sizeof P[c->index].why, "%s", message);
        }
        return;
    }
    int sock;
    if (sscanf(message, "%d %127s <- ", &sock, id) == 2 && strstr(message, " <- ")) {
        adapter_client *c = by_id(id);
        if (!c)
            return;
        P[c->index].sock = sock;
        if (strstr(message, "<- PINGRESP"))
            adapter_pingresp(&A, c);
    }
}

static void on_lost(void *ctx, char *cause)
{
    uint64_t t = fl_now_ns();
    adapter_client *c = ctx;
    pc_client *p = &P[c->index];
    const char *reason = fl_reason_name(FL_REASON_EOF);
    if (strstr(p->why, "PINGRESP") || strstr(p->why, "PINGREQ"))
        reason = fl_reason_name(FL_REASON_PING_TIMEOUT);
    char lib[200];
    snprintf(lib, sizeof lib, "connectionLost(cause %s)%s%s", cause ? cause : "NULL", *p->why ? ": " : "", p->why);
    p->why[0] = '\0';
    if (!atomic_load(&A.stop))
        adapter_dead_at(&A, c, t, reason, lib);
    if (cause)
        MQTTAsync_free(cause);
}

static void on_connected(void *ctx, char *cause)
{
    (void)cause;
    adapter_client *c = ctx;
    if (c->ever_connected)
        c->attempt++;
    /* The CONNACK's trace line ran just before, in this thread. */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (P[c->index].sock > 0 && getsockname(P[c->index].sock, (struct sockaddr *)&ss, &len) == 0)
        fl_format_addr((struct sockaddr *)&ss, c->conn, sizeof c->conn);
    adapter_connected(&A, c);
    const swarm_group *g = &A.cfg.groups[c->group];
    for (size_t i = 0; i < g->nsubscribe; i++) {
        char topic[256];
        adapter_expand(&A, c, g->subscribe[i], topic, sizeof topic);
        MQTTAsync_subscribe(c->lib, topic, 1, NULL);
    }
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    (void)topic_len;
    adapter_client *c = ctx;
    if (A.cfg.groups[c->group].role == ROLE_WATCHER) {
        char payload[256];
        snprintf(payload, sizeof payload, "%.*s", m->payloadlen, (const char *)m->payload);
        adapter_will_received(&A, c, topic, payload, m->retained);
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *f)
{
    adapter_client *c = ctx;
    fprintf(stderr, "flatline-adapter-paho-c: %s: connect failed: %d %s\n", c->id, f ? f->code : 0,
            f && f->message ? f->message : "");
}

static int start(adapter_client *c, const char *uri)
{
    const swarm_group *g = &A.cfg.groups[c->group];
    MQTTAsync h;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = MQTTVERSION_3_1_1;
    if (MQTTAsync_createWithOptions(&h, uri, c->id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS)
        return -1;
    c->lib = h;
    MQTTAsync_setCallbacks(h, c, on_lost, on_message, NULL);
    MQTTAsync_setConnected(h, c, on_connected);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    /* Set explicitly: the default falls back to 3.1 on a reconnect. */
    o.MQTTVersion = MQTTVERSION_3_1_1;
    o.keepAliveInterval = g->keepalive_s;
    o.cleansession = g->clean;
    o.connectTimeout = (int)adapter_option_seconds(&A, c->group, "connect_timeout", 30);
    o.context = c;
    o.onFailure = on_connect_failure;
    /* The library's own reconnect: a delay that starts at minRetryInterval and
     * doubles up to maxRetryInterval (whole seconds, no jitter). */
    const reconnect_config *r = &g->reconnect;
    if (r->kind != RECONNECT_NONE) {
        o.automaticReconnect = 1;
        uint64_t lo = r->kind == RECONNECT_FIXED ? r->delay_ns : r->base_ns;
        uint64_t hi = r->kind == RECONNECT_FIXED ? r->delay_ns : r->cap_ns;
        o.minRetryInterval = (int)((lo + FL_NS_PER_S - 1) / FL_NS_PER_S);
        o.maxRetryInterval = (int)((hi + FL_NS_PER_S - 1) / FL_NS_PER_S);
        if (o.minRetryInterval < 1)
            o.minRetryInterval = 1;
        if (o.maxRetryInterval < o.minRetryInterval)
            o.maxRetryInterval = o.minRetryInterval;
    }
    MQTTAsync_willOptions w = MQTTAsync_willOptions_initializer;
    char wtopic[256], wpayload[256];
    if (g->will.present) {
        adapter_expand(&A, c, g->will.topic, wtopic, sizeof wtopic);
        adapter_expand(&A, c, g->will.payload, wpayload, sizeof wpayload);
        w.topicName = wtopic;
        w.message = wpayload;
        w.qos = g->will.qos;
        w.retained = g->will.retain;
        o.will = &w;
    }
    return MQTTAsync_connect(h, &o) == MQTTASYNC_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    int rc = adapter_init(&A, &desc, argc, argv);
    if (rc)
        return rc;
    for (uint32_t g = 0; g < A.cfg.ngroups; g++)
        if (A.cfg.groups[g].reconnect.kind == RECONNECT_BACKOFF)
            fprintf(stderr, "flatline-adapter-paho-c: groups[%u].reconnect: paho.mqtt.c doubles from base to cap "
                            "in whole seconds, without jitter\n", g);
    P = calloc(A.nclients ? A.nclients : 1, sizeof *P);
    if (!P || !hcreate_r((size_t)A.nclients * 2 + 16, &ids))
        return ADAPTER_EXIT_RUNTIME;
    for (uint32_t i = 0; i < A.nclients; i++) {
        ENTRY e = { .key = A.clients[i].id, .data = &A.clients[i] }, *out;
        hsearch_r(e, ENTER, &out, &ids);
    }
    MQTTAsync_setTraceCallback(on_trace);
    /* Protocol level: the lines that name the close reason, the socket and PINGRESP. */
    MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_PROTOCOL);
    char uri[300];
    snprintf(uri, sizeof uri, strchr(A.broker_host, ':') ? "tcp://[%s]:%u" : "tcp://%s:%u", A.broker_host,
             A.broker_port);
    for (uint32_t i = 0; i < A.nclients; i++) {
        if (start(&A.clients[i], uri) < 0) {
            fprintf(stderr, "flatline-adapter-paho-c: %s: MQTTAsync_create/connect failed\n", A.clients[i].id);
            return ADAPTER_EXIT_RUNTIME;
        }
    }
    while (!adapter_should_stop(&A)) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    for (uint32_t i = 0; i < A.nclients; i++) {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        d.timeout = 0;
        MQTTAsync_disconnect(A.clients[i].lib, &d);
    }
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    adapter_finish(&A);
    return 0;
}
