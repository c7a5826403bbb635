#include "detect_check.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define S(x) ((uint64_t)((x) * 1e9))

const group_case app_groups[APP_GROUPS] = {
    { "mqtt", 2000, "{\"kind\":\"mqtt\"}", { .kind = HB_MQTT } },
    { "miss", 1000, "{\"kind\":\"miss-tolerant\",\"ping_timeout\":0.5,\"misses\":2}",
      { .kind = HB_MISS_TOLERANT, .ping_timeout_ns = S(0.5), .misses = 2 } },
    { "probe", 1000, "{\"kind\":\"probe\",\"idle\":2,\"interval\":0.5,\"count\":2}",
      { .kind = HB_PROBE, .idle_ns = S(2), .interval_ns = S(0.5), .count = 2 } },
    { "adapt", 1000, "{\"kind\":\"adaptive\",\"min\":1,\"max\":2}",
      { .kind = HB_ADAPTIVE, .min_ns = S(1), .max_ns = S(2), .misses = 3 } },
};

void write_app_config(const char *path, const char *broker)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"broker\":\"%s\",\"seed\":7,\"inflight\":512,\"groups\":[", broker);
    for (size_t i = 0; i < APP_GROUPS; i++)
        fprintf(f, "%s{\"name\":\"%s\",\"clients\":%d,\"id_pattern\":\"%s-{n}-%d\",\"keepalive\":%d,"
                   "\"strategy\":%s}",
                i ? "," : "", app_groups[i].name, app_groups[i].clients, app_groups[i].name, (int)getpid(),
                APP_KEEPALIVE, app_groups[i].strategy_json);
    fprintf(f, "]}\n");
    fclose(f);
}

void assert_app_detection(const char *events, uint64_t t_fault, uint64_t tol)
{
    json_t *ev = th_read_events(events);
    size_t i, dead = 0, per_group[APP_GROUPS] = { 0 };
    uint64_t worst[APP_GROUPS] = { 0 }, best[APP_GROUPS];
    for (size_t g = 0; g < APP_GROUPS; g++)
        best[g] = UINT64_MAX;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ev")), "dead_detected") != 0)
            continue;
        dead++;
        const char *group = json_string_value(json_object_get(e, "group"));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        uint64_t t = (uint64_t)json_integer_value(json_object_get(e, "t"));
        uint64_t last_rx = (uint64_t)json_integer_value(json_object_get(e, "last_rx"));
        cr_assert_str_eq(reason, "ping_timeout", "%s", json_dumps(e, 0));
        cr_assert_geq(t, t_fault, "detected before the fault: %s", json_dumps(e, 0));
        cr_assert_not_null(json_object_get(e, "conn"));
        size_t gi = 0;
        while (gi < APP_GROUPS && strcmp(app_groups[gi].name, group) != 0)
            gi++;
        cr_assert_lt(gi, APP_GROUPS, "unknown group %s", group);
        uint64_t bound = hb_detection_bound(&app_groups[gi].model, APP_KEEPALIVE);
        uint64_t latency = t - last_rx;
        cr_assert_leq(latency, bound + tol, "group %s: %.3f s after the last packet, bound %.3f s", group,
                      latency / 1e9, bound / 1e9);
        /* Not early either: the fixed strategies fire exactly at their bound
         * after the last exchange (less the PINGRESP's round trip). */
        if (app_groups[gi].model.kind != HB_ADAPTIVE)
            cr_assert_geq(latency + tol, bound, "group %s: %.3f s, earlier than the model's %.3f s", group,
                          latency / 1e9, bound / 1e9);
        worst[gi] = latency > worst[gi] ? latency : worst[gi];
        best[gi] = latency < best[gi] ? latency : best[gi];
        per_group[gi]++;
    }
    for (size_t g = 0; g < APP_GROUPS; g++) {
        fprintf(stderr, "group %-6s detection %.3f .. %.3f s after the last packet (bound %.3f s)\n",
                app_groups[g].name, best[g] / 1e9, worst[g] / 1e9,
                hb_detection_bound(&app_groups[g].model, APP_KEEPALIVE) / 1e9);
        cr_assert_eq(per_group[g], (size_t)app_groups[g].clients, "group %s: %zu of %d detected",
                     app_groups[g].name, per_group[g], app_groups[g].clients);
    }
    cr_assert_eq(dead, APP_CLIENTS);
    json_decref(ev);
}
