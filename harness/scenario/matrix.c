#include "harness/scenario/matrix.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness/scenario/jsonpos.h"

#define MAX_MATRIX_FILE (4u << 20)

typedef struct param {
    char *path;
    json_t *values; /* a non-empty array */
} param;

struct fl_matrix {
    bool zip;
    param *params;
    size_t nparams, ncells;
};

size_t fl_matrix_cells(const fl_matrix *m) { return m ? m->ncells : 1; }
size_t fl_matrix_params(const fl_matrix *m) { return m ? m->nparams : 0; }
const char *fl_matrix_param_path(const fl_matrix *m, size_t i) { return i < m->nparams ? m->params[i].path : NULL; }
const char *fl_matrix_mode(const fl_matrix *m) { return m->zip ? "zip" : "cross"; }

static void matrix_free(fl_matrix *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nparams; i++) {
        free(m->params[i].path);
        json_decref(m->params[i].values);
    }
    free(m->params);
    free(m);
}

/* ---- paths: name ( "[" index "]" )* ( "." name ... )* ---- */

typedef struct segment {
    char name[64]; /* "" for an index segment */
    size_t index;
} segment;

/* Splits path into segments; -1 with err on bad syntax. */
static int parse_path(const char *path, segment *seg, size_t max, size_t *n, char *err, size_t errlen)
{
    const char *p = path;
    *n = 0;
    if (!*p) {
        snprintf(err, errlen, "an empty path");
        return -1;
    }
    while (*p) {
        if (*n == max) {
            snprintf(err, errlen, "%s: more than %zu parts", path, max);
            return -1;
        }
        segment *s = &seg[(*n)++];
        memset(s, 0, sizeof *s);
        if (*p == '[') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p + 1, &end, 10);
            if (!isdigit((unsigned char)p[1]) || *end != ']' || errno) {
                snprintf(err, errlen, "%s: bad index at character %zu", path, (size_t)(p - path) + 1);
                return -1;
            }
            s->index = (size_t)v;
            p = end + 1;
        } else {
            size_t len = 0;
            while (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '-')
                len++;
            if (len == 0 || len >= sizeof s->name) {
                snprintf(err, errlen, "%s: expected a field name at character %zu", path, (size_t)(p - path) + 1);
                return -1;
            }
            memcpy(s->name, p, len);
            p += len;
        }
        if (*p == '.') {
            p++;
            if (!*p || *p == '.' || *p == '[') {
                snprintf(err, errlen, "%s: expected a field name after '.'", path);
                return -1;
            }
        } else if (*p && *p != '[') {
            snprintf(err, errlen, "%s: unexpected '%c' at character %zu", path, *p, (size_t)(p - path) + 1);
            return -1;
        }
    }
    if (seg[0].name[0] == '\0') {
        snprintf(err, errlen, "%s: must start with a field name", path);
        return -1;
    }
    return 0;
}

int fl_json_set_path(json_t *doc, const char *path, json_t *value, char *err, size_t errlen)
{
    segment seg[16];
    size_t n;
    if (parse_path(path, seg, 16, &n, err, errlen) < 0)
        return -1;
    if (strcmp(seg[0].name, "matrix") == 0 || strcmp(seg[0].name, "flatline") == 0) {
        snprintf(err, errlen, "%s: a sweep cannot change $.%s", path, seg[0].name);
        return -1;
    }
    json_t *at = doc;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        if (seg[i].name[0]) {
            if (!json_is_object(at)) {
                snprintf(err, errlen, "%s: '%s' is inside something that is not an object", path, seg[i].name);
                return -1;
            }
            if (last)
                return json_object_set(at, seg[i].name, value) == 0 ? 0 : -1;
            json_t *next = json_object_get(at, seg[i].name);
            if (!next) {
                next = json_object();
                if (json_object_set_new(at, seg[i].name, next) < 0)
                    return -1;
            }
            at = next;
        } else {
            if (!json_is_array(at)) {
                snprintf(err, errlen, "%s: [%zu] indexes something that is not an array", path, seg[i].index);
                return -1;
            }
            if (seg[i].index >= json_array_size(at)) {
                snprintf(err, errlen, "%s: no element [%zu] (there %s %zu)", path, seg[i].index,
                         json_array_size(at) == 1 ? "is" : "are", json_array_size(at));
                return -1;
            }
            if (last)
                return json_array_set(at, seg[i].index, value) == 0 ? 0 : -1;
            at = json_array_get(at, seg[i].index);
        }
    }
    return -1;
}

/* ---- loading ---- */

static fl_matrix *parse_matrix(json_t *section, fl_diag *d)
{
    if (!json_is_object(section)) {
        fl_diag_error(d, "$.matrix", false, "must be an object {\"mode\": ..., \"params\": {...}}");
        return NULL;
    }
    fl_matrix *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    const char *key;
    json_t *v;
    json_object_foreach(section, key, v) {
        if (strcmp(key, "mode") != 0 && strcmp(key, "params") != 0) {
            char p[128] = "$.matrix";
            fl_jsonpath_member(p, sizeof p, key);
            fl_diag_error(d, p, true, "unknown field '%s' (the matrix has \"mode\" and \"params\")", key);
        }
    }
    json_t *mode = json_object_get(section, "mode");
    if (mode && !(json_is_string(mode) && (strcmp(json_string_value(mode), "cross") == 0 ||
                                           strcmp(json_string_value(mode), "zip") == 0)))
        fl_diag_error(d, "$.matrix.mode", false, "must be \"cross\" (every combination) or \"zip\" (values in step)");
    m->zip = mode && json_is_string(mode) && strcmp(json_string_value(mode), "zip") == 0;
    json_t *params = json_object_get(section, "params");
    if (!json_is_object(params) || json_object_size(params) == 0) {
        fl_diag_error(d, params ? "$.matrix.params" : "$.matrix", false,
                      "needs \"params\": an object of scenario path -> array of values");
        matrix_free(m);
        return NULL;
    }
    m->params = calloc(json_object_size(params), sizeof *m->params);
    if (!m->params) {
        matrix_free(m);
        return NULL;
    }
    size_t cells = 1, zip_len = 0;
    uint64_t product = 1; /* the real number of cells, for the message */
    bool huge = false;    /* more than 2^64 */
    bool bad = false;
    json_object_foreach(params, key, v) {
        char where[256] = "$.matrix.params";
        fl_jsonpath_member(where, sizeof where, key);
        char err[256];
        segment seg[16];
        size_t n;
        if (parse_path(key, seg, 16, &n, err, sizeof err) < 0) {
            fl_diag_error(d, where, true, "not a scenario path: %s", err);
            bad = true;
            continue;
        }
        if (!json_is_array(v) || json_array_size(v) == 0) {
            fl_diag_error(d, where, false, "must be a non-empty array of the values to try");
            bad = true;
            continue;
        }
        size_t len = json_array_size(v);
        if (m->zip && zip_len && len != zip_len) {
            fl_diag_error(d, where, false, "has %zu values, the first parameter %zu: \"zip\" takes the i-th value of each",
                          len, zip_len);
            bad = true;
        }
        if (!zip_len)
            zip_len = len;
        if (!m->zip && !huge && product > UINT64_MAX / len)
            huge = true;
        else if (!m->zip)
            product *= len;
        /* Capped so that the product cannot overflow before it is refused. */
        cells = m->zip ? zip_len : (cells > FL_MATRIX_MAX_CELLS || len > FL_MATRIX_MAX_CELLS ? FL_MATRIX_MAX_CELLS + 1
                                                                                              : cells * len);
        m->params[m->nparams].path = strdup(key);
        m->params[m->nparams].values = json_incref(v);
        m->nparams++;
    }
    if (!bad && cells > FL_MATRIX_MAX_CELLS) {
        if (huge)
            fl_diag_error(d, "$.matrix.params", false, "more than %llu cells; at most %d",
                          (unsigned long long)UINT64_MAX, FL_MATRIX_MAX_CELLS);
        else
            fl_diag_error(d, "$.matrix.params", false, "%llu cells; at most %d",
                          (unsigned long long)(m->zip ? zip_len : product), FL_MATRIX_MAX_CELLS);
        bad = true;
    }
    if (bad) {
        matrix_free(m);
        return NULL;
    }
    m->ncells = cells;
    return m;
}

int fl_matrix_file_load(const char *path, fl_matrix_file *out, fl_diag *d)
{
    memset(out, 0, sizeof *out);
    d->file = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fl_diag_error_at(d, 0, 0, "cannot read: %s", strerror(errno));
        return -1;
    }
    out->text = malloc(MAX_MATRIX_FILE + 1);
    out->len = out->text ? fread(out->text, 1, MAX_MATRIX_FILE + 1, f) : 0;
    bool failed = !out->text || ferror(f);
    fclose(f);
    if (failed || out->len > MAX_MATRIX_FILE) {
        fl_diag_error_at(d, 0, 0, "%s", failed ? "cannot read the file" : "larger than 4 MiB");
        fl_matrix_file_free(out);
        return -1;
    }
    out->text[out->len] = '\0';
    json_error_t jerr;
    out->base = json_loadb(out->text, out->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!out->base) {
        fl_diag_error_at(d, jerr.line, jerr.column, "%s", jerr.text);
        fl_matrix_file_free(out);
        return -1;
    }
    json_t *section = json_object_get(out->base, "matrix");
    if (!section)
        return 0;
    fl_jsonpos *where = fl_jsonpos_build(out->text, out->len);
    d->where = where;
    out->matrix = parse_matrix(section, d);
    /* Every cell must be able to take its values: a path into an array
     * element that is not there fails for every cell alike. */
    for (size_t i = 0; out->matrix && i < out->matrix->nparams; i++) {
        json_t *copy = json_deep_copy(out->base);
        char err[256];
        const param *p = &out->matrix->params[i];
        if (copy && fl_json_set_path(copy, p->path, json_array_get(p->values, 0), err, sizeof err) < 0) {
            char at[256] = "$.matrix.params";
            fl_jsonpath_member(at, sizeof at, p->path);
            fl_diag_error(d, at, true, "%s", err);
        }
        json_decref(copy);
    }
    d->where = NULL;
    fl_jsonpos_free(where);
    if (!out->matrix || d->errors) {
        fl_matrix_file_free(out);
        return -1;
    }
    json_object_del(out->base, "matrix");
    return 0;
}

void fl_matrix_file_free(fl_matrix_file *f)
{
    free(f->text);
    json_decref(f->base);
    matrix_free(f->matrix);
    memset(f, 0, sizeof *f);
}

/* ---- cells ---- */

/* The index into param i's values for cell. The first parameter varies slowest. */
static size_t value_index(const fl_matrix *m, size_t cell, size_t i)
{
    if (m->zip)
        return cell;
    size_t stride = 1;
    for (size_t j = i + 1; j < m->nparams; j++)
        stride *= json_array_size(m->params[j].values);
    return (cell / stride) % json_array_size(m->params[i].values);
}

json_t *fl_matrix_cell(const fl_matrix *m, const json_t *base, size_t cell, json_t **params, char *err,
                       size_t errlen)
{
    if (cell >= m->ncells) {
        snprintf(err, errlen, "cell %zu: the matrix has %zu", cell, m->ncells);
        return NULL;
    }
    json_t *doc = json_deep_copy(base), *ps = json_object();
    if (!doc || !ps)
        goto fail;
    for (size_t i = 0; i < m->nparams; i++) {
        json_t *v = json_array_get(m->params[i].values, value_index(m, cell, i));
        char why[256];
        if (fl_json_set_path(doc, m->params[i].path, v, why, sizeof why) < 0) {
            snprintf(err, errlen, "cell %zu: %s", cell, why);
            goto fail;
        }
        json_object_set(ps, m->params[i].path, v);
    }
    if (params)
        *params = ps;
    else
        json_decref(ps);
    return doc;
fail:
    if (!err[0])
        snprintf(err, errlen, "cell %zu: out of memory", cell);
    json_decref(doc);
    json_decref(ps);
    return NULL;
}

void fl_matrix_label(const fl_matrix *m, size_t cell, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->nparams && used < len; i++) {
        json_t *v = json_array_get(m->params[i].values, value_index(m, cell, i));
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int n = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "", m->params[i].path, text ? text : "?");
        free(text);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

json_t *fl_matrix_to_json(const fl_matrix *m)
{
    json_t *params = json_object();
    for (size_t i = 0; i < m->nparams; i++)
        json_object_set(params, m->params[i].path, m->params[i].values);
    return json_pack("{s:s, s:o}", "mode", fl_matrix_mode(m), "params", params);
}

/* A message of the cell's parse, "name:L:C: $.path: text" or "name: $.path: text",
 * reported again against the original file. */
static void relay(fl_diag *d, const fl_matrix *m, const char *line, size_t name_len, const char *cell)
{
    const char *p = line + name_len;
    if (*p == ':')
        p++;
    while (*p == ' ' || *p == ':' || (*p >= '0' && *p <= '9'))
        p++;
    const char *sep = *p == '$' ? strstr(p, ": ") : NULL;
    if (!sep) {
        fl_diag_error_at(d, 0, 0, "%s: %s", cell, p);
        return;
    }
    char jpath[256];
    snprintf(jpath, sizeof jpath, "%.*s", (int)(sep - p), p);
    const char *msg = sep + 2;
    /* The cell's own value: point at the matrix entry that set it. */
    for (size_t i = 0; i < m->nparams; i++) {
        if (strncmp(jpath, "$.", 2) == 0 && strncmp(jpath + 2, m->params[i].path, strlen(m->params[i].path)) == 0) {
            char at[256] = "$.matrix.params";
            fl_jsonpath_member(at, sizeof at, m->params[i].path);
            fl_diag_error(d, at, true, "%s: %s: %s", cell, jpath, msg);
            return;
        }
    }
    fl_diag_error(d, jpath, false, "%s: %s", cell, msg);
}

fl_scenario *fl_matrix_cell_scenario(const fl_matrix_file *mf, size_t cell, const char *name, fl_diag *d,
                                     char **text)
{
    char err[512] = "", label[256], what[300];
    *text = NULL;
    fl_matrix_label(mf->matrix, cell, label, sizeof label);
    snprintf(what, sizeof what, "cell %zu (%s)", cell, label);
    json_t *doc = fl_matrix_cell(mf->matrix, mf->base, cell, NULL, err, sizeof err);
    *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!*text) {
        fl_diag_error_at(d, 0, 0, "%s", err[0] ? err : "out of memory");
        return NULL;
    }
    char *msgs = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&msgs, &len);
    fl_diag cd;
    fl_diag_init(&cd, name, mem);
    fl_scenario *sc = mem ? fl_scenario_parse(*text, strlen(*text), name, &cd) : NULL;
    if (mem)
        fclose(mem);
    if (cd.errors || !sc) {
        fl_jsonpos *where = fl_jsonpos_build(mf->text, mf->len);
        const fl_jsonpos *saved = d->where;
        d->where = where;
        for (char *line = msgs, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            relay(d, mf->matrix, line, strlen(name), what);
        }
        if (!cd.errors)
            fl_diag_error_at(d, 0, 0, "%s: cannot be parsed", what);
        d->where = saved;
        fl_jsonpos_free(where);
        fl_scenario_free(sc);
        sc = NULL;
    }
    free(msgs);
    return sc;
}

fl_scenario *fl_matrix_scenario_load(const char *path, fl_diag *d, size_t *cells)
{
    fl_matrix_file mf;
    *cells = 0;
    if (fl_matrix_file_load(path, &mf, d) < 0)
        return NULL;
    if (!mf.matrix) {
        fl_scenario *sc = fl_scenario_parse(mf.text, mf.len, path, d);
        fl_matrix_file_free(&mf);
        *cells = sc ? 1 : 0;
        return sc;
    }
    fl_scenario *first = NULL;
    size_t n = fl_matrix_cells(mf.matrix);
    for (size_t i = 0; i < n; i++) {
        char *text;
        fl_scenario *sc = fl_matrix_cell_scenario(&mf, i, path, d, &text);
        if (sc && !first)
            first = sc;
        else
            fl_scenario_free(sc);
        free(text);
    }
    fl_matrix_file_free(&mf);
    if (d->errors) {
        fl_scenario_free(first);
        return NULL;
    }
    *cells = n;
    return first;
}
