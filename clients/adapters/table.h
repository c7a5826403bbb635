/* The one table of client library adapters (docs/clients.md): for each
 * adapter name its program, the library version it was written against, the
 * swarm group fields it refuses (with the reason), the client_options it
 * takes, and its detection rule as model parameters, with the source file
 * the rule was read from. The scenario validator, the runner, the model and
 * the C adapters all read it; adding an adapter touches its folder and this
 * table. Pure: no library is linked. */
#ifndef FLATLINE_ADAPTERS_TABLE_H
#define FLATLINE_ADAPTERS_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_adapter_info {
    const char *name;           /* the scenario's "client": "paho-c" */
    const char *program;        /* beside flatline-swarm: "flatline-adapter-paho-c" */
    const char *library;        /* "paho.mqtt.c 1.3.12 (Debian libpaho-mqtt-dev 1.3.12-1), MQTTAsync" */
    const char *const *refused; /* group fields, each "field: reason" */
    const char *const *options; /* client_options, each "name: type" (seconds, count, bool) */
    bool sources;               /* can bind a local address */
    bool reconnect_backoff;     /* takes reconnect kind "backoff" (else fixed delays only) */
    unsigned min_keepalive;     /* smallest Keep Alive it takes, besides 0 */
    const char *min_keepalive_why;
    const char *rule;           /* the detection rule in words */
    const char *source;         /* where the rule was read */
} fl_adapter_info;

size_t fl_adapter_count(void);
const fl_adapter_info *fl_adapter_at(size_t i);
/* NULL when no adapter has that name. */
const fl_adapter_info *fl_adapter_find(const char *name);
/* "paho-c, libmosquitto, ..." for messages. */
const char *fl_adapter_names(void);

/* The reason a field is refused ("tcp" -> "paho.mqtt.c sets no TCP ..."), or NULL. */
const char *fl_adapter_refuses(const fl_adapter_info *a, const char *field);
/* The type of an option ("seconds"), or NULL when the adapter has no such option. */
const char *fl_adapter_option_type(const fl_adapter_info *a, const char *option);

/* The window [lo, hi] from the last packet a client received to the
 * library's dead_detected, for an idle client whose broker went silent (TCP
 * still acknowledged, nothing answered), at Keep Alive keepalive_s with the
 * group's client_options (may be NULL). False when the library never
 * detects (Keep Alive 0). */
bool fl_adapter_window(const fl_adapter_info *a, unsigned keepalive_s, const json_t *client_options, uint64_t *lo_ns,
                       uint64_t *hi_ns);

#endif
