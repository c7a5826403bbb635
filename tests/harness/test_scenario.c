/* Scenario parsing: a valid scenario loads into the runner's structures;
 * every error names its JSON path and line:column. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/brokers/brokers.h"
#include "harness/scenario/scenario.h"

static fl_scenario *parse(const char *text, fl_diag *d)
{
    fl_diag_init(d, "t.json", NULL);
    return fl_scenario_parse(text, strlen(text), "t.json", d);
}

static const char *valid =
    "{\"flatline\": 1, \"name\": \"t\", \"description\": \"d\", \"duration\": 20, \"seed\": 9,\n"
    " \"broker\": {\"options\": {\"grace\": 2, \"tcp_keepalive\": \"go-default\"}},\n"
    " \"links\": {\"slow\": {\"delay_ms\": 50, \"jitter_ms\": 5, \"loss\": 1}},\n"
    " \"middleboxes\": [{\"name\": \"cgnat\", \"timeout\": 30, \"on_expiry\": \"reset\"}],\n"
    " \"groups\": [\n"
    "  {\"name\": \"dev\", \"hosts\": 3, \"clients_per_host\": 10, \"keepalive\": 5, \"id_pattern\": \"d-{host}-{n}\",\n"
    "   \"behind\": \"cgnat\", \"sysctls\": {\"net.ipv4.tcp_retries2\": 5}},\n"
    "  {\"name\": \"w\", \"clients_per_host\": 1, \"keepalive\": 30, \"role\": \"watcher\", \"subscribe\": [\"will/#\"]}],\n"
    " \"faults\": [\n"
    "  {\"kind\": \"cable-pull\", \"target\": \"dev[2]\", \"at\": 1, \"duration\": 2.5},\n"
    "  {\"kind\": \"expire-now\", \"target\": \"cgnat\", \"at\": 4},\n"
    "  {\"kind\": \"degrade\", \"target\": {\"group\": \"dev\", \"fraction\": 0.5}, \"at\": 5, \"duration\": 1, \"link\": \"slow\"},\n"
    "  {\"kind\": \"power-loss\", \"target\": \"dev\", \"at\": 6, \"restore_after\": 3}],\n"
    " \"expect\": [{\"metric\": \"faults[0].broker.p99\", \"op\": \"<=\", \"value\": 8}]}\n";

Test(scenario, valid_scenario_loads)
{
    fl_diag d;
    fl_scenario *sc = parse(valid, &d);
    cr_assert_not_null(sc, "%s", d.first);
    cr_expect_eq(d.errors, 0);
    cr_expect_str_eq(sc->name, "t");
    cr_expect_eq(sc->seed, 9);
    cr_expect_eq(sc->duration_ns, 20000000000ull);
    cr_expect_eq(sc->ngroups, 2);
    cr_expect_eq(sc->total_clients, 31);
    cr_expect_eq(sc->groups[0].behind, 0);
    cr_expect(sc->groups[1].watcher);
    cr_expect_eq(sc->groups[1].hosts, 1);
    /* the swarm's view of a group carries none of the runner's fields */
    cr_expect_null(json_object_get(sc->groups[0].swarm, "hosts"));
    cr_expect_null(json_object_get(sc->groups[0].swarm, "behind"));
    cr_expect_not_null(json_object_get(sc->groups[0].swarm, "id_pattern"));
    cr_expect_eq(sc->nfaults, 4);
    cr_expect_eq(sc->faults[0].kind, FL_FAULT_CABLE_PULL);
    cr_expect_eq(sc->faults[0].group, 0);
    cr_expect_eq(sc->faults[0].host, 2);
    cr_expect_eq(sc->faults[0].duration_ns, 2500000000ull);
    cr_expect_eq(sc->faults[1].middlebox, 0);
    cr_expect_eq(sc->faults[1].group, -1);
    cr_expect_eq(sc->faults[2].link, 0);
    cr_expect_float_eq(sc->faults[2].fraction, 0.5, 1e-9);
    cr_expect_eq(sc->faults[3].restore_after_ns, 3000000000ull);
    cr_expect_eq(sc->faults[3].host, -1);
    cr_expect_eq(sc->nexpects, 1);
    cr_expect_eq(sc->expects[0].op, FL_OP_LE);
    cr_expect_float_eq(sc->links[0].delay_ms, 50, 1e-9);
    cr_expect_eq(sc->middleboxes[0].on_expiry, FL_EXPIRY_RESET);
    fl_scenario_free(sc);
}

Test(scenario, defaults)
{
    fl_diag d;
    fl_scenario *sc = parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":1,"
                            "\"groups\":[{\"name\":\"g\",\"clients_per_host\":1,\"keepalive\":1}]}",
                            &d);
    cr_assert_not_null(sc, "%s", d.first);
    cr_expect_str_eq(sc->broker.driver->kind, "reference");
    cr_expect_eq(sc->broker.port, 1883);
    cr_expect(json_is_object(sc->broker.options));
    cr_expect_eq(sc->seed, 1);
    cr_expect_eq(sc->connect_timeout_ns, 30000000000ull);
    cr_expect_eq(sc->nfaults, 0);
    fl_scenario_free(sc);
}

Test(scenario, syntax_error_has_position)
{
    fl_diag d;
    cr_expect_null(parse("{\n  \"flatline\": 1,\n  \"name\": }\n", &d));
    cr_expect_eq(d.errors, 1);
    cr_expect(strncmp(d.first, "t.json:3:11: ", 13) == 0, "got: %s", d.first);
}

Test(scenario, every_shape_error_is_reported)
{
    fl_diag d;
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":\"long\",\n"
                         "\"groups\":[{\"name\":\"g\",\"clients_per_host\":0,\"keepalive\":1,\"colour\":1}]}",
                         &d));
    cr_expect_eq(d.errors, 3, "%d errors, first: %s", d.errors, d.first);
    cr_expect_str_eq(d.first, "t.json:1:54: $.duration: expected a number of seconds > 0, got a string");
}

Test(scenario, unknown_field_suggests)
{
    fl_diag d;
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":1,\"grups\":[]}", &d));
    cr_expect(strstr(d.first, "$.grups: unknown field \"grups\" (did you mean \"groups\"?)"), "%s", d.first);
}

Test(scenario, semantic_error_points_at_value)
{
    fl_diag d;
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":5,\n"
                         "\"groups\":[{\"name\":\"g\",\"clients_per_host\":1,\"keepalive\":1}],\n"
                         "\"faults\":[{\"kind\":\"partition\",\"target\":\"g\",\"at\":7}]}",
                         &d));
    cr_expect_str_eq(d.first, "t.json:3:49: $.faults[0].at: 7 s is not before the end of the run ($.duration = 5 s)");
}

Test(scenario, metric_paths)
{
    cr_expect(fl_metric_path_valid("faults[0].broker.p99"));
    cr_expect(fl_metric_path_valid("false_disconnects"));
    cr_expect(fl_metric_path_valid("faults[12].broker.reasons.keepalive_timeout.count"));
    cr_expect_not(fl_metric_path_valid(""));
    cr_expect_not(fl_metric_path_valid("faults[].x"));
    cr_expect_not(fl_metric_path_valid("faults[0]..x"));
    cr_expect_not(fl_metric_path_valid("0abc"));
}

/* connect_spread: "heartbeat" is the group's Keep Alive; it must leave time to
 * connect; flatline-swarm never sees the field. */
Test(scenario, connect_spread)
{
    fl_diag d;
    fl_scenario *sc = parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":5,\n"
                            "\"groups\":[{\"name\":\"g\",\"clients_per_host\":4,\"keepalive\":3,\"connect_spread\":\"heartbeat\"},\n"
                            "{\"name\":\"h\",\"clients_per_host\":4,\"keepalive\":30,\"connect_spread\":1.5}]}",
                            &d);
    cr_assert_not_null(sc, "%s", d.first);
    cr_expect_eq(sc->groups[0].connect_spread_ns, 3000000000ULL);
    cr_expect_eq(sc->groups[1].connect_spread_ns, 1500000000ULL);
    cr_expect_null(json_object_get(sc->groups[0].swarm, "connect_spread"));
    fl_scenario_free(sc);
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":5,\n"
                         "\"groups\":[{\"name\":\"g\",\"clients_per_host\":1,\"keepalive\":0,\"connect_spread\":\"heartbeat\"}]}",
                         &d));
    cr_expect(strstr(d.first, "$.groups[0].connect_spread: \"heartbeat\" needs a Keep Alive > 0"), "%s", d.first);
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":5,\"connect_timeout\":10,\n"
                         "\"groups\":[{\"name\":\"g\",\"clients_per_host\":1,\"keepalive\":60,\"connect_spread\":\"heartbeat\"}]}",
                         &d));
    cr_expect(strstr(d.first, "$.groups[0].connect_spread: 60 s of spread leave no time"), "%s", d.first);
    cr_expect_null(parse("{\"flatline\":1,\"name\":\"x\",\"description\":\"\",\"duration\":5,\n"
                         "\"groups\":[{\"name\":\"g\",\"clients_per_host\":1,\"keepalive\":6,\"connect_spread\":\"always\"}]}",
                         &d));
    cr_expect(strstr(d.first, "$.groups[0].connect_spread"), "%s", d.first);
}
