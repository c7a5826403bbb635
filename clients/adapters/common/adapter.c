#include "adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clients/pattern.h"
#include "core/clock.h"
#include "core/evlog.h"

/* One log for the process; fl_evlog_emit is one write(2) a line, so threads
 * may share it. */
static fl_evlog *g_log;
static adapter *g_adapter;

static int usage_error(const adapter *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const adapter *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "flatline-adapter-%s: ", a->desc->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return ADAPTER_EXIT_USAGE;
}

static void on_signal(int sig)
{
    (void)sig;
    if (g_adapter)
        atomic_store(&g_adapter->stop, true);
}

static void *control_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char line[256];
    size_t len = 0;
    for (;;) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL; /* EOF ends the commands, not the adapter (as the swarm) */
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && len < sizeof line - 1) {
                line[len++] = buf[i];
                continue;
            }
            line[len] = '\0';
            len = 0;
            if (strcmp(line, "stop") == 0)
                atomic_store(&g_adapter->stop, true);
            else if (strcmp(line, "kill") == 0)
                _exit(0);
            else if (strcmp(line, "counters") == 0)
                adapter_counters(g_adapter);
            else if (*line)
                fprintf(stderr, "flatline-adapter-%s: control: unknown command '%s' (stop, kill, counters)\n",
                        g_adapter->desc->name, line);
        }
    }
}

/* "fd:N" with N open, as flatline-swarm's --control; -1 otherwise. */
static int parse_fd(const char *spec)
{
    char *end;
    if (strncmp(spec, "fd:", 3) != 0)
        return -1;
    long fd = strtol(spec + 3, &end, 10);
    return end == spec + 3 || *end || fd < 0 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0 ? -1 : (int)fd;
}

/* A command: the program and its arguments, all strings. */
static bool argv_ok(const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s))
            return false;
    }
    return true;
}

/* Takes the adapter's own fields out of the configuration, refusing what the
 * library cannot do, so that the rest is the swarm's format and its parser
 * checks it with the same messages. */
static int strip_and_check(adapter *a, json_t *root)
{
    static const char *const top_refused[] = {
        "inflight: the library connects each client on its own; there is no shared connect ramp",
        "connect_rate: the library connects each client on its own; there is no shared connect ramp",
        "connect_timeout: not mapped onto the library's connect timeout", NULL,
    };
    for (const char *const *p = top_refused; *p; p++) {
        const char *colon = strchr(*p, ':');
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(colon - *p), *p);
        if (json_object_get(root, key))
            return usage_error(a, "%s: %s: %s", key, a->desc->name, colon + 2);
    }
    json_t *src = json_object_get(root, "sources");
    if (src && !a->info->sources && json_array_size(src) > 0)
        return usage_error(a, "sources: %s cannot bind a local address", a->desc->name);
    json_t *groups = json_object_get(root, "groups");
    size_t ng = json_array_size(groups);
    a->options = calloc(ng ? ng : 1, sizeof *a->options);
    for (size_t i = 0; i < ng; i++) {
        json_t *g = json_array_get(groups, i);
        if (!json_is_object(g))
            continue; /* the swarm's parser says what is wrong */
        const char *key, *reason;
        json_t *v;
        json_object_foreach(g, key, v) {
            if ((reason = fl_adapter_refuses(a->info, key)))
                return usage_error(a, "groups[%zu].%s: %s %s", i, key, a->desc->name, reason);
        }
        json_t *ver = json_object_get(g, "version");
        if (ver && !(json_is_number(ver) && json_number_value(ver) == 4))
            return usage_error(a, "groups[%zu].version: %s runs MQTT 3.1.1 (4) only", i, a->desc->name);
        json_t *ka = json_object_get(g, "keepalive");
        if (ka && json_is_number(ka) && json_number_value(ka) != 0 && json_number_value(ka) < a->info->min_keepalive)
            return usage_error(a, "groups[%zu].keepalive: %s takes 0 or at least %u s (%s)", i, a->desc->name,
                               a->info->min_keepalive, a->info->min_keepalive_why);
        json_t *client = json_object_get(g, "client");
        if (client && !(json_is_string(client) && strcmp(json_string_value(client), a->desc->name) == 0))
            return usage_error(a, "groups[%zu].client: this program is the %s adapter", i, a->desc->name);
        json_t *opts = json_object_get(g, "client_options");
        if (opts && !json_is_object(opts))
            return usage_error(a, "groups[%zu].client_options: must be an object", i);
        json_object_foreach(opts, key, v) {
            const char *type = fl_adapter_option_type(a->info, key);
            if (!type)
                return usage_error(a, "groups[%zu].client_options.%s: %s has no such option", i, key, a->desc->name);
            bool ok = strcmp(type, "seconds") == 0 ? json_is_number(v) && json_number_value(v) >= 0
                      : strcmp(type, "count") == 0 ? json_is_integer(v) && json_integer_value(v) >= 0
                      : strcmp(type, "argv") == 0  ? argv_ok(v)
                                                   : json_is_boolean(v);
            if (!ok)
                return usage_error(a, "groups[%zu].client_options.%s: must be %s", i, key,
                                   strcmp(type, "seconds") == 0 ? "seconds >= 0"
                                   : strcmp(type, "count") == 0 ? "an integer >= 0"
                                   : strcmp(type, "argv") == 0  ? "a non-empty array of strings (the program first)"
                                                                : "true or false");
        }
        a->options[i] = opts ? json_incref(opts) : json_object();
        json_object_del(g, "client_options");
        json_object_del(g, "client");
    }
    return 0;
}

static int load_config(adapter *a, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return usage_error(a, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return usage_error(a, "%s: config: must be a JSON object", path);
    }
    int rc = strip_and_check(a, root);
    char *text = rc ? NULL : json_dumps(root, 0), err[512];
    json_decref(root);
    if (rc)
        return rc;
    if (swarm_config_parse(text, &a->cfg, err, sizeof err) < 0) {
        free(text);
        return usage_error(a, "%s: %s", path, err);
    }
    free(text);
    return 0;
}

static int split_broker(adapter *a)
{
    const char *b = a->cfg.broker, *colon = strrchr(b, ':');
    if (!colon || colon == b)
        return usage_error(a, "broker: '%s' is not ADDR:PORT", b);
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535)
        return usage_error(a, "broker: '%s' has no port 1..65535", b);
    size_t len = (size_t)(colon - b);
    if (b[0] == '[' && colon[-1] == ']')
        b++, len -= 2;
    snprintf(a->broker_host, sizeof a->broker_host, "%.*s", (int)len, b);
    a->broker_port = (uint16_t)port;
    return 0;
}

static int check_fd_limit(adapter *a)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    uint64_t need = (uint64_t)a->nclients + a->desc->fd_overhead;
    if (need > rl.rlim_cur && rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = rl;
        raised.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    if (need <= rl.rlim_cur)
        return 0;
    fprintf(stderr,
            "flatline-adapter-%s: %u clients + %u descriptors of overhead = %llu > RLIMIT_NOFILE %llu (hard %llu); "
            "split the swarm: at most %llu clients a process\n",
            a->desc->name, a->nclients, a->desc->fd_overhead, (unsigned long long)need,
            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
            (unsigned long long)(rl.rlim_cur > a->desc->fd_overhead ? rl.rlim_cur - a->desc->fd_overhead : 0));
    return ADAPTER_EXIT_FDLIMIT;
}

static int make_clients(adapter *a)
{
    a->nclients = (uint32_t)swarm_config_total_clients(&a->cfg);
    a->clients = calloc(a->nclients ? a->nclients : 1, sizeof *a->clients);
    if (!a->clients)
        return ADAPTER_EXIT_RUNTIME;
    uint32_t i = 0;
    for (uint32_t g = 0; g < a->cfg.ngroups; g++) {
        const swarm_group *grp = &a->cfg.groups[g];
        for (uint32_t n = 0; n < grp->clients; n++, i++) {
            adapter_client *c = &a->clients[i];
            c->index = i, c->group = g, c->n = n;
            pattern_vars v = { .n = n, .i = i, .group = grp->name, .host = a->host, .pid = (long)getpid() };
            pattern_expand(grp->id_pattern, &v, c->id, sizeof c->id);
            snprintf(c->conn, sizeof c->conn, "?");
        }
    }
    return 0;
}

enum { OPT_CONFIG = 256, OPT_EVENTS, OPT_CONTROL, OPT_BROKER, OPT_SEED, OPT_LOG_PINGS, OPT_DURATION, OPT_HELP };

int adapter_init(adapter *a, const adapter_desc *d, int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, 0, OPT_CONFIG }, { "events", required_argument, 0, OPT_EVENTS },
        { "control", required_argument, 0, OPT_CONTROL }, { "broker", required_argument, 0, OPT_BROKER },
        { "seed", required_argument, 0, OPT_SEED }, { "log-pings", no_argument, 0, OPT_LOG_PINGS },
        { "duration", required_argument, 0, OPT_DURATION }, { "help", no_argument, 0, OPT_HELP }, { 0, 0, 0, 0 },
    };
    memset(a, 0, sizeof *a);
    a->desc = d;
    g_adapter = a;
    if (!(a->info = fl_adapter_find(d->name))) {
        fprintf(stderr, "flatline-adapter-%s: not in clients/adapters/table.c\n", d->name);
        return ADAPTER_EXIT_RUNTIME;
    }
    const char *config = NULL, *events = NULL, *control = NULL, *broker = NULL, *seed = NULL;
    uint64_t duration = 0;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case OPT_CONFIG: config = optarg; break;
        case OPT_EVENTS: events = optarg; break;
        case OPT_CONTROL: control = optarg; break;
        case OPT_BROKER: broker = optarg; break;
        case OPT_SEED: seed = optarg; break;
        case OPT_LOG_PINGS: a->log_pings = true; break;
        case OPT_DURATION:
            if (!swarm_parse_seconds(optarg, &duration) || duration == 0)
                return usage_error(a, "--duration: '%s' is not seconds > 0", optarg);
            break;
        case OPT_HELP:
            printf("usage: flatline-adapter-%s --config FILE [--events FILE|-|fd:N] [--control fd:N]\n"
                   "       [--broker ADDR:PORT] [--seed N] [--log-pings] [--duration S]\n"
                   "The swarm's interface (docs/swarm.md) over the %s library (docs/clients.md).\n",
                   d->name, d->name);
            exit(0);
        default:
            return usage_error(a, "unknown or incomplete option '%s' (--help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(a, "unexpected '%s'", argv[optind]);
    if (!config)
        return usage_error(a, "--config FILE is needed (the swarm's configuration, docs/swarm.md)");
    if (gethostname(a->host, sizeof a->host) < 0)
        snprintf(a->host, sizeof a->host, "host");
    int rc = load_config(a, config);
    if (rc)
        return rc;
    if (broker) {
        free(a->cfg.broker);
        a->cfg.broker = strdup(broker);
    }
    if (seed) {
        char *end;
        a->cfg.seed = strtoull(seed, &end, 10);
        if (*end || end == seed)
            return usage_error(a, "--seed: '%s' is not a non-negative integer", seed);
    }
    if ((rc = split_broker(a)) || (rc = make_clients(a)) || (rc = check_fd_limit(a)))
        return rc;
    int control_fd = -1;
    if (control && (control_fd = parse_fd(control)) < 0)
        return usage_error(a, "--control: '%s' is not fd:N with N an open descriptor", control);
    char err[256];
    if (!(g_log = fl_evlog_open(events, "swarm", err, sizeof err)))
        return usage_error(a, "--events: %s", err);
    if (duration)
        a->stop_at_ns = fl_now_ns() + duration;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (control_fd >= 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, control_thread, (void *)(intptr_t)control_fd) != 0) {
            fprintf(stderr, "flatline-adapter-%s: control thread: %s\n", d->name, strerror(errno));
            return ADAPTER_EXIT_RUNTIME;
        }
        pthread_detach(t);
    }
    return 0;
}

void adapter_finish(adapter *a)
{
    adapter_counters(a);
    fl_evlog_close(g_log);
    g_log = NULL;
    for (uint32_t g = 0; g < a->cfg.ngroups; g++)
        json_decref(a->options[g]);
    free(a->options);
    free(a->clients);
    swarm_config_free(&a->cfg);
}

bool adapter_should_stop(adapter *a)
{
    if (a->stop_at_ns && fl_now_ns() >= a->stop_at_ns)
        atomic_store(&a->stop, true);
    return atomic_load(&a->stop);
}

const json_t *adapter_option(const adapter *a, uint32_t g, const char *key)
{
    return json_object_get(a->options[g], key);
}

double adapter_option_seconds(const adapter *a, uint32_t g, const char *key, double def)
{
    const json_t *v = adapter_option(a, g, key);
    return v ? json_number_value(v) : def;
}

void adapter_expand(const adapter *a, const adapter_client *c, const char *pattern, char *out, size_t cap)
{
    pattern_vars v = { .n = c->n, .i = c->index, .id = c->id, .group = a->cfg.groups[c->group].name,
                       .host = a->host, .pid = (long)getpid() };
    pattern_expand(pattern, &v, out, cap);
}

static const char *gname(const adapter *a, const adapter_client *c) { return a->cfg.groups[c->group].name; }

void adapter_connected(adapter *a, adapter_client *c)
{
    uint64_t t = fl_now_ns();
    c->connected = true;
    fl_evlog_emit_at(g_log, t, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "ev", "connected", "client_id", c->id,
                                         "conn", c->conn, "broker", a->cfg.broker, "keepalive",
                                         (int)a->cfg.groups[c->group].keepalive_s, "group", gname(a, c), "attempt",
                                         (int)c->attempt));
    atomic_fetch_add(&a->connected_now, 1);
    if (c->ever_connected) {
        atomic_fetch_add(&a->reconnects, 1);
        fl_evlog_emit_at(g_log, t, json_pack("{s:s, s:s, s:s, s:i}", "ev", "reconnected", "client_id", c->id, "conn",
                                             c->conn, "attempt", (int)c->attempt));
        return;
    }
    c->ever_connected = true;
    if (atomic_fetch_add(&a->ever_connected, 1) + 1 == a->nclients && !atomic_exchange(&a->ready_sent, true))
        fl_evlog_emit_at(g_log, t, json_pack("{s:s, s:i}", "ev", "ready", "clients", (int)a->nclients));
}

void adapter_dead_at(adapter *a, adapter_client *c, uint64_t t, const char *reason, const char *library_reason)
{
    if (!c->connected)
        return; /* a library that reports one loss twice */
    c->connected = false;
    atomic_fetch_sub(&a->connected_now, 1);
    atomic_fetch_add(&a->dead, 1);
    fl_evlog_emit_at(g_log, t, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ev", "dead_detected", "client_id", c->id,
                                         "conn", c->conn, "reason", reason, "library_reason", library_reason, "group",
                                         gname(a, c)));
}

void adapter_dead(adapter *a, adapter_client *c, const char *reason, const char *library_reason)
{
    adapter_dead_at(a, c, fl_now_ns(), reason, library_reason);
}

void adapter_reconnect_attempt(adapter *a, adapter_client *c, uint64_t delay_ns)
{
    c->attempt++;
    fl_evlog_emit(g_log, json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "ev", "reconnect_attempt", "client_id", c->id,
                                   "conn", c->conn, "group", gname(a, c), "attempt", (int)c->attempt, "delay",
                                   (json_int_t)delay_ns));
}

void adapter_pingresp(adapter *a, adapter_client *c)
{
    if (a->log_pings)
        fl_evlog_emit(g_log, json_pack("{s:s, s:s, s:s, s:s}", "ev", "pingresp", "client_id", c->id, "conn", c->conn,
                                       "group", gname(a, c)));
}

void adapter_will_received(adapter *a, adapter_client *c, const char *topic, const char *payload, bool retained)
{
    atomic_fetch_add(&a->wills, 1);
    fl_evlog_emit(g_log, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "ev", "will_received", "client_id", c->id,
                                   "conn", c->conn, "group", gname(a, c), "whose", payload, "topic", topic, "retained",
                                   retained));
}

void adapter_counters(adapter *a)
{
    unsigned now = atomic_load(&a->connected_now);
    fl_evlog_emit(g_log, json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "ev", "counters", "clients",
                                   (int)a->nclients, "connected", (int)now, "connecting", (int)(a->nclients - now),
                                   "dead", (int)atomic_load(&a->dead), "reconnects", (int)atomic_load(&a->reconnects),
                                   "wills", (int)atomic_load(&a->wills), "library", a->desc->name));
}
