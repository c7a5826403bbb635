#include "harness/scenario/feasible.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/scenario/jsonpos.h"
#ifdef FLATLINE_HAVE_SWARM_CONFIG
#include "clients/pattern.h"
#endif
#ifdef FLATLINE_HAVE_MQTT
#include "mqtt/mqtt.h"
#endif

#define PATH_LEN 512

static const char *group_path(char *buf, size_t len, size_t g, const char *member)
{
    snprintf(buf, len, "$.groups[%zu]", g);
    if (member)
        fl_jsonpath_member(buf, len, member);
    return buf;
}

static const char *pattern_of(const fl_sc_group *g)
{
    return json_string_value(json_object_get(g->swarm, "id_pattern"));
}

/* ---- client ids ---- */

/* The swarm processes of a group on one host (the runner's split). */
static unsigned procs_per_host(const fl_sc_group *g)
{
    unsigned n = (g->clients_per_host + FL_SWARM_SPLIT - 1) / FL_SWARM_SPLIT;
    return n ? n : 1;
}

/* The host name the runner puts in place of {host} (harness/run/run_procs.c). */
static void host_label(const fl_sc_group *g, unsigned h, unsigned k, char *out, size_t len)
{
    if (procs_per_host(g) > 1)
        snprintf(out, len, "h%up%u", h, k);
    else
        snprintf(out, len, "h%u", h);
}

static bool has_counter(const char *pattern)
{
    return strstr(pattern, "{n}") || strstr(pattern, "{i}") || strstr(pattern, "{pid}");
}

static void check_counters(const fl_scenario *sc, fl_diag *d)
{
    char path[PATH_LEN];
    for (size_t i = 0; i < sc->ngroups; i++) {
        const fl_sc_group *g = &sc->groups[i];
        const char *p = pattern_of(g);
        if (p && g->clients_per_host > 1 && !has_counter(p))
            fl_diag_error(d, group_path(path, sizeof path, i, "id_pattern"), false,
                          "has no \"{n}\": the %u clients of each host would share one id and take each other's "
                          "session over", g->clients_per_host);
    }
}

#ifdef FLATLINE_HAVE_SWARM_CONFIG
typedef struct id_entry {
    char *id;
    size_t group;
} id_entry;

static int by_id(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->group > y->group) - (x->group < y->group);
}

static void expand_id(const fl_sc_group *g, const char *pattern, const char *host, uint32_t n, char *out, size_t len)
{
    pattern_vars v = { .n = n, .i = n, .group = g->name, .host = host, .pid = 1 };
    pattern_expand(pattern, &v, out, len);
}

/* Every client id of every group that names them without {pid}, sorted: two
 * neighbours from different groups are the same id twice. */
static void check_shared_ids(const fl_scenario *sc, fl_diag *d)
{
    if (sc->ngroups < 2 || sc->total_clients > 400000)
        return;
    id_entry *all = calloc(sc->total_clients ? sc->total_clients : 1, sizeof *all);
    if (!all)
        return;
    size_t n = 0;
    char host[32], id[512], dflt[128];
    for (size_t gi = 0; gi < sc->ngroups; gi++) {
        const fl_sc_group *g = &sc->groups[gi];
        const char *pattern = pattern_of(g);
        if (pattern && strstr(pattern, "{pid}"))
            continue;
        unsigned procs = procs_per_host(g);
        for (unsigned h = 0; h < g->hosts; h++)
            for (unsigned k = 0; k < procs; k++) {
                host_label(g, h, k, host, sizeof host);
                snprintf(dflt, sizeof dflt, "{group}-%s-{n}", host); /* the runner's default */
                unsigned clients = g->clients_per_host / procs + (k < g->clients_per_host % procs);
                for (uint32_t c = 0; c < clients && n < sc->total_clients; c++) {
                    expand_id(g, pattern ? pattern : dflt, host, c, id, sizeof id);
                    all[n++] = (id_entry){ strdup(id), gi };
                }
            }
    }
    qsort(all, n, sizeof *all, by_id);
    /* One message for each pair of groups. */
    bool *reported = calloc(sc->ngroups * sc->ngroups, sizeof *reported);
    char path[PATH_LEN];
    for (size_t i = 1; i < n && reported; i++) {
        const id_entry *a = &all[i - 1], *b = &all[i];
        if (!a->id || !b->id || a->group == b->group || strcmp(a->id, b->id) != 0)
            continue;
        size_t first = a->group < b->group ? a->group : b->group, second = a->group ^ b->group ^ first;
        if (reported[first * sc->ngroups + second])
            continue;
        reported[first * sc->ngroups + second] = true;
        const char *p = pattern_of(&sc->groups[second]);
        fl_diag_error(d, group_path(path, sizeof path, second, p ? "id_pattern" : "name"), false,
                      "client id \"%s\" is also one of $.groups[%zu]'s (\"%s\"): the broker would drop one client "
                      "each time the other connects (put \"{group}\" in the pattern)",
                      b->id, first, sc->groups[first].name);
    }
    free(reported);
    for (size_t i = 0; i < n; i++)
        free(all[i].id);
    free(all);
}
#else
static void check_shared_ids(const fl_scenario *sc, fl_diag *d)
{
    (void)sc;
    (void)d;
}
#endif

/* ---- topics ---- */

#if defined(FLATLINE_HAVE_SWARM_CONFIG) && defined(FLATLINE_HAVE_MQTT)
/* The topic as the group's first client will send it: placeholders expanded. */
static void check_topic(const fl_sc_group *g, const char *text, bool filter, const char *path, fl_diag *d)
{
    char host[32], id[512], out[1024];
    host_label(g, 0, 0, host, sizeof host);
    const char *pattern = pattern_of(g);
    char dflt[128];
    snprintf(dflt, sizeof dflt, "{group}-%s-{n}", host);
    expand_id(g, pattern ? pattern : dflt, host, 0, id, sizeof id);
    pattern_vars v = { .n = 0, .i = 0, .id = id, .group = g->name, .host = host, .pid = 1 };
    size_t len = pattern_expand(text, &v, out, sizeof out);
    if (len >= sizeof out)
        return;
    mqtt_bytes b = { (const uint8_t *)out, len };
    bool ok = filter ? mqtt_topic_filter_valid(b) : mqtt_topic_name_valid(b);
    if (ok)
        return;
    char shown[1100] = "";
    if (strcmp(out, text) != 0)
        snprintf(shown, sizeof shown, " (\"%s\" for the first client)", out);
    if (len == 0)
        fl_diag_error(d, path, false, "an empty topic%s: MQTT needs at least one character", shown);
    else if (filter)
        fl_diag_error(d, path, false, "\"%s\"%s is not an MQTT topic filter: '+' must be a whole level and '#' "
                      "only the last level (MQTT 5.0 section 4.7.1)", text, shown);
    else
        fl_diag_error(d, path, false, "\"%s\"%s is not an MQTT topic name: a topic to publish to has no wildcards "
                      "('+', '#'; MQTT 5.0 section 4.7.1)", text, shown);
}

static void check_topics(const fl_scenario *sc, fl_diag *d)
{
    char path[PATH_LEN];
    for (size_t i = 0; i < sc->ngroups; i++) {
        const fl_sc_group *g = &sc->groups[i];
        const char *will = json_string_value(json_object_get(json_object_get(g->swarm, "will"), "topic"));
        if (will) {
            group_path(path, sizeof path, i, "will");
            fl_jsonpath_member(path, sizeof path, "topic");
            check_topic(g, will, false, path, d);
        }
        const char *pub = json_string_value(json_object_get(json_object_get(g->swarm, "workload"), "topic"));
        if (pub) {
            group_path(path, sizeof path, i, "workload");
            fl_jsonpath_member(path, sizeof path, "topic");
            check_topic(g, pub, false, path, d);
        }
        const json_t *subs = json_object_get(g->swarm, "subscribe");
        for (size_t k = 0; k < json_array_size(subs); k++) {
            const char *f = json_string_value(json_array_get(subs, k));
            if (!f)
                continue;
            group_path(path, sizeof path, i, "subscribe");
            size_t l = strlen(path);
            snprintf(path + l, sizeof path - l, "[%zu]", k);
            check_topic(g, f, true, path, d);
        }
    }
}
#else
static void check_topics(const fl_scenario *sc, fl_diag *d)
{
    (void)sc;
    (void)d;
}
#endif

/* ---- sysctls ---- */

typedef struct sysctl_ref {
    const char *name;
    char value[272];
    char path[PATH_LEN]; /* the JSON path of the member */
} sysctl_ref;

static size_t collect(const json_t *obj, const char *base, sysctl_ref *out, size_t n, size_t max)
{
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        if (n == max)
            break;
        sysctl_ref *s = &out[n++];
        s->name = name;
        if (json_is_integer(v))
            snprintf(s->value, sizeof s->value, "%lld", (long long)json_integer_value(v));
        else
            snprintf(s->value, sizeof s->value, "%s", json_string_value(v) ? json_string_value(v) : "");
        snprintf(s->path, sizeof s->path, "%s", base);
        fl_jsonpath_member(s->path, sizeof s->path, name);
    }
    return n;
}

static void proc_path(const char *name, char *out, size_t len)
{
    snprintf(out, len, "/proc/sys/%s", name);
    for (char *c = out + strlen("/proc/sys/"); *c; c++)
        if (*c == '.')
            *c = '/';
}

/* 0, or the errno of writing the value (ENOENT: no such sysctl). In the
 * calling process: meant for a child inside a throw-away namespace. */
static int try_write(const sysctl_ref *s)
{
    char path[PATH_LEN + 16];
    proc_path(s->name, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t len = strlen(s->value);
    int e = write(fd, s->value, len) == (ssize_t)len ? 0 : errno ? errno : EIO;
    if (close(fd) < 0 && !e)
        e = errno;
    return e;
}

/* Each sysctl written in a new network namespace that dies with the child:
 * the host's values are never touched. -1 when no namespace can be made. */
static int probe_in_namespace(const sysctl_ref *s, size_t n, int *result)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        if (unshare(CLONE_NEWNET) < 0)
            _exit(1);
        for (size_t i = 0; i < n; i++) {
            int e = try_write(&s[i]);
            if (write(fds[1], &e, sizeof e) != (ssize_t)sizeof e)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < n && read(fds[0], &result[got], sizeof *result) == (ssize_t)sizeof *result)
        got++;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return got == n ? 0 : -1;
}

/* conntrack's sysctls appear when nf_conntrack is loaded, which a run with a
 * middlebox does itself: their absence now says nothing. */
static bool loaded_later(const char *name)
{
    return strncmp(name, "net.netfilter.", 14) == 0 && access("/sys/module/nf_conntrack", F_OK) != 0;
}

static void check_sysctls(const fl_scenario *sc, fl_diag *d)
{
    enum { MAX = 256 };
    sysctl_ref *refs = calloc(MAX, sizeof *refs);
    int *result = calloc(MAX, sizeof *result);
    if (!refs || !result) {
        free(refs);
        free(result);
        return;
    }
    size_t n = 0;
    if (sc->broker.sysctls)
        n = collect(sc->broker.sysctls, "$.broker.sysctls", refs, n, MAX);
    char base[PATH_LEN];
    for (size_t i = 0; i < sc->ngroups; i++)
        if (sc->groups[i].sysctls)
            n = collect(sc->groups[i].sysctls, group_path(base, sizeof base, i, "sysctls"), refs, n, MAX);
    /* A sweep parses the same sysctls once a cell: ask the kernel once. */
    static struct {
        char key[PATH_LEN];
        int result;
    } cache[64];
    static size_t ncached;
    size_t todo = 0;
    sysctl_ref *ask = calloc(MAX, sizeof *ask);
    for (size_t i = 0; i < n && ask; i++) {
        result[i] = -1;
        char key[PATH_LEN];
        snprintf(key, sizeof key, "%s=%s", refs[i].name, refs[i].value);
        for (size_t k = 0; k < ncached; k++)
            if (strcmp(cache[k].key, key) == 0)
                result[i] = cache[k].result;
        if (result[i] < 0)
            ask[todo++] = refs[i];
    }
    /* On the stack: the probe forks, and a heap block the child inherits and
     * never frees reads as a leak to valgrind. */
    int answer[MAX] = { 0 };
    bool written = todo && geteuid() == 0 && probe_in_namespace(ask, todo, answer) == 0;
    for (size_t i = 0, k = 0; written && i < n; i++) {
        if (result[i] >= 0)
            continue;
        result[i] = answer[k++];
        if (ncached < sizeof cache / sizeof cache[0]) {
            snprintf(cache[ncached].key, sizeof cache[ncached].key, "%s=%s", refs[i].name, refs[i].value);
            cache[ncached++].result = result[i];
        }
    }
    free(ask);
    if (!todo)
        written = true;
    for (size_t i = 0; i < n && !written; i++) {
        if (result[i] >= 0)
            continue;
        char path[PATH_LEN + 16];
        proc_path(refs[i].name, path, sizeof path);
        result[i] = access(path, F_OK) == 0 ? 0 : errno;
    }
    for (size_t i = 0; i < n; i++) {
        if (!result[i] || (result[i] == ENOENT && loaded_later(refs[i].name)))
            continue;
        if (result[i] == ENOENT)
            fl_diag_error(d, refs[i].path, true, "this kernel has no sysctl \"%s\" (no /proc/sys entry in a new "
                          "network namespace)", refs[i].name);
        else
            fl_diag_error(d, refs[i].path, false, "this kernel refuses %s = \"%s\" in a network namespace: %s",
                          refs[i].name, refs[i].value, strerror(result[i]));
    }
    free(refs);
    free(result);
}

/* ---- faults on hosts without power ---- */

static bool covers(const fl_sc_fault *f, int host)
{
    if (f->fraction > 0 && f->fraction < 1)
        return false; /* a random part of the group: which hosts is not known here */
    return f->host < 0 || host < 0 || f->host == host;
}

static void check_powered_off(const fl_scenario *sc, fl_diag *d)
{
    char path[PATH_LEN];
    for (size_t j = 0; j < sc->nfaults; j++) {
        const fl_sc_fault *c = &sc->faults[j];
        if (c->kind != FL_FAULT_CABLE_PULL || c->group < 0 || (c->fraction > 0 && c->fraction < 1))
            continue;
        for (size_t i = 0; i < j; i++) {
            const fl_sc_fault *p = &sc->faults[i];
            if (p->kind != FL_FAULT_POWER_LOSS || p->group != c->group || !covers(p, c->host) || p->at_ns > c->at_ns)
                continue;
            bool off = !p->restore_after_ns || p->at_ns + p->restore_after_ns > c->at_ns;
            if (!off)
                continue;
            snprintf(path, sizeof path, "$.faults[%zu].target", j);
            char until[64];
            if (p->restore_after_ns)
                snprintf(until, sizeof until, "until %g s", (double)(p->at_ns + p->restore_after_ns) / 1e9);
            else
                snprintf(until, sizeof until, "for good (no \"restore_after\")");
            fl_diag_error(d, path, false, "\"%s\" has no power at %g s: $.faults[%zu] (power-loss at %g s) cut it "
                          "%s; a cable pull on a powered-off host tests nothing", c->label, (double)c->at_ns / 1e9,
                          i, (double)p->at_ns / 1e9, until);
            break;
        }
    }
}

void fl_scenario_check_feasible(const fl_scenario *sc, fl_diag *d)
{
    int before = d->errors;
    check_counters(sc, d);
    if (d->errors == before)
        check_shared_ids(sc, d); /* ids that collide within a group say it first */
    check_topics(sc, d);
    check_powered_off(sc, d);
    if (d->errors == before)
        check_sysctls(sc, d); /* forks: only for an otherwise good scenario */
}

/* ---- open files ---- */

void fl_scenario_fd_budget(const fl_scenario *sc, fl_fd_budget *b)
{
    memset(b, 0, sizeof *b);
    struct rlimit rl;
    /* Both programs raise their soft limit to the hard one: that is the bound. */
    b->limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max) : 0;
    b->max_clients = b->limit > FL_BROKER_FD_RESERVE ? b->limit - FL_BROKER_FD_RESERVE : 0;
    if (!sc)
        return;
    b->broker = sc->total_clients + FL_BROKER_FD_RESERVE;
    for (size_t i = 0; i < sc->ngroups; i++) {
        const fl_sc_group *g = &sc->groups[i];
        unsigned procs = procs_per_host(g);
        uint64_t largest = g->clients_per_host / procs + (g->clients_per_host % procs != 0);
        if (largest + FL_SWARM_FD_RESERVE > b->swarm)
            b->swarm = largest + FL_SWARM_FD_RESERVE;
    }
}

int fl_scenario_check_machine(const fl_scenario *sc, fl_diag *d)
{
    fl_fd_budget b;
    fl_scenario_fd_budget(sc, &b);
    int before = d->errors;
    if (b.limit && b.broker > b.limit)
        fl_diag_error(d, "$.groups", false, "%llu connections need %llu open files in the broker (one a connection "
                      "+ %u); this machine's RLIMIT_NOFILE hard limit is %llu: at most %llu connections (raise it: "
                      "ulimit -Hn, LimitNOFILE=)", (unsigned long long)sc->total_clients,
                      (unsigned long long)b.broker, FL_BROKER_FD_RESERVE, (unsigned long long)b.limit,
                      (unsigned long long)b.max_clients);
    if (b.limit && b.swarm > b.limit)
        fl_diag_error(d, "$.groups", false, "a swarm process of %llu clients needs %llu open files; this machine's "
                      "RLIMIT_NOFILE hard limit is %llu (raise it: ulimit -Hn, LimitNOFILE=)",
                      (unsigned long long)(b.swarm - FL_SWARM_FD_RESERVE), (unsigned long long)b.swarm,
                      (unsigned long long)b.limit);
    return d->errors - before;
}

/* ---- a sweep's total time ---- */

static void human(double s, char *out, size_t len)
{
    if (s >= 3600) {
        double h = s / 3600;
        long whole = (long)h, min = (long)((s - (double)whole * 3600) / 60 + 0.5);
        if (min == 60) {
            whole++;
            min = 0;
        }
        if (min)
            snprintf(out, len, "%ld h %ld min", whole, min);
        else
            snprintf(out, len, "%ld h", whole);
    } else if (s >= 60) {
        snprintf(out, len, "%.0f min", s / 60);
    } else {
        snprintf(out, len, "%.0f s", s);
    }
}

void fl_sweep_total_text(size_t cells, const uint64_t *duration_ns, char *out, size_t len)
{
    double total = 0;
    bool same = true;
    for (size_t i = 0; i < cells; i++) {
        total += (double)duration_ns[i] / 1e9;
        same &= duration_ns[i] == duration_ns[0];
    }
    char all[64];
    human(total, all, sizeof all);
    if (cells && same)
        snprintf(out, len, "%zu cells x %g s = %s measured, one cell after the other, plus each cell's setup and "
                 "connect", cells, (double)duration_ns[0] / 1e9, all);
    else
        snprintf(out, len, "%zu cells, %s measured in all, one cell after the other, plus each cell's setup and "
                 "connect", cells, all);
}
