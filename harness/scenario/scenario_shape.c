#include "harness/scenario/scenario_shape.h"

#include <stddef.h>

#include "harness/brokers/brokers.h"

/* Building blocks. */
static const fl_shape seconds_ge0 = { .types = FL_T_NUM, .what = "a number of seconds >= 0", .has_min = true, .min = 0,
                                      .has_max = true, .max = 86400 };
static const fl_shape seconds_gt0 = { .types = FL_T_NUM, .what = "a number of seconds > 0", .has_min = true, .min = 0,
                                      .min_exclusive = true, .has_max = true, .max = 86400 };
static const fl_shape name_str = { .types = FL_T_STR, .what = "a name", .max_len = 32 };
static const fl_shape text_str = { .types = FL_T_STR, .what = "a string", .max_len = 4096 };
static const fl_shape boolean = { .types = FL_T_BOOL, .what = "true or false" };
static const fl_shape percent = { .types = FL_T_NUM, .what = "a percentage (0 to 100)", .has_min = true, .min = 0, .has_max = true,
                                  .max = 100 };
static const fl_shape millis = { .types = FL_T_NUM, .what = "a number of milliseconds >= 0", .has_min = true, .min = 0,
                                 .has_max = true, .max = 3600000 };
static const fl_shape u16 = { .types = FL_T_INT, .what = "an integer from 0 to 65535", .has_min = true, .min = 0, .has_max = true,
                              .max = 65535 };
static const fl_shape user_timeout_ms = { .types = FL_T_INT, .what = "a TCP_USER_TIMEOUT in milliseconds (0: off)", .has_min = true,
                                          .min = 0, .has_max = true, .max = 2147483647 };
static const fl_shape qos = { .types = FL_T_INT, .what = "a QoS (0, 1 or 2)", .has_min = true, .min = 0, .has_max = true, .max = 2 };
static const fl_shape sysctl_value = { .types = FL_T_STR | FL_T_INT, .what = "a sysctl value (string or integer)", .max_len = 256 };
static const fl_shape sysctls = { .types = FL_T_OBJ, .what = "an object of sysctl name to value", .values = &sysctl_value };

/* TCP keep-alive: "off" or explicit idle/interval/count (seconds, kernel ranges). */
static const fl_shape keep_idle = { .types = FL_T_INT, .what = "TCP_KEEPIDLE seconds (1 to 32767)", .has_min = true, .min = 1,
                                    .has_max = true, .max = 32767 };
static const fl_shape keep_cnt = { .types = FL_T_INT, .what = "TCP_KEEPCNT (1 to 127)", .has_min = true, .min = 1, .has_max = true,
                                   .max = 127 };
static const fl_field keepalive_fields[] = {
    { "idle", &keep_idle, true },
    { "interval", &keep_idle, true },
    { "count", &keep_cnt, true },
    { NULL, NULL, false },
};
static const char *const client_keepalive_words[] = { "off", NULL };
static const fl_shape client_tcp_keepalive = { .types = FL_T_STR | FL_T_OBJ, .what = "\"off\" or {\"idle\",\"interval\",\"count\"}",
                                               .choices = client_keepalive_words, .fields = keepalive_fields };
static const char *const broker_keepalive_words[] = { "off", "go-default", NULL };
static const fl_shape broker_tcp_keepalive = { .types = FL_T_STR | FL_T_OBJ, .what = "\"off\", \"go-default\" or {\"idle\",\"interval\",\"count\"}",
                                               .choices = broker_keepalive_words, .fields = keepalive_fields };

/* The reference broker's options (docs/broker.md); "listen" is the runner's. */
static const char *const dup_words[] = { "takeover", "reject", NULL };
static const fl_shape dup_id = { .types = FL_T_STR, .what = "\"takeover\" or \"reject\"", .choices = dup_words };
static const char *const over_max_words[] = { "clamp", "refuse", NULL };
static const fl_shape over_max = { .types = FL_T_STR, .what = "\"clamp\" or \"refuse\"", .choices = over_max_words };
static const fl_shape grace = { .types = FL_T_NUM, .what = "a keep-alive grace factor (1 to 10)", .has_min = true, .min = 1,
                                .has_max = true, .max = 10 };
static const fl_shape packet_size = { .types = FL_T_INT, .what = "a packet size in bytes (16 to 268435455)", .has_min = true,
                                      .min = 16, .has_max = true, .max = 268435455 };
static const fl_shape inflight = { .types = FL_T_INT, .what = "an integer from 1 to 65535", .has_min = true, .min = 1,
                                   .has_max = true, .max = 65535 };
static const fl_shape count32 = { .types = FL_T_INT, .what = "a count (0: unlimited)", .has_min = true, .min = 0,
                                  .has_max = true, .max = 4294967295.0 };
static const fl_field broker_option_fields[] = {
    { "grace", &grace, false },
    { "max_keepalive", &u16, false },
    { "v3_keepalive_over_max", &over_max, false },
    { "keepalive_zero_ceiling", &seconds_ge0, false },
    { "idle_timeout", &seconds_ge0, false },
    { "tcp_keepalive", &broker_tcp_keepalive, false },
    { "tcp_user_timeout_ms", &user_timeout_ms, false },
    { "duplicate_client_id", &dup_id, false },
    { "max_packet_size", &packet_size, false },
    { "max_inflight", &inflight, false },
    { "max_subscriptions", &count32, false },
    { "max_topic_length", &u16, false },
    { "max_queued", &count32, false },
    { "connect_timeout", &seconds_ge0, false },
    { NULL, NULL, false },
};
static const fl_shape broker_options = { .types = FL_T_OBJ, .what = "an object of broker options", .fields = broker_option_fields };
static const fl_shape broker_kind = { .types = FL_T_STR, .what = "a broker kind", .choices = fl_broker_kinds };
/* kind "command": the program and its keep-alive rule (model/broker_rule.h). */
static const fl_shape command_arg = { .types = FL_T_STR, .what = "a string", .max_len = 1024 };
static const fl_shape command = { .types = FL_T_ARR, .what = "an array of strings (program, arguments)",
                                  .items = &command_arg, .min_items = 1, .max_items = 40 };
static const fl_shape rule_seconds = { .types = FL_T_NUM, .what = "a number of seconds (0 to 3600)", .has_min = true,
                                       .min = 0, .has_max = true, .max = 3600 };
static const fl_shape rule_phase = { .types = FL_T_NUM, .what = "a number of seconds (-1: unknown, up to 3600)",
                                     .has_min = true, .min = -1, .has_max = true, .max = 3600 };
static const fl_shape rule_ka = { .types = FL_T_NUM, .what = "a multiple of Keep Alive (0 to 10)", .has_min = true,
                                  .min = 0, .has_max = true, .max = 10 };
static const fl_shape rule_grace = { .types = FL_T_NUM, .what = "a keep-alive grace factor (0.5 to 10)",
                                     .has_min = true, .min = 0.5, .has_max = true, .max = 10 };
static const fl_field model_fields[] = {
    { "grace", &rule_grace, false },
    { "check_interval_s", &rule_seconds, false },
    { "check_interval_ka", &rule_ka, false },
    { "whole_seconds", &boolean, false },
    { "check_lag_s", &rule_seconds, false },
    { "check_phase_s", &rule_phase, false },
    { NULL, NULL, false },
};
static const fl_shape broker_model = { .types = FL_T_OBJ, .what = "a broker keep-alive rule", .fields = model_fields };
static const fl_shape port = { .types = FL_T_INT, .what = "a TCP port (1 to 65535)", .has_min = true, .min = 1, .has_max = true,
                               .max = 65535 };
static const fl_shape rt_priority = { .types = FL_T_INT, .what = "a SCHED_FIFO priority (1 to 99)", .has_min = true,
                                      .min = 1, .has_max = true, .max = 99 };
static const fl_field broker_fields[] = {
    { "kind", &broker_kind, false },
    { "port", &port, false },
    { "realtime_priority", &rt_priority, false },
    { "options", &broker_options, false },
    { "sysctls", &sysctls, false },
    { "link", &name_str, false },
    { "command", &command, false },
    { "model", &broker_model, false },
    { NULL, NULL, false },
};
static const fl_shape broker = { .types = FL_T_OBJ, .what = "an object", .fields = broker_fields };

/* Link profiles: netem parameters. */
static const fl_shape rate = { .types = FL_T_INT, .what = "a rate in kbit/s (0: unlimited)", .has_min = true, .min = 0,
                               .has_max = true, .max = 100000000 };
static const fl_shape limit = { .types = FL_T_INT, .what = "a queue limit in packets", .has_min = true, .min = 0, .has_max = true,
                                .max = 1000000 };
static const fl_field link_fields[] = {
    { "profile", &name_str, false },
    { "delay_ms", &millis, false },
    { "jitter_ms", &millis, false },
    { "loss", &percent, false },
    { "duplicate", &percent, false },
    { "corrupt", &percent, false },
    { "reorder", &percent, false },
    { "rate_kbit", &rate, false },
    { "limit", &limit, false },
    { NULL, NULL, false },
};
static const fl_shape link_profile = { .types = FL_T_OBJ, .what = "a link profile object", .fields = link_fields };
static const fl_shape links = { .types = FL_T_OBJ, .what = "an object of profile name to link profile", .values = &link_profile };

/* Middleboxes. */
static const char *const middlebox_kinds[] = { "nat", NULL };
static const fl_shape middlebox_kind = { .types = FL_T_STR, .what = "a middlebox kind", .choices = middlebox_kinds };
static const char *const expiry_words[] = { "drop", "reset", NULL };
static const fl_shape on_expiry = { .types = FL_T_STR, .what = "\"drop\" or \"reset\"", .choices = expiry_words };
static const fl_field middlebox_fields[] = {
    { "name", &name_str, true },
    { "kind", &middlebox_kind, false },
    { "timeout", &seconds_gt0, true },
    { "on_expiry", &on_expiry, false },
    { NULL, NULL, false },
};
static const fl_shape middlebox = { .types = FL_T_OBJ, .what = "a middlebox object", .fields = middlebox_fields };
static const fl_shape middleboxes = { .types = FL_T_ARR, .what = "an array of middleboxes", .items = &middlebox, .max_items = 8 };

/* Client groups: the swarm's group fields plus hosts, sysctls, behind, link. */
static const fl_shape hosts = { .types = FL_T_INT, .what = "a host count (1 to 64)", .has_min = true, .min = 1, .has_max = true,
                                .max = 64 };
static const fl_shape clients_per_host = { .types = FL_T_INT, .what = "a client count (1 to 100000)", .has_min = true, .min = 1,
                                           .has_max = true, .max = 100000 };
static const fl_shape version = { .types = FL_T_INT, .what = "an MQTT version (4 = 3.1.1, 5 = 5.0)", .has_min = true, .min = 4,
                                  .has_max = true, .max = 5 };
static const char *const strategy_kinds[] = { "mqtt", "miss-tolerant", "probe", "adaptive", "tcp-only", NULL };
static const fl_shape strategy_kind = { .types = FL_T_STR, .what = "a heartbeat strategy", .choices = strategy_kinds };
static const fl_shape misses = { .types = FL_T_INT, .what = "a count (1 to 255)", .has_min = true, .min = 1,
                                 .has_max = true, .max = 255 };
/* Which fields belong to which kind is flatline-swarm's rule (clients/config.c);
 * scenario.c runs that parser on the generated group. */
static const fl_field strategy_fields[] = {
    { "kind", &strategy_kind, true },
    { "ping_timeout", &seconds_ge0, false },
    { "misses", &misses, false },
    { "idle", &seconds_ge0, false },
    { "interval", &seconds_ge0, false },
    { "count", &misses, false },
    { "min", &seconds_ge0, false },
    { "max", &seconds_ge0, false },
    { NULL, NULL, false },
};
static const fl_shape strategy = { .types = FL_T_OBJ, .what = "a strategy object", .fields = strategy_fields };
static const fl_field client_tcp_fields[] = {
    { "keepalive", &client_tcp_keepalive, false },
    { "user_timeout_ms", &user_timeout_ms, false },
    { NULL, NULL, false },
};
static const fl_shape client_tcp = { .types = FL_T_OBJ, .what = "a tcp object", .fields = client_tcp_fields };
static const char *const reconnect_kinds[] = { "none", "fixed", "backoff", NULL };
static const fl_shape reconnect_kind = { .types = FL_T_STR, .what = "a reconnect kind", .choices = reconnect_kinds };
static const fl_field reconnect_fields[] = {
    { "kind", &reconnect_kind, true },
    { "delay", &seconds_ge0, false },
    { "base", &seconds_ge0, false },
    { "cap", &seconds_ge0, false },
    { NULL, NULL, false },
};
static const fl_shape reconnect = { .types = FL_T_OBJ, .what = "a reconnect object", .fields = reconnect_fields };
static const fl_shape payload_size = { .types = FL_T_INT, .what = "a payload size in bytes (0 to 65536)", .has_min = true, .min = 0,
                                       .has_max = true, .max = 65536 };
static const fl_shape topic = { .types = FL_T_STR, .what = "a topic (may contain {id}, {n}, {group})", .max_len = 256 };
static const fl_field workload_fields[] = {
    { "publish_interval", &seconds_ge0, false },
    { "qos", &qos, false },
    { "payload", &payload_size, false },
    { "topic", &topic, false },
    { NULL, NULL, false },
};
static const fl_shape workload = { .types = FL_T_OBJ, .what = "a workload object", .fields = workload_fields };
static const fl_field will_fields[] = {
    { "topic", &topic, true },
    { "payload", &topic, false },
    { "qos", &qos, false },
    { "retain", &boolean, false },
    { NULL, NULL, false },
};
static const fl_shape will = { .types = FL_T_OBJ, .what = "a will object", .fields = will_fields };
static const char *const role_words[] = { "device", "watcher", NULL };
static const fl_shape role = { .types = FL_T_STR, .what = "a role", .choices = role_words };
static const fl_shape filter = { .types = FL_T_STR, .what = "a topic filter", .max_len = 256 };
static const fl_shape subscribe = { .types = FL_T_ARR, .what = "an array of topic filters", .items = &filter, .max_items = 16 };
static const fl_shape id_pattern = { .types = FL_T_STR, .what = "a client id pattern (with {n})", .max_len = 64 };
static const fl_shape arg = { .types = FL_T_STR, .what = "a command argument", .max_len = 256 };
static const fl_shape client_command = { .types = FL_T_ARR, .what = "a command: the program and its arguments",
                                         .items = &arg, .min_items = 1, .max_items = 64 };
static const fl_field client_fields[] = {
    { "command", &client_command, true },
    { NULL, NULL, false },
};
static const fl_shape client = { .types = FL_T_STR | FL_T_OBJ,
                                 .what = "a client: flatline, a library adapter or {\"command\": [...]} (docs/clients.md)",
                                 .max_len = 32, .fields = client_fields };
static const fl_shape option_value = { .types = FL_T_NUM | FL_T_BOOL | FL_T_ARR, .what = "a number, a boolean or a command",
                                       .items = &arg, .max_items = 64 };
static const fl_shape client_options = { .types = FL_T_OBJ, .what = "an object of the adapter's options",
                                         .values = &option_value };
/* Spread the group's connects (so their heartbeat phases) over one Keep
 * Alive or a number of seconds. */
static const char *const spread_words[] = { "heartbeat", NULL };
static const fl_shape connect_spread = { .types = FL_T_STR | FL_T_NUM,
                                         .what = "\"heartbeat\" or a number of seconds >= 0", .choices = spread_words,
                                         .has_min = true, .min = 0 };
static const fl_field group_fields[] = {
    { "name", &name_str, true },
    { "hosts", &hosts, false },
    { "clients_per_host", &clients_per_host, true },
    { "id_pattern", &id_pattern, false },
    { "version", &version, false },
    { "keepalive", &u16, true },
    { "clean", &boolean, false },
    { "strategy", &strategy, false },
    { "tcp", &client_tcp, false },
    { "reconnect", &reconnect, false },
    { "workload", &workload, false },
    { "will", &will, false },
    { "role", &role, false },
    { "subscribe", &subscribe, false },
    { "sysctls", &sysctls, false },
    { "behind", &name_str, false },
    { "link", &name_str, false },
    { "profile", &name_str, false },
    { "client", &client, false },
    { "client_options", &client_options, false },
    { "connect_spread", &connect_spread, false },
    { NULL, NULL, false },
};
static const fl_shape group = { .types = FL_T_OBJ, .what = "a group object", .fields = group_fields };
static const fl_shape groups = { .types = FL_T_ARR, .what = "an array of client groups", .items = &group, .min_items = 1,
                                 .max_items = 16 };

/* Faults. */
static const char *const fault_kinds[] = { "cable-pull", "power-loss", "partition", "nat-expiry", "expire-now",
                                           "degrade", NULL };
static const fl_shape fault_kind = { .types = FL_T_STR, .what = "a fault kind", .choices = fault_kinds };
static const fl_shape target_fraction = { .types = FL_T_NUM, .what = "a fraction of the group's hosts (> 0, <= 1)",
                                          .has_min = true, .min = 0, .min_exclusive = true, .has_max = true,
                                          .max = 1 };
static const fl_field target_fields[] = {
    { "group", &name_str, true },
    { "fraction", &target_fraction, true },
    { NULL, NULL, false },
};
static const fl_shape target = { .types = FL_T_STR | FL_T_OBJ, .what = "a target: \"group\", \"group[i]\", a middlebox or {\"group\",\"fraction\"}",
                                 .max_len = 48, .fields = target_fields };
static const fl_field fault_fields[] = {
    { "kind", &fault_kind, true },
    { "target", &target, true },
    { "at", &seconds_ge0, true },
    { "duration", &seconds_gt0, false },
    { "restore_after", &seconds_gt0, false },
    { "link", &name_str, false },
    { "name", &name_str, false },
    { NULL, NULL, false },
};
static const fl_shape fault = { .types = FL_T_OBJ, .what = "a fault object", .fields = fault_fields };
static const fl_shape faults = { .types = FL_T_ARR, .what = "an array of faults", .items = &fault, .max_items = 32 };

/* Expectations. */
static const fl_shape metric = { .types = FL_T_STR, .what = "a metric path", .max_len = 128 };
static const char *const operators[] = { "<", "<=", ">", ">=", "==", "!=", NULL };
static const fl_shape op = { .types = FL_T_STR, .what = "a comparison operator", .choices = operators };
static const fl_shape expect_value = { .types = FL_T_NUM | FL_T_BOOL, .what = "a number or true/false" };
static const fl_field expect_fields[] = {
    { "metric", &metric, true },
    { "op", &op, true },
    { "value", &expect_value, true },
    { NULL, NULL, false },
};
static const fl_shape expectation = { .types = FL_T_OBJ, .what = "an expectation object", .fields = expect_fields };
static const fl_shape expectations = { .types = FL_T_ARR, .what = "an array of expectations", .items = &expectation,
                                       .max_items = 64 };

static const fl_shape format_version = { .types = FL_T_INT, .what = "the format version 1", .has_min = true, .min = 1,
                                         .has_max = true, .max = 1 };
static const fl_shape seed = { .types = FL_T_INT, .what = "an integer seed >= 0", .has_min = true, .min = 0 };
/* Up to 24 h: 3600 s is the real-time limit, checked in scenario.c with the clock. */
static const fl_shape duration = { .types = FL_T_NUM, .what = "a number of seconds > 0", .has_min = true, .min = 0,
                                   .min_exclusive = true, .has_max = true, .max = 86400 };
static const char *const clock_words[] = { "real", "virtual", NULL };
static const fl_shape clock_kind = { .types = FL_T_STR, .what = "\"real\" or \"virtual\"", .choices = clock_words };
static const fl_field scenario_fields[] = {
    { "flatline", &format_version, true },
    { "name", &name_str, true },
    { "description", &text_str, true },
    { "seed", &seed, false },
    { "duration", &duration, true },
    { "clock", &clock_kind, false },
    { "connect_timeout", &seconds_gt0, false },
    { "broker", &broker, false },
    { "links", &links, false },
    { "middleboxes", &middleboxes, false },
    { "groups", &groups, true },
    { "faults", &faults, false },
    { "expect", &expectations, false },
    { NULL, NULL, false },
};
const fl_shape fl_scenario_shape = { .types = FL_T_OBJ, .what = "a scenario object", .fields = scenario_fields };
