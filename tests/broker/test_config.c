/* Configuration: the JSON keys of docs/broker.md, flags over the file, errors naming the field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/config.h"

Test(config, defaults)
{
    bk_config c;
    bk_config_defaults(&c);
    cr_assert_float_eq(c.ka.grace, 1.5, 1e-12);
    cr_assert_eq(c.ka.max_keepalive, 0);
    cr_assert_not(c.duplicate_reject);
    cr_assert_eq(c.tcp.keepalive, BK_TCPKA_OFF);
    bk_config_free(&c);
}

Test(config, every_key)
{
    bk_config c;
    bk_config_defaults(&c);
    char err[256] = "";
    const char *json = "{\"listen\":[\"127.0.0.1:1883\",{\"addr\":\"[::1]:0\",\"tcp_keepalive\":{\"idle\":5,"
                       "\"interval\":2,\"count\":3},\"tcp_user_timeout_ms\":7000}],"
                       "\"grace\":1.25,\"max_keepalive\":120,\"v3_keepalive_over_max\":\"refuse\","
                       "\"keepalive_zero_ceiling\":60,\"idle_timeout\":300,\"tcp_keepalive\":\"go-default\","
                       "\"tcp_user_timeout_ms\":20000,\"duplicate_client_id\":\"reject\",\"max_packet_size\":4096,"
                       "\"max_inflight\":5,\"max_subscriptions\":8,\"max_topic_length\":100,\"max_queued\":50}";
    cr_assert_eq(bk_config_apply_json(&c, json, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(c.ka.grace, 1.25, 1e-12);
    cr_assert_eq(c.ka.max_keepalive, 120);
    cr_assert(c.ka.v3_refuse_over_max);
    cr_assert_eq(c.ka.zero_ceiling, 60);
    cr_assert_eq(c.ka.idle_timeout, 300);
    cr_assert(c.duplicate_reject);
    cr_assert_eq(c.max_packet_size, 4096);
    cr_assert_eq(c.max_inflight, 5);
    cr_assert_eq(c.max_subscriptions, 8);
    cr_assert_eq(c.max_topic_length, 100);
    cr_assert_eq(c.max_queued, 50);
    cr_assert_eq(c.nlisten, 2);
    /* A string listener inherits the top-level TCP options, wherever they appear in the file. */
    cr_assert_eq(c.listen[0].tcp.keepalive, BK_TCPKA_GO);
    cr_assert_eq(c.listen[0].tcp.idle, 15);
    cr_assert_eq(c.listen[0].tcp.count, 9);
    cr_assert_eq(c.listen[0].tcp.user_timeout_ms, 20000);
    cr_assert_eq(c.listen[1].tcp.keepalive, BK_TCPKA_CUSTOM);
    cr_assert_eq(c.listen[1].tcp.idle, 5);
    cr_assert_eq(c.listen[1].tcp.interval, 2);
    cr_assert_eq(c.listen[1].tcp.count, 3);
    cr_assert_eq(c.listen[1].tcp.user_timeout_ms, 7000);
    bk_config_free(&c);
}

static void expect_error(const char *json, const char *needle)
{
    bk_config c;
    bk_config_defaults(&c);
    char err[256] = "";
    cr_assert_eq(bk_config_apply_json(&c, json, err, sizeof err), -1, "accepted %s", json);
    cr_assert(strstr(err, needle), "error '%s' does not name '%s'", err, needle);
    bk_config_free(&c);
}

Test(config, errors_name_the_field)
{
    expect_error("{\"grace\":-1}", "grace");
    expect_error("{\"max_keepalive\":70000}", "max_keepalive");
    expect_error("{\"max_keepalive\":1.5}", "max_keepalive");
    expect_error("{\"v3_keepalive_over_max\":\"drop\"}", "v3_keepalive_over_max");
    expect_error("{\"duplicate_client_id\":1}", "duplicate_client_id");
    expect_error("{\"tcp_keepalive\":{\"idle\":5,\"interval\":2}}", "tcp_keepalive.count");
    expect_error("{\"tcp_keepalive\":{\"idle\":0,\"interval\":2,\"count\":1}}", "tcp_keepalive.idle");
    expect_error("{\"listen\":[\"nocolon\"]}", "listen[0]");
    expect_error("{\"listen\":[{\"addr\":\"1.2.3.4:1\",\"tcp_keepalive\":\"sometimes\"}]}", "listen[0].tcp_keepalive");
    expect_error("{\"listen\":[{\"tcp_user_timeout_ms\":5}]}", "listen[0].addr");
    expect_error("{\"max_inflight\":0}", "max_inflight");
    expect_error("{\"nonsense\":0}", "nonsense");
    expect_error("{\"grace\":1", "line 1");
    expect_error("[1]", "object");
}

Test(config, flags_override_the_file)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/flatline-broker-cfg-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("{\"listen\":[\"127.0.0.1:1883\"],\"grace\":2,\"max_keepalive\":100,\"tcp_keepalive\":\"go-default\"}", f);
    fclose(f);
    char *argv[] = { "flatline-broker", "--config", path, "--grace", "1.5", "--tcp-keepalive", "3,1,2",
                     "--events", "-", NULL };
    bk_config c;
    bk_config_defaults(&c);
    char err[256] = "";
    cr_assert_eq(bk_config_from_args(&c, 9, argv, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(c.ka.grace, 1.5, 1e-12);
    cr_assert_eq(c.ka.max_keepalive, 100);
    cr_assert_eq(c.nlisten, 1);
    cr_assert_str_eq(c.listen[0].addr, "127.0.0.1:1883");
    cr_assert_eq(c.listen[0].tcp.keepalive, BK_TCPKA_CUSTOM);
    cr_assert_eq(c.listen[0].tcp.idle, 3);
    cr_assert_str_eq(c.events, "-");
    bk_config_free(&c);

    char *argv2[] = { "flatline-broker", "--config", path, "--listen", "[::1]:0", "--listen", "0.0.0.0:0", NULL };
    bk_config_defaults(&c);
    cr_assert_eq(bk_config_from_args(&c, 7, argv2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.nlisten, 2, "--listen replaces the file's listeners");
    cr_assert_str_eq(c.listen[0].addr, "[::1]:0");
    cr_assert_eq(c.listen[0].tcp.keepalive, BK_TCPKA_GO, "flag listeners get the file's TCP defaults");
    bk_config_free(&c);
    unlink(path);
}

Test(config, bad_flags)
{
    struct {
        char *argv[4];
        const char *needle;
    } cases[] = {
        { { "b", "--listen", "127.0.0.1:0", "--bogus" }, "--bogus" },
        { { "b", "--listen", "127.0.0.1:0", "--grace=x" }, "--grace" },
        { { "b", "--listen", "127.0.0.1:0", "--max-keepalive=-3" }, "--max-keepalive" },
        { { "b", "--listen", "127.0.0.1:0", "--tcp-keepalive=1,2" }, "--tcp-keepalive" },
        { { "b", "--listen", "127.0.0.1:0", "--duplicate-client-id=x" }, "--duplicate-client-id" },
        { { "b", "--events", "-", "--grace=1" }, "--listen" },
        { { "b", "--listen", "nocolon", "--grace=1" }, "--listen" },
        { { "b", "--listen", "127.0.0.1:0", "--config=/nonexistent/x.json" }, "--config" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bk_config c;
        bk_config_defaults(&c);
        char err[256] = "";
        cr_assert_eq(bk_config_from_args(&c, 4, cases[i].argv, err, sizeof err), -1, "case %zu", i);
        cr_assert(strstr(err, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
        bk_config_free(&c);
    }
}

Test(config, topic_alias_maximum)
{
    bk_config c;
    bk_config_defaults(&c);
    cr_assert_eq(c.topic_alias_max, 10, "the default");
    char err[256] = "";
    cr_assert_eq(bk_config_apply_json(&c, "{\"topic_alias_maximum\":0}", err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.topic_alias_max, 0);
    cr_assert_neq(bk_config_apply_json(&c, "{\"topic_alias_maximum\":65536}", err, sizeof err), 0);
    cr_assert(strstr(err, "topic_alias_maximum"), "%s", err);
    char *argv[] = { "flatline-broker", "--listen", "127.0.0.1:0", "--topic-alias-maximum", "200", NULL };
    cr_assert_eq(bk_config_from_args(&c, 5, argv, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.topic_alias_max, 200);
    bk_config_free(&c);
}
