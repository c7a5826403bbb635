#include "harness/scenario/client_select.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness/scenario/jsonpos.h"

#ifdef FLATLINE_HAVE_ADAPTERS
#include "clients/adapters/table.h"
#endif

enum { PATH_LEN = 512 };

static const char *path_of(char *buf, size_t index, const char *member, const char *sub)
{
    snprintf(buf, PATH_LEN, "$.groups");
    fl_jsonpath_index(buf, PATH_LEN, index);
    if (member)
        fl_jsonpath_member(buf, PATH_LEN, member);
    if (sub)
        fl_jsonpath_member(buf, PATH_LEN, sub);
    return buf;
}

#ifdef FLATLINE_HAVE_ADAPTERS
/* A command: the program and its arguments, all strings. */
static bool argv_ok(const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s))
            return false;
    }
    return true;
}
#endif

const char *fl_sc_client_check(const json_t *group, size_t index, fl_diag *d)
{
    char path[PATH_LEN];
    const json_t *client = json_object_get(group, "client");
    const json_t *opts = json_object_get(group, "client_options");
    const char *name = json_is_string(client) ? json_string_value(client) : "flatline";
    /* {"command": [...]}: the command adapter with that option. */
    if (json_is_object(client)) {
        name = "command";
        if (opts)
            fl_diag_error(d, path_of(path, index, "client_options", NULL), true,
                          "not with {\"command\": [...]}: the command is the client's only option");
        opts = client;
    }
    if (strcmp(name, "flatline") == 0) {
        if (opts)
            fl_diag_error(d, path_of(path, index, "client_options", NULL), true,
                          "only with a library \"client\": flatline-swarm takes its options as group fields");
        return NULL;
    }
#ifdef FLATLINE_HAVE_ADAPTERS
    const fl_adapter_info *a = fl_adapter_find(name);
    if (!a) {
        fl_diag_error(d, path_of(path, index, "client", NULL), false, "unknown client \"%s\" (flatline, %s)", name,
                      fl_adapter_names());
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)group, key, v) {
        const char *why = fl_adapter_refuses(a, key);
        if (why)
            fl_diag_error(d, path_of(path, index, key, NULL), true, "%s %s", a->name, why);
    }
    const json_t *version = json_object_get(group, "version");
    if (version && !(json_is_integer(version) && json_integer_value(version) == 4))
        fl_diag_error(d, path_of(path, index, "version", NULL), false, "%s runs MQTT 3.1.1 (4) only", a->name);
    const json_t *ka = json_object_get(group, "keepalive");
    if (json_is_integer(ka) && json_integer_value(ka) != 0 && json_integer_value(ka) < (json_int_t)a->min_keepalive)
        fl_diag_error(d, path_of(path, index, "keepalive", NULL), false, "%s takes 0 or at least %u s (%s)", a->name,
                      a->min_keepalive, a->min_keepalive_why);
    const json_t *rc = json_object_get(json_object_get(group, "reconnect"), "kind");
    if (!a->reconnect_backoff && json_is_string(rc) && strcmp(json_string_value(rc), "backoff") == 0)
        fl_diag_error(d, path_of(path, index, "reconnect", "kind"), false,
                      "%s reconnects after a fixed delay only: use {\"kind\": \"fixed\", \"delay\": S}", a->name);
    json_object_foreach((json_t *)opts, key, v) {
        const char *type = fl_adapter_option_type(a, key);
        if (!type) {
            fl_diag_error(d, path_of(path, index, "client_options", key), true, "%s has no such option (%s)", a->name,
                          a->options[0] ? "see docs/clients.md" : "it takes none");
            continue;
        }
        bool ok = strcmp(type, "seconds") == 0 ? json_is_number(v) && json_number_value(v) >= 0
                  : strcmp(type, "count") == 0 ? json_is_integer(v) && json_integer_value(v) >= 0
                  : strcmp(type, "argv") == 0  ? argv_ok(v)
                                               : json_is_boolean(v);
        if (!ok)
            fl_diag_error(d, path_of(path, index, "client_options", key), false, "must be %s",
                          strcmp(type, "seconds") == 0 ? "seconds >= 0"
                          : strcmp(type, "count") == 0 ? "an integer >= 0"
                          : strcmp(type, "argv") == 0  ? "a non-empty array of strings (the program first)"
                                                       : "true or false");
    }
    return a->name;
#else
    fl_diag_error(d, path_of(path, index, "client", NULL), false,
                  "\"%s\": this flatline was built without the client adapters (clients/adapters)", name);
    return NULL;
#endif
}

const char *fl_sc_client_program(const char *adapter)
{
#ifdef FLATLINE_HAVE_ADAPTERS
    const fl_adapter_info *a = adapter ? fl_adapter_find(adapter) : NULL;
    if (a)
        return a->program;
#else
    (void)adapter;
#endif
    return "flatline-swarm";
}

bool fl_sc_client_binds(const char *adapter)
{
#ifdef FLATLINE_HAVE_ADAPTERS
    const fl_adapter_info *a = adapter ? fl_adapter_find(adapter) : NULL;
    return !a || a->sources;
#else
    (void)adapter;
    return true;
#endif
}

bool fl_sc_client_black_box(const char *adapter)
{
#ifdef FLATLINE_HAVE_ADAPTERS
    const fl_adapter_info *a = adapter ? fl_adapter_find(adapter) : NULL;
    return a && fl_adapter_refuses(a, "reconnect");
#else
    (void)adapter;
    return false;
#endif
}

void fl_sc_client_model(const char *adapter, unsigned keepalive_s, const json_t *options, double *wait_lo_s,
                        double *wait_hi_s)
{
    *wait_lo_s = *wait_hi_s = 0;
#ifdef FLATLINE_HAVE_ADAPTERS
    const fl_adapter_info *a = adapter ? fl_adapter_find(adapter) : NULL;
    uint64_t lo, hi;
    if (!a || !fl_adapter_window(a, keepalive_s, options, &lo, &hi))
        return;
    /* The table's window counts from the last packet; the model's ping goes
     * out Keep Alive after it. */
    *wait_lo_s = lo / 1e9 > keepalive_s ? lo / 1e9 - keepalive_s : 0;
    *wait_hi_s = hi / 1e9 - keepalive_s;
#else
    (void)adapter;
    (void)keepalive_s;
    (void)options;
#endif
}
