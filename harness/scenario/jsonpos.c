#include "harness/scenario/jsonpos.h"
#include "core/grow.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PATH_MAX_LEN = 512 };

typedef struct entry {
    char *path;
    fl_textpos key, value;
} entry;

struct fl_jsonpos {
    entry *items;
    size_t len, cap;
};

/* A cursor over text already known to be valid JSON: it only has to find
 * token boundaries, never to reject anything. */
typedef struct scanner {
    const char *p, *end;
    fl_textpos pos;
    fl_jsonpos *idx;
    char path[PATH_MAX_LEN];
    bool failed;
} scanner;

static void advance(scanner *s)
{
    unsigned char c = (unsigned char)*s->p++;
    if (c == '\n') {
        s->pos.line++;
        s->pos.column = 1;
    } else if ((c & 0xC0) != 0x80) { /* count characters, not UTF-8 continuation bytes */
        s->pos.column++;
    }
}

static void skip_space(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        advance(s);
}

static entry *add(scanner *s, fl_textpos value_pos)
{
    fl_jsonpos *idx = s->idx;
    if (fl_grow(&idx->items, &idx->cap, idx->len + 1, 64) < 0)
        return s->failed = true, NULL;
    entry *e = &idx->items[idx->len];
    if (!(e->path = strdup(s->path)))
        return s->failed = true, NULL;
    e->key = e->value = value_pos;
    idx->len++;
    return e;
}

/* Returns a pointer just past the closing quote of the string at s->p. */
static void skip_string(scanner *s)
{
    advance(s); /* opening quote */
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\')
            advance(s);
        if (s->p < s->end)
            advance(s);
    }
    if (s->p < s->end)
        advance(s);
}

static void scan_value(scanner *s, fl_textpos *key_pos);

static void scan_object(scanner *s)
{
    size_t base = strlen(s->path);
    advance(s); /* { */
    skip_space(s);
    while (s->p < s->end && *s->p != '}' && !s->failed) {
        fl_textpos key_pos = s->pos;
        const char *start = s->p;
        skip_string(s);
        /* jansson decodes the key (escapes, \u pairs): no second string parser. */
        json_t *key = json_loadb(start, (size_t)(s->p - start), JSON_DECODE_ANY, NULL);
        const char *name = key && json_is_string(key) ? json_string_value(key) : "?";
        if (!fl_jsonpath_member(s->path, sizeof s->path, name))
            s->failed = true;
        json_decref(key);
        skip_space(s);
        if (s->p < s->end && *s->p == ':')
            advance(s);
        skip_space(s);
        scan_value(s, &key_pos);
        s->path[base] = '\0';
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            advance(s);
            skip_space(s);
        }
    }
    if (s->p < s->end)
        advance(s); /* } */
}

static void scan_array(scanner *s)
{
    size_t base = strlen(s->path);
    advance(s); /* [ */
    skip_space(s);
    for (size_t i = 0; s->p < s->end && *s->p != ']' && !s->failed; i++) {
        if (!fl_jsonpath_index(s->path, sizeof s->path, i))
            s->failed = true;
        scan_value(s, NULL);
        s->path[base] = '\0';
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            advance(s);
            skip_space(s);
        }
    }
    if (s->p < s->end)
        advance(s); /* ] */
}

static void scan_value(scanner *s, fl_textpos *key_pos)
{
    if (s->p >= s->end || s->failed)
        return;
    entry *e = add(s, s->pos);
    if (!e)
        return;
    if (key_pos)
        e->key = *key_pos;
    switch (*s->p) {
    case '{':
        scan_object(s);
        break;
    case '[':
        scan_array(s);
        break;
    case '"':
        skip_string(s);
        break;
    default: /* number, true, false, null */
        while (s->p < s->end && (isalnum((unsigned char)*s->p) || strchr("+-.", *s->p)))
            advance(s);
        break;
    }
}

fl_jsonpos *fl_jsonpos_build(const char *text, size_t len)
{
    fl_jsonpos *idx = calloc(1, sizeof *idx);
    if (!idx)
        return NULL;
    scanner s = { .p = text, .end = text + len, .pos = { 1, 1 }, .idx = idx, .path = "$" };
    skip_space(&s);
    scan_value(&s, NULL);
    if (s.failed) {
        fl_jsonpos_free(idx);
        return NULL;
    }
    return idx;
}

void fl_jsonpos_free(fl_jsonpos *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->len; i++)
        free(idx->items[i].path);
    free(idx->items);
    free(idx);
}

bool fl_jsonpos_find(const fl_jsonpos *idx, const char *path, bool key, fl_textpos *out)
{
    if (!idx)
        return false;
    for (size_t i = 0; i < idx->len; i++) {
        if (strcmp(idx->items[i].path, path) == 0) {
            *out = key ? idx->items[i].key : idx->items[i].value;
            return true;
        }
    }
    return false;
}

static bool plain_identifier(const char *name)
{
    if (!*name || isdigit((unsigned char)*name))
        return false;
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    }
    return true;
}

bool fl_jsonpath_member(char *path, size_t size, const char *name)
{
    size_t len = strlen(path);
    int n;
    if (plain_identifier(name)) {
        n = snprintf(path + len, size - len, ".%s", name);
    } else {
        json_t *str = json_string(name);
        char *quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
        json_decref(str);
        n = snprintf(path + len, size - len, "[%s]", quoted ? quoted : "\"?\"");
        free(quoted);
    }
    if (n < 0 || (size_t)n >= size - len) {
        path[len] = '\0';
        return false;
    }
    return true;
}

bool fl_jsonpath_index(char *path, size_t size, size_t i)
{
    size_t len = strlen(path);
    int n = snprintf(path + len, size - len, "[%zu]", i);
    if (n < 0 || (size_t)n >= size - len) {
        path[len] = '\0';
        return false;
    }
    return true;
}
