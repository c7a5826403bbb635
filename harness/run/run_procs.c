/* The runner's processes: the broker (as its driver says), the
 * swarms, and stopping them all at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "harness/brokers/brokers.h"
#include "harness/scenario/client_select.h"
#include "harness/run/run_internal.h"
#include "harness/run/topology.h"

enum {
    LISTEN_TIMEOUT_S = 10, /* from start to the broker's `listening` */
    STOP_TIMEOUT_S = 5,    /* for each stage of stopping before SIGKILL */
};

static bool broker_listening(runner *r) { return r->broker_listening; }

static fl_proc_env proc_env(runner *r)
{
    return (fl_proc_env){ .loop = r->loop, .bindir = r->opt->bindir, .workdir = r->workdir, .copy = r->events,
                          .on_event = fl_runner_on_event, .on_eof = fl_runner_on_eof, .arg = r };
}

/* ---- the broker ---- */

/* A broker without an event log is ready when its port accepts. */
typedef struct probe_arg {
    const char *addr;
    uint16_t port;
} probe_arg;

static int probe_port(void *arg)
{
    const probe_arg *p = arg;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(p->port) };
    inet_pton(AF_INET, p->addr, &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    close(fd);
    return rc;
}

/* Polls addr:port in p's host until it accepts, p exits or the deadline passes. */
static bool wait_port(runner *r, fl_proc *p, const char *addr, uint16_t port, uint64_t deadline)
{
    probe_arg probe = { addr, port };
    char err[256];
    while (fl_host_run(p->host, probe_port, &probe, err, sizeof err) != 0) {
        if (fl_proc_reap(p) || fl_now_ns() > deadline)
            return false;
        /* The loop runs meanwhile: a Ctrl-C during RabbitMQ's long start-up is seen at once. */
        if (!fl_runner_wait(r, NULL, fl_now_ns() + 50 * FL_NS_PER_MS))
            return false;
    }
    return true;
}

/* What the kernel says, not what the scenario asked: the report carries it. */
static void read_back_scheduling(runner *r, pid_t pid)
{
    struct sched_param param;
    int policy = sched_getscheduler(pid);
    if (policy > 0)
        policy &= ~SCHED_RESET_ON_FORK;
    const char *name = policy == SCHED_FIFO    ? "SCHED_FIFO"
                       : policy == SCHED_RR    ? "SCHED_RR"
                       : policy == SCHED_OTHER ? "SCHED_OTHER"
                       : policy == SCHED_BATCH ? "SCHED_BATCH"
                       : policy == SCHED_IDLE  ? "SCHED_IDLE"
                                               : "SCHED_UNKNOWN";
    if ((policy == SCHED_FIFO || policy == SCHED_RR) && sched_getparam(pid, &param) == 0)
        snprintf(r->broker_scheduling, sizeof r->broker_scheduling, "%s %d", name, param.sched_priority);
    else
        snprintf(r->broker_scheduling, sizeof r->broker_scheduling, "%s", name);
}

/* A helper the broker needs running first (RabbitMQ's epmd). */
static int start_helper(runner *r, const fl_broker_launch *l)
{
    fl_proc_env env = proc_env(r);
    fl_proc *h = &r->broker_helper;
    *h = (fl_proc){ .kind = FL_PROC_BROKER, .host = fl_netem_broker(r->net), .control_fd = -1, .group = -1,
                    .expected_exit = true };
    snprintf(h->name, sizeof h->name, "%s-helper", r->sc->broker.driver->name);
    char err[256];
    if (fl_proc_start_argv(h, &env, l->helper, NULL, false, err, sizeof err) < 0) {
        fl_runner_break(r, "cannot start %s: %s", l->helper[0], err);
        return -1;
    }
    if (!wait_port(r, h, "127.0.0.1", l->helper_port, fl_now_ns() + LISTEN_TIMEOUT_S * FL_NS_PER_S)) {
        fl_runner_break(r, "%s did not listen on 127.0.0.1:%u within %d s; its log: %s/%s.log", l->helper[0],
                        l->helper_port, LISTEN_TIMEOUT_S, r->workdir, h->name);
        return -1;
    }
    return 0;
}

int fl_runner_start_broker(runner *r)
{
    fl_proc_env env_value = proc_env(r);
    const fl_proc_env *env = &env_value;
    const fl_scenario *sc = r->sc;
    const fl_broker_driver *driver = sc->broker.driver;
    fl_proc *p = &r->broker;
    *p = (fl_proc){ .host = fl_netem_broker(r->net), .control_fd = -1, .group = -1 };
    p->kind = FL_PROC_BROKER;
    snprintf(p->name, sizeof p->name, "%s", driver->name);
    char listen[64], err[256];
    const char *addr = fl_netem_broker_addr(r->net);
    snprintf(listen, sizeof listen, "%s:%u", addr, sc->broker.port);
    fl_broker_site site = { .broker = sc->broker.object, .scenario = sc->name, .addr = addr, .port = sc->broker.port,
                            .workdir = r->workdir, .bindir = r->opt->bindir };
    fl_broker_launch launch = { 0 };
    if (driver->prepare(&site, &launch, err, sizeof err) < 0) {
        fl_broker_launch_free(&launch);
        fl_runner_break(r, "cannot prepare %s: %s", p->name, err);
        return -1;
    }
    if (launch.helper[0] && start_helper(r, &launch) < 0) {
        fl_broker_launch_free(&launch);
        return -1;
    }
    uint64_t started = fl_now_ns();
    int rc = fl_proc_start_argv(p, env, launch.argv, launch.env[0] ? launch.env : NULL,
                                driver->observe == FL_BROKER_EVENT_LOG, err, sizeof err);
    double timeout_s = launch.ready_timeout_s > 0 ? launch.ready_timeout_s : LISTEN_TIMEOUT_S;
    fl_broker_launch_free(&launch);
    if (rc < 0) {
        fl_runner_break(r, "cannot start %s: %s", p->name, err);
        return -1;
    }
    /* Set from here, before it listens: the clients connect after that, so
     * every deadline it keeps is kept at this priority. */
    if (sc->broker.realtime_priority && fl_proc_set_realtime(p->pid, sc->broker.realtime_priority, err, sizeof err) < 0) {
        fl_runner_break(r, "%s: %s", p->name, err);
        return -1;
    }
    uint64_t deadline = started + (uint64_t)(timeout_s * 1e9);
    bool ready = driver->ready == FL_BROKER_READY_PORT ? wait_port(r, p, addr, sc->broker.port, deadline)
                                                        : fl_runner_wait(r, broker_listening, deadline);
    if (!ready && (r->interrupted || r->broken))
        return -1;
    if (!ready && p->exited) {
        char status[48];
        fl_runner_break(r, "%s %s before it was ready; its log: %s/%s.log", p->name,
                        fl_proc_status_text(p, status, sizeof status), r->workdir, p->name);
        return -1;
    }
    if (!ready) {
        fl_runner_break(r, "%s did not %s within %g s; its log: %s/%s.log", p->name,
                        driver->ready == FL_BROKER_READY_PORT ? "accept on its port" : "report listening", timeout_s,
                        r->workdir, p->name);
        return -1;
    }
    r->broker_listening = true;
    r->broker_start_s = (double)(fl_now_ns() - started) / 1e9;
    read_back_scheduling(r, p->pid);
    fl_progress_note(&r->progress, "%s listening on %s after %.1f s (%s)", p->name, listen, r->broker_start_s,
                     r->broker_scheduling);
    return 0;
}

/* ---- the swarms ---- */

/* "{host}" in the group's strings becomes the host (and process) so that ids
 * are unique across hosts: flatline-swarm's own {host} is the UTS host name,
 * the same in every namespace. */
static json_t *replace_host(const json_t *v, const char *host)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v), *at;
        char out[512];
        size_t len = 0;
        while ((at = strstr(s, "{host}")) && len < sizeof out - 1) {
            len += (size_t)snprintf(out + len, sizeof out - len, "%.*s%s", (int)(at - s), s, host);
            s = at + 6;
        }
        if (len < sizeof out - 1)
            snprintf(out + len, sizeof out - len, "%s", s);
        return json_string(out);
    }
    if (json_is_object(v)) {
        json_t *copy = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
            json_object_set_new(copy, k, replace_host(m, host));
        return copy;
    }
    if (json_is_array(v)) {
        json_t *copy = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(copy, replace_host(json_array_get(v, i), host));
        return copy;
    }
    return json_deep_copy(v);
}

static char *swarm_config(runner *r, const fl_proc *p)
{
    const fl_sc_group *g = &r->sc->groups[p->group];
    char host[32];
    if (fl_group_procs_per_host(g) > 1)
        snprintf(host, sizeof host, "h%dp%d", p->host_index, p->part);
    else
        snprintf(host, sizeof host, "h%d", p->host_index);
    json_t *group = replace_host(g->swarm, host);
    if (!json_object_get(group, "id_pattern"))
        json_object_set_new(group, "id_pattern", json_pack("s+++", "{group}-", host, "-", "{n}"));
    json_object_set_new(group, "clients", json_integer(p->clients));
    /* A library adapter reads the swarm's file plus its own options. */
    if (g->client && g->client_options)
        json_object_set(group, "client_options", g->client_options);
    char broker[64];
    snprintf(broker, sizeof broker, "%s:%u", fl_netem_broker_addr(r->net), r->sc->broker.port);
    const char *source = fl_host_addr(p->host, (size_t)p->part % fl_host_addr_count(p->host));
    /* Each process its own reconnect-jitter stream, the same in every run. */
    json_t *config = json_pack("{s:s, s:I, s:[s], s:[o]}", "broker", broker, "seed",
                               (json_int_t)(r->sc->seed * 1000003 + (uint64_t)(p - r->swarms)), "sources", source,
                               "groups", group);
    /* Adapters whose library cannot bind use the host's (only) address. */
    if (g->client && !fl_sc_client_binds(g->client))
        json_object_del(config, "sources");
    if (g->connect_spread_ns && p->clients > 0) {
        /* the connect ramp (flatline-swarm's connect_rate, whole connects a
         * second) spreads this process's clients over at most the spread */
        double rate = ceil((double)p->clients / ((double)g->connect_spread_ns / 1e9));
        json_object_set_new(config, "connect_rate", json_integer((json_int_t)(rate < 1 ? 1 : rate)));
    }
    char *text = json_dumps(config, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(config);
    return text;
}

int fl_runner_start_swarm(runner *r, fl_proc *p)
{
    fl_proc_close(p);
    p->ready = false;
    p->expected_exit = false;
    const char *client = r->sc->groups[p->group].client;
    p->program = client ? fl_sc_client_program(client) : NULL;
    char *text = swarm_config(r, p), err[256];
    fl_proc_env env = proc_env(r);
    /* nat-expiry latencies count from each connection's last PINGRESP. */
    bool log_pings = false;
    for (size_t i = 0; i < r->sc->nfaults; i++)
        log_pings |= r->sc->faults[i].kind == FL_FAULT_NAT_EXPIRY;
    const char *extra[] = { log_pings ? "--log-pings" : NULL, NULL };
    if (!text || fl_proc_start(p, &env, text, extra, err, sizeof err) < 0) {
        fl_runner_break(r, "cannot start %s: %s", p->name, text ? err : "out of memory");
        free(text);
        return -1;
    }
    free(text);
    return 0;
}

int fl_runner_start_swarms(runner *r)
{
    const fl_scenario *sc = r->sc;
    size_t n = 0;
    for (size_t g = 0; g < sc->ngroups; g++)
        n += (size_t)sc->groups[g].hosts * fl_group_procs_per_host(&sc->groups[g]);
    r->swarms = calloc(n ? n : 1, sizeof *r->swarms);
    if (!r->swarms)
        return -1;
    for (size_t g = 0; g < sc->ngroups; g++) {
        const fl_sc_group *group = &sc->groups[g];
        unsigned procs = fl_group_procs_per_host(group);
        for (unsigned h = 0; h < group->hosts; h++) {
            for (unsigned k = 0; k < procs; k++) {
                fl_proc *p = &r->swarms[r->nswarms++];
                *p = (fl_proc){ .kind = FL_PROC_SWARM, .host = fl_netem_group_host(r->net, g, h), .control_fd = -1,
                                .group = (int)g, .host_index = (int)h, .part = (int)k };
                /* Split evenly; the first processes take the remainder. */
                p->clients = group->clients_per_host / procs + (k < group->clients_per_host % procs);
                if (procs > 1)
                    snprintf(p->name, sizeof p->name, "swarm %s[%u].%u", group->name, h, k);
                else
                    snprintf(p->name, sizeof p->name, "swarm %s[%u]", group->name, h);
                r->clients_expected += p->clients;
                if (!p->host || fl_runner_start_swarm(r, p) < 0) {
                    if (!p->host)
                        fl_runner_break(r, "%s: host missing from the topology", p->name);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* ---- stopping ---- */

static bool all_pipes_closed(runner *r)
{
    if (r->broker.events && !fl_evpipe_at_eof(r->broker.events))
        return false;
    for (size_t i = 0; i < r->nswarms; i++)
        if (r->swarms[i].events && !fl_evpipe_at_eof(r->swarms[i].events))
            return false;
    return true;
}

static bool swarms_closed(runner *r)
{
    for (size_t i = 0; i < r->nswarms; i++)
        if (r->swarms[i].events && !fl_evpipe_at_eof(r->swarms[i].events) && !r->swarms[i].exited)
            return false;
    return true;
}

static void kill_and_reap(fl_proc *p)
{
    if (p->pid && !fl_proc_reap(p)) {
        kill(p->pid, SIGKILL);
        for (int i = 0; i < 100 && !fl_proc_reap(p); i++) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
}

/* Swarms first (stop: DISCONNECT, so the broker logs client_disconnect after
 * the measured window), then the broker; stragglers are killed. */
void fl_runner_stop_processes(runner *r)
{
    bool was_interrupted = r->interrupted, was_broken = r->broken;
    r->interrupted = r->broken = false; /* wait_for must run the loop while draining */
    for (size_t i = 0; i < r->nswarms; i++) {
        fl_proc *p = &r->swarms[i];
        p->expected_exit = true;
        /* A swarm logs its final counters as it stops: the traffic it counted. */
        if (p->pid && !fl_proc_reap(p))
            fl_proc_command(p, "stop");
    }
    fl_runner_wait(r, swarms_closed, fl_now_ns() + STOP_TIMEOUT_S * FL_NS_PER_S);
    r->broker.expected_exit = true;
    if (r->broker.pid && !fl_proc_reap(&r->broker))
        kill(r->broker.pid, SIGTERM);
    fl_runner_wait(r, all_pipes_closed, fl_now_ns() + STOP_TIMEOUT_S * FL_NS_PER_S);
    for (size_t i = 0; i < r->nswarms; i++)
        kill_and_reap(&r->swarms[i]);
    kill_and_reap(&r->broker);
    /* The helper by its pid, once the broker is gone (epmd outlives its node). */
    if (r->broker_helper.pid && !fl_proc_reap(&r->broker_helper))
        kill(r->broker_helper.pid, SIGTERM);
    kill_and_reap(&r->broker_helper);
    r->interrupted = was_interrupted || r->interrupted;
    r->broken = was_broken;
}
