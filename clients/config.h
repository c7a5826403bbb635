/* The swarm's configuration: client groups with their strategy, TCP options,
 * reconnect policy, workload, will and role. Read from the --config JSON
 * (docs/swarm.md) or built from command-line flags. Every error names the
 * field at fault, e.g. "groups[1].strategy.misses: must be an integer 1..255". */
#ifndef FLATLINE_CLIENTS_CONFIG_H
#define FLATLINE_CLIENTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "strategy.h"

typedef struct swarm_tcp {
    bool keepalive;
    uint32_t idle_s, interval_s, count; /* with keepalive */
    uint32_t user_timeout_ms;           /* 0: off */
} swarm_tcp;

typedef struct swarm_will {
    bool present;
    char *topic, *payload; /* patterns */
    uint8_t qos;
    bool retain;
} swarm_will;

typedef struct swarm_workload {
    uint64_t publish_interval_ns; /* 0: idle */
    uint8_t qos;
    uint32_t payload; /* bytes */
    char *topic;      /* pattern */
} swarm_workload;

typedef enum swarm_role { ROLE_DEVICE, ROLE_WATCHER } swarm_role;

typedef struct swarm_group {
    char *name;
    uint32_t clients;
    char *id_pattern;
    uint8_t version; /* 4 or 5 */
    uint16_t keepalive_s;
    bool clean;
    hb_config strategy;
    swarm_tcp tcp;
    reconnect_config reconnect;
    swarm_workload workload;
    swarm_will will;
    swarm_role role;
    char **subscribe;
    size_t nsubscribe;
} swarm_group;

typedef struct swarm_config {
    char *broker; /* "host:port" or "[v6]:port" */
    uint64_t seed;
    char **sources;
    size_t nsources;
    swarm_group *groups;
    size_t ngroups;
    uint32_t inflight;           /* connects (TCP + CONNACK) in flight at once */
    uint32_t connect_rate;       /* connects started a second; 0: as fast as inflight allows */
    uint64_t connect_timeout_ns; /* TCP connect + CONNACK */
} swarm_config;

#define SWARM_DEFAULT_INFLIGHT 256u
#define SWARM_DEFAULT_CONNECT_TIMEOUT_S 30u

/* Parses the JSON text into *out (zeroed first). Returns 0, or -1 with a
 * message naming the field in err. */
int swarm_config_parse(const char *json_text, swarm_config *out, char *err, size_t errlen);
/* Reads and parses a file. */
int swarm_config_load(const char *path, swarm_config *out, char *err, size_t errlen);
void swarm_config_free(swarm_config *c);

/* A group with the defaults: 1 client, version 4, Keep Alive 60, clean,
 * strategy mqtt, TCP keep-alive off, reconnect none, idle workload. */
int swarm_group_defaults(swarm_group *g, const char *name);

/* The defaults of a strategy: misses 3; probe interval 2 s, count 3, idle =
 * interval; adaptive min 2 s, max 60 s; ping_timeout Keep Alive / 2. */
void swarm_strategy_defaults(hb_config *s, hb_kind kind);

/* Checks cross-field rules (patterns, ranges) of a configuration built by hand
 * (the CLI path); the JSON parser applies the same checks. */
int swarm_config_validate(const swarm_config *c, char *err, size_t errlen);

uint64_t swarm_config_total_clients(const swarm_config *c);

/* "1.5" seconds -> ns; false on anything that is not a finite number >= 0. */
bool swarm_parse_seconds(const char *text, uint64_t *ns);

#endif
