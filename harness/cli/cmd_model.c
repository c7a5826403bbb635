/* flatline model SCENARIO.json | flatline model [--keepalive S] [--grace G]
 * [--tcp-keepalive I/I/C] ...: the model's detection windows and heartbeat
 * cost, without running anything (harness/model.h does the arithmetic and the
 * table; this only gathers the configuration). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "model/model.h"
#include "harness/scenario/matrix.h"
#include "harness/scenario/predict.h"
#include "harness/scenario/scenario.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s model SCENARIO.json\n"
            "       %s model [--keepalive S] [--grace G] [--tcp-keepalive IDLE/INTVL/COUNT|off] ...\n\n"
            "Prints each side's predicted detection window (seconds after the fault), the\n"
            "detector that ends it, and the heartbeat's cost per connection-hour (packets and\n"
            "bytes), from the model of docs/model.md. With a scenario: one prediction per\n"
            "fault (per cell of a sweep). Without: the configuration the flags describe.\n\n"
            "  --keepalive S              MQTT Keep Alive the client gets (60; 0 = off)\n"
            "  --grace G                  the broker's keep-alive multiplier (1.5)\n"
            "  --tcp-keepalive I/I/C|off  TCP keep-alive idle/interval/count on both sides\n"
            "  --broker-tcp-keepalive, --client-tcp-keepalive  the same for one side\n"
            "  --user-timeout MS          TCP_USER_TIMEOUT on both sides (0 = off)\n"
            "  --retries2 N               net.ipv4.tcp_retries2 (15)\n"
            "  --strategy K               mqtt, miss-tolerant, probe, adaptive, tcp-only (mqtt)\n"
            "  --ping-timeout S           the client's PINGRESP wait (KeepAlive / 2)\n"
            "  --publish-interval S       the client publishes every S (0 = idle)\n"
            "  --fault K                  cable-pull (default), partition, power-loss, expire-now,\n"
            "                             nat-timeout, degrade\n"
            "  --nat-timeout S            a NAT with this idle timeout between client and broker\n"
            "  --duration S               the fault heals after S (0 = never)\n"
            "  --reboot-after S           power-loss whose host boots again after S; its client\n"
            "                             connects again at once (takeover of its old connection)\n"
            "  --reconnect S              the client reconnects S after it noticed (fixed delay)\n"
            "  --reject-duplicates        the broker refuses a second CONNECT with the same client id\n"
            "  --will                     the client has a will: predict its delivery\n"
            "  --rtt S                    round trip on the path (0)\n"
            "  -h, --help                 this text\n\n"
            "Exit: 0, or 2 on a bad flag or scenario (named).\n",
            fl_prog, fl_prog);
}

static int bad_value(const char *flag, const char *value, const char *want)
{
    fprintf(stderr, "%s model: --%s %s: %s\n", fl_prog, flag, value, want);
    return FL_EXIT_USAGE;
}

static bool parse_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "15/15/9" or "off". */
static bool parse_tcp_keepalive(const char *s, fl_model_tcp *t)
{
    if (strcmp(s, "off") == 0) {
        t->keepalive = false;
        return true;
    }
    double idle, intvl;
    int count, used = 0;
    if (sscanf(s, "%lf/%lf/%d%n", &idle, &intvl, &count, &used) != 3 || s[used] || idle <= 0 || intvl <= 0 ||
        count < 1 || count > 127)
        return false;
    *t = (fl_model_tcp){ .keepalive = true, .idle_s = idle, .interval_s = intvl, .count = count,
                         .user_timeout_s = t->user_timeout_s, .retries2 = t->retries2, .rto_min_s = t->rto_min_s };
    return true;
}

static int print_one(const fl_model_config *cfg, const char *title)
{
    fl_prediction p;
    char err[256];
    if (fl_model_predict(cfg, &p, err, sizeof err) < 0) {
        fprintf(stderr, "%s model: %s%s%s\n", fl_prog, title ? title : "", title ? ": " : "", err);
        return FL_EXIT_USAGE;
    }
    if (title)
        printf("== %s\n", title);
    return fl_model_print(cfg, &p, stdout) < 0 ? FL_EXIT_BROKEN : FL_EXIT_OK;
}

/* Every fault of one scenario (a cable pull of the first group when it has none). */
static int model_scenario(const fl_scenario *sc, const char *cell)
{
    fl_sc_fault pull = { .kind = FL_FAULT_CABLE_PULL, .group = 0, .host = 0, .middlebox = -1, .link = -1 };
    snprintf(pull.label, sizeof pull.label, "%s[0]", sc->groups[0].name);
    size_t n = sc->nfaults ? sc->nfaults : 1;
    int code = FL_EXIT_OK;
    for (size_t i = 0; i < n && code == FL_EXIT_OK; i++) {
        const fl_sc_fault *f = sc->nfaults ? &sc->faults[i] : &pull;
        fl_model_config cfg;
        char title[256];
        snprintf(title, sizeof title, "%s%s%s %s %s", cell ? cell : "", cell ? ": " : "",
                 sc->nfaults ? "fault" : "no faults; as if", fl_fault_kind_name(f->kind), f->label);
        if (sc->nfaults)
            snprintf(title, sizeof title, "%s%sfaults[%zu] %s %s", cell ? cell : "", cell ? ": " : "", i,
                     fl_fault_kind_name(f->kind), f->label);
        if (fl_predict_config(sc, f, &cfg) < 0) {
            printf("== %s\nno client group is cut: nothing to predict\n", title);
            continue;
        }
        if (i)
            printf("\n");
        code = print_one(&cfg, title);
    }
    return code;
}

static int model_file(const char *path)
{
    fl_diag d;
    fl_diag_init(&d, path, stderr);
    fl_matrix_file mf;
    if (fl_matrix_file_load(path, &mf, &d) < 0) {
        fprintf(stderr, "%s: %s: %d error%s\n", fl_prog, path, d.errors, d.errors == 1 ? "" : "s");
        return FL_EXIT_USAGE;
    }
    int code = FL_EXIT_OK;
    if (!mf.matrix) {
        fl_scenario *sc = fl_scenario_parse(mf.text, mf.len, path, &d);
        if (!sc)
            code = FL_EXIT_USAGE;
        else
            code = model_scenario(sc, NULL);
        fl_scenario_free(sc);
        fl_matrix_file_free(&mf);
        return code;
    }
    for (size_t c = 0; c < fl_matrix_cells(mf.matrix) && code == FL_EXIT_OK; c++) {
        char err[512] = "", label[256], name[512];
        fl_matrix_label(mf.matrix, c, label, sizeof label);
        json_t *doc = fl_matrix_cell(mf.matrix, mf.base, c, NULL, err, sizeof err);
        char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (!text) {
            fprintf(stderr, "%s: %s: %s\n", fl_prog, path, err[0] ? err : "out of memory");
            code = FL_EXIT_USAGE;
            break;
        }
        snprintf(name, sizeof name, "%s (cell %zu: %s)", path, c, label);
        fl_scenario *sc = fl_scenario_parse(text, strlen(text), name, &d);
        if (c)
            printf("\n");
        code = sc ? model_scenario(sc, label) : FL_EXIT_USAGE;
        fl_scenario_free(sc);
        free(text);
    }
    fl_matrix_file_free(&mf);
    return code;
}

int fl_cmd_model(int argc, char **argv)
{
    static const struct option options[] = {
        { "keepalive", required_argument, NULL, 'k' },
        { "grace", required_argument, NULL, 'g' },
        { "tcp-keepalive", required_argument, NULL, 't' },
        { "broker-tcp-keepalive", required_argument, NULL, 'B' },
        { "client-tcp-keepalive", required_argument, NULL, 'C' },
        { "user-timeout", required_argument, NULL, 'u' },
        { "retries2", required_argument, NULL, 'r' },
        { "strategy", required_argument, NULL, 's' },
        { "ping-timeout", required_argument, NULL, 'p' },
        { "publish-interval", required_argument, NULL, 'P' },
        { "fault", required_argument, NULL, 'f' },
        { "nat-timeout", required_argument, NULL, 'n' },
        { "will", no_argument, NULL, 'w' },
        { "duration", required_argument, NULL, 'D' },
        { "reboot-after", required_argument, NULL, 'b' },
        { "reconnect", required_argument, NULL, 'c' },
        { "reject-duplicates", no_argument, NULL, 'j' },
        { "rtt", required_argument, NULL, 'R' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const strategies[] = { "mqtt", "miss-tolerant", "probe", "adaptive", "tcp-only" };
    fl_model_config cfg;
    fl_model_config_defaults(&cfg);
    bool flags = false;
    double v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        flags |= c != 'h';
        switch (c) {
        case 'k':
            if (!parse_number(optarg, 0, 65535, &cfg.client.keepalive_s))
                return bad_value("keepalive", optarg, "expected seconds, 0 to 65535");
            break;
        case 'g':
            if (!parse_number(optarg, 1, 100, &cfg.broker.grace))
                return bad_value("grace", optarg, "expected a multiplier from 1 to 100");
            break;
        case 't':
        case 'B':
        case 'C':
            if ((c != 'C' && !parse_tcp_keepalive(optarg, &cfg.broker.tcp)) ||
                (c != 'B' && !parse_tcp_keepalive(optarg, &cfg.client.tcp)))
                return bad_value(c == 't' ? "tcp-keepalive" : c == 'B' ? "broker-tcp-keepalive" : "client-tcp-keepalive",
                                 optarg, "expected IDLE/INTERVAL/COUNT in seconds (15/15/9) or off");
            break;
        case 'u':
            if (!parse_number(optarg, 0, 2147483647.0, &v))
                return bad_value("user-timeout", optarg, "expected milliseconds >= 0");
            cfg.broker.tcp.user_timeout_s = cfg.client.tcp.user_timeout_s = v / 1000;
            break;
        case 'r':
            if (!parse_number(optarg, 1, 255, &v) || v != floor(v))
                return bad_value("retries2", optarg, "expected an integer from 1 to 255");
            cfg.broker.tcp.retries2 = cfg.client.tcp.retries2 = (int)v;
            break;
        case 's': {
            size_t i = 0;
            while (i < 5 && strcmp(optarg, strategies[i]) != 0)
                i++;
            if (i == 5)
                return bad_value("strategy", optarg, "expected mqtt, miss-tolerant, probe, adaptive or tcp-only");
            cfg.client.strategy = (fl_model_strategy)i;
            break;
        }
        case 'p':
            if (!parse_number(optarg, 0, 65535, &cfg.client.ping_timeout_s))
                return bad_value("ping-timeout", optarg, "expected seconds >= 0");
            break;
        case 'P':
            if (!parse_number(optarg, 0, 86400, &cfg.client.publish_interval_s))
                return bad_value("publish-interval", optarg, "expected seconds >= 0");
            break;
        case 'f':
            if (strcmp(optarg, "cable-pull") == 0 || strcmp(optarg, "partition") == 0)
                cfg.fault = FL_MF_SILENT;
            else if (strcmp(optarg, "power-loss") == 0)
                cfg.fault = FL_MF_POWER_LOSS;
            else if (strcmp(optarg, "expire-now") == 0)
                cfg.fault = FL_MF_NAT_EXPIRE;
            else if (strcmp(optarg, "nat-timeout") == 0 || strcmp(optarg, "nat-expiry") == 0)
                cfg.fault = FL_MF_NAT_TIMEOUT;
            else if (strcmp(optarg, "degrade") == 0)
                cfg.fault = FL_MF_DEGRADE;
            else
                return bad_value("fault", optarg,
                                 "expected cable-pull, partition, power-loss, expire-now, nat-timeout or degrade");
            break;
        case 'n':
            if (!parse_number(optarg, 1, 864000, &cfg.nat.timeout_s))
                return bad_value("nat-timeout", optarg, "expected seconds >= 1");
            break;
        case 'w': cfg.client.will = true; break;
        case 'D':
            if (!parse_number(optarg, 0, 864000, &cfg.fault_duration_s))
                return bad_value("duration", optarg, "expected seconds >= 0");
            break;
        case 'b':
            if (!parse_number(optarg, 0, 864000, &cfg.reboot_after_s) || cfg.reboot_after_s <= 0)
                return bad_value("reboot-after", optarg, "expected seconds > 0");
            cfg.fault = FL_MF_POWER_LOSS;
            /* one flatline-swarm client, as a run restarts it (harness/scenario/predict.c) */
            fl_predict_boot_window(NULL, 1, 0, &cfg.reconnect.boot_lo_s, &cfg.reconnect.boot_hi_s);
            break;
        case 'c':
            if (!parse_number(optarg, 0, 86400, &v))
                return bad_value("reconnect", optarg, "expected seconds >= 0");
            cfg.reconnect.enabled = true;
            cfg.reconnect.delay_lo_s = cfg.reconnect.delay_hi_s = cfg.reconnect.retry_delay_hi_s = v;
            break;
        case 'j': cfg.broker.duplicate = FL_DUP_REJECT; break;
        case 'R':
            if (!parse_number(optarg, 0, 60, &cfg.rtt_s))
                return bad_value("rtt", optarg, "expected seconds, 0 to 60");
            break;
        case 'h': usage(stdout); return FL_EXIT_OK;
        default:
            fprintf(stderr, "%s model: %s '%s'\n\n", fl_prog, c == ':' ? "option needs a value:" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (flags || optind != argc - 1) {
            fprintf(stderr, "%s model: give one scenario, or flags, not both\n\n", fl_prog);
            usage(stderr);
            return FL_EXIT_USAGE;
        }
        return model_file(argv[optind]);
    }
    if ((cfg.fault == FL_MF_NAT_EXPIRE || cfg.fault == FL_MF_NAT_TIMEOUT) && cfg.nat.timeout_s <= 0) {
        fprintf(stderr, "%s model: --fault %s needs --nat-timeout\n", fl_prog,
                cfg.fault == FL_MF_NAT_EXPIRE ? "expire-now" : "nat-timeout");
        return FL_EXIT_USAGE;
    }
    return print_one(&cfg, NULL);
}
