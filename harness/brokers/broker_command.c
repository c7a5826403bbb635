/* kind "command": any program, "command": ["/path/to/broker", "--port",
 * "{port}"] with {addr}, {port}, {workdir} and {bindir} (where flatline's
 * own programs are) replaced; ready when its port
 * accepts; measured black-box. Its keep-alive rule is what the scenario says
 * in "model" (the parameters of model/broker_rule.h), by default the MQTT
 * rule: an exact timer at 1.5 x KA. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/brokers/brokers_internal.h"

static const char *program(const json_t *broker)
{
    return json_string_value(json_array_get(json_object_get(broker, "command"), 0));
}

/* arg with the placeholders replaced. */
static void expand(const char *arg, const fl_broker_site *site, char *out, size_t len)
{
    char port[8];
    snprintf(port, sizeof port, "%u", site->port);
    const struct {
        const char *name, *value;
    } vars[] = { { "{addr}", site->addr },
                 { "{port}", port },
                 { "{workdir}", site->workdir },
                 { "{bindir}", site->bindir } };
    size_t j = 0;
    while (*arg && j + 1 < len) {
        bool replaced = false;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !replaced; i++) {
            size_t n = strlen(vars[i].name);
            if (strncmp(arg, vars[i].name, n) == 0) {
                j += (size_t)snprintf(out + j, len - j, "%s", vars[i].value ? vars[i].value : "");
                if (j >= len)
                    j = len - 1;
                arg += n;
                replaced = true;
            }
        }
        if (!replaced)
            out[j++] = *arg++;
    }
    out[j] = '\0';
}

static int installed(const fl_broker_site *site, char *err, size_t errlen)
{
    char path[PATH_MAX], arg[PATH_MAX];
    const char *p = program(site->broker);
    if (p)
        expand(p, site, arg, sizeof arg);
    if (p && fl_broker_which(arg, path, sizeof path))
        return 0;
    snprintf(err, errlen, "$.broker.command[0]: no executable \"%s\" on this machine%s", p ? arg : "",
             p && !strchr(arg, '/') ? " (not on PATH)" : "");
    return -1;
}

static void validate(const json_t *broker, const fl_broker_complain *c)
{
    fl_broker_refuse_options(broker, "command", NULL, c);
    if (!json_object_get(broker, "command"))
        c->error(c->arg, "$.broker", false, "broker kind \"command\" needs \"command\": [program, args...]");
    const json_t *m = json_object_get(broker, "model");
    const json_t *ka = json_object_get(m, "check_interval_ka");
    if (json_is_true(json_object_get(m, "whole_seconds")) && ka && json_number_value(ka) > 0)
        c->error(c->arg, "$.broker.model.check_interval_ka", false,
                 "a whole-second clock checks on whole seconds: give check_interval_s instead");
}

static double num(const json_t *o, const char *key, double fallback)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static void rule(const json_t *broker, fl_model_config *cfg)
{
    const json_t *m = json_object_get(broker, "model");
    cfg->broker.grace = num(m, "grace", 1.5);
    cfg->broker.check_interval_s = num(m, "check_interval_s", 0);
    cfg->broker.check_interval_ka = num(m, "check_interval_ka", 0);
    cfg->broker.check_lag_s = num(m, "check_lag_s", 0);
    cfg->broker.check_phase_s = num(m, "check_phase_s", -1);
    cfg->broker.whole_seconds = json_is_true(json_object_get(m, "whole_seconds"));
}

/* A black box keeps the MQTT rule, as its keep-alive does by default: the
 * spec's takeover (MQTT 3.1.1 and 5, section 3.1.4). A broker that refuses
 * duplicates shows as detections outside the window. */
static fl_model_duplicate duplicate(const json_t *broker)
{
    (void)broker;
    return FL_DUP_TAKEOVER;
}

static int prepare(const fl_broker_site *site, fl_broker_launch *out, char *err, size_t errlen)
{
    const json_t *cmd = json_object_get(site->broker, "command");
    char arg[PATH_MAX], path[PATH_MAX];
    for (size_t i = 0; i < json_array_size(cmd); i++) {
        expand(json_string_value(json_array_get(cmd, i)), site, arg, sizeof arg);
        if (i == 0 && !fl_broker_which(arg, path, sizeof path)) {
            snprintf(err, errlen, "no executable \"%s\"", arg);
            return -1;
        }
        if (fl_broker_launch_arg(out, i == 0 ? path : arg) < 0) {
            snprintf(err, errlen, "$.broker.command: at most %d arguments", FL_BROKER_MAX_ARGS - 1);
            return -1;
        }
    }
    out->ready_timeout_s = 30;
    return 0;
}

const fl_broker_driver fl_broker_command = {
    .kind = "command",
    .name = "command",
    .package = "the program in $.broker.command",
    .observe = FL_BROKER_BLACK_BOX,
    .ready = FL_BROKER_READY_PORT,
    .installed = installed,
    .validate = validate,
    .rule = rule,
    .duplicate = duplicate,
    .prepare = prepare,
};
