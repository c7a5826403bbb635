/* The 5,000-client detection scenario shared by the SIGSTOP test (loopback)
 * and the nftables-drop test (namespaces): four groups with the application
 * strategies at Keep Alive 2, and the per-client check of the event log
 * against each strategy's bound (hb_detection_bound, the model). */
#ifndef FLATLINE_TESTS_CLIENTS_DETECT_CHECK_H
#define FLATLINE_TESTS_CLIENTS_DETECT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "clients/strategy.h"

typedef struct group_case {
    const char *name;
    int clients;
    const char *strategy_json;
    hb_config model;
} group_case;

#define APP_GROUPS 4
#define APP_CLIENTS 5000
#define APP_KEEPALIVE 2
extern const group_case app_groups[APP_GROUPS];

/* Writes the swarm config for broker ("addr:port") into path. */
void write_app_config(const char *path, const char *broker);

/* Asserts that every client of every group logged exactly one dead_detected
 * with reason ping_timeout, after t_fault, within [bound - tol, bound + tol]
 * of its last received packet (adaptive: only the upper side). */
void assert_app_detection(const char *events, uint64_t t_fault, uint64_t tolerance_ns);

#endif
