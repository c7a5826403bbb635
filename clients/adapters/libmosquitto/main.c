/* flatline-adapter-libmosquitto: N libmosquitto 2.0 clients in one thread
 * (docs/clients.md). One poll() over every client's mosquitto_socket() drives
 * mosquitto_loop_read/write, and mosquitto_loop_misc (the library's own
 * keep-alive: PINGREQ, and the disconnect with MOSQ_ERR_KEEPALIVE) runs every
 * MISC_TICK_MS, as mosquitto_loop() does after each select. libmosquitto's
 * own reconnect lives in mosquitto_loop_forever (a thread a client), so the
 * reconnect delays here are the group's `reconnect` policy and the adapter
 * calls mosquitto_reconnect_async. */
#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/reason.h"
#include "clients/adapters/common/adapter.h"
#include "clients/backoff.h"
#include "core/clock.h"
#include "core/evlog.h"

enum { MISC_TICK_MS = 100 };

static const adapter_desc desc = { .name = "libmosquitto", .fd_overhead = 32 };

typedef struct lm_client {
    struct mosquitto *m;
    uint64_t retry_at;  /* 0: none due */
    uint32_t failures;  /* since the last success */
    bool started;
} lm_client;

static adapter A;
static lm_client *L;

static const char *reason_of(int rc, int err, const char **lib)
{
    static __thread char text[96];
    snprintf(text, sizeof text, "rc %d (%s)%s%s", rc, rc == MOSQ_ERR_KEEPALIVE ? "MOSQ_ERR_KEEPALIVE" : mosquitto_strerror(rc),
             rc == MOSQ_ERR_ERRNO ? ": " : "", rc == MOSQ_ERR_ERRNO ? strerror(err) : "");
    *lib = text;
    switch (rc) {
    case MOSQ_ERR_KEEPALIVE: return fl_reason_name(FL_REASON_PING_TIMEOUT);
    case MOSQ_ERR_CONN_LOST: return fl_reason_name(err == ECONNRESET ? FL_REASON_RESET : FL_REASON_EOF);
    case MOSQ_ERR_CONN_REFUSED: return fl_reason_name(FL_REASON_REFUSED);
    case MOSQ_ERR_PROTOCOL: return fl_reason_name(FL_REASON_PROTOCOL_ERROR);
    case MOSQ_ERR_ERRNO:
        return fl_reason_name(err == ETIMEDOUT ? FL_REASON_RETRANSMIT_TIMEOUT : err == ECONNREFUSED ? FL_REASON_REFUSED : FL_REASON_RESET);
    default: return fl_reason_name(FL_REASON_EOF);
    }
}

static void schedule_retry(adapter_client *c)
{
    lm_client *l = &L[c->index];
    uint64_t delay;
    if (!reconnect_delay(&A.cfg.groups[c->group].reconnect, A.cfg.seed, c->index, l->failures, &delay))
        return;
    l->failures++;
    l->retry_at = fl_now_ns() + delay + 1;
    adapter_reconnect_attempt(&A, c, delay);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    adapter_client *c = obj;
    if (rc != 0) {
        return; /* on_disconnect follows and schedules the retry */
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(mosquitto_socket(m), (struct sockaddr *)&ss, &len) == 0)
        fl_format_addr((struct sockaddr *)&ss, c->conn, sizeof c->conn);
    L[c->index].failures = 0;
    adapter_connected(&A, c);
    const swarm_group *g = &A.cfg.groups[c->group];
    for (size_t i = 0; i < g->nsubscribe; i++) {
        char topic[256];
        adapter_expand(&A, c, g->subscribe[i], topic, sizeof topic);
        mosquitto_subscribe(m, NULL, topic, 1);
    }
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    uint64_t t = fl_now_ns();
    int err = errno;
    (void)m;
    adapter_client *c = obj;
    if (atomic_load(&A.stop))
        return;
    const char *lib, *reason = reason_of(rc, err, &lib);
    adapter_dead_at(&A, c, t, reason, lib); /* a failed attempt (never connected) logs nothing */
    schedule_retry(c);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    adapter_client *c = obj;
    if (A.cfg.groups[c->group].role != ROLE_WATCHER)
        return;
    char payload[256];
    snprintf(payload, sizeof payload, "%.*s", msg->payloadlen, msg->payload ? (const char *)msg->payload : "");
    adapter_will_received(&A, c, msg->topic, payload, msg->retain);
}

static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
    (void)m;
    if (level == MOSQ_LOG_DEBUG && strstr(str, "received PINGRESP"))
        adapter_pingresp(&A, obj);
}

static int setup_client(adapter_client *c)
{
    const swarm_group *g = &A.cfg.groups[c->group];
    struct mosquitto *m = mosquitto_new(c->id, g->clean, c);
    if (!m)
        return -1;
    int v = MQTT_PROTOCOL_V311;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, v);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_disconnect_callback_set(m, on_disconnect);
    mosquitto_message_callback_set(m, on_message);
    if (A.log_pings)
        mosquitto_log_callback_set(m, on_log);
    if (g->will.present) {
        char topic[256], payload[256];
        adapter_expand(&A, c, g->will.topic, topic, sizeof topic);
        adapter_expand(&A, c, g->will.payload, payload, sizeof payload);
        mosquitto_will_set(m, topic, (int)strlen(payload), payload, g->will.qos, g->will.retain);
    }
    L[c->index].m = m;
    c->lib = m;
    return 0;
}

static void start_connect(adapter_client *c)
{
    lm_client *l = &L[c->index];
    const char *src = A.cfg.nsources ? A.cfg.sources[c->index % A.cfg.nsources] : NULL;
    l->retry_at = 0;
    int rc = l->started ? mosquitto_reconnect_async(l->m)
                        : mosquitto_connect_bind_async(l->m, A.broker_host, A.broker_port,
                                                       A.cfg.groups[c->group].keepalive_s, src);
    l->started = true;
    if (rc != MOSQ_ERR_SUCCESS)
        schedule_retry(c);
}

int main(int argc, char **argv)
{
    int rc = adapter_init(&A, &desc, argc, argv);
    if (rc)
        return rc;
    mosquitto_lib_init();
    L = calloc(A.nclients ? A.nclients : 1, sizeof *L);
    struct pollfd *fds = calloc(A.nclients ? A.nclients : 1, sizeof *fds);
    uint32_t *who = calloc(A.nclients ? A.nclients : 1, sizeof *who);
    if (!L || !fds || !who)
        return ADAPTER_EXIT_RUNTIME;
    for (uint32_t i = 0; i < A.nclients; i++) {
        if (setup_client(&A.clients[i]) < 0) {
            fprintf(stderr, "flatline-adapter-libmosquitto: mosquitto_new: %s\n", strerror(errno));
            return ADAPTER_EXIT_RUNTIME;
        }
        start_connect(&A.clients[i]);
    }
    uint64_t next_misc = fl_now_ns();
    while (!adapter_should_stop(&A)) {
        nfds_t n = 0;
        for (uint32_t i = 0; i < A.nclients; i++) {
            int fd = mosquitto_socket(L[i].m);
            if (fd < 0)
                continue;
            fds[n] = (struct pollfd){ .fd = fd, .events = POLLIN | (mosquitto_want_write(L[i].m) ? POLLOUT : 0) };
            who[n++] = i;
        }
        uint64_t now = fl_now_ns();
        int wait = next_misc > now ? (int)((next_misc - now) / FL_NS_PER_MS) + 1 : 0;
        if (poll(fds, n, wait) < 0 && errno != EINTR) {
            fprintf(stderr, "flatline-adapter-libmosquitto: poll: %s\n", strerror(errno));
            return ADAPTER_EXIT_RUNTIME;
        }
        for (nfds_t k = 0; k < n; k++) {
            struct mosquitto *m = L[who[k]].m;
            if (fds[k].revents & (POLLIN | POLLERR | POLLHUP))
                mosquitto_loop_read(m, 1);
            if ((fds[k].revents & POLLOUT) && mosquitto_socket(m) >= 0)
                mosquitto_loop_write(m, 1);
        }
        now = fl_now_ns();
        if (now >= next_misc) {
            next_misc = now + MISC_TICK_MS * FL_NS_PER_MS;
            for (uint32_t i = 0; i < A.nclients; i++) {
                if (mosquitto_socket(L[i].m) >= 0)
                    mosquitto_loop_misc(L[i].m);
                else if (L[i].retry_at && now >= L[i].retry_at)
                    start_connect(&A.clients[i]);
            }
        }
    }
    /* stop: DISCONNECT every live client, as the swarm does. */
    for (uint32_t i = 0; i < A.nclients; i++) {
        if (mosquitto_socket(L[i].m) >= 0) {
            mosquitto_disconnect(L[i].m);
            mosquitto_loop_write(L[i].m, 1);
        }
        mosquitto_destroy(L[i].m);
    }
    adapter_finish(&A);
    mosquitto_lib_cleanup();
    free(L);
    free(fds);
    free(who);
    return 0;
}
