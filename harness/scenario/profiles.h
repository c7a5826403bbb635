/* Named network profiles ("lan", "wifi-congested", "4g", "satellite"): netem
 * parameters a scenario names instead of writing them out. Values and their
 * sources: docs/profiles.md. Each value is per direction; a link applies it on
 * both ends, so a profile's round trip is twice its delay. */
#ifndef FLATLINE_HARNESS_PROFILES_H
#define FLATLINE_HARNESS_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "netem/netem.h"
#include "harness/scenario/scenario.h"

typedef struct fl_profile {
    const char *name;
    const char *summary; /* one line, for messages and docs */
    double delay_ms;     /* one way */
    double jitter_ms;    /* uniform +- around the delay */
    double loss;         /* percent, per direction */
    uint64_t rate_kbit;  /* 0: unlimited */
} fl_profile;

/* NULL when there is no profile of that name. */
const fl_profile *fl_profile_find(const char *name);
/* The profiles in a fixed order; NULL past the last. */
const fl_profile *fl_profile_at(size_t i);
/* "lan, wifi-congested, 4g, satellite": for "no such profile" messages. */
const char *fl_profile_names(void);

/* The profile's values into a scenario link (fields it does not set stay). */
void fl_profile_to_link(const fl_profile *p, fl_sc_link *l);
/* A scenario link as netem parameters (percentages become probabilities). */
void fl_link_to_degrade(const fl_sc_link *l, fl_degrade *d);

#endif
