#include "harness/scenario/shape.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { PATH_LEN = 512 };

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static bool type_ok(unsigned types, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return types & FL_T_OBJ;
    case JSON_ARRAY: return types & FL_T_ARR;
    case JSON_STRING: return types & FL_T_STR;
    case JSON_INTEGER: return types & (FL_T_INT | FL_T_NUM);
    case JSON_REAL: return types & FL_T_NUM;
    case JSON_TRUE:
    case JSON_FALSE: return types & FL_T_BOOL;
    case JSON_NULL: return false;
    }
    return false;
}

/* Edit distance, to suggest the member a misspelt one meant. Names are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_member(const fl_field *fields, const char *name, const char *path, fl_diag *d)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only close misspellings */
    for (const fl_field *f = fields; f->name; f++) {
        size_t dist = distance(name, f->name);
        if (dist < best_d) {
            best_d = dist;
            best = f->name;
        }
    }
    if (best) {
        fl_diag_error(d, path, true, "unknown field \"%s\" (did you mean \"%s\"?)", name, best);
        return;
    }
    char list[256] = "";
    size_t len = 0;
    for (const fl_field *f = fields; f->name && len < sizeof list; f++) {
        int n = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", f->name);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    fl_diag_error(d, path, true, "unknown field \"%s\" (allowed here: %s)", name, list);
}

static bool check_number(const fl_shape *s, const json_t *v, const char *path, fl_diag *d)
{
    double x = json_number_value(v);
    if (!isfinite(x)) {
        fl_diag_error(d, path, false, "expected %s, got a number out of range", s->what);
        return false;
    }
    bool low = s->has_min && (s->min_exclusive ? x <= s->min : x < s->min);
    bool high = s->has_max && x > s->max;
    if (!low && !high)
        return true;
    /* %.15g: integers as written (2147483648, not 2.14748e+09). */
    if (s->has_min && s->has_max)
        fl_diag_error(d, path, false, "must be %s %.15g and <= %.15g (got %.15g)", s->min_exclusive ? ">" : ">=",
                      s->min, s->max, x);
    else if (s->has_min)
        fl_diag_error(d, path, false, "must be %s %.15g (got %.15g)", s->min_exclusive ? ">" : ">=", s->min, x);
    else
        fl_diag_error(d, path, false, "must be <= %.15g (got %.15g)", s->max, x);
    return false;
}

static bool check_string(const fl_shape *s, const json_t *v, const char *path, fl_diag *d)
{
    const char *str = json_string_value(v);
    if (s->max_len && json_string_length(v) > s->max_len) {
        fl_diag_error(d, path, false, "is longer than %zu bytes", s->max_len);
        return false;
    }
    if (!s->choices)
        return true;
    char list[256] = "";
    size_t len = 0;
    for (const char *const *c = s->choices; *c; c++) {
        if (strcmp(*c, str) == 0)
            return true;
        if (len < sizeof list) {
            int n = snprintf(list + len, sizeof list - len, "%s\"%s\"", len ? ", " : "", *c);
            if (n > 0)
                len += (size_t)n;
        }
    }
    fl_diag_error(d, path, false, "must be one of %s (got \"%s\")", list, str);
    return false;
}

static bool check_object(const fl_shape *s, const json_t *v, const char *path, fl_diag *d)
{
    bool ok = true;
    char sub[PATH_LEN];
    const char *name;
    const json_t *member;
    json_object_foreach((json_t *)v, name, member) {
        snprintf(sub, sizeof sub, "%s", path);
        fl_jsonpath_member(sub, sizeof sub, name);
        if (s->values) {
            ok &= fl_shape_check(s->values, member, sub, d);
            continue;
        }
        const fl_field *f = s->fields;
        while (f && f->name && strcmp(f->name, name) != 0)
            f++;
        if (!f || !f->name) {
            if (s->fields)
                unknown_member(s->fields, name, sub, d);
            else
                fl_diag_error(d, sub, true, "unknown field \"%s\"", name);
            ok = false;
            continue;
        }
        ok &= fl_shape_check(f->shape, member, sub, d);
    }
    for (const fl_field *f = s->fields; f && f->name; f++) {
        if (f->required && !json_object_get(v, f->name)) {
            fl_diag_error(d, path, false, "missing required field \"%s\"", f->name);
            ok = false;
        }
    }
    return ok;
}

static bool check_array(const fl_shape *s, const json_t *v, const char *path, fl_diag *d)
{
    size_t n = json_array_size(v);
    if (n < s->min_items) {
        fl_diag_error(d, path, false, "needs at least %zu element%s (got %zu)", s->min_items,
                      s->min_items == 1 ? "" : "s", n);
        return false;
    }
    if (s->max_items && n > s->max_items) {
        fl_diag_error(d, path, false, "allows at most %zu elements (got %zu)", s->max_items, n);
        return false;
    }
    bool ok = true;
    char sub[PATH_LEN];
    for (size_t i = 0; s->items && i < n; i++) {
        snprintf(sub, sizeof sub, "%s", path);
        fl_jsonpath_index(sub, sizeof sub, i);
        ok &= fl_shape_check(s->items, json_array_get(v, i), sub, d);
    }
    return ok;
}

bool fl_shape_check(const fl_shape *shape, const json_t *v, const char *path, fl_diag *d)
{
    if (!type_ok(shape->types, v)) {
        fl_diag_error(d, path, false, "expected %s, got %s", shape->what, type_name(v));
        return false;
    }
    if ((shape->types & FL_T_INT) && !(shape->types & FL_T_NUM) && json_is_integer(v))
        return check_number(shape, v, path, d);
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL: return check_number(shape, v, path, d);
    case JSON_STRING: return check_string(shape, v, path, d);
    case JSON_OBJECT: return check_object(shape, v, path, d);
    case JSON_ARRAY: return check_array(shape, v, path, d);
    default: return true;
    }
}
