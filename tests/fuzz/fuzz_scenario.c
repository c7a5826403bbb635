/* libFuzzer target for the scenario parser (harness/scenario.h): the input is
 * the text of a scenario file. Nothing is created; only fl_scenario_parse and
 * the checks behind it run (JSON, shape, cross references, the swarm's and the
 * broker's own config parsers).
 * Oracles (beyond ASan/UBSan and leaks):
 *   - a scenario is returned exactly when no error was reported, and a refusal
 *     always carries a message;
 *   - every index in an accepted scenario points inside its array, faults are
 *     in time order inside the run, and total_clients is the sum over groups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                             \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

static void check_accepted(const fl_scenario *sc)
{
    CHECK(sc->doc && sc->name && sc->ngroups > 0);
    CHECK(sc->broker.link >= -1 && sc->broker.link < (int)sc->nlinks);
    uint64_t total = 0;
    for (size_t i = 0; i < sc->ngroups; i++) {
        const fl_sc_group *g = &sc->groups[i];
        CHECK(g->name && g->swarm);
        CHECK(g->behind >= -1 && g->behind < (int)sc->nmiddleboxes);
        CHECK(g->link >= -1 && g->link < (int)sc->nlinks);
        total += (uint64_t)g->hosts * g->clients_per_host;
    }
    CHECK(total == sc->total_clients);
    for (size_t i = 0; i < sc->nfaults; i++) {
        const fl_sc_fault *f = &sc->faults[i];
        CHECK(f->group >= -1 && f->group < (int)sc->ngroups);
        CHECK(f->middlebox >= -1 && f->middlebox < (int)sc->nmiddleboxes);
        CHECK(f->group >= 0 || f->middlebox >= 0);
        if (f->group >= 0)
            CHECK(f->host >= -1 && f->host < (int)sc->groups[f->group].hosts);
        CHECK(f->fraction >= 0 && f->fraction <= 1);
        CHECK(f->at_ns < sc->duration_ns);
        CHECK(i == 0 || sc->faults[i - 1].at_ns <= f->at_ns);
        CHECK(f->kind != FL_FAULT_DEGRADE || (f->link >= 0 && f->link < (int)sc->nlinks));
        CHECK(memchr(f->label, 0, sizeof f->label));
    }
    for (size_t i = 0; i < sc->nexpects; i++)
        CHECK(sc->expects[i].metric && fl_metric_path_valid(sc->expects[i].metric));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_diag d;
    fl_diag_init(&d, "fuzz.json", NULL);
    fl_scenario *sc = fl_scenario_parse((const char *)data, size, "fuzz.json", &d);
    if (sc) {
        CHECK(d.errors == 0);
        check_accepted(sc);
        fl_scenario_free(sc);
        return 0;
    }
    CHECK(d.errors > 0 && d.first[0]);
    return 0;
}
