/* flatline plot's page: the template from reports/plot-assets/ with the
 * charting library, the page's script and the data inlined, so the file
 * works offline and alone. */
#include "reports/plot.h"
#include "reports/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct asset {
    char *text;
    size_t len;
} asset;

static int load(const char *dir, const char *name, asset *a, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
                 strncmp(name, "uPlot", 5) == 0 ? " (the charting library comes from npm: run ./setup.sh, which runs "
                                                  "npm ci in reports/plot-assets, then build again)"
                                                : "");
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0, len = 0, n;
    do {
        if (cap - len < 65536) {
            char *more = realloc(buf, cap + 65536 + 1);
            if (!more) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = more;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        snprintf(err, errlen, "%s: contains a NUL byte (not a text asset)", path);
        return -1;
    }
    a->text = buf;
    a->len = len;
    return 0;
}

/* An inlined script or style must not contain what would end its element
 * early; an asset that does is refused rather than silently broken. */
static int inlinable(const char *dir, const char *name, const asset *a, const char *closing, char *err,
                     size_t errlen)
{
    size_t cl = strlen(closing);
    for (const char *c = a->text; (c = strchr(c, '<')) != NULL; c++) {
        if (strncasecmp(c, closing, cl) == 0 || strncmp(c, "<!--", 4) == 0) {
            snprintf(err, errlen, "%s/%s: byte %zu: \"%.*s\" cannot be inlined in a <%s> element", dir, name,
                     (size_t)(c - a->text), (int)cl, c, closing + 2);
            return -1;
        }
    }
    return 0;
}

static void html_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

enum { A_TEMPLATE, A_SCRIPT, A_LIB_JS, A_LIB_CSS, A_COUNT };

/* The template's markers, each replaced by its content. */
static const struct {
    const char *marker;
    int asset; /* -1: not an asset */
} markers[] = {
    { "/*@UPLOT_CSS@*/", A_LIB_CSS },
    { "/*@UPLOT_JS@*/", A_LIB_JS },
    { "/*@PLOT_JS@*/", A_SCRIPT },
    { "@DATA@", -1 },
    { "@TITLE@", -2 },
};
#define NMARKERS (sizeof markers / sizeof markers[0])

static int render(FILE *out, const asset *assets, const char *data_json, const char *title, const char *dir,
                  char *err, size_t errlen)
{
    bool seen[NMARKERS] = { false };
    const char *t = assets[A_TEMPLATE].text;
    while (*t) {
        const char *next = NULL;
        size_t which = 0;
        for (size_t m = 0; m < NMARKERS; m++) {
            const char *hit = strstr(t, markers[m].marker);
            if (hit && (!next || hit < next)) {
                next = hit;
                which = m;
            }
        }
        if (!next) {
            fputs(t, out);
            break;
        }
        fwrite(t, 1, (size_t)(next - t), out);
        if (markers[which].asset >= 0)
            fwrite(assets[markers[which].asset].text, 1, assets[markers[which].asset].len, out);
        else if (markers[which].asset == -1)
            fputs(data_json, out);
        else
            html_escape(out, title);
        seen[which] = true;
        t = next + strlen(markers[which].marker);
    }
    for (size_t m = 0; m < NMARKERS; m++) {
        if (!seen[m]) {
            snprintf(err, errlen, "%s/%s: no %s marker (a broken template)", dir, FL_PLOT_TEMPLATE,
                     markers[m].marker);
            return -1;
        }
    }
    return 0;
}

int fl_plot_write_html(const fl_plot *p, const char *asset_dir, const char *path, char *err, size_t errlen)
{
    static const char *const names[A_COUNT] = { FL_PLOT_TEMPLATE, FL_PLOT_SCRIPT, FL_PLOT_LIB_JS, FL_PLOT_LIB_CSS };
    static const char *const closing[A_COUNT] = { NULL, "</script", "</script", "</style" };
    asset assets[A_COUNT] = { { 0 } };
    int rc = FL_PLOT_ASSETS;
    char *data = NULL, *page = NULL;
    size_t page_len = 0;
    for (int i = 0; i < A_COUNT; i++) {
        if (load(asset_dir, names[i], &assets[i], err, errlen) ||
            (closing[i] && inlinable(asset_dir, names[i], &assets[i], closing[i], err, errlen)))
            goto out;
    }
    rc = FL_PLOT_WRITE;
    data = fl_plot_script_json(fl_plot_data(p));
    FILE *mem = data ? open_memstream(&page, &page_len) : NULL;
    if (!mem) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    const char *title = json_string_value(json_object_get(fl_plot_data(p), "title"));
    if (render(mem, assets, data, title ? title : "flatline plot", asset_dir, err, errlen)) {
        fclose(mem);
        rc = FL_PLOT_ASSETS;
        goto out;
    }
    if (fclose(mem)) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fl_write_file_atomic(path, page, page_len, err, errlen) == 0)
        rc = FL_PLOT_OK;
out:
    for (int i = 0; i < A_COUNT; i++)
        free(assets[i].text);
    free(data);
    free(page);
    return rc;
}
