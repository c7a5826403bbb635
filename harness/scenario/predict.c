#include "harness/scenario/predict.h"
#include "harness/scenario/client_select.h"

#include "harness/brokers/brokers.h"

#include <stdlib.h>
#include <string.h>

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
    return 0;
}
