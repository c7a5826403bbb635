/* Network profiles in scenarios (no root, no netem): a link's or a group's
 * "profile" resolves to the values of docs/profiles.md, a link's own fields
 * override its profile's, and a bad name is an error naming its JSON path
 * and the profiles there are. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario.h"

static fl_scenario *parse(const char *body, fl_diag *d)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "{\"flatline\": 1, \"name\": \"p\", \"description\": \"d\", \"duration\": 10, %s}", body);
    fl_diag_init(d, "p.json", NULL);
    return fl_scenario_parse(text, strlen(text), "p.json", d);
}

static const fl_sc_link *link_named(const fl_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nlinks; i++)
        if (strcmp(sc->links[i].name, name) == 0)
            return &sc->links[i];
    cr_assert_fail("no link %s", name);
    return NULL;
}

Test(profiles, the_four_named_profiles)
{
    static const char *const names[] = {"lan", "wifi-congested", "4g", "satellite"};
    for (size_t i = 0; i < 4; i++) {
        const fl_profile *p = fl_profile_find(names[i]);
        cr_assert_not_null(p, "%s", names[i]);
        cr_assert_eq(fl_profile_at(i), p, "order");
        cr_assert(strstr(fl_profile_names(), names[i]));
        /* netem needs a delay for jitter, and the jitter may not reorder the
         * delay below zero. */
        cr_assert(p->jitter_ms <= p->delay_ms, "%s", names[i]);
        cr_assert(p->loss >= 0 && p->loss < 100, "%s", names[i]);
    }
    cr_assert_null(fl_profile_at(4));
    cr_assert_null(fl_profile_find("5g"));
    /* GEO: the round trip is about 600 ms; the profile's delay is one way. */
    cr_assert_float_eq(2 * fl_profile_find("satellite")->delay_ms, 600, 1e-9);
}

Test(profiles, link_profile_and_overrides)
{
    fl_diag d;
    fl_scenario *sc = parse("\"links\": {\"mobile\": {\"profile\": \"4g\"},"
                            " \"worse\": {\"profile\": \"4g\", \"loss\": 3, \"rate_kbit\": 0, \"corrupt\": 0.5, \"duplicate\": 1}},"
                            " \"groups\": [{\"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 5}],"
                            " \"faults\": [{\"kind\": \"degrade\", \"target\": \"g\", \"at\": 0, \"link\": \"worse\"}]",
                            &d);
    cr_assert_not_null(sc, "%s", d.first);
    const fl_profile *p = fl_profile_find("4g");
    const fl_sc_link *m = link_named(sc, "mobile"), *w = link_named(sc, "worse");
    cr_expect_float_eq(m->delay_ms, p->delay_ms, 1e-9);
    cr_expect_float_eq(m->jitter_ms, p->jitter_ms, 1e-9);
    cr_expect_float_eq(m->loss, p->loss, 1e-9);
    cr_expect_eq(m->rate_kbit, p->rate_kbit);
    cr_expect_float_eq(w->delay_ms, p->delay_ms, 1e-9);
    cr_expect_float_eq(w->loss, 3, 1e-9);
    cr_expect_eq(w->rate_kbit, 0);
    fl_degrade deg;
    fl_link_to_degrade(m, &deg);
    cr_expect_eq(deg.delay_us, (uint32_t)(p->delay_ms * 1000));
    cr_expect_eq(deg.jitter_us, (uint32_t)(p->jitter_ms * 1000));
    cr_expect(fabs(deg.loss - p->loss / 100) < 1e-12);
    cr_expect_eq(deg.rate_bytes_per_s, p->rate_kbit * 1000 / 8);
    fl_link_to_degrade(w, &deg);
    cr_expect(fabs(deg.corrupt - 0.005) < 1e-12, "corrupt %g: 0.5 %% asked", deg.corrupt);
    cr_expect(fabs(deg.duplicate - 0.01) < 1e-12, "duplicate %g: 1 %% asked", deg.duplicate);
    fl_scenario_free(sc);
}

Test(profiles, group_profile_is_an_implicit_link)
{
    fl_diag d;
    fl_scenario *sc = parse("\"groups\": [{\"name\": \"a\", \"clients_per_host\": 1, \"keepalive\": 5, \"profile\": \"satellite\"},"
                            " {\"name\": \"b\", \"clients_per_host\": 1, \"keepalive\": 5, \"profile\": \"satellite\"},"
                            " {\"name\": \"c\", \"clients_per_host\": 1, \"keepalive\": 5}]",
                            &d);
    cr_assert_not_null(sc, "%s", d.first);
    cr_assert_eq(sc->nlinks, 1, "one implicit link shared by both groups");
    cr_assert_eq(sc->groups[0].link, 0);
    cr_assert_eq(sc->groups[1].link, 0);
    cr_assert_eq(sc->groups[2].link, -1);
    cr_expect_str_eq(sc->links[0].name, "satellite");
    cr_expect_float_eq(sc->links[0].delay_ms, 300, 1e-9);
    fl_scenario_free(sc);
}

Test(profiles, bad_profiles_name_the_path)
{
    fl_diag d;
    cr_assert_null(parse("\"links\": {\"x\": {\"profile\": \"5g\"}},"
                         " \"groups\": [{\"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 5}]",
                         &d));
    cr_assert(strstr(d.first, "$.links.x.profile"), "%s", d.first);
    cr_assert(strstr(d.first, "no network profile named \"5g\""), "%s", d.first);
    cr_assert(strstr(d.first, "lan, wifi-congested, 4g, satellite"), "%s", d.first);

    cr_assert_null(parse("\"groups\": [{\"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 5, \"profile\": \"dsl\"}]",
                         &d));
    cr_assert(strstr(d.first, "$.groups[0].profile"), "%s", d.first);

    cr_assert_null(parse("\"links\": {\"x\": {\"delay_ms\": 5}},"
                         " \"groups\": [{\"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 5,"
                         " \"link\": \"x\", \"profile\": \"lan\"}]",
                         &d));
    cr_assert(strstr(d.first, "not both"), "%s", d.first);

    cr_assert_null(parse("\"links\": {\"x\": {\"profile\": 4}},"
                         " \"groups\": [{\"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 5}]",
                         &d));
    cr_assert(strstr(d.first, "$.links.x.profile"), "%s", d.first);
}
