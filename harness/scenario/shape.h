/* Declarative checks of a JSON document's shape: types, ranges, allowed
 * strings, required and unknown members. The scenario format is written as
 * tables of these (scenario_shape.c) that mirror docs/scenario.schema.json;
 * what the tables cannot say (cross references, one field depending on
 * another) scenario.c checks by hand. */
#ifndef FLATLINE_HARNESS_SHAPE_H
#define FLATLINE_HARNESS_SHAPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/scenario/diag.h"

enum {
    FL_T_BOOL = 1u << 0,
    FL_T_INT = 1u << 1,  /* a JSON integer */
    FL_T_NUM = 1u << 2,  /* an integer or a real */
    FL_T_STR = 1u << 3,
    FL_T_OBJ = 1u << 4,
    FL_T_ARR = 1u << 5,
};

typedef struct fl_field fl_field;

typedef struct fl_shape {
    unsigned types;           /* FL_T_* accepted */
    const char *what;         /* "a number of seconds", for messages */
    bool has_min, has_max;    /* number bounds, inclusive */
    double min, max;
    bool min_exclusive;       /* min itself is not allowed (durations > 0) */
    const char *const *choices;   /* strings allowed, NULL-terminated; NULL: any */
    size_t max_len;               /* strings: at most this many bytes; 0: no limit */
    const fl_field *fields;       /* objects: members, ending with a NULL name */
    const struct fl_shape *values; /* objects without fixed members: every value */
    const struct fl_shape *items;  /* arrays: every element */
    size_t min_items, max_items;   /* arrays; max 0: no limit */
} fl_shape;

struct fl_field {
    const char *name;
    const fl_shape *shape;
    bool required;
};

/* Checks v (found at path) against shape, reporting every problem to d.
 * Returns true if there was none. */
bool fl_shape_check(const fl_shape *shape, const json_t *v, const char *path, fl_diag *d);

#endif
