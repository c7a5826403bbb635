/* The table of broker drivers and the helpers they share. */
#include "harness/brokers/brokers.h"
#include "harness/brokers/brokers_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const fl_broker_driver fl_broker_reference, fl_broker_mosquitto, fl_broker_rabbitmq, fl_broker_aedes,
    fl_broker_command;

static const fl_broker_driver *const drivers[] = {
    &fl_broker_reference, &fl_broker_mosquitto, &fl_broker_rabbitmq, &fl_broker_aedes, &fl_broker_command,
};

/* In the order of drivers[]. */
const char *const fl_broker_kinds[] = { "reference", "mosquitto", "rabbitmq", "aedes", "command", NULL };

const char *const fl_reference_only_broker_options[] = {
    "grace", "v3_keepalive_over_max", "keepalive_zero_ceiling", "idle_timeout", "tcp_keepalive",
    "tcp_user_timeout_ms", NULL,
};

const fl_broker_driver *fl_broker_driver_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i]->kind, kind) == 0)
            return drivers[i];
    return NULL;
}

void fl_broker_launch_free(fl_broker_launch *l)
{
    for (size_t i = 0; i < FL_BROKER_MAX_ARGS; i++)
        free(l->argv[i]);
    for (size_t i = 0; i < FL_BROKER_MAX_ENV; i++)
        free(l->env[i]);
    for (size_t i = 0; i < sizeof l->helper / sizeof l->helper[0]; i++)
        free(l->helper[i]);
    memset(l, 0, sizeof *l);
}

static int append(char **list, size_t cap, char *s)
{
    size_t n = 0;
    while (n < cap - 1 && list[n])
        n++;
    if (!s || n == cap - 1) {
        free(s);
        return -1;
    }
    list[n] = s;
    return 0;
}

int fl_broker_launch_arg(fl_broker_launch *l, const char *arg)
{
    return append(l->argv, FL_BROKER_MAX_ARGS, strdup(arg));
}

int fl_broker_launch_env(fl_broker_launch *l, const char *name, const char *value)
{
    char *s = NULL;
    if (asprintf(&s, "%s=%s", name, value) < 0)
        s = NULL;
    return append(l->env, FL_BROKER_MAX_ENV, s);
}

const char *fl_broker_path(const char *path, char *buf, size_t len)
{
    const char *root = getenv("FLATLINE_BROKER_ROOT");
    snprintf(buf, len, "%s%s", root ? root : "", path);
    return buf;
}

const char *fl_broker_which(const char *name, char *buf, size_t len)
{
    if (strchr(name, '/')) {
        snprintf(buf, len, "%s", name);
        return access(buf, X_OK) == 0 ? buf : NULL;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, path, name);
        if (n && access(buf, X_OK) == 0)
            return buf;
        path += n + (path[n] == ':');
    }
    return NULL;
}

int fl_broker_write_file(const char *workdir, const char *name, const char *text, int mode, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

void fl_broker_refuse_options(const json_t *broker, const char *kind, const char *const *names,
                              const fl_broker_complain *c)
{
    const json_t *options = json_object_get(broker, "options");
    char path[256], msg[256];
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)options, key, v) {
        bool refused = names == NULL;
        for (const char *const *n = names; n && *n && !refused; n++)
            refused = strcmp(*n, key) == 0;
        if (!refused)
            continue;
        snprintf(path, sizeof path, "$.broker.options.%s", key);
        snprintf(msg, sizeof msg, "%s has no \"%s\" option (%s)", kind, key,
                 names ? "only the reference broker does" : "it takes none: its own defaults are what is measured");
        c->error(c->arg, path, true, msg);
    }
}

void fl_broker__refuse_command_fields(const json_t *broker, const char *kind, const fl_broker_complain *c)
{
    static const char *const fields[] = { "command", "model", NULL };
    char path[64], msg[160];
    for (const char *const *f = fields; *f; f++) {
        if (!json_object_get(broker, *f))
            continue;
        snprintf(path, sizeof path, "$.broker.%s", *f);
        snprintf(msg, sizeof msg, "\"%s\" is for broker kind \"command\"; %s has its own%s", *f, kind,
                 strcmp(*f, "model") == 0 ? " keep-alive rule (docs/model.md, \"Broker rules\")" : " program");
        c->error(c->arg, path, true, msg);
    }
}
