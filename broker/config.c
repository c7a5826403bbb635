#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bk_config_defaults(bk_config *c)
{
    memset(c, 0, sizeof *c);
    c->ka.grace = 1.5;
    c->max_inflight = 20;
    c->max_queued = 1000;
    c->topic_alias_max = 10;
    c->connect_timeout = 10;
}

void bk_config_free(bk_config *c)
{
    for (size_t i = 0; i < c->nlisten; i++)
        free(c->listen[i].addr);
    free(c->listen);
    free(c->events);
    c->listen = NULL;
    c->nlisten = 0;
    c->events = NULL;
}

static void clear_listen(bk_config *c)
{
    for (size_t i = 0; i < c->nlisten; i++)
        free(c->listen[i].addr);
    c->nlisten = 0;
}

static int add_listen(bk_config *c, const char *addr, const bk_tcp_opts *tcp)
{
    bk_listen_cfg *l = realloc(c->listen, (c->nlisten + 1) * sizeof *l);
    if (!l)
        return -1;
    c->listen = l;
    l[c->nlisten].addr = strdup(addr);
    if (!l[c->nlisten].addr)
        return -1;
    l[c->nlisten].tcp = *tcp;
    c->nlisten++;
    return 0;
}

int bk_parse_tcp_keepalive(const char *s, bk_tcp_opts *out)
{
    if (strcmp(s, "off") == 0) {
        out->keepalive = BK_TCPKA_OFF;
        out->idle = out->interval = out->count = 0;
        return 0;
    }
    if (strcmp(s, "go-default") == 0) {
        out->keepalive = BK_TCPKA_GO;
        out->idle = out->interval = 15;
        out->count = 9;
        return 0;
    }
    int idle, intvl, cnt, used = 0;
    if (sscanf(s, "%d,%d,%d%n", &idle, &intvl, &cnt, &used) != 3 || s[used])
        return -1;
    if (idle < 1 || idle > 32767 || intvl < 1 || intvl > 32767 || cnt < 1 || cnt > 127)
        return -1;
    out->keepalive = BK_TCPKA_CUSTOM;
    out->idle = idle;
    out->interval = intvl;
    out->count = cnt;
    return 0;
}

/* A JSON integer in [lo, hi]; reals with an integral value are accepted. */
static int json_uint(json_t *v, const char *field, uint64_t lo, uint64_t hi, uint64_t *out, char *err, size_t errlen)
{
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else {
        snprintf(err, errlen, "config: '%s' must be a number", field);
        return -1;
    }
    if (d != floor(d) || d < (double)lo || d > (double)hi) {
        snprintf(err, errlen, "config: '%s' must be an integer in %llu..%llu", field, (unsigned long long)lo,
                 (unsigned long long)hi);
        return -1;
    }
    *out = (uint64_t)d;
    return 0;
}

static int json_tcp_keepalive(json_t *v, const char *field, bk_tcp_opts *tcp, char *err, size_t errlen)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if ((strcmp(s, "off") && strcmp(s, "go-default")) || bk_parse_tcp_keepalive(s, tcp) < 0) {
            snprintf(err, errlen, "config: '%s' must be \"off\", \"go-default\" or {\"idle\",\"interval\",\"count\"}",
                     field);
            return -1;
        }
        return 0;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "config: '%s' must be \"off\", \"go-default\" or an object", field);
        return -1;
    }
    static const struct { const char *key; uint64_t hi; } parts[] = { { "idle", 32767 }, { "interval", 32767 }, { "count", 127 } };
    uint64_t val[3];
    const char *key;
    json_t *item;
    json_object_foreach(v, key, item)
    {
        if (strcmp(key, "idle") && strcmp(key, "interval") && strcmp(key, "count")) {
            snprintf(err, errlen, "config: '%s.%s' is not a known field", field, key);
            return -1;
        }
    }
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%s", field, parts[i].key);
        json_t *p = json_object_get(v, parts[i].key);
        if (!p) {
            snprintf(err, errlen, "config: '%s' is missing", name);
            return -1;
        }
        if (json_uint(p, name, 1, parts[i].hi, &val[i], err, errlen) < 0)
            return -1;
    }
    tcp->keepalive = BK_TCPKA_CUSTOM;
    tcp->idle = (int)val[0];
    tcp->interval = (int)val[1];
    tcp->count = (int)val[2];
    return 0;
}

static int apply_listen(bk_config *c, json_t *v, char *err, size_t errlen)
{
    if (!json_is_array(v)) {
        snprintf(err, errlen, "config: 'listen' must be an array of \"addr:port\" or objects");
        return -1;
    }
    clear_listen(c);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char name[48];
        snprintf(name, sizeof name, "listen[%zu]", i);
        bk_tcp_opts tcp = c->tcp;
        const char *addr = NULL;
        if (json_is_string(item)) {
            addr = json_string_value(item);
        } else if (json_is_object(item)) {
            const char *key;
            json_t *f;
            json_object_foreach(item, key, f)
            {
                char fname[96];
                snprintf(fname, sizeof fname, "%s.%s", name, key);
                if (strcmp(key, "addr") == 0) {
                    if (!json_is_string(f)) {
                        snprintf(err, errlen, "config: '%s' must be a string \"addr:port\"", fname);
                        return -1;
                    }
                    addr = json_string_value(f);
                } else if (strcmp(key, "tcp_keepalive") == 0) {
                    if (json_tcp_keepalive(f, fname, &tcp, err, errlen) < 0)
                        return -1;
                } else if (strcmp(key, "tcp_user_timeout_ms") == 0) {
                    uint64_t u;
                    if (json_uint(f, fname, 0, UINT32_MAX, &u, err, errlen) < 0)
                        return -1;
                    tcp.user_timeout_ms = (uint32_t)u;
                } else {
                    snprintf(err, errlen, "config: '%s' is not a known field", fname);
                    return -1;
                }
            }
            if (!addr) {
                snprintf(err, errlen, "config: '%s.addr' is missing", name);
                return -1;
            }
        } else {
            snprintf(err, errlen, "config: '%s' must be \"addr:port\" or an object", name);
            return -1;
        }
        if (!*addr || !strrchr(addr, ':')) {
            snprintf(err, errlen, "config: '%s' must be \"addr:port\", got \"%s\"", name, addr);
            return -1;
        }
        if (add_listen(c, addr, &tcp) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int bk_config_apply_json(bk_config *c, const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "config: the top level must be an object");
        goto out;
    }
    /* Top-level TCP options first: string listeners inherit them. */
    json_t *v;
    if ((v = json_object_get(root, "tcp_keepalive")) && json_tcp_keepalive(v, "tcp_keepalive", &c->tcp, err, errlen) < 0)
        goto out;
    if ((v = json_object_get(root, "tcp_user_timeout_ms"))) {
        uint64_t u;
        if (json_uint(v, "tcp_user_timeout_ms", 0, UINT32_MAX, &u, err, errlen) < 0)
            goto out;
        c->tcp.user_timeout_ms = (uint32_t)u;
    }
    const char *key;
    json_object_foreach(root, key, v)
    {
        uint64_t u;
        if (strcmp(key, "tcp_keepalive") == 0 || strcmp(key, "tcp_user_timeout_ms") == 0) {
            continue;
        } else if (strcmp(key, "listen") == 0) {
            if (apply_listen(c, v, err, errlen) < 0)
                goto out;
        } else if (strcmp(key, "grace") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 100) {
                snprintf(err, errlen, "config: 'grace' must be a number in (0, 100]");
                goto out;
            }
            c->ka.grace = json_number_value(v);
        } else if (strcmp(key, "max_keepalive") == 0) {
            if (json_uint(v, key, 0, 65535, &u, err, errlen) < 0)
                goto out;
            c->ka.max_keepalive = (uint16_t)u;
        } else if (strcmp(key, "v3_keepalive_over_max") == 0) {
            const char *s = json_string_value(v);
            if (!s || (strcmp(s, "clamp") && strcmp(s, "refuse"))) {
                snprintf(err, errlen, "config: 'v3_keepalive_over_max' must be \"clamp\" or \"refuse\"");
                goto out;
            }
            c->ka.v3_refuse_over_max = strcmp(s, "refuse") == 0;
        } else if (strcmp(key, "keepalive_zero_ceiling") == 0) {
            if (json_uint(v, key, 0, 65535, &u, err, errlen) < 0)
                goto out;
            c->ka.zero_ceiling = (uint16_t)u;
        } else if (strcmp(key, "idle_timeout") == 0) {
            if (json_uint(v, key, 0, 100000000, &u, err, errlen) < 0)
                goto out;
            c->ka.idle_timeout = (uint32_t)u;
        } else if (strcmp(key, "duplicate_client_id") == 0) {
            const char *s = json_string_value(v);
            if (!s || (strcmp(s, "takeover") && strcmp(s, "reject"))) {
                snprintf(err, errlen, "config: 'duplicate_client_id' must be \"takeover\" or \"reject\"");
                goto out;
            }
            c->duplicate_reject = strcmp(s, "reject") == 0;
        } else if (strcmp(key, "max_packet_size") == 0) {
            if (json_uint(v, key, 0, 268435460, &u, err, errlen) < 0)
                goto out;
            c->max_packet_size = (uint32_t)u;
        } else if (strcmp(key, "max_inflight") == 0) {
            if (json_uint(v, key, 1, 65535, &u, err, errlen) < 0)
                goto out;
            c->max_inflight = (uint16_t)u;
        } else if (strcmp(key, "max_subscriptions") == 0) {
            if (json_uint(v, key, 0, UINT32_MAX, &u, err, errlen) < 0)
                goto out;
            c->max_subscriptions = (uint32_t)u;
        } else if (strcmp(key, "max_topic_length") == 0) {
            if (json_uint(v, key, 0, 65535, &u, err, errlen) < 0)
                goto out;
            c->max_topic_length = (uint16_t)u;
        } else if (strcmp(key, "max_queued") == 0) {
            if (json_uint(v, key, 0, UINT32_MAX, &u, err, errlen) < 0)
                goto out;
            c->max_queued = (uint32_t)u;
        } else if (strcmp(key, "topic_alias_maximum") == 0) {
            if (json_uint(v, key, 0, 65535, &u, err, errlen) < 0)
                goto out;
            c->topic_alias_max = (uint16_t)u;
        } else if (strcmp(key, "connect_timeout") == 0) {
            if (json_uint(v, key, 1, 86400, &u, err, errlen) < 0)
                goto out;
            c->connect_timeout = (uint32_t)u;
        } else {
            snprintf(err, errlen, "config: '%s' is not a known field", key);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int bk_config_load_file(bk_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "--config: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf[len] = 0;
    char inner[256];
    int rc = bk_config_apply_json(c, buf, inner, sizeof inner);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, inner);
    free(buf);
    return rc;
}

void bk_config_usage(const char *prog)
{
    printf("usage: %s --listen ADDR:PORT [--listen ...] [--config FILE] [--events FILE|-|fd:N] [options]\n"
           "\n"
           "The flatline reference MQTT 3.1.1/5.0 broker, with exact keep-alive timing.\n"
           "Flags override the JSON config file (see docs/broker.md).\n"
           "\n"
           "  --listen ADDR:PORT            listen here (IPv4 or [IPv6]; port 0 = ephemeral); repeatable\n"
           "  --config FILE                 JSON configuration\n"
           "  --events FILE|-|fd:N          JSON-lines event log (docs/events.md)\n"
           "  --grace X                     keep-alive deadline = last packet + X * KeepAlive (1.5)\n"
           "  --max-keepalive S             largest keep-alive granted; 0 = none\n"
           "  --v3-keepalive-over-max clamp|refuse\n"
           "  --keepalive-zero-ceiling S    grant S to clients asking KeepAlive 0; 0 = 0 disables\n"
           "  --idle-timeout S              close after S without an application packet; 0 = off\n"
           "  --tcp-keepalive off|go-default|IDLE,INTERVAL,COUNT\n"
           "  --tcp-user-timeout-ms MS      TCP_USER_TIMEOUT on accepted sockets; 0 = unset\n"
           "  --duplicate-client-id takeover|reject\n"
           "  --max-packet-size N  --max-inflight N  --max-subscriptions N\n"
           "  --max-topic-length N  --max-queued N  --connect-timeout S\n"
           "  --topic-alias-maximum N       v5 topic aliases each way (default 10; 0 = none)\n"
           "  --help                        this text\n"
           "\n"
           "Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 2 bad usage or configuration, 3 this machine cannot (the address cannot be bound),\n"
           "4 runtime failure (the codes of every flatline program, core/exit.h).\n",
           prog);
}

enum {
    OPT_LISTEN = 256, OPT_CONFIG, OPT_EVENTS, OPT_GRACE, OPT_MAX_KA, OPT_V3_OVER, OPT_ZERO_CEIL, OPT_IDLE,
    OPT_TCP_KA, OPT_UTO, OPT_DUP, OPT_MAX_PACKET, OPT_MAX_INFLIGHT, OPT_MAX_SUBS, OPT_MAX_TOPIC, OPT_MAX_QUEUED,
    OPT_CONNECT_TIMEOUT, OPT_TOPIC_ALIAS, OPT_HELP,
};

static const struct option long_opts[] = {
    { "listen", required_argument, 0, OPT_LISTEN },
    { "config", required_argument, 0, OPT_CONFIG },
    { "events", required_argument, 0, OPT_EVENTS },
    { "grace", required_argument, 0, OPT_GRACE },
    { "max-keepalive", required_argument, 0, OPT_MAX_KA },
    { "v3-keepalive-over-max", required_argument, 0, OPT_V3_OVER },
    { "keepalive-zero-ceiling", required_argument, 0, OPT_ZERO_CEIL },
    { "idle-timeout", required_argument, 0, OPT_IDLE },
    { "tcp-keepalive", required_argument, 0, OPT_TCP_KA },
    { "tcp-user-timeout-ms", required_argument, 0, OPT_UTO },
    { "duplicate-client-id", required_argument, 0, OPT_DUP },
    { "max-packet-size", required_argument, 0, OPT_MAX_PACKET },
    { "max-inflight", required_argument, 0, OPT_MAX_INFLIGHT },
    { "max-subscriptions", required_argument, 0, OPT_MAX_SUBS },
    { "max-topic-length", required_argument, 0, OPT_MAX_TOPIC },
    { "max-queued", required_argument, 0, OPT_MAX_QUEUED },
    { "connect-timeout", required_argument, 0, OPT_CONNECT_TIMEOUT },
    { "topic-alias-maximum", required_argument, 0, OPT_TOPIC_ALIAS },
    { "help", no_argument, 0, OPT_HELP },
    { 0, 0, 0, 0 },
};

static int flag_uint(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi) {
        snprintf(err, errlen, "--%s: expected an integer in %llu..%llu, got '%s'", flag, (unsigned long long)lo,
                 (unsigned long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Pass 1: reject unknown flags and find --config, so that the file is applied before the flags.
 * Returns 1 for --help, -1 on an error, 0 otherwise. */
static int scan_args(int argc, char **argv, const char **config_path, char *err, size_t errlen)
{
    int opt;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        if (opt == OPT_HELP)
            return 1;
        if (opt == OPT_CONFIG)
            *config_path = optarg;
        if (opt == '?') {
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
        if (opt == ':') {
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    return 0;
}

/* What pass 2 remembers across flags: the first --listen replaces the file's list, and the TCP
 * flags are applied to every listener once all flags are read. */
typedef struct {
    bool listen_from_flags, tcp_ka_flag, uto_flag;
    bk_tcp_opts flag_tcp;
} flag_state;

static int apply_listen_flag(bk_config *c, flag_state *st, const char *arg, char *err, size_t errlen)
{
    if (!st->listen_from_flags) {
        clear_listen(c);
        st->listen_from_flags = true;
    }
    if (!*arg || !strrchr(arg, ':')) {
        snprintf(err, errlen, "--listen: expected ADDR:PORT, got '%s'", arg);
        return -1;
    }
    if (add_listen(c, arg, &c->tcp) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* A flag whose value is one of two words; *out is whether it is the second. */
static int flag_choice(const char *flag, const char *arg, const char *no, const char *yes, bool *out, char *err,
                       size_t errlen)
{
    if (strcmp(arg, no) && strcmp(arg, yes)) {
        snprintf(err, errlen, "--%s: expected %s or %s, got '%s'", flag, no, yes, arg);
        return -1;
    }
    *out = strcmp(arg, yes) == 0;
    return 0;
}

/* The keep-alive flags (grant, grace, idle limit). Returns 1 when opt is not one of them. */
static int apply_keepalive_flag(bk_config *c, int opt, const char *name, const char *arg, char *err, size_t errlen)
{
    uint64_t u;
    switch (opt) {
    case OPT_GRACE: {
        char *end;
        double g = strtod(arg, &end);
        if (*end || end == arg || !(g > 0) || g > 100) {
            snprintf(err, errlen, "--grace: expected a number in (0, 100], got '%s'", arg);
            return -1;
        }
        c->ka.grace = g;
        return 0;
    }
    case OPT_MAX_KA:
        if (flag_uint(name, arg, 0, 65535, &u, err, errlen) < 0)
            return -1;
        c->ka.max_keepalive = (uint16_t)u;
        return 0;
    case OPT_V3_OVER:
        return flag_choice(name, arg, "clamp", "refuse", &c->ka.v3_refuse_over_max, err, errlen);
    case OPT_ZERO_CEIL:
        if (flag_uint(name, arg, 0, 65535, &u, err, errlen) < 0)
            return -1;
        c->ka.zero_ceiling = (uint16_t)u;
        return 0;
    case OPT_IDLE:
        if (flag_uint(name, arg, 0, 100000000, &u, err, errlen) < 0)
            return -1;
        c->ka.idle_timeout = (uint32_t)u;
        return 0;
    default:
        return 1;
    }
}

/* The TCP flags, collected in st and applied to the listeners at the end. Returns 1 when opt is
 * not one of them. */
static int apply_tcp_flag(flag_state *st, int opt, const char *name, const char *arg, char *err, size_t errlen)
{
    uint64_t u;
    switch (opt) {
    case OPT_TCP_KA:
        if (bk_parse_tcp_keepalive(arg, &st->flag_tcp) < 0) {
            snprintf(err, errlen, "--tcp-keepalive: expected off, go-default or IDLE,INTERVAL,COUNT "
                                  "(1..32767,1..32767,1..127), got '%s'", arg);
            return -1;
        }
        st->tcp_ka_flag = true;
        return 0;
    case OPT_UTO:
        if (flag_uint(name, arg, 0, UINT32_MAX, &u, err, errlen) < 0)
            return -1;
        st->flag_tcp.user_timeout_ms = (uint32_t)u;
        st->uto_flag = true;
        return 0;
    default:
        return 1;
    }
}

/* The integer limits: each flag's range and the field it sets. */
static int apply_limit_flag(bk_config *c, int opt, const char *name, const char *arg, char *err, size_t errlen)
{
    static const struct {
        int opt;
        uint64_t lo, hi;
    } ranges[] = {
        { OPT_MAX_PACKET, 0, 268435460 }, { OPT_MAX_INFLIGHT, 1, 65535 }, { OPT_MAX_SUBS, 0, UINT32_MAX },
        { OPT_MAX_TOPIC, 0, 65535 },      { OPT_MAX_QUEUED, 0, UINT32_MAX }, { OPT_CONNECT_TIMEOUT, 1, 86400 },
        { OPT_TOPIC_ALIAS, 0, 65535 },
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (ranges[i].opt != opt)
            continue;
        uint64_t u;
        if (flag_uint(name, arg, ranges[i].lo, ranges[i].hi, &u, err, errlen) < 0)
            return -1;
        switch (opt) {
        case OPT_MAX_PACKET: c->max_packet_size = (uint32_t)u; break;
        case OPT_MAX_INFLIGHT: c->max_inflight = (uint16_t)u; break;
        case OPT_MAX_SUBS: c->max_subscriptions = (uint32_t)u; break;
        case OPT_MAX_TOPIC: c->max_topic_length = (uint16_t)u; break;
        case OPT_MAX_QUEUED: c->max_queued = (uint32_t)u; break;
        case OPT_CONNECT_TIMEOUT: c->connect_timeout = (uint32_t)u; break;
        default: c->topic_alias_max = (uint16_t)u; break;
        }
        return 0;
    }
    return 1;
}

/* One flag of pass 2 (all flags are known to be valid names by then). */
static int apply_flag(bk_config *c, flag_state *st, int opt, const char *arg, char *err, size_t errlen)
{
    const char *name = long_opts[opt - OPT_LISTEN].name;
    switch (opt) {
    case OPT_LISTEN:
        return apply_listen_flag(c, st, arg, err, errlen);
    case OPT_EVENTS:
        free(c->events);
        c->events = strdup(arg);
        return 0;
    case OPT_DUP:
        return flag_choice(name, arg, "takeover", "reject", &c->duplicate_reject, err, errlen);
    default:
        break;
    }
    int rc = apply_keepalive_flag(c, opt, name, arg, err, errlen);
    if (rc <= 0)
        return rc;
    rc = apply_tcp_flag(st, opt, name, arg, err, errlen);
    if (rc <= 0)
        return rc;
    return apply_limit_flag(c, opt, name, arg, err, errlen) < 0 ? -1 : 0;
}

/* TCP flags override the file for every listener. */
static void apply_tcp_to_listeners(bk_config *c, const flag_state *st)
{
    if (!st->tcp_ka_flag && !st->uto_flag)
        return;
    for (size_t i = 0; i < c->nlisten; i++) {
        if (st->tcp_ka_flag) {
            c->listen[i].tcp.keepalive = st->flag_tcp.keepalive;
            c->listen[i].tcp.idle = st->flag_tcp.idle;
            c->listen[i].tcp.interval = st->flag_tcp.interval;
            c->listen[i].tcp.count = st->flag_tcp.count;
        }
        if (st->uto_flag)
            c->listen[i].tcp.user_timeout_ms = st->flag_tcp.user_timeout_ms;
    }
    c->tcp = st->flag_tcp;
}

int bk_config_from_args(bk_config *c, int argc, char **argv, char *err, size_t errlen)
{
    const char *config_path = NULL;
    int rc = scan_args(argc, argv, &config_path, err, errlen);
    if (rc != 0)
        return rc;
    if (config_path && bk_config_load_file(c, config_path, err, errlen) < 0)
        return -1;

    /* Pass 2: the flags, in order, over the file. */
    flag_state st = { .flag_tcp = c->tcp };
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        if (opt != OPT_CONFIG && opt >= OPT_LISTEN && opt < OPT_HELP && apply_flag(c, &st, opt, optarg, err, errlen) < 0)
            return -1;
    }
    apply_tcp_to_listeners(c, &st);
    if (!c->nlisten) {
        snprintf(err, errlen, "no listener: give --listen ADDR:PORT or 'listen' in the config file");
        return -1;
    }
    return 0;
}
