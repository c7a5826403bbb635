#include "pattern.h"

#include <stdio.h>
#include <string.h>

typedef enum var { V_N, V_I, V_ID, V_GROUP, V_HOST, V_PID, V_UNKNOWN } var;

static var lookup(const char *name, size_t len)
{
    static const char *const names[] = { "n", "i", "id", "group", "host", "pid" };
    for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
            return (var)k;
    return V_UNKNOWN;
}

static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len < cap) {
        size_t room = cap - *len - 1;
        memcpy(out + *len, s, n < room ? n : room);
    }
    *len += n;
}

size_t pattern_expand(const char *p, const pattern_vars *v, char *out, size_t cap)
{
    size_t len = 0;
    char num[24];
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            put(out, cap, &len, p, 1);
            p += 2;
            continue;
        }
        const char *close = p[0] == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            put(out, cap, &len, p, 1);
            p++;
            continue;
        }
        const char *s = "";
        switch (lookup(p + 1, (size_t)(close - p - 1))) {
        case V_N:
            snprintf(num, sizeof num, "%u", v->n);
            s = num;
            break;
        case V_I:
            snprintf(num, sizeof num, "%u", v->i);
            s = num;
            break;
        case V_PID:
            snprintf(num, sizeof num, "%ld", v->pid);
            s = num;
            break;
        case V_ID:
            s = v->id ? v->id : "";
            break;
        case V_GROUP:
            s = v->group ? v->group : "";
            break;
        case V_HOST:
            s = v->host ? v->host : "";
            break;
        case V_UNKNOWN:
            break;
        }
        put(out, cap, &len, s, strlen(s));
        p = close + 1;
    }
    if (cap)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}

const char *pattern_check(const char *p, bool allow_id)
{
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p += 2;
            continue;
        }
        if (*p == '}')
            return "a lone '}' (write '}}' for a literal brace)";
        if (*p != '{') {
            p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return "an unclosed '{'";
        var k = lookup(p + 1, (size_t)(close - p - 1));
        if (k == V_UNKNOWN)
            return "an unknown placeholder (known: {n} {i} {id} {group} {host} {pid})";
        if (k == V_ID && !allow_id)
            return "{id} inside the id pattern itself";
        p = close + 1;
    }
    return NULL;
}
