/* kind "reference": flatline-broker, the project's own broker (docs/broker.md).
 * It writes flatline's event log, so its closes come with their reason; its
 * keep-alive is an exact timer at grace x KA (grace an option, 1.5 by default). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/brokers/brokers_internal.h"

static int installed(const fl_broker_site *site, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/flatline-broker", site->bindir);
    if (access(path, X_OK) == 0)
        return 0;
    snprintf(err, errlen, "flatline-broker not found next to flatline (%s); build it first", path);
    return -1;
}

static void validate(const json_t *broker, const fl_broker_complain *c)
{
    fl_broker__refuse_command_fields(broker, "the reference broker", c);
}

static void rule(const json_t *broker, fl_model_config *cfg)
{
    const json_t *g = json_object_get(json_object_get(broker, "options"), "grace");
    cfg->broker.grace = json_is_number(g) ? json_number_value(g) : 1.5;
}

/* The option duplicate_client_id (broker/config.c): "takeover" by default,
 * or "reject" (broker/protocol.c then refuses the newcomer, `rejected_duplicate`,
 * and the old connection stays). */
static fl_model_duplicate duplicate(const json_t *broker)
{
    const json_t *d = json_object_get(json_object_get(broker, "options"), "duplicate_client_id");
    return json_is_string(d) && strcmp(json_string_value(d), "reject") == 0 ? FL_DUP_REJECT : FL_DUP_TAKEOVER;
}

static int prepare(const fl_broker_site *site, fl_broker_launch *out, char *err, size_t errlen)
{
    char *text = json_dumps(json_object_get(site->broker, "options"), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char path[PATH_MAX], listen[80];
    if (!text || fl_broker_write_file(site->workdir, "broker.json", text, 0644, err, errlen) < 0) {
        if (!text)
            snprintf(err, errlen, "out of memory");
        free(text);
        return -1;
    }
    free(text);
    snprintf(listen, sizeof listen, "%s:%u", site->addr, site->port);
    snprintf(path, sizeof path, "%s/flatline-broker", site->bindir);
    fl_broker_launch_arg(out, path);
    fl_broker_launch_arg(out, "--config");
    snprintf(path, sizeof path, "%s/broker.json", site->workdir);
    fl_broker_launch_arg(out, path);
    fl_broker_launch_arg(out, "--listen");
    fl_broker_launch_arg(out, listen);
    out->ready_timeout_s = 10;
    return 0;
}

const fl_broker_driver fl_broker_reference = {
    .kind = "reference",
    .name = "broker",
    .package = "flatline-broker (this project's build)",
    .observe = FL_BROKER_EVENT_LOG,
    .ready = FL_BROKER_READY_EVENT,
    .installed = installed,
    .validate = validate,
    .rule = rule,
    .duplicate = duplicate,
    .prepare = prepare,
};
