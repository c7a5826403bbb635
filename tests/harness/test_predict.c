/* harness/scenario/predict.c: what the model is told about a fault's
 * reconnect (the broker's duplicate policy from its driver, a rebooted host's
 * return, the group's reconnect), from scenario text. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/scenario/predict.h"
#include "harness/scenario/scenario.h"

#define EPS 1e-9

static fl_scenario *parse(const char *text)
{
    fl_diag d;
    fl_diag_init(&d, "t.json", NULL);
    fl_scenario *sc = fl_scenario_parse(text, strlen(text), "t.json", &d);
    cr_assert_not_null(sc, "%s", d.first);
    return sc;
}

static fl_model_config config_of(const char *text, size_t fault)
{
    fl_scenario *sc = parse(text);
    fl_model_config cfg;
    cr_assert_eq(fl_predict_config(sc, &sc->faults[fault], &cfg), 0);
    fl_scenario_free(sc);
    return cfg;
}

/* scenarios/power-loss-reboot.json's shape: 40 clients on the rebooted host. */
Test(predict, reboot_window_and_policy)
{
    const char *text =
        "{\"flatline\":1,\"name\":\"r\",\"description\":\"\",\"duration\":25,\n"
        " \"broker\":{\"options\":{\"duplicate_client_id\":\"%s\"}},\n"
        " \"groups\":[{\"name\":\"dev\",\"hosts\":2,\"clients_per_host\":40,\"keepalive\":8}],\n"
        " \"faults\":[{\"kind\":\"power-loss\",\"target\":\"dev[1]\",\"at\":2,\"restore_after\":6},\n"
        "            {\"kind\":\"power-loss\",\"target\":\"dev\",\"at\":10,\"restore_after\":2},\n"
        "            {\"kind\":\"power-loss\",\"target\":\"dev[0]\",\"at\":14}]}";
    char buf[1024];
    snprintf(buf, sizeof buf, text, "takeover");
    fl_model_config c = config_of(buf, 0);
    cr_expect_eq(c.broker.duplicate, FL_DUP_TAKEOVER);
    cr_expect_float_eq(c.reboot_after_s, 6, EPS);
    cr_expect_float_eq(c.reconnect.boot_lo_s, 0, EPS);
    cr_expect_float_eq(c.reconnect.boot_hi_s, 0.25 + 40 * 0.0003, EPS); /* the swarm's start + 40 connects */
    cr_expect_not(c.reconnect.enabled, "no reconnect in the group");
    c = config_of(buf, 1); /* both hosts: 80 clients to start */
    cr_expect_float_eq(c.reconnect.boot_hi_s, 0.25 + 80 * 0.0003, EPS);
    c = config_of(buf, 2); /* no reboot: no return */
    cr_expect_float_eq(c.reconnect.boot_hi_s, 0, EPS);
    snprintf(buf, sizeof buf, text, "reject");
    c = config_of(buf, 0);
    cr_expect_eq(c.broker.duplicate, FL_DUP_REJECT);
}

/* A group's reconnect as flatline-swarm waits it: fixed, and back-off's first
 * wait 0..min(cap, base), its second up to min(cap, 2 base); the connect
 * ramp of a spread group is the spread, else a connect's cost per client. */
Test(predict, reconnect_of_the_group)
{
    fl_model_config c = config_of(
        "{\"flatline\":1,\"name\":\"c\",\"description\":\"\",\"duration\":25,\n"
        " \"groups\":[{\"name\":\"a\",\"hosts\":4,\"clients_per_host\":50,\"keepalive\":5,\n"
        "              \"reconnect\":{\"kind\":\"fixed\",\"delay\":1}},\n"
        "             {\"name\":\"b\",\"hosts\":2,\"clients_per_host\":10,\"keepalive\":5,\"connect_spread\":2,\n"
        "              \"reconnect\":{\"kind\":\"backoff\",\"base\":0.5,\"cap\":0.8}}],\n"
        " \"faults\":[{\"kind\":\"cable-pull\",\"target\":{\"group\":\"a\",\"fraction\":0.25},\"at\":3,\"duration\":12},\n"
        "            {\"kind\":\"partition\",\"target\":\"b\",\"at\":3,\"duration\":2},\n"
        "            {\"kind\":\"power-loss\",\"target\":{\"group\":\"b\",\"fraction\":0.5},\"at\":9,\"restore_after\":1}]}",
        0);
    cr_expect(c.reconnect.enabled);
    cr_expect_float_eq(c.reconnect.delay_lo_s, 1, EPS);
    cr_expect_float_eq(c.reconnect.delay_hi_s, 1, EPS);
    cr_expect_float_eq(c.reconnect.retry_delay_hi_s, 1, EPS);
    cr_expect_float_eq(c.reconnect.attempt_s, 30, EPS);
    cr_expect_float_eq(c.reconnect.ramp_s, 50 * 0.0003, EPS);
    cr_expect_float_eq(c.fault_duration_s, 12, EPS);

    const char *text =
        "{\"flatline\":1,\"name\":\"c\",\"description\":\"\",\"duration\":25,\n"
        " \"groups\":[{\"name\":\"b\",\"hosts\":2,\"clients_per_host\":10,\"keepalive\":5,\"connect_spread\":2,\n"
        "              \"reconnect\":{\"kind\":\"backoff\",\"base\":0.5,\"cap\":0.8}}],\n"
        " \"faults\":[{\"kind\":\"partition\",\"target\":\"b\",\"at\":3,\"duration\":2},\n"
        "            {\"kind\":\"power-loss\",\"target\":{\"group\":\"b\",\"fraction\":0.5},\"at\":9,\"restore_after\":1}]}";
    c = config_of(text, 0);
    cr_expect_float_eq(c.reconnect.delay_lo_s, 0, EPS);
    cr_expect_float_eq(c.reconnect.delay_hi_s, 0.5, EPS);
    cr_expect_float_eq(c.reconnect.retry_delay_hi_s, 0.8, EPS);
    cr_expect_float_eq(c.reconnect.ramp_s, 2, EPS);
    c = config_of(text, 1); /* one host of two, 10 clients, spread over 2 s */
    cr_expect_float_eq(c.reconnect.boot_hi_s, 0.25 + 10 * 0.0003 + 2, EPS);
}
