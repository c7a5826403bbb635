/* Name patterns for client ids, topics and will payloads: "dev-{n}",
 * "{host}-{n}", "t/{id}". Placeholders: {n} (the client's index in its group),
 * {i} (its index in the process), {id} (the client id; not in id patterns),
 * {group}, {host}, {pid}. "{{" and "}}" are literal braces. */
#ifndef FLATLINE_CLIENTS_PATTERN_H
#define FLATLINE_CLIENTS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pattern_vars {
    uint32_t n, i;
    const char *id, *group, *host;
    long pid;
} pattern_vars;

/* Writes the expansion (NUL-terminated, truncated to cap) and returns its full
 * length, like snprintf. An unknown placeholder expands to nothing: validate
 * first. */
size_t pattern_expand(const char *pattern, const pattern_vars *v, char *out, size_t cap);

/* NULL when pattern is valid (allow_id: whether {id} may appear); otherwise a
 * fixed message saying what is wrong. */
const char *pattern_check(const char *pattern, bool allow_id);

#endif
