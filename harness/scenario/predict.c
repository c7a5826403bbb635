#include "harness/scenario/predict.h"
#include "harness/scenario/client_select.h"

#include "harness/brokers/brokers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef FLATLINE_HAVE_SWARM_CONFIG
#include "clients/config.h"
#define SWARM_CONNECT_TIMEOUT_S ((double)SWARM_DEFAULT_CONNECT_TIMEOUT_S)
#else
#define SWARM_CONNECT_TIMEOUT_S 30.0 /* clients/config.h: the runner gives flatline-swarm none */
#endif

/* A rebooted host's clients, from the reboot to their CONNECTs at the broker:
 * the runner's heal (harness/run/run_faults.c), the new process's start, each
 * client's connect and handshake (docs/model.md "Reconnect", measured on this
 * 2-core machine with scenarios/power-loss-reboot.json and copies of it):
 * flatline-swarm with 40 clients 0.013 to 0.049 s after the reboot (6 runs),
 * 0.065 to 0.094 s with both cores kept busy; 1000 clients up to 0.365 s,
 * 5000 up to 1.177 s. The adapters with 40 clients: mqtt.js 1.38 s on its
 * first start (node loading its modules; 0.66 s warm), paho-python 0.34 s,
 * paho-c 0.10 s, paho-go 0.07 s, libmosquitto 0.06 s. */
#define BOOT_SWARM_S 0.25
#define BOOT_ADAPTER_S 3.0
#define CONNECT_EACH_S 0.0003 /* a client more to start and connect (5000 in 1.18 s) */

static double num(const json_t *obj, const char *key, double fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static const char *str(const json_t *obj, const char *key, const char *fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : fallback;
}

static int sysctl_int(const json_t *sysctls, const char *name, int fallback)
{
    const json_t *v = json_object_get(sysctls, name);
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    if (json_is_string(v))
        return atoi(json_string_value(v));
    return fallback;
}

/* {"idle","interval","count"} or "off" / "go-default" (Go's 15 s, 15 s, 9). */
static void tcp_keepalive(const json_t *ka, fl_model_tcp *tcp)
{
    if (json_is_object(ka)) {
        tcp->keepalive = true;
        tcp->idle_s = num(ka, "idle", 7200);
        tcp->interval_s = num(ka, "interval", 75);
        tcp->count = (int)num(ka, "count", 9);
    } else if (json_is_string(ka) && strcmp(json_string_value(ka), "go-default") == 0) {
        tcp->keepalive = true;
        tcp->idle_s = tcp->interval_s = 15;
        tcp->count = 9;
    }
}

int fl_fault_group(const fl_scenario *sc, const fl_sc_fault *f)
{
    if (f->group >= 0)
        return f->group;
    for (size_t i = 0; i < sc->ngroups; i++)
        if (f->middlebox >= 0 && sc->groups[i].behind == f->middlebox)
            return (int)i;
    return -1;
}

static fl_model_strategy strategy_of(const char *kind)
{
    if (strcmp(kind, "miss-tolerant") == 0)
        return FL_MS_MISS_TOLERANT;
    if (strcmp(kind, "probe") == 0)
        return FL_MS_PROBE;
    if (strcmp(kind, "adaptive") == 0)
        return FL_MS_ADAPTIVE;
    if (strcmp(kind, "tcp-only") == 0)
        return FL_MS_TCP_ONLY;
    return FL_MS_MQTT;
}

static void nat_of(const fl_scenario *sc, int mb, fl_model_config *cfg)
{
    cfg->nat.timeout_s = (double)sc->middleboxes[mb].timeout_ns / 1e9;
    cfg->nat.reset = sc->middleboxes[mb].on_expiry == FL_EXPIRY_RESET;
}

void fl_predict_group_config(const fl_scenario *sc, int gi, fl_model_config *cfg)
{
    const fl_sc_group *g = &sc->groups[gi];
    const json_t *opt = sc->broker.options, *swarm = g->swarm;
    fl_model_config_defaults(cfg);

    /* The broker's keep-alive rule is its driver's (grace, periodic check, rounding). */
    sc->broker.driver->rule(sc->broker.object, cfg);
    cfg->broker.duplicate = sc->broker.driver->duplicate(sc->broker.object);
    cfg->broker.idle_timeout_s = num(opt, "idle_timeout", 0);
    tcp_keepalive(json_object_get(opt, "tcp_keepalive"), &cfg->broker.tcp);
    cfg->broker.tcp.user_timeout_s = num(opt, "tcp_user_timeout_ms", 0) / 1000.0;
    cfg->broker.tcp.retries2 = sysctl_int(sc->broker.sysctls, "net.ipv4.tcp_retries2", 15);

    /* The Keep Alive the broker grants and enforces. */
    double ka = g->keepalive;
    double max_ka = num(opt, "max_keepalive", 0);
    if (ka == 0 && num(opt, "keepalive_zero_ceiling", 0) > 0)
        ka = num(opt, "keepalive_zero_ceiling", 0);
    if (max_ka > 0 && ka > max_ka)
        ka = max_ka;
    cfg->client.keepalive_s = ka;
    const json_t *strategy = json_object_get(swarm, "strategy");
    cfg->client.strategy = strategy_of(str(strategy, "kind", "mqtt"));
    cfg->client.ping_timeout_s = num(strategy, "ping_timeout", 0);
    cfg->client.misses = (int)num(strategy, "misses", 0);
    cfg->client.probe_idle_s = num(strategy, "idle", 0);
    cfg->client.probe_interval_s = num(strategy, "interval", 0);
    cfg->client.probe_count = (int)num(strategy, "count", 0);
    cfg->client.adaptive_min_s = num(strategy, "min", 0);
    fl_sc_client_model(g->client, (unsigned)ka, g->client_options, &cfg->client.library_wait_lo_s,
                       &cfg->client.library_wait_hi_s);
    /* A command client runs a program whose rule is its own: no client window. */
    cfg->client.rule_unknown = fl_sc_client_black_box(g->client);
    cfg->client.adaptive_max_s = num(strategy, "max", 0);
    const json_t *workload = json_object_get(swarm, "workload");
    cfg->client.publish_interval_s = num(workload, "publish_interval", 0);
    cfg->client.publish_qos = (int)num(workload, "qos", 0);
    cfg->client.will = json_object_get(swarm, "will") != NULL;
    const json_t *tcp = json_object_get(swarm, "tcp");
    tcp_keepalive(json_object_get(tcp, "keepalive"), &cfg->client.tcp);
    cfg->client.tcp.user_timeout_s = num(tcp, "user_timeout_ms", 0) / 1000.0;
    cfg->client.tcp.retries2 = sysctl_int(g->sysctls, "net.ipv4.tcp_retries2", 15);
    /* unacked_at_fault means bytes already in flight at the fault; the model
     * itself sweeps a publishing client's next send after it. */

    if (g->behind >= 0)
        nat_of(sc, g->behind, cfg);
    if (g->link >= 0)
        cfg->rtt_s = 2 * sc->links[g->link].delay_ms / 1000.0;
}

void fl_predict_boot_window(const char *adapter, unsigned clients, double spread_s, double *lo_s, double *hi_s)
{
    *lo_s = 0;
    *hi_s = (adapter ? BOOT_ADAPTER_S : BOOT_SWARM_S) + CONNECT_EACH_S * clients + spread_s;
}

/* The hosts fault f cuts in group g (harness/run/topology.c picks a fraction
 * rounded up). */
static unsigned hosts_cut(const fl_sc_group *g, const fl_sc_fault *f)
{
    if (f->host >= 0)
        return 1;
    if (f->fraction > 0)
        return (unsigned)(f->fraction * g->hosts + 0.999999);
    return g->hosts;
}

/* The group's reconnect as flatline-swarm runs it (clients/config.c
 * parse_reconnect, clients/backoff.c, clients/client_core.c die()): the first
 * attempt after a live connection waits delay(0); fixed: the delay (1 s by
 * default); backoff: full jitter, 0..min(cap, base) (0.5 s and 30 s by
 * default), the next attempt 0..min(cap, 2 base). */
static void swarm_reconnect(const json_t *swarm, fl_model_reconnect *r)
{
    const json_t *rc = json_object_get(swarm, "reconnect");
    const char *kind = str(rc, "kind", "none");
    if (strcmp(kind, "fixed") == 0) {
        r->enabled = true;
        r->delay_lo_s = r->delay_hi_s = r->retry_delay_hi_s = num(rc, "delay", 1);
    } else if (strcmp(kind, "backoff") == 0) {
        double base = num(rc, "base", 0.5), cap = num(rc, "cap", 30);
        r->enabled = true;
        r->delay_lo_s = 0;
        r->delay_hi_s = fmin(cap, base);
        r->retry_delay_hi_s = fmin(cap, 2 * base);
    }
    r->attempt_s = SWARM_CONNECT_TIMEOUT_S;
}

/* The client coming back with its client id (model.h fl_model_reconnect):
 * after a reboot every client kind but a black box starts again at once;
 * after a heal, flatline-swarm reconnects as configured. An adapter's library
 * reconnects by its own rule (docs/clients.md), not modelled: its reconnect
 * is left off. */
static void reconnect_of(const fl_scenario *sc, const fl_sc_fault *f, int gi, fl_model_config *cfg)
{
    const fl_sc_group *g = &sc->groups[gi];
    double spread = (double)g->connect_spread_ns / 1e9;
    if (f->kind == FL_FAULT_POWER_LOSS && f->restore_after_ns && !fl_sc_client_black_box(g->client))
        fl_predict_boot_window(g->client, hosts_cut(g, f) * g->clients_per_host, spread, &cfg->reconnect.boot_lo_s,
                               &cfg->reconnect.boot_hi_s);
    if (!g->client) {
        swarm_reconnect(g->swarm, &cfg->reconnect);
        /* The swarm's connect ramp: the spread's rate, or each connect's own cost. */
        cfg->reconnect.ramp_s = spread > 0 ? spread : CONNECT_EACH_S * g->clients_per_host;
    }
}

int fl_predict_config(const fl_scenario *sc, const fl_sc_fault *f, fl_model_config *cfg)
{
    int gi = fl_fault_group(sc, f);
    if (gi < 0)
        return -1;
    fl_predict_group_config(sc, gi, cfg);
    if (f->middlebox >= 0)
        nat_of(sc, f->middlebox, cfg);
    switch (f->kind) {
    case FL_FAULT_CABLE_PULL:
        /* The client's own carrier goes: its kernel holds back sends for a
         * while before its timers run (docs/model.md, "Cable pull"). */
        cfg->client.carrier_lost = true;
        cfg->fault = FL_MF_SILENT;
        break;
    case FL_FAULT_PARTITION: cfg->fault = FL_MF_SILENT; break;
    case FL_FAULT_POWER_LOSS: cfg->fault = FL_MF_POWER_LOSS; break;
    case FL_FAULT_EXPIRE_NOW: cfg->fault = FL_MF_NAT_EXPIRE; break;
    case FL_FAULT_NAT_EXPIRY: cfg->fault = FL_MF_NAT_TIMEOUT; break;
    case FL_FAULT_DEGRADE: cfg->fault = FL_MF_DEGRADE; break;
    }
    cfg->fault_duration_s = (double)f->duration_ns / 1e9;
    cfg->reboot_after_s = (double)f->restore_after_ns / 1e9;
    cfg->reference = FL_REF_FAULT;
    reconnect_of(sc, f, gi, cfg);
    return 0;
}
