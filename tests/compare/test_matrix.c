/* harness/matrix: cells of "cross" and "zip" sweeps, value paths, and errors
 * that name the matrix entry (and the cell) in the original file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/scenario/matrix.h"

static const char *const base_scenario =
    "{\n"
    "  \"flatline\": 1, \"name\": \"m\", \"description\": \"d\", \"duration\": 5,\n"
    "  \"groups\": [ { \"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 2 } ],\n"
    "  \"faults\": [ { \"kind\": \"cable-pull\", \"target\": \"g\", \"at\": 1 } ]%s%s\n"
    "}\n";

/* Writes the base scenario with a matrix section to a temporary file. */
static char *scenario_file(const char *matrix)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/flatline-matrix-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, base_scenario, matrix ? ",\n  \"matrix\": " : "", matrix ? matrix : "");
    fclose(f);
    return path;
}

static char *load_errors(const char *matrix, int *errors, fl_matrix_file *mf)
{
    char *path = scenario_file(matrix);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    fl_diag d;
    fl_diag_init(&d, path, out);
    fl_matrix_file local;
    int rc = fl_matrix_file_load(path, mf ? mf : &local, &d);
    fclose(out);
    if (rc == 0 && !mf)
        fl_matrix_file_free(&local);
    *errors = d.errors;
    unlink(path);
    return buf;
}

Test(matrix, cross_first_parameter_slowest)
{
    int errors;
    fl_matrix_file mf;
    char *msgs = load_errors("{\"params\": {\"groups[0].keepalive\": [1, 2, 3], \"broker.options.grace\": [1.5, 2]}}",
                             &errors, &mf);
    cr_assert_eq(errors, 0, "%s", msgs);
    free(msgs);
    cr_assert_not_null(mf.matrix);
    cr_expect_str_eq(fl_matrix_mode(mf.matrix), "cross");
    cr_assert_eq(fl_matrix_cells(mf.matrix), 6);
    cr_expect_null(json_object_get(mf.base, "matrix"), "the cells' base has no matrix");
    static const int ka[] = { 1, 1, 2, 2, 3, 3 };
    static const double grace[] = { 1.5, 2, 1.5, 2, 1.5, 2 };
    for (size_t c = 0; c < 6; c++) {
        char err[256] = "";
        json_t *params;
        json_t *doc = fl_matrix_cell(mf.matrix, mf.base, c, &params, err, sizeof err);
        cr_assert_not_null(doc, "%s", err);
        json_t *g0 = json_array_get(json_object_get(doc, "groups"), 0);
        cr_expect_eq(json_integer_value(json_object_get(g0, "keepalive")), ka[c], "cell %zu", c);
        json_t *g = json_object_get(json_object_get(json_object_get(doc, "broker"), "options"), "grace");
        cr_expect_float_eq(json_number_value(g), grace[c], 1e-12, "cell %zu: broker.options created", c);
        cr_expect_eq(json_integer_value(json_object_get(params, "groups[0].keepalive")), ka[c]);
        json_decref(params);
        json_decref(doc);
    }
    char label[128];
    fl_matrix_label(mf.matrix, 3, label, sizeof label);
    cr_expect_str_eq(label, "groups[0].keepalive=2 broker.options.grace=2");
    /* the base is not changed by making cells */
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(json_object_get(mf.base, "groups"), 0), "keepalive")),
                 2);
    fl_matrix_file_free(&mf);
}

Test(matrix, zip_steps_together)
{
    int errors;
    fl_matrix_file mf;
    char *msgs = load_errors("{\"mode\": \"zip\", \"params\": {\"groups[0].keepalive\": [1, 5], "
                             "\"groups[0].strategy\": [{\"kind\": \"mqtt\"}, {\"kind\": \"tcp-only\"}]}}",
                             &errors, &mf);
    cr_assert_eq(errors, 0, "%s", msgs);
    free(msgs);
    cr_assert_eq(fl_matrix_cells(mf.matrix), 2);
    char err[256];
    json_t *doc = fl_matrix_cell(mf.matrix, mf.base, 1, NULL, err, sizeof err);
    json_t *g0 = json_array_get(json_object_get(doc, "groups"), 0);
    cr_expect_eq(json_integer_value(json_object_get(g0, "keepalive")), 5);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(g0, "strategy"), "kind")), "tcp-only");
    json_decref(doc);
    cr_expect_null(fl_matrix_cell(mf.matrix, mf.base, 2, NULL, err, sizeof err));
    fl_matrix_file_free(&mf);
}

Test(matrix, no_matrix)
{
    int errors;
    fl_matrix_file mf;
    char *msgs = load_errors(NULL, &errors, &mf);
    cr_expect_eq(errors, 0);
    cr_expect_null(mf.matrix);
    cr_expect_eq(fl_matrix_cells(mf.matrix), 1);
    free(msgs);
    fl_matrix_file_free(&mf);
}

Test(matrix, errors_name_the_entry)
{
    static const char *const cases[][2] = {
        { "{\"params\": {\"groups[1].keepalive\": [1]}}",
          ":5:25: $.matrix.params[\"groups[1].keepalive\"]: groups[1].keepalive: no element [1] (there is 1)" },
        { "{\"params\": {\"broker..grace\": [1]}}", "$.matrix.params[\"broker..grace\"]: not a scenario path" },
        { "{\"params\": {\"groups[0].keepalive\": []}}", "must be a non-empty array" },
        { "{\"params\": {\"groups[0].keepalive\": 3}}", "must be a non-empty array" },
        { "{\"mode\": \"all\", \"params\": {\"seed\": [1]}}", "$.matrix.mode: must be \"cross\"" },
        { "{\"params\": {\"seed\": [1]}, \"modes\": 1}", "$.matrix.modes: unknown field 'modes'" },
        { "{\"mode\": \"zip\", \"params\": {\"seed\": [1, 2], \"duration\": [5]}}", "has 1 values, the first parameter 2" },
        { "{\"params\": {\"flatline\": [2]}}", "a sweep cannot change $.flatline" },
        { "{\"params\": {\"seed\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],"
          " \"duration\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}}",
          "272 cells; at most 256" },
        { "[1]", "$.matrix: must be an object" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int errors;
        char *msgs = load_errors(cases[i][0], &errors, NULL);
        cr_expect_geq(errors, 1, "%s accepted", cases[i][0]);
        cr_expect(strstr(msgs, cases[i][1]), "%s:\n  expected '%s'\n  got '%s'", cases[i][0], cases[i][1], msgs);
        free(msgs);
    }
}

Test(matrix, cell_errors_point_into_the_file)
{
    char *path = scenario_file("{\"params\": {\"groups[0].keepalive\": [2, 70000]}}");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    fl_diag d;
    fl_diag_init(&d, path, out);
    size_t cells;
    fl_scenario *sc = fl_matrix_scenario_load(path, &d, &cells);
    fclose(out);
    cr_expect_null(sc);
    cr_expect_eq(d.errors, 1, "%s", buf);
    /* line 5, the matrix entry; the cell and the scenario path named */
    cr_expect(strstr(buf, ":5:25: $.matrix.params[\"groups[0].keepalive\"]: cell 1 (groups[0].keepalive=70000): "
                          "$.groups[0].keepalive: must be >= 0 and <= 65535"),
              "%s", buf);
    free(buf);
    unlink(path);

    path = scenario_file("{\"params\": {\"duration\": [5, 0.5]}}");
    buf = NULL;
    out = open_memstream(&buf, &len);
    fl_diag_init(&d, path, out);
    sc = fl_matrix_scenario_load(path, &d, &cells);
    fclose(out);
    cr_expect_null(sc);
    /* the fault's time is inherited: its line in the file, the cell named */
    cr_expect(strstr(buf, ":4:60: $.faults[0].at: cell 1 (duration=0.5): "), "%s", buf);
    free(buf);
    unlink(path);
}

Test(matrix, every_cell_valid)
{
    char *path = scenario_file("{\"params\": {\"groups[0].keepalive\": [2, 3], \"seed\": [1, 2]}}");
    fl_diag d;
    fl_diag_init(&d, path, NULL);
    size_t cells;
    fl_scenario *sc = fl_matrix_scenario_load(path, &d, &cells);
    cr_assert_not_null(sc, "%s", d.first);
    cr_expect_eq(cells, 4);
    cr_expect_eq(sc->groups[0].keepalive, 2, "the first cell");
    fl_scenario_free(sc);
    unlink(path);
}

Test(matrix, set_path)
{
    json_t *doc = json_pack("{s:[{s:i}], s:i}", "groups", "keepalive", 2, "seed", 1);
    json_t *off = json_string("off"), *one = json_integer(1);
    char err[256];
    cr_expect_eq(fl_json_set_path(doc, "groups[0].tcp.keepalive", off, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(json_object_get(doc, "groups"), 0), "tcp"), "keepalive")),
                     "off");
    cr_expect_eq(fl_json_set_path(doc, "seed.x", one, err, sizeof err), -1);
    cr_expect(strstr(err, "not an object"), "%s", err);
    cr_expect_eq(fl_json_set_path(doc, "seed[0]", one, err, sizeof err), -1);
    cr_expect(strstr(err, "not an array"), "%s", err);
    cr_expect_eq(fl_json_set_path(doc, "groups[x]", one, err, sizeof err), -1);
    cr_expect(strstr(err, "bad index"), "%s", err);
    json_decref(off);
    json_decref(one);
    json_decref(doc);
}
