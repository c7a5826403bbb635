/* The scenario format as shape tables (shape.h): the one place that lists
 * every field. docs/scenario.schema.json says the same for other tools. */
#ifndef FLATLINE_HARNESS_SCENARIO_SHAPE_H
#define FLATLINE_HARNESS_SCENARIO_SHAPE_H

#include "harness/scenario/shape.h"

extern const fl_shape fl_scenario_shape;

#endif
