/* flatline-swarm: thousands of MQTT clients in one process, each with its
 * group's heartbeat strategy, TCP options and reconnect policy. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clients/config.h"
#include "clients/control.h"
#include "clients/swarm.h"
#include "core/clock.h"
#include "core/evlog.h"
#include "core/loop.h"

#include "core/exit.h"
enum { EXIT_USAGE = FL_EXIT_USAGE, EXIT_FDLIMIT = FL_EXIT_MACHINE, EXIT_RUNTIME = FL_EXIT_BROKEN };

static void usage(FILE *f)
{
    fputs("usage: flatline-swarm --broker ADDR:PORT --clients N --keepalive SECONDS [options]\n"
          "       flatline-swarm --config FILE [--broker ADDR:PORT] [--source ...] [--seed N] [options]\n"
          "\n"
          "  --broker ADDR:PORT     the broker (IPv4, [IPv6] or a name)\n"
          "  --clients N            number of clients (one group, without --config)\n"
          "  --keepalive SECONDS    MQTT Keep Alive asked for in CONNECT (0..65535)\n"
          "  --strategy NAME        mqtt (default), miss-tolerant, probe, adaptive, tcp-only\n"
          "  --ping-timeout S       how long a PINGREQ may go unanswered (default Keep Alive / 2)\n"
          "  --id-prefix P          client ids P0, P1, ... (default {host}-{pid}-{group}-{n})\n"
          "  --version 4|5          MQTT 3.1.1 or 5.0 (default 4)\n"
          "  --source ADDR[,ADDR]   bind clients round-robin to these local addresses\n"
          "  --seed N               seed of the reconnect jitter (default 1)\n"
          "  --events FILE|-|fd:N   the JSON-lines event log (docs/events.md)\n"
          "  --control fd:N         line commands: stop, kill, counters, status\n"
          "  --config FILE          groups, strategies, TCP options, workload (docs/swarm.md)\n"
          "  --log-pings            log ping_sent and pingresp events (numerous)\n"
          "  --inflight N           connects in flight at once (default 256)\n"
          "  --rate N               connects started per second (default: no limit)\n"
          "  --duration S           stop (with DISCONNECT) after S seconds\n"
          "  --help\n"
          "\n"
          "exit: 0 ok, 2 bad usage or configuration, 3 too many clients for RLIMIT_NOFILE,\n"
          "      4 runtime failure. SIGTERM/SIGINT stop, SIGUSR1 prints counters to stderr.\n",
          f);
}

static int bad(const char *flag, const char *fmt, const char *value)
{
    fprintf(stderr, "flatline-swarm: %s: ", flag);
    fprintf(stderr, fmt, value);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || errno || text[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static int split_sources(const char *list, swarm_config *cfg)
{
    for (size_t i = 0; i < cfg->nsources; i++)
        free(cfg->sources[i]);
    free(cfg->sources);
    cfg->sources = NULL;
    cfg->nsources = 0;
    char *copy = strdup(list), *save = NULL;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    cfg->sources = calloc(n, sizeof *cfg->sources);
    if (!copy || !cfg->sources) {
        free(copy);
        return -1;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        cfg->sources[cfg->nsources++] = strdup(tok);
    free(copy);
    return 0;
}

/* Raises the soft limit as far as needed (and allowed); refuses when even the
 * hard limit is too low, so that the runner can split the swarm. */
static int check_fd_limit(uint64_t clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    uint64_t need = clients + SWARM_FD_OVERHEAD;
    if (need > rl.rlim_cur && rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = rl;
        raised.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    if (need <= rl.rlim_cur)
        return 0;
    uint64_t per = rl.rlim_cur > SWARM_FD_OVERHEAD ? rl.rlim_cur - SWARM_FD_OVERHEAD : 0;
    fprintf(stderr,
            "flatline-swarm: %llu clients + %u descriptors of overhead = %llu > RLIMIT_NOFILE %llu (hard %llu); "
            "split the swarm: at most %llu clients a process\n",
            (unsigned long long)clients, SWARM_FD_OVERHEAD, (unsigned long long)need,
            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, (unsigned long long)per);
    return EXIT_FDLIMIT;
}

static void on_duration(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    (void)now;
    swarm_stop(arg);
}

enum {
    OPT_BROKER = 256, OPT_CLIENTS, OPT_KEEPALIVE, OPT_STRATEGY, OPT_PING_TIMEOUT, OPT_ID_PREFIX, OPT_VERSION,
    OPT_SOURCE, OPT_SEED, OPT_EVENTS, OPT_CONTROL, OPT_CONFIG, OPT_LOG_PINGS, OPT_INFLIGHT, OPT_RATE, OPT_DURATION, OPT_HELP,
};

/* What the command line asked for. */
typedef struct cli {
    const char *broker, *strategy, *id_prefix, *sources, *events, *control, *config;
    const char *group_flag; /* the last flag that shapes the one group (refused with --config) */
    uint64_t clients, keepalive, version, seed, inflight, ping_timeout, duration, rate;
    bool have_rate, have_clients, have_keepalive, have_seed;
    swarm_options sopt;
} cli;

#define CONTINUE (-1) /* parsing goes on; anything else is the exit code */

static int parse_option(cli *a, int o, char **argv)
{
    switch (o) {
    case OPT_BROKER:
        a->broker = optarg;
        break;
    case OPT_CLIENTS:
        if (!parse_u64(optarg, 1000000, &a->clients) || a->clients == 0)
            return bad("--clients", "'%s' is not a count 1..1000000", optarg);
        a->have_clients = true, a->group_flag = "--clients";
        break;
    case OPT_KEEPALIVE:
        if (!parse_u64(optarg, 65535, &a->keepalive))
            return bad("--keepalive", "'%s' is not whole seconds 0..65535", optarg);
        a->have_keepalive = true, a->group_flag = "--keepalive";
        break;
    case OPT_STRATEGY: {
        hb_kind k;
        if (!hb_kind_parse(optarg, &k))
            return bad("--strategy", "unknown '%s' (mqtt, miss-tolerant, probe, adaptive, tcp-only)", optarg);
        a->strategy = optarg, a->group_flag = "--strategy";
        break;
    }
    case OPT_PING_TIMEOUT:
        if (!swarm_parse_seconds(optarg, &a->ping_timeout))
            return bad("--ping-timeout", "'%s' is not seconds >= 0", optarg);
        a->group_flag = "--ping-timeout";
        break;
    case OPT_ID_PREFIX:
        a->id_prefix = optarg, a->group_flag = "--id-prefix";
        break;
    case OPT_VERSION:
        if (!parse_u64(optarg, 5, &a->version) || a->version < 4)
            return bad("--version", "'%s' is not 4 (MQTT 3.1.1) or 5", optarg);
        a->group_flag = "--version";
        break;
    case OPT_SOURCE:
        a->sources = optarg;
        break;
    case OPT_SEED:
        if (!parse_u64(optarg, INT64_MAX, &a->seed))
            return bad("--seed", "'%s' is not a non-negative integer", optarg);
        a->have_seed = true;
        break;
    case OPT_EVENTS:
        a->events = optarg;
        break;
    case OPT_CONTROL:
        a->control = optarg;
        break;
    case OPT_CONFIG:
        a->config = optarg;
        break;
    case OPT_LOG_PINGS:
        a->sopt.log_pings = true;
        break;
    case OPT_INFLIGHT:
        if (!parse_u64(optarg, 100000, &a->inflight) || a->inflight == 0)
            return bad("--inflight", "'%s' is not a count 1..100000", optarg);
        break;
    case OPT_RATE:
        if (!parse_u64(optarg, 10000000, &a->rate))
            return bad("--rate", "'%s' is not connects a second 0..10000000", optarg);
        a->have_rate = true;
        break;
    case OPT_DURATION:
        if (!swarm_parse_seconds(optarg, &a->duration) || a->duration == 0)
            return bad("--duration", "'%s' is not seconds > 0", optarg);
        break;
    case OPT_HELP:
        usage(stdout);
        return 0;
    default:
        fprintf(stderr, "flatline-swarm: unknown or incomplete option '%s'\n", argv[optind - 1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return CONTINUE;
}

static int parse_args(int argc, char **argv, cli *a)
{
    static const struct option opts[] = {
        { "broker", required_argument, 0, OPT_BROKER }, { "clients", required_argument, 0, OPT_CLIENTS },
        { "keepalive", required_argument, 0, OPT_KEEPALIVE }, { "strategy", required_argument, 0, OPT_STRATEGY },
        { "ping-timeout", required_argument, 0, OPT_PING_TIMEOUT },
        { "id-prefix", required_argument, 0, OPT_ID_PREFIX }, { "version", required_argument, 0, OPT_VERSION },
        { "source", required_argument, 0, OPT_SOURCE }, { "seed", required_argument, 0, OPT_SEED },
        { "events", required_argument, 0, OPT_EVENTS }, { "control", required_argument, 0, OPT_CONTROL },
        { "config", required_argument, 0, OPT_CONFIG }, { "log-pings", no_argument, 0, OPT_LOG_PINGS },
        { "inflight", required_argument, 0, OPT_INFLIGHT }, { "rate", required_argument, 0, OPT_RATE },
        { "duration", required_argument, 0, OPT_DURATION },
        { "help", no_argument, 0, OPT_HELP }, { 0, 0, 0, 0 },
    };
    memset(a, 0, sizeof *a);
    a->version = 4;
    a->seed = 1;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = parse_option(a, o, argv);
        if (rc != CONTINUE)
            return rc;
    }
    if (optind < argc)
        return bad("arguments", "unexpected '%s'", argv[optind]);
    return CONTINUE;
}

/* The prefix is literal: its braces doubled, then {n}. NULL: out of memory. */
static char *prefix_pattern(const char *id_prefix)
{
    size_t len = strlen(id_prefix);
    char *pat = malloc(2 * len + 4), *w = pat;
    for (const char *p = id_prefix; pat && *p; p++) {
        *w++ = *p;
        if (*p == '{' || *p == '}')
            *w++ = *p;
    }
    if (pat)
        strcpy(w, "{n}");
    return pat;
}

/* The --config file, with --broker and --seed over it. */
static int config_from_file(const cli *a, swarm_config *cfg)
{
    char err[512];
    if (a->group_flag)
        return bad(a->group_flag, "%s", "not with --config: set it in the config's groups");
    if (swarm_config_load(a->config, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "flatline-swarm: %s: %s\n", a->config, err);
        return EXIT_USAGE;
    }
    if (a->broker) {
        free(cfg->broker);
        cfg->broker = strdup(a->broker);
    }
    if (a->have_seed)
        cfg->seed = a->seed;
    return CONTINUE;
}

/* One group named "default" from the flags. */
static int config_from_flags(const cli *a, swarm_config *cfg)
{
    if (!a->broker || !a->have_clients || !a->have_keepalive) {
        fprintf(stderr, "flatline-swarm: --broker, --clients and --keepalive are needed (or --config)\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->broker = strdup(a->broker);
    cfg->seed = a->seed;
    cfg->inflight = SWARM_DEFAULT_INFLIGHT;
    cfg->connect_timeout_ns = SWARM_DEFAULT_CONNECT_TIMEOUT_S * FL_NS_PER_S;
    cfg->groups = calloc(1, sizeof *cfg->groups);
    cfg->ngroups = 1;
    if (!cfg->groups || swarm_group_defaults(&cfg->groups[0], "default") < 0) {
        fprintf(stderr, "flatline-swarm: out of memory\n");
        return EXIT_RUNTIME;
    }
    swarm_group *g = &cfg->groups[0];
    g->clients = (uint32_t)a->clients;
    g->keepalive_s = (uint16_t)a->keepalive;
    g->version = (uint8_t)a->version;
    if (a->strategy) {
        hb_kind k;
        hb_kind_parse(a->strategy, &k);
        swarm_strategy_defaults(&g->strategy, k);
    }
    g->strategy.ping_timeout_ns = a->ping_timeout;
    if (a->id_prefix) {
        free(g->id_pattern);
        g->id_pattern = prefix_pattern(a->id_prefix);
    }
    if (!cfg->broker || !g->id_pattern) {
        fprintf(stderr, "flatline-swarm: out of memory\n");
        return EXIT_RUNTIME;
    }
    return CONTINUE;
}

/* The configuration the flags and the file describe, checked. */
static int build_config(const cli *a, swarm_config *cfg)
{
    int rc = a->config ? config_from_file(a, cfg) : config_from_flags(a, cfg);
    if (rc != CONTINUE)
        return rc;
    if (a->sources && split_sources(a->sources, cfg) < 0) {
        fprintf(stderr, "flatline-swarm: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (a->inflight)
        cfg->inflight = (uint32_t)a->inflight;
    if (a->have_rate)
        cfg->connect_rate = (uint32_t)a->rate;
    char err[512];
    if (swarm_config_validate(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "flatline-swarm: %s%s\n", a->config ? "" : "(from the flags) ", err);
        swarm_config_free(cfg);
        return EXIT_USAGE;
    }
    return CONTINUE;
}

/* Runs the swarm until it is stopped; the exit code. */
static int run(const cli *a, const swarm_config *cfg, int control_fd)
{
    char err[512];
    fl_evlog *log = fl_evlog_open(a->events, "swarm", err, sizeof err);
    if (!log) {
        fprintf(stderr, "flatline-swarm: --events: %s\n", err);
        return EXIT_USAGE;
    }
    int rc = EXIT_RUNTIME;
    fl_loop *loop = fl_loop_new();
    swarm *s = NULL;
    swarm_control *ctl = NULL;
    if (!loop) {
        fprintf(stderr, "flatline-swarm: epoll: %s\n", strerror(errno));
        goto out;
    }
    fl_loop_track_wake(loop); /* each dead_detected says how late its loop pass ran */
    s = swarm_new(loop, cfg, log, &a->sopt, err, sizeof err);
    if (!s) {
        fprintf(stderr, "flatline-swarm: %s\n", err);
        rc = EXIT_USAGE; /* an address that does not parse */
        goto out;
    }
    ctl = control_open(loop, s, control_fd, err, sizeof err);
    if (!ctl) {
        fprintf(stderr, "flatline-swarm: %s\n", err);
        goto out;
    }
    fl_timer stop_timer;
    fl_timer_init(&stop_timer, on_duration, s);
    if (a->duration)
        fl_loop_timer_set(loop, &stop_timer, fl_now_ns() + a->duration);
    swarm_start(s);
    if (fl_loop_run(loop) < 0) {
        fprintf(stderr, "flatline-swarm: event loop: %s\n", strerror(errno));
        goto out;
    }
    fl_loop_timer_cancel(loop, &stop_timer);
    swarm_emit_counters(s);
    rc = 0;
out:
    control_close(ctl);
    swarm_free(s);
    fl_loop_free(loop);
    fl_evlog_close(log);
    return rc;
}

int main(int argc, char **argv)
{
    cli a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CONTINUE)
        return rc;
    swarm_config cfg;
    rc = build_config(&a, &cfg);
    if (rc != CONTINUE)
        return rc;
    int control_fd = -1;
    if (a.control && (control_fd = control_parse_fd(a.control)) < 0) {
        swarm_config_free(&cfg);
        return bad("--control", "'%s' is not fd:N with N an open descriptor", a.control);
    }
    rc = check_fd_limit(swarm_config_total_clients(&cfg));
    if (rc == 0)
        rc = run(&a, &cfg, control_fd);
    swarm_config_free(&cfg);
    return rc;
}
