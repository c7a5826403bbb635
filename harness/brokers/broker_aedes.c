/* kind "aedes": the Node.js broker from npm (aedes 1.2.0, pinned by
 * harness/brokers/aedes/package-lock.json, installed there by setup.sh) run by
 * the project's launcher, harness/brokers/aedes/launch.mjs. Black-box: no
 * event log. Its keep-alive rule, as read in node_modules/aedes 1.2.0
 * (docs/model.md, "Broker rules"): lib/handlers/connect.js arms a
 * setTimeout of keepalive x 1500 + 1 ms at CONNECT, and lib/handlers/index.js
 * refresh()es it on every packet: an exact timer at 1.5 x KA + 1 ms. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness/brokers/brokers_internal.h"

#ifndef FLATLINE_SOURCE_DIR
#define FLATLINE_SOURCE_DIR "."
#endif

/* Where the launcher and its node_modules are: $FLATLINE_AEDES_DIR, else the source tree. */
static const char *aedes_dir(void)
{
    const char *d = getenv("FLATLINE_AEDES_DIR");
    return d && *d ? d : FLATLINE_SOURCE_DIR "/harness/brokers/aedes";
}

static int installed(const fl_broker_site *site, char *err, size_t errlen)
{
    (void)site;
    char node[PATH_MAX], path[PATH_MAX];
    if (!fl_broker_which("node", node, sizeof node)) {
        snprintf(err, errlen, "the scenario needs node (>= 20) on PATH (apt-get install nodejs)");
        return -1;
    }
    snprintf(path, sizeof path, "%s/node_modules/aedes/package.json", aedes_dir());
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "the scenario needs the npm package aedes in %s/node_modules (./setup.sh installs it: "
                 "npm ci --prefix %s)", aedes_dir(), aedes_dir());
        return -1;
    }
    return 0;
}

static void validate(const json_t *broker, const fl_broker_complain *c)
{
    fl_broker__refuse_command_fields(broker, "aedes", c);
    fl_broker_refuse_options(broker, "aedes", NULL, c);
}

static void rule(const json_t *broker, fl_model_config *cfg)
{
    (void)broker;
    cfg->broker.grace = 1.5;
    /* The extra millisecond, and node's timers: ms granularity plus the event
     * loop; measured up to 9 ms past 1.5 x KA on this 2-core machine (docs/atlas.md). */
    cfg->broker.check_lag_s = 0.02;
}

/* Takeover: aedes.js registerClient closes this.clients[client.id]
 * ("[MQTT-3.1.4-2]") before registering the new client (1.2.0). */
static fl_model_duplicate duplicate(const json_t *broker)
{
    (void)broker;
    return FL_DUP_TAKEOVER;
}

static int prepare(const fl_broker_site *site, fl_broker_launch *out, char *err, size_t errlen)
{
    char node[PATH_MAX], path[PATH_MAX], port[8];
    if (!fl_broker_which("node", node, sizeof node)) {
        snprintf(err, errlen, "node not on PATH");
        return -1;
    }
    snprintf(path, sizeof path, "%s/launch.mjs", aedes_dir());
    snprintf(port, sizeof port, "%u", site->port);
    fl_broker_launch_arg(out, node);
    fl_broker_launch_arg(out, path);
    fl_broker_launch_arg(out, site->addr);
    fl_broker_launch_arg(out, port);
    out->ready_timeout_s = 20;
    return 0;
}

const fl_broker_driver fl_broker_aedes = {
    .kind = "aedes",
    .name = "aedes",
    .package = "npm aedes 1.2.0 (./setup.sh)",
    .observe = FL_BROKER_BLACK_BOX,
    .ready = FL_BROKER_READY_PORT,
    .installed = installed,
    .validate = validate,
    .rule = rule,
    .duplicate = duplicate,
    .prepare = prepare,
};
