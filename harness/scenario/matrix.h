/* Sweeps: a scenario's "matrix" names scenario values by path
 * ("groups[0].keepalive", "broker.options.grace") and the values to try; each
 * combination (a cell) is the scenario with those values set. "cross" runs
 * every combination (the first parameter varies slowest), "zip" the i-th value
 * of every parameter together. docs/scenario-format.md describes the section.
 *
 * The matrix is taken off the document before the scenario parser sees it, so
 * every cell is an ordinary version-1 scenario. */
#ifndef FLATLINE_HARNESS_MATRIX_H
#define FLATLINE_HARNESS_MATRIX_H

#include <jansson.h>
#include <stddef.h>

#include "harness/scenario/diag.h"
#include "harness/scenario/scenario.h"

#define FL_MATRIX_MAX_CELLS 256

typedef struct fl_matrix fl_matrix;

/* A scenario file split into its matrix (NULL without one) and the document
 * the cells are made from (the file without "matrix"). */
typedef struct fl_matrix_file {
    char *text; /* the file's bytes, NUL-terminated */
    size_t len;
    json_t *base;
    fl_matrix *matrix;
} fl_matrix_file;

/* Reads path and checks its matrix section (shape, paths, that every value
 * array is usable). Errors go to d with the JSON path and line:column of the
 * matrix entry; returns -1 then. Syntax errors in the file are reported too. */
int fl_matrix_file_load(const char *path, fl_matrix_file *out, fl_diag *d);
void fl_matrix_file_free(fl_matrix_file *f);

size_t fl_matrix_cells(const fl_matrix *m);
size_t fl_matrix_params(const fl_matrix *m);
const char *fl_matrix_param_path(const fl_matrix *m, size_t i);
const char *fl_matrix_mode(const fl_matrix *m); /* "cross" or "zip" */

/* The cell's document: a deep copy of base with its values set, and *params
 * ({path: value}, new reference) when params is not NULL. NULL with err
 * naming the cell and the path when a path does not lead into base
 * ("cell 3: groups[2].keepalive: no groups[2] (the scenario has 1)"). */
json_t *fl_matrix_cell(const fl_matrix *m, const json_t *base, size_t cell, json_t **params, char *err,
                       size_t errlen);

/* "groups[0].keepalive=2 broker.options.grace=1.5" for cell. */
void fl_matrix_label(const fl_matrix *m, size_t cell, char *buf, size_t len);

/* {"mode": ..., "params": {path: [values]}} (new reference). */
json_t *fl_matrix_to_json(const fl_matrix *m);

/* One cell as a scenario, checked. Messages go to d (which must name the
 * file) at the line:column of the original file: of the matrix entry when
 * the cell's own value is at fault, else of the value the cell inherits; each
 * names the cell. *text gets the cell's document (the caller frees it).
 * NULL on any error. The scenario is named name (borrowed: keep it alive). */
fl_scenario *fl_matrix_cell_scenario(const fl_matrix_file *mf, size_t cell, const char *name, fl_diag *d,
                                     char **text);

/* fl_scenario_load() for files that may carry a matrix: every cell is
 * checked (messages name the cell), the first cell's scenario is returned
 * (named path), and *cells says how many there are (1 without a matrix). */
fl_scenario *fl_matrix_scenario_load(const char *path, fl_diag *d, size_t *cells);

/* Sets the value at a path like "groups[0].strategy.kind" in doc, creating
 * missing objects on the way (not array elements). Returns 0, or -1 with err. */
int fl_json_set_path(json_t *doc, const char *path, json_t *value, char *err, size_t errlen);

#endif
