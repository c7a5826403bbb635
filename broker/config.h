/* flatline-broker configuration: defaults, the JSON file (docs/broker.md) and
 * command-line flags, in that order of precedence (flags win). Errors name the
 * JSON field or flag at fault. */
#ifndef FLATLINE_BROKER_CONFIG_H
#define FLATLINE_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keepalive.h"

typedef enum bk_tcpka_mode {
    BK_TCPKA_OFF = 0, /* SO_KEEPALIVE not set */
    BK_TCPKA_GO,      /* Go's net.Listener default: 15 s idle, 15 s interval, 9 probes */
    BK_TCPKA_CUSTOM,
} bk_tcpka_mode;

typedef struct bk_tcp_opts {
    bk_tcpka_mode keepalive;
    int idle, interval, count; /* resolved for GO and CUSTOM */
    uint32_t user_timeout_ms;  /* 0 = not set */
} bk_tcp_opts;

typedef struct bk_listen_cfg {
    char *addr; /* "host:port", "[v6]:port" */
    bk_tcp_opts tcp;
} bk_listen_cfg;

typedef struct bk_config {
    bk_ka_config ka;
    bool duplicate_reject;     /* duplicate_client_id: "reject" (else takeover) */
    uint32_t max_packet_size;  /* 0 = the protocol limit */
    uint16_t max_inflight;     /* outgoing QoS 1/2 in flight a client; our Receive Maximum */
    uint32_t max_subscriptions;/* a client; 0 = unlimited */
    uint16_t max_topic_length; /* bytes; 0 = 65535 */
    uint32_t max_queued;       /* QoS 1/2 messages queued a client beyond in-flight */
    uint32_t connect_timeout;  /* s from accept to CONNECT */
    uint16_t topic_alias_max;  /* v5 Topic Alias Maximum, each way (0 = none) */
    bk_tcp_opts tcp;           /* default for listeners given as strings */
    bk_listen_cfg *listen;
    size_t nlisten;
    char *events;
} bk_config;

void bk_config_defaults(bk_config *c);
void bk_config_free(bk_config *c);

/* Applies the JSON object text (a config file's contents). Returns 0, or -1
 * with a message naming the field in err. */
int bk_config_apply_json(bk_config *c, const char *text, char *err, size_t errlen);
int bk_config_load_file(bk_config *c, const char *path, char *err, size_t errlen);

/* Parses argv (flags override the file named by --config, which is read
 * first). Returns 0, 1 for --help (usage printed to stdout), or -1 with err. */
int bk_config_from_args(bk_config *c, int argc, char **argv, char *err, size_t errlen);
void bk_config_usage(const char *prog);

/* "off", "go-default" or "IDLE,INTERVAL,COUNT". */
int bk_parse_tcp_keepalive(const char *s, bk_tcp_opts *out);

#endif
