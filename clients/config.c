#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define NS_PER_S 1e9

/* The path of the field being read, for error messages: "groups[2].tcp.idle". */
typedef struct ctx {
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *c, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", path, msg);
    return -1;
}

static void sub(char *out, size_t len, const char *path, const char *key)
{
    /* A path too deep for the buffer is cut short; its start still names the field. */
    if (snprintf(out, len, "%s%s%s", path, *path ? "." : "", key) >= (int)len)
        out[len - 1] = '\0';
}

/* Rejects keys the schema does not know: a typo must not silently become a default. */
static int only_keys(ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, key) == 0;
        if (!ok) {
            char p[160];
            sub(p, sizeof p, path, key);
            return fail(c, p, "unknown field");
        }
    }
    return 0;
}

static int get_seconds(ctx *c, json_t *obj, const char *path, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160];
    sub(p, sizeof p, path, key);
    if (!json_is_number(v))
        return fail(c, p, "must be a number of seconds");
    double s = json_number_value(v);
    if (!isfinite(s) || s < 0 || s > 1e7)
        return fail(c, p, "must be seconds in 0..10000000, got %g", s);
    *out = (uint64_t)llround(s * NS_PER_S);
    return 0;
}

static int get_uint(ctx *c, json_t *obj, const char *path, const char *key, uint64_t lo, uint64_t hi,
                    uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160];
    sub(p, sizeof p, path, key);
    /* A writer that prints every number as a real (10.0) still means 10. */
    double d = json_is_number(v) ? json_number_value(v) : -1;
    if (!json_is_number(v) || d < (double)lo || d > (double)hi || d != floor(d))
        return fail(c, p, "must be an integer %llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
    *out = json_is_integer(v) ? (uint64_t)json_integer_value(v) : (uint64_t)d;
    return 0;
}

static int get_u32(ctx *c, json_t *obj, const char *path, const char *key, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v = *out;
    if (get_uint(c, obj, path, key, lo, hi, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int get_bool(ctx *c, json_t *obj, const char *path, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        char p[160];
        sub(p, sizeof p, path, key);
        return fail(c, p, "must be true or false");
    }
    *out = json_is_true(v);
    return 0;
}

/* Replaces *out with a copy of the string; a pattern is checked as one. */
static int get_string(ctx *c, json_t *obj, const char *path, const char *key, char **out, int pattern_kind)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160];
    sub(p, sizeof p, path, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(c, p, "must be a non-empty string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return fail(c, p, "contains a NUL character");
    if (pattern_kind) {
        const char *why = pattern_check(s, pattern_kind == 2);
        if (why)
            return fail(c, p, "pattern '%s' has %s", s, why);
    }
    char *copy = strdup(s);
    if (!copy)
        return fail(c, p, "out of memory");
    free(*out);
    *out = copy;
    return 0;
}

static json_t *get_object(ctx *c, json_t *obj, const char *path, const char *key, int *rc)
{
    json_t *v = json_object_get(obj, key);
    *rc = 0;
    if (v && !json_is_object(v)) {
        char p[160];
        sub(p, sizeof p, path, key);
        *rc = fail(c, p, "must be an object");
        return NULL;
    }
    return v;
}

static int kind_of(ctx *c, json_t *obj, const char *path, const char **kind)
{
    json_t *k = json_object_get(obj, "kind");
    if (!json_is_string(k)) {
        char p[160];
        sub(p, sizeof p, path, "kind");
        return fail(c, p, "missing or not a string");
    }
    *kind = json_string_value(k);
    return 0;
}

static int parse_strategy(ctx *c, json_t *o, const char *path, hb_config *s)
{
    const char *kind;
    if (kind_of(c, o, path, &kind) < 0)
        return -1;
    char p[160];
    sub(p, sizeof p, path, "kind");
    if (!hb_kind_parse(kind, &s->kind))
        return fail(c, p, "unknown strategy '%s' (mqtt, miss-tolerant, probe, adaptive, tcp-only)", kind);
    static const char *const k_mqtt[] = { "kind", "ping_timeout", NULL };
    static const char *const k_miss[] = { "kind", "ping_timeout", "misses", NULL };
    static const char *const k_probe[] = { "kind", "idle", "interval", "count", NULL };
    static const char *const k_adapt[] = { "kind", "min", "max", "misses", "ping_timeout", NULL };
    static const char *const k_tcp[] = { "kind", NULL };
    static const char *const *const keys[] = {
        [HB_MQTT] = k_mqtt, [HB_MISS_TOLERANT] = k_miss, [HB_PROBE] = k_probe,
        [HB_ADAPTIVE] = k_adapt, [HB_TCP_ONLY] = k_tcp,
    };
    if (only_keys(c, o, path, keys[s->kind]) < 0)
        return -1;
    swarm_strategy_defaults(s, s->kind);
    if (get_seconds(c, o, path, "ping_timeout", &s->ping_timeout_ns) < 0 ||
        get_u32(c, o, path, "misses", 1, 255, &s->misses) < 0 ||
        get_seconds(c, o, path, "idle", &s->idle_ns) < 0 ||
        get_seconds(c, o, path, "interval", &s->interval_ns) < 0 ||
        get_u32(c, o, path, "count", 1, 255, &s->count) < 0 ||
        get_seconds(c, o, path, "min", &s->min_ns) < 0 || get_seconds(c, o, path, "max", &s->max_ns) < 0)
        return -1;
    if (s->kind == HB_PROBE && s->interval_ns == 0)
        return sub(p, sizeof p, path, "interval"), fail(c, p, "must be > 0");
    if (s->kind == HB_ADAPTIVE && (s->min_ns == 0 || s->max_ns < s->min_ns))
        return sub(p, sizeof p, path, "min"), fail(c, p, "need 0 < min <= max");
    return 0;
}

static int parse_tcp(ctx *c, json_t *o, const char *path, swarm_tcp *t)
{
    static const char *const keys[] = { "keepalive", "user_timeout_ms", NULL };
    if (only_keys(c, o, path, keys) < 0)
        return -1;
    json_t *ka = json_object_get(o, "keepalive");
    char p[160];
    sub(p, sizeof p, path, "keepalive");
    if (ka && json_is_string(ka) && strcmp(json_string_value(ka), "off") == 0) {
        t->keepalive = false;
    } else if (ka && json_is_object(ka)) {
        static const char *const kk[] = { "idle", "interval", "count", NULL };
        if (only_keys(c, ka, p, kk) < 0)
            return -1;
        t->keepalive = true;
        t->idle_s = 7200, t->interval_s = 75, t->count = 9; /* the kernel's defaults */
        if (get_u32(c, ka, p, "idle", 1, 32767, &t->idle_s) < 0 ||
            get_u32(c, ka, p, "interval", 1, 32767, &t->interval_s) < 0 ||
            get_u32(c, ka, p, "count", 1, 127, &t->count) < 0)
            return -1;
    } else if (ka) {
        return fail(c, p, "must be \"off\" or {\"idle\":s,\"interval\":s,\"count\":n}");
    }
    return get_u32(c, o, path, "user_timeout_ms", 0, INT32_MAX, &t->user_timeout_ms);
}

static int parse_reconnect(ctx *c, json_t *o, const char *path, reconnect_config *r)
{
    const char *kind;
    if (kind_of(c, o, path, &kind) < 0)
        return -1;
    char p[160];
    sub(p, sizeof p, path, "kind");
    if (!reconnect_kind_parse(kind, &r->kind))
        return fail(c, p, "unknown reconnect kind '%s' (none, fixed, backoff)", kind);
    static const char *const k_none[] = { "kind", NULL };
    static const char *const k_fixed[] = { "kind", "delay", NULL };
    static const char *const k_backoff[] = { "kind", "base", "cap", NULL };
    static const char *const *const keys[] = {
        [RECONNECT_NONE] = k_none, [RECONNECT_FIXED] = k_fixed, [RECONNECT_BACKOFF] = k_backoff,
    };
    if (only_keys(c, o, path, keys[r->kind]) < 0)
        return -1;
    if (r->kind == RECONNECT_FIXED)
        r->delay_ns = (uint64_t)NS_PER_S;
    if (r->kind == RECONNECT_BACKOFF) {
        r->base_ns = (uint64_t)(0.5 * NS_PER_S);
        r->cap_ns = 30 * (uint64_t)NS_PER_S;
    }
    if (get_seconds(c, o, path, "delay", &r->delay_ns) < 0 || get_seconds(c, o, path, "base", &r->base_ns) < 0 ||
        get_seconds(c, o, path, "cap", &r->cap_ns) < 0)
        return -1;
    if (r->kind == RECONNECT_BACKOFF && (r->base_ns == 0 || r->cap_ns < r->base_ns))
        return sub(p, sizeof p, path, "base"), fail(c, p, "need 0 < base <= cap");
    return 0;
}

static int parse_workload(ctx *c, json_t *o, const char *path, swarm_workload *w)
{
    static const char *const keys[] = { "publish_interval", "qos", "payload", "topic", NULL };
    uint32_t qos = w->qos;
    if (only_keys(c, o, path, keys) < 0 || get_seconds(c, o, path, "publish_interval", &w->publish_interval_ns) < 0 ||
        get_u32(c, o, path, "qos", 0, 2, &qos) < 0 || get_u32(c, o, path, "payload", 0, 65536, &w->payload) < 0 ||
        get_string(c, o, path, "topic", &w->topic, 2) < 0)
        return -1;
    w->qos = (uint8_t)qos;
    return 0;
}

static int parse_will(ctx *c, json_t *o, const char *path, swarm_will *w)
{
    static const char *const keys[] = { "topic", "payload", "qos", "retain", NULL };
    uint32_t qos = 0;
    w->present = true;
    json_t *payload = json_object_get(o, "payload");
    if (json_is_string(payload) && json_string_length(payload) == 0) {
        /* An empty will is legal; a watcher then takes the id from the topic. */
        if (!(w->payload = strdup("")))
            return fail(c, path, "out of memory");
    } else if (get_string(c, o, path, "payload", &w->payload, 2) < 0) {
        return -1;
    }
    if (only_keys(c, o, path, keys) < 0 || get_string(c, o, path, "topic", &w->topic, 2) < 0 ||
        get_u32(c, o, path, "qos", 0, 2, &qos) < 0 ||
        get_bool(c, o, path, "retain", &w->retain) < 0)
        return -1;
    w->qos = (uint8_t)qos;
    return 0;
}

static int parse_subscribe(ctx *c, json_t *a, const char *path, swarm_group *g)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fail(c, path, "must be a non-empty array of topic filters");
    g->subscribe = calloc(json_array_size(a), sizeof *g->subscribe);
    if (!g->subscribe)
        return fail(c, path, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        char p[200];
        if (snprintf(p, sizeof p, "%s[%zu]", path, i) >= (int)sizeof p)
            p[sizeof p - 1] = '\0';
        if (!json_is_string(v) || json_string_length(v) == 0)
            return fail(c, p, "must be a non-empty string");
        const char *why = pattern_check(json_string_value(v), true);
        if (why)
            return fail(c, p, "pattern has %s", why);
        if (!(g->subscribe[i] = strdup(json_string_value(v))))
            return fail(c, p, "out of memory");
        g->nsubscribe = i + 1;
    }
    return 0;
}

void swarm_strategy_defaults(hb_config *s, hb_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->misses = 3;
    s->count = 3;
    s->interval_ns = 2 * (uint64_t)NS_PER_S;
    s->min_ns = 2 * (uint64_t)NS_PER_S;
    s->max_ns = 60 * (uint64_t)NS_PER_S;
}

int swarm_group_defaults(swarm_group *g, const char *name)
{
    memset(g, 0, sizeof *g);
    g->name = strdup(name);
    g->id_pattern = strdup("{host}-{pid}-{group}-{n}");
    g->workload.topic = strdup("flatline/{id}");
    g->clients = 1;
    g->version = 4;
    g->keepalive_s = 60;
    g->clean = true;
    swarm_strategy_defaults(&g->strategy, HB_MQTT);
    g->reconnect.kind = RECONNECT_NONE;
    g->workload.payload = 16;
    return g->name && g->id_pattern && g->workload.topic ? 0 : -1;
}

static int parse_group(ctx *c, json_t *o, const char *path, swarm_group *g)
{
    static const char *const keys[] = { "name", "clients", "id_pattern", "version", "keepalive", "clean",
                                        "strategy", "tcp", "reconnect", "workload", "will", "role",
                                        "subscribe", NULL };
    if (!json_is_object(o))
        return fail(c, path, "must be an object");
    if (only_keys(c, o, path, keys) < 0)
        return -1;
    char p[160];
    json_t *name = json_object_get(o, "name");
    if (name && (!json_is_string(name) || json_string_length(name) == 0))
        return sub(p, sizeof p, path, "name"), fail(c, p, "must be a non-empty string");
    if (swarm_group_defaults(g, name ? json_string_value(name) : path) < 0)
        return fail(c, path, "out of memory");
    uint32_t version = g->version, ka = g->keepalive_s;
    if (get_u32(c, o, path, "clients", 0, 1000000, &g->clients) < 0 ||
        get_string(c, o, path, "id_pattern", &g->id_pattern, 1) < 0 ||
        get_u32(c, o, path, "version", 4, 5, &version) < 0 || get_u32(c, o, path, "keepalive", 0, 65535, &ka) < 0 ||
        get_bool(c, o, path, "clean", &g->clean) < 0)
        return -1;
    g->version = (uint8_t)version;
    g->keepalive_s = (uint16_t)ka;
    if (!json_object_get(o, "clients"))
        return sub(p, sizeof p, path, "clients"), fail(c, p, "missing");
    int rc;
    json_t *v;
    if ((v = get_object(c, o, path, "strategy", &rc))) {
        sub(p, sizeof p, path, "strategy");
        rc = parse_strategy(c, v, p, &g->strategy);
    }
    if (rc < 0)
        return -1;
    if ((v = get_object(c, o, path, "tcp", &rc))) {
        sub(p, sizeof p, path, "tcp");
        rc = parse_tcp(c, v, p, &g->tcp);
    }
    if (rc < 0)
        return -1;
    if ((v = get_object(c, o, path, "reconnect", &rc))) {
        sub(p, sizeof p, path, "reconnect");
        rc = parse_reconnect(c, v, p, &g->reconnect);
    }
    if (rc < 0)
        return -1;
    if ((v = get_object(c, o, path, "workload", &rc))) {
        sub(p, sizeof p, path, "workload");
        rc = parse_workload(c, v, p, &g->workload);
    }
    if (rc < 0)
        return -1;
    if ((v = get_object(c, o, path, "will", &rc))) {
        sub(p, sizeof p, path, "will");
        rc = parse_will(c, v, p, &g->will);
    }
    if (rc < 0)
        return -1;
    json_t *role = json_object_get(o, "role");
    if (role) {
        sub(p, sizeof p, path, "role");
        if (json_is_string(role) && strcmp(json_string_value(role), "device") == 0)
            g->role = ROLE_DEVICE;
        else if (json_is_string(role) && strcmp(json_string_value(role), "watcher") == 0)
            g->role = ROLE_WATCHER;
        else
            return fail(c, p, "must be \"device\" or \"watcher\"");
    }
    if ((v = json_object_get(o, "subscribe"))) {
        sub(p, sizeof p, path, "subscribe");
        if (parse_subscribe(c, v, p, g) < 0)
            return -1;
    } else if (g->role == ROLE_WATCHER) {
        /* A watcher's job is the wills; "will/#" matches the documented default will topic. */
        g->subscribe = calloc(1, sizeof *g->subscribe);
        if (!g->subscribe || !(g->subscribe[0] = strdup("will/#")))
            return fail(c, path, "out of memory");
        g->nsubscribe = 1;
    }
    return 0;
}

static int validate_group(ctx *c, const swarm_group *g, const char *path)
{
    char p[160];
    const char *why;
    if ((why = pattern_check(g->id_pattern, false)))
        return sub(p, sizeof p, path, "id_pattern"), fail(c, p, "pattern '%s' has %s", g->id_pattern, why);
    if (g->will.present && (!g->will.topic || !g->will.payload))
        return sub(p, sizeof p, path, "will"), fail(c, p, "needs both topic and payload");
    if (g->role == ROLE_WATCHER && g->nsubscribe == 0)
        return sub(p, sizeof p, path, "subscribe"), fail(c, p, "a watcher needs topic filters to subscribe to");
    if (g->strategy.kind == HB_ADAPTIVE && (g->strategy.min_ns == 0 || g->strategy.max_ns < g->strategy.min_ns))
        return sub(p, sizeof p, path, "strategy.min"), fail(c, p, "need 0 < min <= max");
    if (g->strategy.kind == HB_PROBE && g->strategy.interval_ns == 0)
        return sub(p, sizeof p, path, "strategy.interval"), fail(c, p, "must be > 0");
    if ((g->strategy.kind == HB_MQTT || g->strategy.kind == HB_MISS_TOLERANT) && g->keepalive_s == 0)
        return sub(p, sizeof p, path, "keepalive"),
               fail(c, p, "strategy '%s' pings every Keep Alive and needs keepalive > 0",
                    hb_kind_name(g->strategy.kind));
    return 0;
}

int swarm_config_validate(const swarm_config *cfg, char *err, size_t errlen)
{
    ctx c = { err, errlen };
    if (!cfg->broker)
        return fail(&c, "broker", "missing (ADDR:PORT)");
    if (cfg->ngroups == 0)
        return fail(&c, "groups", "at least one group is needed");
    for (size_t i = 0; i < cfg->ngroups; i++) {
        char p[64];
        snprintf(p, sizeof p, "groups[%zu]", i);
        if (validate_group(&c, &cfg->groups[i], p) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->groups[i].name, cfg->groups[j].name) == 0)
                return fail(&c, p, "name '%s' is used by groups[%zu] too", cfg->groups[i].name, j);
    }
    if (swarm_config_total_clients(cfg) > 1000000)
        return fail(&c, "groups", "more than 1,000,000 clients in one process");
    return 0;
}

int swarm_config_parse(const char *text, swarm_config *out, char *err, size_t errlen)
{
    ctx c = { err, errlen };
    memset(out, 0, sizeof *out);
    out->inflight = SWARM_DEFAULT_INFLIGHT;
    out->connect_timeout_ns = SWARM_DEFAULT_CONNECT_TIMEOUT_S * (uint64_t)NS_PER_S;
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    static const char *const keys[] = { "broker", "seed", "sources", "groups", "inflight", "connect_rate",
                                        "connect_timeout", NULL };
    if (!json_is_object(root)) {
        fail(&c, "config", "must be a JSON object");
        goto out;
    }
    if (only_keys(&c, root, "", keys) < 0 || get_string(&c, root, "", "broker", &out->broker, 0) < 0 ||
        get_uint(&c, root, "", "seed", 0, INT64_MAX, &out->seed) < 0 ||
        get_u32(&c, root, "", "inflight", 1, 100000, &out->inflight) < 0 ||
        get_u32(&c, root, "", "connect_rate", 0, 10000000, &out->connect_rate) < 0 ||
        get_seconds(&c, root, "", "connect_timeout", &out->connect_timeout_ns) < 0)
        goto out;
    json_t *src = json_object_get(root, "sources");
    if (src) {
        if (!json_is_array(src)) {
            fail(&c, "sources", "must be an array of addresses");
            goto out;
        }
        out->sources = calloc(json_array_size(src) + 1, sizeof *out->sources);
        size_t i;
        json_t *v;
        json_array_foreach(src, i, v) {
            if (!json_is_string(v)) {
                char p[64];
                snprintf(p, sizeof p, "sources[%zu]", i);
                fail(&c, p, "must be an address string");
                goto out;
            }
            out->sources[i] = strdup(json_string_value(v));
            out->nsources = i + 1;
        }
    }
    json_t *groups = json_object_get(root, "groups");
    if (!json_is_array(groups) || json_array_size(groups) == 0) {
        fail(&c, "groups", "must be a non-empty array");
        goto out;
    }
    out->groups = calloc(json_array_size(groups), sizeof *out->groups);
    if (!out->groups) {
        fail(&c, "groups", "out of memory");
        goto out;
    }
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        char p[64];
        snprintf(p, sizeof p, "groups[%zu]", i);
        out->ngroups = i + 1;
        if (parse_group(&c, g, p, &out->groups[i]) < 0)
            goto out;
    }
    rc = swarm_config_validate(out, err, errlen);
out:
    json_decref(root);
    if (rc < 0)
        swarm_config_free(out);
    return rc;
}

int swarm_config_load(const char *path, swarm_config *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "config: cannot open '%s'", path);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[4096];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(f);
    if (!mem) {
        snprintf(err, errlen, "config: out of memory");
        return -1;
    }
    fclose(mem);
    int rc = swarm_config_parse(text, out, err, errlen);
    free(text);
    return rc;
}

static void free_group(swarm_group *g)
{
    free(g->name);
    free(g->id_pattern);
    free(g->workload.topic);
    free(g->will.topic);
    free(g->will.payload);
    for (size_t i = 0; i < g->nsubscribe; i++)
        free(g->subscribe[i]);
    free(g->subscribe);
}

void swarm_config_free(swarm_config *c)
{
    free(c->broker);
    for (size_t i = 0; i < c->nsources; i++)
        free(c->sources[i]);
    free(c->sources);
    for (size_t i = 0; i < c->ngroups; i++)
        free_group(&c->groups[i]);
    free(c->groups);
    memset(c, 0, sizeof *c);
}

uint64_t swarm_config_total_clients(const swarm_config *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->ngroups; i++)
        n += c->groups[i].clients;
    return n;
}

bool swarm_parse_seconds(const char *text, uint64_t *ns)
{
    char *end;
    double s = strtod(text, &end);
    if (end == text || *end || !isfinite(s) || s < 0 || s > 1e7)
        return false;
    *ns = (uint64_t)llround(s * NS_PER_S);
    return true;
}
