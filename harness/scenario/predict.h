/* What the model (harness/model.h) is told about one fault of a scenario:
 * the broker's and the cut group's settings resolved to numbers. */
#ifndef FLATLINE_HARNESS_PREDICT_H
#define FLATLINE_HARNESS_PREDICT_H

#include "model/model.h"
#include "harness/scenario/scenario.h"

/* The group whose connections fault f cuts (for a middlebox: the first group
 * behind it), or -1. */
int fl_fault_group(const fl_scenario *sc, const fl_sc_fault *f);

/* Fills cfg with the broker's and group gi's settings and no fault: what its
 * untouched connections do (their keep-alive traffic). */
void fl_predict_group_config(const fl_scenario *sc, int gi, fl_model_config *cfg);

/* When a rebooted host's clients' CONNECTs reach the broker, seconds after
 * the reboot: clients of the adapter (NULL: flatline-swarm) restarted on the
 * host(s), their connects spread over spread_s (measured bounds: predict.c). */
void fl_predict_boot_window(const char *adapter, unsigned clients, double spread_s, double *lo_s, double *hi_s);

/* Fills cfg for fault f. Returns 0, or -1 if the fault cuts no group. */
int fl_predict_config(const fl_scenario *sc, const fl_sc_fault *f, fl_model_config *cfg);

#endif
