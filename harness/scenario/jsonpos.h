/* Where each value of a JSON document sits in its text. jansson reports
 * line:column for syntax errors only; semantic errors (a fault time past the
 * end, an unknown group) need the position of a value that parsed fine, so this
 * index re-scans text that jansson has already accepted and maps every JSON
 * path ("$.faults[1].at") to the line and column of its value and, for object
 * members, of its key. It does not interpret values: jansson does that. */
#ifndef FLATLINE_HARNESS_JSONPOS_H
#define FLATLINE_HARNESS_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fl_textpos {
    int line;   /* 1-based */
    int column; /* 1-based, in characters (as jansson counts them) */
} fl_textpos;

typedef struct fl_jsonpos fl_jsonpos;

/* text must be JSON that jansson accepted. NULL only when out of memory. */
fl_jsonpos *fl_jsonpos_build(const char *text, size_t len);
void fl_jsonpos_free(fl_jsonpos *idx);

/* Position of the value at path, or with key set of the member's key (the
 * value's position for array elements and the root). false if path is unknown. */
bool fl_jsonpos_find(const fl_jsonpos *idx, const char *path, bool key, fl_textpos *out);

/* Appends ".name" or, for a name that is not a plain identifier, ["name"]
 * (JSON-escaped) to path; the one spelling both the index and error messages use.
 * Returns false if it does not fit in size bytes. */
bool fl_jsonpath_member(char *path, size_t size, const char *name);
/* Appends "[i]". */
bool fl_jsonpath_index(char *path, size_t size, size_t i);

#endif
