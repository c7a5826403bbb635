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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "harness/brokers/brokers.h"
#include "harness/scenario/client_select.h"
#include "harness/run/run_procs.h"
#include "harness/run/topology.h"

enum {
    LISTEN_TIMEOUT_S = 10, /* from start to the broker's `listening` */
    STOP_TIMEOUT_S = 5,    /* for each stage of stopping before SIGKILL */
};

static bool broker_listening(void *arg) { return ((fl_run_procs *)arg)->broker_listening; }

static fl_proc *proc_of(fl_run_procs *ps, fl_evpipe *p)
{
    if (ps->broker.events == p)
        return &ps->broker;
    for (size_t i = 0; i < ps->nswarms; i++)
        if (ps->swarms[i].events == p)
            return &ps->swarms[i];
    return NULL;
}

/* Every line a process writes: into the analysis; `listening` and `ready` move the run on. */
static void on_event(fl_evpipe *pipe, json_t *ev, const char *line, void *arg)
{
    fl_run_procs *ps = arg;
    fl_run_ctx *run = ps->run;
    if (!ev) {
        fl_progress_note(&run->progress, "warning: %s wrote a line that is not a JSON object: %.80s",
                         fl_evpipe_name(pipe), line);
        return;
    }
    fl_analysis_add(run->analysis, ev);
    const char *name = json_string_value(json_object_get(ev, "ev"));
    if (!name)
        return;
    fl_proc *p = proc_of(ps, pipe);
    if (strcmp(name, "listening") == 0) {
        ps->broker_listening = true;
    } else if (strcmp(name, "ready") == 0 && p && !p->ready) {
        p->ready = true;
        p->ready_ns = (uint64_t)json_integer_value(json_object_get(ev, "t"));
        ps->swarms_ready++;
    }
}

/* A pipe closed: a process ended. Unless it was meant to (a power loss, the
 * drain) or a stop signal to the process group ended it, the run is broken. */
static void on_eof(fl_evpipe *pipe, void *arg)
{
    fl_run_procs *ps = arg;
    fl_run_ctx *run = ps->run;
    fl_proc *p = proc_of(ps, pipe);
    if (p && !p->expected_exit && !run->interrupted && strcmp(run->phase, "drain") != 0 &&
        strcmp(run->phase, "teardown") != 0) {
        char status[48];
        /* The pipe closes a moment before the exit status is there. */
        for (int i = 0; i < 50 && !fl_proc_reap(p); i++) {
            struct timespec ts = { 0, 2 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        /* A terminal's SIGINT or SIGHUP goes to the whole process group: the
         * broker or a swarm may end before the runner has read its own copy.
         * That is the interrupt, not a crash. */
        int sig = p->exited && WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
        sigset_t pending;
        bool stop_pending = sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
                            sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGHUP) == 1);
        if (stop_pending || sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            fl_progress_note(&run->progress, "%s ended (%s) with a stop signal to the process group: stopping, the "
                             "report will be marked incomplete", p->name, fl_proc_status_text(p, status, sizeof status));
            run->interrupted = true;
            return;
        }
        fl_run_break(run, "%s stopped unexpectedly (%s); its log: %s/", p->name, fl_proc_status_text(p, status,
                     sizeof status), run->workdir);
    }
}

static fl_proc_env proc_env(fl_run_procs *ps)
{
    fl_run_ctx *run = ps->run;
    return (fl_proc_env){ .loop = run->loop, .bindir = run->opt->bindir, .workdir = run->workdir,
                          .copy = run->events, .on_event = on_event, .on_eof = on_eof, .arg = ps };
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
static bool wait_port(fl_run_procs *ps, fl_proc *p, const char *addr, uint16_t port, uint64_t deadline)
{
    probe_arg probe = { addr, port };
    char err[256];
    while (fl_host_run(p->host, probe_port, &probe, err, sizeof err) != 0) {
        if (fl_proc_reap(p) || fl_now_ns() > deadline)
            return false;
        /* The loop runs meanwhile: a Ctrl-C during RabbitMQ's long start-up is seen at once. */
        if (!fl_run_wait(ps->run, NULL, NULL, fl_now_ns() + 50 * FL_NS_PER_MS))
            return false;
    }
    return true;
}

/* What the kernel says, not what the scenario asked: the report carries it. */
static void read_back_scheduling(fl_run_procs *ps, pid_t pid)
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
        snprintf(ps->broker_scheduling, sizeof ps->broker_scheduling, "%s %d", name, param.sched_priority);
    else
        snprintf(ps->broker_scheduling, sizeof ps->broker_scheduling, "%s", name);
}

/* A helper the broker needs running first (RabbitMQ's epmd). */
static int start_helper(fl_run_procs *ps, const fl_broker_launch *l)
{
    fl_run_ctx *run = ps->run;
    fl_proc_env env = proc_env(ps);
    fl_proc *h = &ps->broker_helper;
    *h = (fl_proc){ .kind = FL_PROC_BROKER, .host = fl_netem_broker(run->net), .control_fd = -1, .group = -1,
                    .expected_exit = true };
    snprintf(h->name, sizeof h->name, "%s-helper", run->sc->broker.driver->name);
    char err[256];
    if (fl_proc_start_argv(h, &env, l->helper, NULL, false, err, sizeof err) < 0) {
        fl_run_break(run, "cannot start %s: %s", l->helper[0], err);
        return -1;
    }
    if (!wait_port(ps, h, "127.0.0.1", l->helper_port, fl_now_ns() + LISTEN_TIMEOUT_S * FL_NS_PER_S)) {
        fl_run_break(run, "%s did not listen on 127.0.0.1:%u within %d s; its log: %s/%s.log", l->helper[0],
                        l->helper_port, LISTEN_TIMEOUT_S, run->workdir, h->name);
        return -1;
    }
    return 0;
}

int fl_run_start_broker(fl_run_procs *ps)
{
    fl_run_ctx *run = ps->run;
    fl_proc_env env_value = proc_env(ps);
    const fl_proc_env *env = &env_value;
    const fl_scenario *sc = run->sc;
    const fl_broker_driver *driver = sc->broker.driver;
    fl_proc *p = &ps->broker;
    *p = (fl_proc){ .host = fl_netem_broker(run->net), .control_fd = -1, .group = -1 };
    p->kind = FL_PROC_BROKER;
    snprintf(p->name, sizeof p->name, "%s", driver->name);
    char listen[64], err[256];
    const char *addr = fl_netem_broker_addr(run->net);
    snprintf(listen, sizeof listen, "%s:%u", addr, sc->broker.port);
    fl_broker_site site = { .broker = sc->broker.object, .scenario = sc->name, .addr = addr, .port = sc->broker.port,
                            .workdir = run->workdir, .bindir = run->opt->bindir };
    fl_broker_launch launch = { 0 };
    if (driver->prepare(&site, &launch, err, sizeof err) < 0) {
        fl_broker_launch_free(&launch);
        fl_run_break(run, "cannot prepare %s: %s", p->name, err);
        return -1;
    }
    if (launch.helper[0] && start_helper(ps, &launch) < 0) {
        fl_broker_launch_free(&launch);
        return -1;
    }
    uint64_t started = fl_now_ns();
    int rc = fl_proc_start_argv(p, env, launch.argv, launch.env[0] ? launch.env : NULL,
                                driver->observe == FL_BROKER_EVENT_LOG, err, sizeof err);
    double timeout_s = launch.ready_timeout_s > 0 ? launch.ready_timeout_s : LISTEN_TIMEOUT_S;
    fl_broker_launch_free(&launch);
    if (rc < 0) {
        fl_run_break(run, "cannot start %s: %s", p->name, err);
        return -1;
    }
    /* Set from here, before it listens: the clients connect after that, so
     * every deadline it keeps is kept at this priority. */
    if (sc->broker.realtime_priority && fl_proc_set_realtime(p->pid, sc->broker.realtime_priority, err, sizeof err) < 0) {
        fl_run_break(run, "%s: %s", p->name, err);
        return -1;
    }
    uint64_t deadline = started + (uint64_t)(timeout_s * 1e9);
    bool ready = driver->ready == FL_BROKER_READY_PORT ? wait_port(ps, p, addr, sc->broker.port, deadline)
                                                        : fl_run_wait(run, broker_listening, ps, deadline);
    if (!ready && (run->interrupted || run->broken))
        return -1;
    if (!ready && p->exited) {
        char status[48];
        fl_run_break(run, "%s %s before it was ready; its log: %s/%s.log", p->name,
                        fl_proc_status_text(p, status, sizeof status), run->workdir, p->name);
        return -1;
    }
    if (!ready) {
        fl_run_break(run, "%s did not %s within %g s; its log: %s/%s.log", p->name,
                        driver->ready == FL_BROKER_READY_PORT ? "accept on its port" : "report listening", timeout_s,
                        run->workdir, p->name);
        return -1;
    }
    ps->broker_listening = true;
    ps->broker_start_s = (double)(fl_now_ns() - started) / 1e9;
    read_back_scheduling(ps, p->pid);
    fl_progress_note(&run->progress, "%s listening on %s after %.1f s (%s)", p->name, listen, ps->broker_start_s,
                     ps->broker_scheduling);
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

static char *swarm_config(fl_run_procs *ps, const fl_proc *p)
{
    fl_run_ctx *run = ps->run;
    const fl_sc_group *g = &run->sc->groups[p->group];
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
    snprintf(broker, sizeof broker, "%s:%u", fl_netem_broker_addr(run->net), run->sc->broker.port);
    const char *source = fl_host_addr(p->host, (size_t)p->part % fl_host_addr_count(p->host));
    /* Each process its own reconnect-jitter stream, the same in every run. */
    json_t *config = json_pack("{s:s, s:I, s:[s], s:[o]}", "broker", broker, "seed",
                               (json_int_t)(run->sc->seed * 1000003 + (uint64_t)(p - ps->swarms)), "sources", source,
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

int fl_run_start_swarm(fl_run_procs *ps, fl_proc *p)
{
    fl_run_ctx *run = ps->run;
    fl_proc_close(p);
    p->ready = false;
    p->expected_exit = false;
    const char *client = run->sc->groups[p->group].client;
    p->program = client ? fl_sc_client_program(client) : NULL;
    char *text = swarm_config(ps, p), err[256];
    fl_proc_env env = proc_env(ps);
    /* nat-expiry latencies count from each connection's last PINGRESP. */
    bool log_pings = false;
    for (size_t i = 0; i < run->sc->nfaults; i++)
        log_pings |= run->sc->faults[i].kind == FL_FAULT_NAT_EXPIRY;
    const char *extra[] = { log_pings ? "--log-pings" : NULL, NULL };
    if (!text || fl_proc_start(p, &env, text, extra, err, sizeof err) < 0) {
        fl_run_break(run, "cannot start %s: %s", p->name, text ? err : "out of memory");
        free(text);
        return -1;
    }
    free(text);
    return 0;
}

int fl_run_start_swarms(fl_run_procs *ps)
{
    fl_run_ctx *run = ps->run;
    const fl_scenario *sc = run->sc;
    size_t n = 0;
    for (size_t g = 0; g < sc->ngroups; g++)
        n += (size_t)sc->groups[g].hosts * fl_group_procs_per_host(&sc->groups[g]);
    ps->swarms = calloc(n ? n : 1, sizeof *ps->swarms);
    if (!ps->swarms)
        return -1;
    for (size_t g = 0; g < sc->ngroups; g++) {
        const fl_sc_group *group = &sc->groups[g];
        unsigned procs = fl_group_procs_per_host(group);
        for (unsigned h = 0; h < group->hosts; h++) {
            for (unsigned k = 0; k < procs; k++) {
                fl_proc *p = &ps->swarms[ps->nswarms++];
                *p = (fl_proc){ .kind = FL_PROC_SWARM, .host = fl_netem_group_host(run->net, g, h), .control_fd = -1,
                                .group = (int)g, .host_index = (int)h, .part = (int)k };
                /* Split evenly; the first processes take the remainder. */
                p->clients = group->clients_per_host / procs + (k < group->clients_per_host % procs);
                if (procs > 1)
                    snprintf(p->name, sizeof p->name, "swarm %s[%u].%u", group->name, h, k);
                else
                    snprintf(p->name, sizeof p->name, "swarm %s[%u]", group->name, h);
                ps->clients_expected += p->clients;
                if (!p->host || fl_run_start_swarm(ps, p) < 0) {
                    if (!p->host)
                        fl_run_break(run, "%s: host missing from the topology", p->name);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* ---- stopping ---- */

static bool all_pipes_closed(void *arg)
{
    fl_run_procs *ps = arg;
    if (ps->broker.events && !fl_evpipe_at_eof(ps->broker.events))
        return false;
    for (size_t i = 0; i < ps->nswarms; i++)
        if (ps->swarms[i].events && !fl_evpipe_at_eof(ps->swarms[i].events))
            return false;
    return true;
}

static bool swarms_closed(void *arg)
{
    fl_run_procs *ps = arg;
    for (size_t i = 0; i < ps->nswarms; i++)
        if (ps->swarms[i].events && !fl_evpipe_at_eof(ps->swarms[i].events) && !ps->swarms[i].exited)
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
void fl_run_stop_processes(fl_run_procs *ps)
{
    fl_run_ctx *run = ps->run;
    bool was_interrupted = run->interrupted, was_broken = run->broken;
    run->interrupted = run->broken = false; /* wait_for must run the loop while draining */
    for (size_t i = 0; i < ps->nswarms; i++) {
        fl_proc *p = &ps->swarms[i];
        p->expected_exit = true;
        /* A swarm logs its final counters as it stops: the traffic it counted. */
        if (p->pid && !fl_proc_reap(p))
            fl_proc_command(p, "stop");
    }
    fl_run_wait(run, swarms_closed, ps, fl_now_ns() + STOP_TIMEOUT_S * FL_NS_PER_S);
    ps->broker.expected_exit = true;
    if (ps->broker.pid && !fl_proc_reap(&ps->broker))
        kill(ps->broker.pid, SIGTERM);
    fl_run_wait(run, all_pipes_closed, ps, fl_now_ns() + STOP_TIMEOUT_S * FL_NS_PER_S);
    for (size_t i = 0; i < ps->nswarms; i++)
        kill_and_reap(&ps->swarms[i]);
    kill_and_reap(&ps->broker);
    /* The helper by its pid, once the broker is gone (epmd outlives its node). */
    if (ps->broker_helper.pid && !fl_proc_reap(&ps->broker_helper))
        kill(ps->broker_helper.pid, SIGTERM);
    kill_and_reap(&ps->broker_helper);
    run->interrupted = was_interrupted || run->interrupted;
    run->broken = was_broken;
}

bool fl_run_swarms_ready(void *arg)
{
    fl_run_procs *ps = arg;
    return ps->swarms_ready == ps->nswarms;
}

void fl_run_procs_free(fl_run_procs *ps)
{
    if (ps->broker.pid || ps->broker.events)
        fl_proc_close(&ps->broker);
    for (size_t i = 0; i < ps->nswarms; i++)
        fl_proc_close(&ps->swarms[i]);
    free(ps->swarms);
    ps->swarms = NULL;
    ps->nswarms = 0;
}
