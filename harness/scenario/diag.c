#include "harness/scenario/diag.h"

#include <stdarg.h>
#include <string.h>

void fl_diag_init(fl_diag *d, const char *file, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->out = out;
}

/* Names and values are echoed from the file: a control character (an ESC
 * starting a terminal sequence) is shown escaped, never sent raw. */
static void escape_controls(const char *in, char *out, size_t len)
{
    size_t j = 0;
    for (; *in && j + 7 < len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c < 0x20 || c == 0x7f)
            j += (size_t)snprintf(out + j, len - j, "\\u%04X", c);
        else
            out[j++] = (char)c;
    }
    out[j] = '\0';
}

static void emit(fl_diag *d, const char *raw)
{
    char text[sizeof d->first];
    escape_controls(raw, text, sizeof text);
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
    /* jansson's words name its own flag; say what is wrong with the file. */
    static const char nul[] = "\\u0000 is not allowed without JSON_ALLOW_NUL";
    char *at = strstr(msg, nul);
    if (at) {
        char rest[384];
        snprintf(rest, sizeof rest, "%s", at + strlen(nul));
        snprintf(at, sizeof msg - (size_t)(at - msg), "a string holds \\u0000 (a NUL character), which a scenario "
                 "may not contain%s", rest);
    }
    if (line > 0)
        snprintf(text, sizeof text, "%s:%d:%d: %s", d->file, line, column, msg);
    else
        snprintf(text, sizeof text, "%s: %s", d->file, msg);
    emit(d, text);
}
