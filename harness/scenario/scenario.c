#include "harness/scenario/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness/brokers/brokers.h"
#include "harness/scenario/client_select.h"
#include "harness/scenario/feasible.h"
#include "harness/scenario/jsonpos.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario_shape.h"
#include "reports/metric.h"
#ifdef FLATLINE_HAVE_SWARM_CONFIG
#include "clients/config.h"
#endif
#ifdef FLATLINE_HAVE_BROKER_CONFIG
#include "broker/config.h"
#endif

enum { MAX_SCENARIO_BYTES = 4 << 20, PATH_LEN = 512, MAX_TOTAL_CLIENTS = 200000 };

static const char *const fault_names[] = {
    [FL_FAULT_CABLE_PULL] = "cable-pull", [FL_FAULT_POWER_LOSS] = "power-loss",
    [FL_FAULT_PARTITION] = "partition",   [FL_FAULT_NAT_EXPIRY] = "nat-expiry",
    [FL_FAULT_EXPIRE_NOW] = "expire-now", [FL_FAULT_DEGRADE] = "degrade",
};
static const char *const op_names[] = {
    [FL_OP_LT] = "<", [FL_OP_LE] = "<=", [FL_OP_GT] = ">", [FL_OP_GE] = ">=", [FL_OP_EQ] = "==", [FL_OP_NE] = "!=",
};

const char *fl_fault_kind_name(fl_fault_kind kind) { return fault_names[kind]; }
const char *fl_op_name(fl_op op) { return op_names[op]; }

static uint64_t seconds_ns(const json_t *v) { return (uint64_t)(json_number_value(v) * 1e9 + 0.5); }

static const char *str_or(const json_t *obj, const char *key, const char *fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : fallback;
}

/* "$.groups[2]" + ".behind" in one call, for messages. */
static const char *at(char *buf, const char *base, size_t i, const char *member)
{
    snprintf(buf, PATH_LEN, "%s", base);
    fl_jsonpath_index(buf, PATH_LEN, i);
    if (member)
        fl_jsonpath_member(buf, PATH_LEN, member);
    return buf;
}

static int find_link(const fl_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nlinks; i++)
        if (strcmp(sc->links[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_group(const fl_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->ngroups; i++)
        if (strcmp(sc->groups[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_middlebox(const fl_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nmiddleboxes; i++)
        if (strcmp(sc->middleboxes[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool valid_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return false;
    return true;
}

static void check_name(const char *name, const char *path, fl_diag *d)
{
    if (!valid_name(name))
        fl_diag_error(d, path, false, "\"%s\" is not a valid name (letters, digits, '-' and '_')", name);
}

static void check_sysctls(const json_t *sysctls, const char *base, fl_diag *d)
{
    const char *name;
    const json_t *v;
    char path[PATH_LEN];
    json_object_foreach((json_t *)sysctls, name, v) {
        snprintf(path, sizeof path, "%s", base);
        fl_jsonpath_member(path, sizeof path, name);
        bool ok = strncmp(name, "net.", 4) == 0 && !strstr(name, "..");
        for (const char *c = name; ok && *c; c++)
            ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_' || *c == '.';
        if (!ok)
            fl_diag_error(d, path, true, "\"%s\" is not a per-namespace sysctl (expected net.*, e.g. "
                          "net.ipv4.tcp_retries2)", name);
        if (json_is_string(v) && strpbrk(json_string_value(v), "\n/"))
            fl_diag_error(d, path, false, "sysctl value must be one line without '/'");
    }
}

/* The reference broker's own config parser has the last word on its options. */
static void check_with_broker(const json_t *options, fl_diag *d)
{
#ifdef FLATLINE_HAVE_BROKER_CONFIG
    char *text = json_dumps(options, JSON_COMPACT);
    bk_config c;
    bk_config_defaults(&c);
    char err[256] = "";
    int rc = text ? bk_config_apply_json(&c, text, err, sizeof err) : -1;
    bk_config_free(&c);
    free(text);
    if (rc == 0)
        return;
    /* "config: 'grace' must be ..." -> "$.broker.options.grace" */
    char path[PATH_LEN] = "$.broker.options", name[64];
    const char *quote = strchr(err, '\'');
    const char *end = quote ? strchr(quote + 1, '\'') : NULL;
    if (end && (size_t)(end - quote - 1) < sizeof name) {
        snprintf(name, sizeof name, "%.*s", (int)(end - quote - 1), quote + 1);
        fl_jsonpath_member(path, sizeof path, name);
        fl_diag_error(d, path, false, "flatline-broker: %s", err);
    } else {
        fl_diag_error(d, path, false, "flatline-broker refuses these options: %s", err);
    }
#else
    (void)options;
    (void)d;
#endif
}

/* The drivers report through this (they do not know fl_diag). */
static void driver_error(void *arg, const char *path, bool key, const char *message)
{
    fl_diag_error(arg, path, key, "%s", message);
}

static void load_broker(fl_scenario *sc, const json_t *b, fl_diag *d)
{
    sc->broker.driver = fl_broker_driver_find("reference");
    sc->broker.port = 1883;
    sc->broker.link = -1;
    if (!b) {
        sc->broker.options = json_object();
        b = json_pack("{s:s, s:o}", "kind", "reference", "options", sc->broker.options);
        json_object_set_new(sc->doc, "broker", (json_t *)b);
        sc->broker.object = b;
        return;
    }
    sc->broker.object = b;
    /* The shape check has refused a kind without a driver. */
    const fl_broker_driver *driver = fl_broker_driver_find(str_or(b, "kind", "reference"));
    if (driver)
        sc->broker.driver = driver;
    json_t *port = json_object_get(b, "port");
    if (port)
        sc->broker.port = (uint16_t)json_integer_value(port);
    sc->broker.options = json_object_get(b, "options");
    if (!sc->broker.options) {
        sc->broker.options = json_object();
        json_object_set_new((json_t *)b, "options", sc->broker.options);
    }
    sc->broker.sysctls = json_object_get(b, "sysctls");
    if (sc->broker.sysctls)
        check_sysctls(sc->broker.sysctls, "$.broker.sysctls", d);
    json_t *rt = json_object_get(b, "realtime_priority");
    if (rt)
        sc->broker.realtime_priority = (int)json_integer_value(rt);
    const char *link = str_or(b, "link", NULL);
    if (link && (sc->broker.link = find_link(sc, link)) < 0)
        fl_diag_error(d, "$.broker.link", false, "no link profile named \"%s\" in $.links", link);
    check_with_broker(sc->broker.options, d);
    fl_broker_complain complain = { driver_error, d };
    sc->broker.driver->validate(b, &complain);
}

/* The named network profile at path, or NULL after an error naming it. */
static const fl_profile *find_profile(const char *name, const char *path, fl_diag *d)
{
    const fl_profile *p = fl_profile_find(name);
    if (!p)
        fl_diag_error(d, path, false, "no network profile named \"%s\" (there are: %s)", name, fl_profile_names());
    return p;
}

/* A field given in the link object wins over its profile's value. */
static void number_field(const json_t *l, const char *key, double *v)
{
    const json_t *j = json_object_get(l, key);
    if (j)
        *v = json_number_value(j);
}

static void load_links(fl_scenario *sc, const json_t *links, fl_diag *d)
{
    char path[PATH_LEN];
    sc->nlinks = json_object_size(links);
    sc->links = calloc(sc->nlinks ? sc->nlinks : 1, sizeof *sc->links);
    size_t i = 0;
    const char *name;
    const json_t *l;
    json_object_foreach((json_t *)links, name, l) {
        fl_sc_link *k = &sc->links[i++];
        k->name = name;
        const char *profile = str_or(l, "profile", NULL);
        snprintf(path, sizeof path, "$.links");
        fl_jsonpath_member(path, sizeof path, name);
        fl_jsonpath_member(path, sizeof path, "profile");
        const fl_profile *p = profile ? find_profile(profile, path, d) : NULL;
        if (p)
            fl_profile_to_link(p, k);
        number_field(l, "delay_ms", &k->delay_ms);
        number_field(l, "jitter_ms", &k->jitter_ms);
        number_field(l, "loss", &k->loss);
        number_field(l, "duplicate", &k->duplicate);
        number_field(l, "corrupt", &k->corrupt);
        number_field(l, "reorder", &k->reorder);
        if (json_object_get(l, "rate_kbit"))
            k->rate_kbit = (uint64_t)json_integer_value(json_object_get(l, "rate_kbit"));
        k->limit = (uint32_t)json_integer_value(json_object_get(l, "limit"));
    }
}

/* A group's "profile": the link of that name in $.links if the scenario
 * defines one, else an implicit link holding the profile's values. */
static int profile_link(fl_scenario *sc, const char *profile, const char *path, fl_diag *d)
{
    int i = find_link(sc, profile);
    if (i >= 0)
        return i;
    const fl_profile *p = find_profile(profile, path, d);
    if (!p)
        return -1;
    fl_sc_link *links = realloc(sc->links, (sc->nlinks + 1) * sizeof *links);
    if (!links) {
        fl_diag_error(d, path, false, "out of memory");
        return -1;
    }
    sc->links = links;
    memset(&sc->links[sc->nlinks], 0, sizeof *links);
    sc->links[sc->nlinks].name = p->name;
    fl_profile_to_link(p, &sc->links[sc->nlinks]);
    return (int)sc->nlinks++;
}

static void check_links(const fl_scenario *sc, fl_diag *d)
{
    char path[PATH_LEN];
    for (size_t i = 0; i < sc->nlinks; i++) {
        const fl_sc_link *k = &sc->links[i];
        snprintf(path, sizeof path, "$.links");
        fl_jsonpath_member(path, sizeof path, k->name);
        check_name(k->name, path, d);
        if (k->jitter_ms > 0 && k->delay_ms <= 0) {
            fl_jsonpath_member(path, sizeof path, "jitter_ms");
            fl_diag_error(d, path, false, "jitter needs a delay_ms > 0");
        }
    }
}

static void load_middleboxes(fl_scenario *sc, const json_t *mbs, fl_diag *d)
{
    char path[PATH_LEN];
    sc->nmiddleboxes = json_array_size(mbs);
    sc->middleboxes = calloc(sc->nmiddleboxes ? sc->nmiddleboxes : 1, sizeof *sc->middleboxes);
    for (size_t i = 0; i < sc->nmiddleboxes; i++) {
        const json_t *m = json_array_get(mbs, i);
        fl_sc_middlebox *mb = &sc->middleboxes[i];
        mb->name = str_or(m, "name", "");
        check_name(mb->name, at(path, "$.middleboxes", i, "name"), d);
        if (find_middlebox(sc, mb->name) != (int)i)
            fl_diag_error(d, path, false, "a middlebox named \"%s\" already exists", mb->name);
        mb->timeout_ns = seconds_ns(json_object_get(m, "timeout"));
        mb->on_expiry = strcmp(str_or(m, "on_expiry", "drop"), "reset") == 0 ? FL_EXPIRY_RESET : FL_EXPIRY_DROP;
    }
}

/* The group as flatline-swarm reads it: the runner's own fields removed. */
static json_t *swarm_group_json(const json_t *g)
{
    static const char *const runner_fields[] = { "hosts", "clients_per_host", "sysctls", "behind", "link", "profile",
                                                 "client", "client_options", "connect_spread", NULL };
    json_t *copy = json_deep_copy(g);
    for (const char *const *f = runner_fields; *f; f++)
        json_object_del(copy, *f);
    return copy;
}

/* flatline-swarm's own parser has the last word on a group (which strategy
 * fields go with which kind, pattern syntax): run it on the group as the swarm
 * will receive it and point its message at the scenario's text. */
static void check_with_swarm(const fl_sc_group *g, size_t index, fl_diag *d)
{
#ifdef FLATLINE_HAVE_SWARM_CONFIG
    json_t *group = json_deep_copy(g->swarm);
    json_object_set_new(group, "clients", json_integer(g->clients_per_host));
    json_t *config = json_pack("{s:s, s:[s], s:[o]}", "broker", "198.18.0.1:1883", "sources", "198.18.1.1",
                               "groups", group);
    char *text = json_dumps(config, JSON_COMPACT);
    json_decref(config);
    swarm_config parsed;
    char err[256] = "";
    int rc = text ? swarm_config_parse(text, &parsed, err, sizeof err) : -1;
    free(text);
    if (rc == 0) {
        swarm_config_free(&parsed);
        return;
    }
    /* "groups[0].strategy.misses: must be ..." -> "$.groups[index].strategy.misses" */
    char path[PATH_LEN];
    const char *rest = strncmp(err, "groups[0]", 9) == 0 ? err + 9 : NULL;
    const char *colon = rest ? strstr(rest, ": ") : NULL;
    at(path, "$.groups", index, NULL);
    if (colon && (size_t)(colon - rest) < sizeof path - strlen(path)) {
        strncat(path, rest, (size_t)(colon - rest));
        if (strcmp(colon + 2, "unknown field") == 0)
            fl_diag_error(d, path, true, "unknown field for this \"kind\" (flatline-swarm does not read it)");
        else
            fl_diag_error(d, path, false, "%s", colon + 2);
    } else {
        fl_diag_error(d, path, false, "flatline-swarm refuses this group: %s", err);
    }
#else
    (void)g;
    (void)index;
    (void)d;
#endif
}

static void load_groups(fl_scenario *sc, const json_t *groups, fl_diag *d)
{
    char path[PATH_LEN], sub[PATH_LEN];
    sc->ngroups = json_array_size(groups);
    sc->groups = calloc(sc->ngroups ? sc->ngroups : 1, sizeof *sc->groups);
    for (size_t i = 0; i < sc->ngroups; i++) {
        const json_t *j = json_array_get(groups, i);
        fl_sc_group *g = &sc->groups[i];
        at(path, "$.groups", i, NULL);
        g->name = str_or(j, "name", "");
        check_name(g->name, at(sub, "$.groups", i, "name"), d);
        if (find_group(sc, g->name) != (int)i)
            fl_diag_error(d, sub, false, "a group named \"%s\" already exists", g->name);
        if (find_middlebox(sc, g->name) >= 0)
            fl_diag_error(d, sub, false, "\"%s\" already names a middlebox", g->name);
        const json_t *hosts = json_object_get(j, "hosts");
        g->hosts = hosts ? (unsigned)json_integer_value(hosts) : 1;
        g->clients_per_host = (unsigned)json_integer_value(json_object_get(j, "clients_per_host"));
        g->keepalive = (unsigned)json_integer_value(json_object_get(j, "keepalive"));
        g->watcher = strcmp(str_or(j, "role", "device"), "watcher") == 0;
        sc->total_clients += (uint64_t)g->hosts * g->clients_per_host;
        g->behind = g->link = -1;
        const char *behind = str_or(j, "behind", NULL);
        if (behind && (g->behind = find_middlebox(sc, behind)) < 0)
            fl_diag_error(d, at(sub, "$.groups", i, "behind"), false, "no middlebox named \"%s\" in $.middleboxes",
                          behind);
        const char *link = str_or(j, "link", NULL);
        if (link && (g->link = find_link(sc, link)) < 0)
            fl_diag_error(d, at(sub, "$.groups", i, "link"), false, "no link profile named \"%s\" in $.links", link);
        const char *profile = str_or(j, "profile", NULL);
        if (profile && link)
            fl_diag_error(d, at(sub, "$.groups", i, "profile"), false,
                          "a group takes \"link\" or \"profile\", not both");
        else if (profile)
            g->link = profile_link(sc, profile, at(sub, "$.groups", i, "profile"), d);
        g->sysctls = json_object_get(j, "sysctls");
        if (g->sysctls)
            check_sysctls(g->sysctls, at(sub, "$.groups", i, "sysctls"), d);
        const char *pattern = str_or(j, "id_pattern", NULL);
        bool shared = g->hosts > 1 || g->clients_per_host > FL_SWARM_SPLIT;
        if (pattern && shared && !strstr(pattern, "{host}") && !strstr(pattern, "{pid}"))
            fl_diag_error(d, at(sub, "$.groups", i, "id_pattern"), false,
                          "needs \"{host}\": the group's clients run in %s, and \"{n}\" restarts in each",
                          g->hosts > 1 ? "several hosts" : "several swarm processes");
        const json_t *spread = json_object_get(j, "connect_spread");
        if (json_is_string(spread) && g->keepalive == 0)
            fl_diag_error(d, at(sub, "$.groups", i, "connect_spread"), false,
                          "\"heartbeat\" needs a Keep Alive > 0 (give the seconds instead)");
        g->connect_spread_ns = json_is_string(spread) ? (uint64_t)g->keepalive * FL_NS_PER_S
                               : json_is_number(spread) ? seconds_ns(spread) : 0;
        if (g->connect_spread_ns >= sc->connect_timeout_ns)
            fl_diag_error(d, at(sub, "$.groups", i, "connect_spread"), false,
                          "%.0f s of spread leave no time to connect within $.connect_timeout (%.0f s)",
                          (double)g->connect_spread_ns / 1e9, (double)sc->connect_timeout_ns / 1e9);
        g->swarm = swarm_group_json(j);
        g->client = fl_sc_client_check(j, i, d);
        const json_t *client = json_object_get(j, "client");
        g->client_options = json_is_object(client) ? (json_t *)client : json_object_get(j, "client_options");
        check_with_swarm(g, i, d);
    }
    if (sc->total_clients > MAX_TOTAL_CLIENTS)
        fl_diag_error(d, "$.groups", false, "%llu clients in all; at most %d are supported",
                      (unsigned long long)sc->total_clients, MAX_TOTAL_CLIENTS);
}

/* "group", "group[3]" or a middlebox name. */
static void resolve_target_string(fl_scenario *sc, fl_sc_fault *f, const char *text, const char *path, fl_diag *d)
{
    char name[48];
    long index = -1;
    snprintf(name, sizeof name, "%s", text);
    char *bracket = strchr(name, '[');
    if (bracket) {
        char *end;
        errno = 0;
        index = strtol(bracket + 1, &end, 10);
        if (end == bracket + 1 || strcmp(end, "]") != 0 || index < 0 || errno) {
            fl_diag_error(d, path, false, "\"%s\" is not \"group\" or \"group[i]\"", text);
            return;
        }
        *bracket = '\0';
    }
    f->group = find_group(sc, name);
    if (f->group < 0) {
        if (!bracket && (f->middlebox = find_middlebox(sc, name)) >= 0)
            return;
        fl_diag_error(d, path, false, "no group%s named \"%s\"", bracket ? "" : " or middlebox", name);
        return;
    }
    if (index >= 0 && (unsigned long)index >= sc->groups[f->group].hosts) {
        fl_diag_error(d, path, false, "group \"%s\" has %u host%s: index %ld is out of range", name,
                      sc->groups[f->group].hosts, sc->groups[f->group].hosts == 1 ? "" : "s", index);
        return;
    }
    f->host = (int)index;
}

static void load_faults(fl_scenario *sc, const json_t *faults, fl_diag *d)
{
    char path[PATH_LEN], sub[PATH_LEN];
    sc->nfaults = json_array_size(faults);
    sc->faults = calloc(sc->nfaults ? sc->nfaults : 1, sizeof *sc->faults);
    for (size_t i = 0; i < sc->nfaults; i++) {
        const json_t *j = json_array_get(faults, i);
        fl_sc_fault *f = &sc->faults[i];
        const char *kind = str_or(j, "kind", "");
        for (size_t k = 0; k < sizeof fault_names / sizeof fault_names[0]; k++)
            if (strcmp(kind, fault_names[k]) == 0)
                f->kind = (fl_fault_kind)k;
        f->group = f->host = f->middlebox = f->link = -1;
        const json_t *target = json_object_get(j, "target");
        at(sub, "$.faults", i, "target");
        if (json_is_string(target)) {
            snprintf(f->label, sizeof f->label, "%s", json_string_value(target));
            resolve_target_string(sc, f, json_string_value(target), sub, d);
        } else {
            const char *group = str_or(target, "group", "");
            f->fraction = json_number_value(json_object_get(target, "fraction"));
            snprintf(f->label, sizeof f->label, "%s %g%%", group, f->fraction * 100);
            fl_jsonpath_member(sub, sizeof sub, "group");
            if ((f->group = find_group(sc, group)) < 0)
                fl_diag_error(d, sub, false, "no group named \"%s\"", group);
        }
        bool nat = f->kind == FL_FAULT_NAT_EXPIRY || f->kind == FL_FAULT_EXPIRE_NOW;
        at(sub, "$.faults", i, "target");
        if (nat && f->middlebox < 0 && f->group >= 0) {
            f->middlebox = sc->groups[f->group].behind;
            if (f->middlebox < 0)
                fl_diag_error(d, sub, false, "%s needs a middlebox: group \"%s\" is not \"behind\" one", kind,
                              sc->groups[f->group].name);
        } else if (!nat && f->middlebox >= 0) {
            fl_diag_error(d, sub, false, "%s targets hosts, and \"%s\" is a middlebox", kind, f->label);
        }
        f->at_ns = seconds_ns(json_object_get(j, "at"));
        const json_t *duration = json_object_get(j, "duration");
        const json_t *restore = json_object_get(j, "restore_after");
        const json_t *link = json_object_get(j, "link");
        f->duration_ns = duration ? seconds_ns(duration) : 0;
        f->restore_after_ns = restore ? seconds_ns(restore) : 0;
        if (i > 0 && f->at_ns < sc->faults[i - 1].at_ns)
            fl_diag_error(d, at(sub, "$.faults", i, "at"), false, "faults are listed in time order: %g s is before "
                          "the previous fault's %g s", (double)f->at_ns / 1e9, (double)sc->faults[i - 1].at_ns / 1e9);
        if (f->at_ns >= sc->duration_ns)
            fl_diag_error(d, at(sub, "$.faults", i, "at"), false, "%g s is not before the end of the run "
                          "($.duration = %g s)", json_number_value(json_object_get(j, "at")),
                          (double)sc->duration_ns / 1e9);
        if (duration && f->kind == FL_FAULT_POWER_LOSS)
            fl_diag_error(d, at(sub, "$.faults", i, "duration"), true,
                          "power-loss has no duration: use \"restore_after\" to reboot the host");
        if (duration && f->kind == FL_FAULT_EXPIRE_NOW)
            fl_diag_error(d, at(sub, "$.faults", i, "duration"), true, "expire-now is instantaneous: no duration");
        if (restore && f->kind != FL_FAULT_POWER_LOSS)
            fl_diag_error(d, at(sub, "$.faults", i, "restore_after"), true,
                          "\"restore_after\" applies only to power-loss (use \"duration\")");
        if (f->kind == FL_FAULT_DEGRADE) {
            if (!link)
                fl_diag_error(d, at(path, "$.faults", i, NULL), false, "degrade needs \"link\" (a profile in $.links)");
            else if ((f->link = find_link(sc, json_string_value(link))) < 0)
                fl_diag_error(d, at(sub, "$.faults", i, "link"), false, "no link profile named \"%s\" in $.links",
                              json_string_value(link));
        } else if (link) {
            fl_diag_error(d, at(sub, "$.faults", i, "link"), true, "\"link\" applies only to degrade");
        }
    }
}

bool fl_metric_path_valid(const char *metric)
{
    /* segment ( "." segment )*, segment = name [ "[" digits "]" ] */
    const char *c = metric;
    for (;;) {
        if (!isalpha((unsigned char)*c))
            return false;
        while (isalnum((unsigned char)*c) || *c == '_' || *c == '-')
            c++;
        if (*c == '[') {
            c++;
            if (!isdigit((unsigned char)*c))
                return false;
            while (isdigit((unsigned char)*c))
                c++;
            if (*c++ != ']')
                return false;
        }
        if (*c == '\0')
            return true;
        if (*c++ != '.')
            return false;
    }
}

static void load_expects(fl_scenario *sc, const json_t *expects, fl_diag *d)
{
    char sub[PATH_LEN];
    sc->nexpects = json_array_size(expects);
    sc->expects = calloc(sc->nexpects ? sc->nexpects : 1, sizeof *sc->expects);
    for (size_t i = 0; i < sc->nexpects; i++) {
        const json_t *j = json_array_get(expects, i);
        fl_sc_expect *e = &sc->expects[i];
        e->metric = str_or(j, "metric", "");
        const char *op = str_or(j, "op", "==");
        for (size_t k = 0; k < sizeof op_names / sizeof op_names[0]; k++)
            if (strcmp(op, op_names[k]) == 0)
                e->op = (fl_op)k;
        e->value = json_object_get(j, "value");
        if (json_is_boolean(e->value) && e->op != FL_OP_EQ && e->op != FL_OP_NE)
            fl_diag_error(d, at(sub, "$.expect", i, "op"), false, "\"%s\" needs a number; true/false compare with == or !=",
                          op);
        at(sub, "$.expect", i, "metric");
        char why[768];
        if (!fl_metric_path_valid(e->metric))
            fl_diag_error(d, sub, false,
                          "\"%s\" is not a metric path (e.g. \"faults[0].broker.p99\")", e->metric);
        else if (fl_metric_check(e->metric, why, sizeof why)) /* the one grammar (reports/metric.h), before the run */
            fl_diag_error(d, sub, false, "%s", why);
        /* A metric names a fault by index: it must exist. */
        if (strncmp(e->metric, "faults[", 7) == 0 && isdigit((unsigned char)e->metric[7])) {
            unsigned long n = strtoul(e->metric + 7, NULL, 10); /* digits only: "-1" is not wrapped around */
            if (n >= sc->nfaults)
                fl_diag_error(d, sub, false, "there is no fault %lu (the scenario has %zu)", n, sc->nfaults);
        }
    }
}

static bool check_version_first(const json_t *doc, fl_diag *d)
{
    const json_t *v = json_object_get(doc, "flatline");
    if (!v) {
        fl_diag_error(d, "$", false, "missing \"flatline\": 1 (the scenario format version)");
        return false;
    }
    if (json_is_integer(v) && json_integer_value(v) != 1) {
        fl_diag_error(d, "$.flatline", false, "format version %lld is not supported (this flatline reads 1)",
                      (long long)json_integer_value(v));
        return false;
    }
    return true;
}

bool fl_scenario_virtual_time = false;

fl_scenario *fl_scenario_parse(const char *text, size_t len, const char *name, fl_diag *d)
{
    d->file = name;
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        fl_diag_error_at(d, err.line, err.column, "%s", err.text);
        return NULL;
    }
    fl_jsonpos *where = fl_jsonpos_build(text, len);
    d->where = where;
    fl_scenario *sc = NULL;
    if (!json_is_object(doc)) {
        fl_diag_error(d, "$", false, "a scenario is a JSON object");
        goto out;
    }
    if (!check_version_first(doc, d) || !fl_shape_check(&fl_scenario_shape, doc, "$", d))
        goto out;

    sc = calloc(1, sizeof *sc);
    sc->doc = json_incref(doc);
    sc->path = name;
    sc->name = str_or(doc, "name", "");
    sc->description = str_or(doc, "description", "");
    const json_t *seed = json_object_get(doc, "seed");
    sc->seed = seed ? (uint64_t)json_integer_value(seed) : 1;
    sc->duration_ns = seconds_ns(json_object_get(doc, "duration"));
    const char *clock = str_or(doc, "clock", "real");
    sc->virtual_clock = fl_scenario_virtual_time || strcmp(clock, "virtual") == 0;
    if (!sc->virtual_clock && sc->duration_ns > 3600 * FL_NS_PER_S)
        fl_diag_error(d, "$.duration", false,
                      "%g s is longer than a real-time run may be (3600 s); longer runs need \"clock\": \"virtual\" "
                      "or flatline run --virtual-time (docs/virtual-time.md)",
                      (double)sc->duration_ns / 1e9);
    const json_t *ct = json_object_get(doc, "connect_timeout");
    sc->connect_timeout_ns = ct ? seconds_ns(ct) : 30 * FL_NS_PER_S;
    check_name(sc->name, "$.name", d);

    json_t *no_links = json_object();
    const json_t *links = json_object_get(doc, "links");
    load_links(sc, links ? links : no_links, d);
    json_decref(no_links);
    check_links(sc, d);
    load_middleboxes(sc, json_object_get(doc, "middleboxes"), d);
    load_broker(sc, json_object_get(doc, "broker"), d);
    load_groups(sc, json_object_get(doc, "groups"), d);
    load_faults(sc, json_object_get(doc, "faults"), d);
    load_expects(sc, json_object_get(doc, "expect"), d);
    if (!d->errors)
        fl_scenario_check_feasible(sc, d); /* harness/scenario/feasible.h */
    if (d->errors) {
        fl_scenario_free(sc);
        sc = NULL;
    }
out:
    d->where = NULL;
    fl_jsonpos_free(where);
    json_decref(doc);
    return sc;
}

fl_scenario *fl_scenario_load(const char *path, fl_diag *d)
{
    d->file = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fl_diag_error_at(d, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *text = malloc(MAX_SCENARIO_BYTES + 1);
    size_t len = text ? fread(text, 1, MAX_SCENARIO_BYTES + 1, f) : 0;
    bool bad = !text || ferror(f);
    fclose(f);
    if (bad || len > MAX_SCENARIO_BYTES) {
        fl_diag_error_at(d, 0, 0, bad ? "cannot read the file" : "larger than %d bytes", MAX_SCENARIO_BYTES);
        free(text);
        return NULL;
    }
    fl_scenario *sc = fl_scenario_parse(text, len, path, d);
    free(text);
    return sc;
}

void fl_scenario_free(fl_scenario *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->ngroups; i++)
        json_decref(sc->groups[i].swarm);
    free(sc->links);
    free(sc->middleboxes);
    free(sc->groups);
    free(sc->faults);
    free(sc->expects);
    json_decref(sc->doc);
    free(sc);
}
