/* The --config schema: the documented example parses; bad input is refused
 * with a message that names the field. Patterns expand as documented. */
#include <criterion/criterion.h>
#include <string.h>

#include "clients/config.h"
#include "clients/pattern.h"

#define S(x) ((uint64_t)((x) * 1e9))

static const char *example =
    "{\"broker\":\"198.18.0.1:1883\",\"seed\":1,\"sources\":[\"198.18.1.2\"],\"groups\":["
    "{\"name\":\"devices\",\"clients\":100,\"id_pattern\":\"dev-{n}\",\"version\":4,\"keepalive\":10,"
    "\"clean\":true,\"strategy\":{\"kind\":\"miss-tolerant\",\"ping_timeout\":3,\"misses\":3},"
    "\"tcp\":{\"keepalive\":{\"idle\":15,\"interval\":15,\"count\":9},\"user_timeout_ms\":0},"
    "\"reconnect\":{\"kind\":\"backoff\",\"base\":0.5,\"cap\":30},"
    "\"workload\":{\"publish_interval\":0,\"qos\":0,\"payload\":16,\"topic\":\"t/{id}\"},"
    "\"will\":{\"topic\":\"will/{id}\",\"payload\":\"{id}\",\"qos\":1,\"retain\":false},\"role\":\"device\"},"
    "{\"name\":\"watch\",\"clients\":1,\"keepalive\":5,\"version\":5,\"strategy\":{\"kind\":\"probe\","
    "\"idle\":10,\"interval\":2,\"count\":3},\"role\":\"watcher\"},"
    "{\"name\":\"ad\",\"clients\":2,\"keepalive\":60,\"strategy\":{\"kind\":\"adaptive\",\"min\":2,\"max\":30},"
    "\"tcp\":{\"keepalive\":\"off\",\"user_timeout_ms\":5000},\"reconnect\":{\"kind\":\"fixed\",\"delay\":1.5}}]}";

Test(config, documented_example_parses)
{
    swarm_config c;
    char err[256] = "";
    cr_assert_eq(swarm_config_parse(example, &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.broker, "198.18.0.1:1883");
    cr_assert_eq(c.nsources, 1);
    cr_assert_eq(c.ngroups, 3);
    cr_assert_eq(swarm_config_total_clients(&c), 103);
    swarm_group *g = &c.groups[0];
    cr_assert_str_eq(g->name, "devices");
    cr_assert_eq(g->strategy.kind, HB_MISS_TOLERANT);
    cr_assert_eq(g->strategy.ping_timeout_ns, S(3));
    cr_assert_eq(g->strategy.misses, 3);
    cr_assert(g->tcp.keepalive);
    cr_assert_eq(g->tcp.idle_s, 15);
    cr_assert_eq(g->tcp.count, 9);
    cr_assert_eq(g->reconnect.kind, RECONNECT_BACKOFF);
    cr_assert_eq(g->reconnect.base_ns, S(0.5));
    cr_assert_eq(g->reconnect.cap_ns, S(30));
    cr_assert(g->will.present);
    cr_assert_str_eq(g->will.topic, "will/{id}");
    cr_assert_eq(g->will.qos, 1);
    cr_assert_eq(c.groups[1].role, ROLE_WATCHER);
    cr_assert_eq(c.groups[1].nsubscribe, 1, "a watcher subscribes to will/# by default");
    cr_assert_str_eq(c.groups[1].subscribe[0], "will/#");
    cr_assert_eq(c.groups[1].version, 5);
    cr_assert_eq(c.groups[1].strategy.idle_ns, S(10));
    cr_assert_eq(c.groups[2].strategy.kind, HB_ADAPTIVE);
    cr_assert_eq(c.groups[2].strategy.max_ns, S(30));
    cr_assert_not(c.groups[2].tcp.keepalive);
    cr_assert_eq(c.groups[2].tcp.user_timeout_ms, 5000);
    cr_assert_eq(c.groups[2].reconnect.delay_ns, S(1.5));
    swarm_config_free(&c);
}

static void expect_error(const char *json, const char *field)
{
    swarm_config c;
    char err[256] = "";
    cr_assert_eq(swarm_config_parse(json, &c, err, sizeof err), -1, "accepted: %s", json);
    cr_assert(strstr(err, field) != NULL, "error '%s' does not name '%s'", err, field);
}

#define G(body) "{\"broker\":\"127.0.0.1:1883\",\"groups\":[{\"clients\":1,\"keepalive\":5" body "}]}"

Test(config, errors_name_the_field)
{
    expect_error("{", "line 1");
    expect_error("[]", "config");
    expect_error("{\"groups\":[{\"clients\":1}]}", "broker");
    expect_error("{\"broker\":\"a:1\",\"groups\":[]}", "groups");
    expect_error("{\"broker\":\"a:1\",\"grups\":[]}", "grups: unknown field");
    expect_error("{\"broker\":\"a:1\",\"connect_rate\":-5,\"groups\":[{\"clients\":1}]}", "connect_rate");
    expect_error("{\"broker\":\"a:1\",\"inflight\":0,\"groups\":[{\"clients\":1}]}", "inflight");
    expect_error(G(",\"strategy\":{\"kind\":\"pingpong\"}"), "groups[0].strategy.kind");
    expect_error(G(",\"strategy\":{\"kind\":\"mqtt\",\"misses\":3}"), "groups[0].strategy.misses: unknown field");
    expect_error(G(",\"strategy\":{\"kind\":\"miss-tolerant\",\"misses\":0}"), "groups[0].strategy.misses");
    expect_error(G(",\"strategy\":{\"kind\":\"mqtt\",\"ping_timeout\":\"5\"}"), "groups[0].strategy.ping_timeout");
    expect_error(G(",\"strategy\":{\"kind\":\"adaptive\",\"min\":5,\"max\":2}"), "groups[0].strategy.min");
    expect_error(G(",\"tcp\":{\"keepalive\":{\"idle\":0}}"), "groups[0].tcp.keepalive.idle");
    expect_error(G(",\"tcp\":{\"keepalive\":\"on\"}"), "groups[0].tcp.keepalive");
    expect_error(G(",\"reconnect\":{\"kind\":\"backoff\",\"base\":-1}"), "groups[0].reconnect.base");
    expect_error(G(",\"reconnect\":{\"kind\":\"sometimes\"}"), "groups[0].reconnect.kind");
    expect_error(G(",\"workload\":{\"qos\":3}"), "groups[0].workload.qos");
    expect_error(G(",\"id_pattern\":\"x-{id}\""), "groups[0].id_pattern");
    expect_error(G(",\"id_pattern\":\"x-{nn}\""), "groups[0].id_pattern");
    expect_error(G(",\"will\":{\"topic\":\"w/{id}\"}"), "groups[0].will");
    expect_error(G(",\"role\":\"boss\""), "groups[0].role");
    expect_error(G(",\"version\":3"), "groups[0].version");
    expect_error(G(",\"workload\":{\"payload\":2.5}"), "groups[0].workload.payload");
    expect_error("{\"broker\":\"a:1\",\"groups\":[{\"keepalive\":5}]}", "groups[0].clients");
    expect_error("{\"broker\":\"a:1\",\"groups\":[{\"clients\":1,\"keepalive\":0}]}", "groups[0].keepalive");
    expect_error("{\"broker\":\"a:1\",\"groups\":[{\"name\":\"a\",\"clients\":1},{\"name\":\"a\",\"clients\":1}]}",
                 "groups[1]");
}

Test(config, whole_reals_are_integers)
{
    swarm_config c;
    char err[256] = "";
    cr_assert_eq(swarm_config_parse("{\"broker\":\"a:1\",\"groups\":[{\"clients\":3.0,\"keepalive\":10.0}]}", &c, err,
                                    sizeof err),
                 0, "%s", err);
    cr_assert_eq(c.groups[0].clients, 3);
    cr_assert_eq(c.groups[0].keepalive_s, 10);
    swarm_config_free(&c);
}

Test(config, empty_will_payload_is_allowed)
{
    swarm_config c;
    char err[256] = "";
    cr_assert_eq(swarm_config_parse(G(",\"will\":{\"topic\":\"w/{id}\",\"payload\":\"\"}"), &c, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(c.groups[0].will.payload, "");
    swarm_config_free(&c);
}

Test(config, seconds_flag_parser)
{
    uint64_t ns;
    cr_assert(swarm_parse_seconds("1.5", &ns));
    cr_assert_eq(ns, S(1.5));
    cr_assert_not(swarm_parse_seconds("-1", &ns));
    cr_assert_not(swarm_parse_seconds("1s", &ns));
    cr_assert_not(swarm_parse_seconds("", &ns));
}

Test(pattern, expands_placeholders)
{
    pattern_vars v = { .n = 7, .i = 107, .id = "dev-7", .group = "g", .host = "h1", .pid = 42 };
    char buf[64];
    cr_assert_eq(pattern_expand("dev-{n}", &v, buf, sizeof buf), 5);
    cr_assert_str_eq(buf, "dev-7");
    pattern_expand("{host}-{n}/{i}/{group}/{pid}", &v, buf, sizeof buf);
    cr_assert_str_eq(buf, "h1-7/107/g/42");
    pattern_expand("will/{id}", &v, buf, sizeof buf);
    cr_assert_str_eq(buf, "will/dev-7");
    pattern_expand("{{n}}", &v, buf, sizeof buf);
    cr_assert_str_eq(buf, "{n}");
    /* Truncation reports the full length, like snprintf. */
    cr_assert_eq(pattern_expand("abcdef", &v, buf, 4), 6);
    cr_assert_str_eq(buf, "abc");
    cr_assert_null(pattern_check("x{n}", false));
    cr_assert_not_null(pattern_check("x{id}", false));
    cr_assert_null(pattern_check("x{id}", true));
    cr_assert_not_null(pattern_check("x{n", true));
    cr_assert_not_null(pattern_check("x}", true));
}
