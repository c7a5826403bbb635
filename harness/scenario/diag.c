#include "harness/scenario/diag.h"

#include <stdarg.h>
#include <string.h>

void fl_diag_init(fl_diag *d, const char *file, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->out = out;
}

static void emit(fl_diag *d, const char *text)
{
    if (d->errors++ == 0)
        snprintf(d->first, sizeof d->first, "%s", text);
    if (d->out)
        fprintf(d->out, "%s\n", text);
}

void fl_diag_error(fl_diag *d, const char *path, bool key, const char *fmt, ...)
{
    char msg[384], text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fl_textpos pos;
    if (fl_jsonpos_find(d->where, path, key, &pos))
        snprintf(text, sizeof text, "%s:%d:%d: %s: %s", d->file, pos.line, pos.column, path, msg);
    else
        snprintf(text, sizeof text, "%s: %s: %s", d->file, path, msg);
    emit(d, text);
}

void fl_diag_error_at(fl_diag *d, int line, int column, const char *fmt, ...)
{
    char msg[384], text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(text, sizeof text, "%s:%d:%d: %s", d->file, line, column, msg);
    else
        snprintf(text, sizeof text, "%s: %s", d->file, msg);
    emit(d, text);
}
