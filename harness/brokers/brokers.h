/* Broker drivers: everything flatline knows about one kind of broker under
 * test, one file a kind (broker_<kind>.c, the way iproute2 keeps
 * iplink_<kind>.c) and one table (brokers.c). A driver says whether its broker
 * is installed, which scenario options it takes, how it starts in the broker
 * host and when it is ready, how its closes are observed, its keep-alive
 * rule as the parameters of the one broker timing model (model/broker_rule.h)
 * and what it does with a duplicate client id.
 * The scenario parser, the predictor, the runner and the analysis ask the
 * driver; none of them names a kind.
 *
 * The drivers see the scenario's "broker" object as JSON (they sit below
 * harness/scenario/, which asks them while it parses). */
#ifndef FLATLINE_HARNESS_BROKERS_H
#define FLATLINE_HARNESS_BROKERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Where validate reports a problem: the JSON path ("$.broker.options.grace"),
 * whether it is the member's key that is wrong, and the message. */
typedef struct fl_broker_complain {
    void (*error)(void *arg, const char *path, bool key, const char *message);
    void *arg;
} fl_broker_complain;

/* How the broker's closes are known. */
typedef enum fl_broker_observe {
    FL_BROKER_EVENT_LOG, /* it writes flatline's event log (docs/events.md): the runner passes --events fd:N */
    FL_BROKER_BLACK_BOX, /* from outside: socket state in the broker host, FIN/RST on the wire, wills */
} fl_broker_observe;

/* How the runner knows it is ready. */
typedef enum fl_broker_ready {
    FL_BROKER_READY_EVENT, /* its `listening` event */
    FL_BROKER_READY_PORT,  /* its MQTT port accepts a connection in the broker host */
} fl_broker_ready;

/* What the runner gives a driver to start its broker. */
typedef struct fl_broker_site {
    const json_t *broker;  /* the scenario's "broker" object (with "options", always an object) */
    const char *scenario;  /* the scenario's name, for generated configs */
    const char *addr;      /* the broker host's address */
    uint16_t port;         /* its MQTT port */
    const char *workdir;   /* the run's work directory: configs, data, logs */
    const char *bindir;    /* where flatline-broker is */
} fl_broker_site;

#define FL_BROKER_MAX_ARGS 48
#define FL_BROKER_MAX_ENV 24

/* A started broker's recipe, filled by the driver's prepare. The runner
 * spawns argv (argv[0] an absolute path) in the broker host with the runner's
 * environment plus env, stdout and stderr to <workdir>/<name>.log. helper, when
 * set, is started first and must accept on helper_port at 127.0.0.1 before
 * the broker starts (RabbitMQ's epmd); it is stopped, by its pid, after the
 * broker. Strings are owned by the launch (fl_broker_launch_free). */
typedef struct fl_broker_launch {
    char *argv[FL_BROKER_MAX_ARGS];
    char *env[FL_BROKER_MAX_ENV];
    char *helper[8];
    uint16_t helper_port;
    double ready_timeout_s;
} fl_broker_launch;

typedef struct fl_broker_driver {
    const char *kind;    /* the scenario's broker.kind */
    const char *name;    /* its process in messages and file names ("broker" -> broker.log) */
    const char *package; /* what installs it, for the exit-3 message */
    fl_broker_observe observe;
    fl_broker_ready ready;
    /* 0 if this machine has it, else -1 with err naming what is missing and
     * the package. */
    int (*installed)(const fl_broker_site *site, char *err, size_t errlen);
    /* Reports every option or field of the broker object this kind lacks. */
    void (*validate)(const json_t *broker, const fl_broker_complain *c);
    /* Sets its keep-alive rule in cfg->broker (grace, check interval,
     * whole seconds, lag, phase: model/broker_rule.h); the predictor sets
     * the rest of the broker side from the options every kind shares. */
    void (*rule)(const json_t *broker, fl_model_config *cfg);
    /* What it does with a CONNECT whose client id is already connected: the
     * spec's takeover, or a refusal (a reconnecting client then never ends
     * its ghost; docs/model.md "Reconnect"). */
    fl_model_duplicate (*duplicate)(const json_t *broker);
    /* Writes its configuration under site->workdir and fills out. Returns 0,
     * or -1 with err. */
    int (*prepare)(const fl_broker_site *site, fl_broker_launch *out, char *err, size_t errlen);
} fl_broker_driver;

/* The driver of a kind, NULL if there is none. */
const fl_broker_driver *fl_broker_driver_find(const char *kind);
/* Every kind, NULL-terminated (for the scenario's shape table). */
extern const char *const fl_broker_kinds[];

/* Helpers for drivers and their callers. */
void fl_broker_launch_free(fl_broker_launch *l);
/* Appends a copy of each string (NULL-terminated list) to argv or env. -1 when full. */
int fl_broker_launch_arg(fl_broker_launch *l, const char *arg);
int fl_broker_launch_env(fl_broker_launch *l, const char *name, const char *value);
/* path prefixed with $FLATLINE_BROKER_ROOT (a sysroot for the programs the
 * drivers look for; tests point it at an empty directory to fake a machine
 * without them). buf needs PATH_MAX. */
const char *fl_broker_path(const char *path, char *buf, size_t len);
/* An executable on $PATH (or path itself when it has a '/'), NULL if none. */
const char *fl_broker_which(const char *name, char *buf, size_t len);
/* Writes text to workdir/name. 0, or -1 with err. */
int fl_broker_write_file(const char *workdir, const char *name, const char *text, int mode, char *err,
                         size_t errlen);
/* Complains about each option in options named in names (NULL-terminated):
 * "<kind> has no "<option>" option (only the reference broker does)". */
void fl_broker_refuse_options(const json_t *broker, const char *kind, const char *const *names,
                              const fl_broker_complain *c);
/* The options only the reference broker has. */
extern const char *const fl_reference_only_broker_options[];

#endif
