/* What the drivers share and nothing else includes. */
#ifndef FLATLINE_HARNESS_BROKERS_INTERNAL_H
#define FLATLINE_HARNESS_BROKERS_INTERNAL_H

#include "harness/brokers/brokers.h"

/* Complains about "command" and "model" in a broker object of another kind. */
void fl_broker__refuse_command_fields(const json_t *broker, const char *kind, const fl_broker_complain *c);

#endif
