#include "harness/scenario/profiles.h"

#include <string.h>

/* docs/profiles.md explains each number and where it comes from. */
static const fl_profile profiles[] = {
    { "lan", "switched Ethernet LAN: 1 ms round trip, no loss", 0.5, 0.1, 0, 0 },
    { "wifi-congested", "busy 802.11 cell: 40 ms round trip, +-15 ms jitter, 2 % loss each way", 20, 15, 2, 0 },
    { "4g", "LTE: 60 ms round trip, +-10 ms jitter, 0.5 % loss each way, 20 Mbit/s", 30, 10, 0.5, 20000 },
    { "satellite", "geostationary: 600 ms round trip, +-20 ms jitter, 1 % loss each way, 10 Mbit/s", 300, 20, 1, 10000 },
};

enum { NPROFILES = sizeof profiles / sizeof profiles[0] };

const fl_profile *fl_profile_find(const char *name)
{
    for (size_t i = 0; i < NPROFILES; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

const fl_profile *fl_profile_at(size_t i) { return i < NPROFILES ? &profiles[i] : NULL; }

const char *fl_profile_names(void) { return "lan, wifi-congested, 4g, satellite"; }

void fl_profile_to_link(const fl_profile *p, fl_sc_link *l)
{
    l->delay_ms = p->delay_ms;
    l->jitter_ms = p->jitter_ms;
    l->loss = p->loss;
    l->rate_kbit = p->rate_kbit;
}

void fl_link_to_degrade(const fl_sc_link *l, fl_degrade *d)
{
    memset(d, 0, sizeof *d);
    d->delay_us = (uint32_t)(l->delay_ms * 1000 + 0.5);
    d->jitter_us = (uint32_t)(l->jitter_ms * 1000 + 0.5);
    d->loss = l->loss / 100;
    d->duplicate = l->duplicate / 100;
    d->corrupt = l->corrupt / 100;
    d->reorder = l->reorder / 100;
    d->rate_bytes_per_s = l->rate_kbit * 1000 / 8;
    d->limit = l->limit;
}
