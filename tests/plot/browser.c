/* Helpers for the plot tests (browser.h). */
#include "browser.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int sh_in(const char *dir, char *errbuf, size_t len, const char *fmt, ...)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && ( ", dir);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " ) 2>stderr.txt");
    int rc = system(cmd);
    cr_assert(rc != -1 && WIFEXITED(rc), "%s", cmd);
    char path[256];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(errbuf, 1, len - 1, f) : 0;
    errbuf[got] = '\0';
    if (f)
        fclose(f);
    return WEXITSTATUS(rc);
}

const char *chromium_path(void)
{
    static const char *const names[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], X_OK) == 0)
            return names[i];
    return NULL;
}

void chromium_run(const char *dir, const char *browser, const char *args, const char *page, const char *stdout_file)
{
    char err[4096];
    int rc = sh_in(dir, err, sizeof err,
                   "profile=$(mktemp -d) && timeout 90 %s --headless --no-sandbox --disable-gpu "
                   "--disable-background-networking --disable-component-update --disable-sync --no-first-run "
                   "--user-data-dir=$profile %s file://%s/%s > %s; rc=$?; rm -rf $profile; exit $rc",
                   browser, args, dir, page, stdout_file);
    cr_assert_eq(rc, 0, "chromium failed (%d): %s", rc, err);
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

void dom_attribute(const char *dom, const char *chart, const char *attr, char *out, size_t len)
{
    const char *start = strstr(dom, "<html");
    cr_assert_not_null(start, "no <html> in the page");
    if (*chart) {
        char key[64];
        snprintf(key, sizeof key, "data-chart=\"%s\"", chart);
        start = strstr(dom, key);
        cr_assert_not_null(start, "no chart %s in the page", chart);
    }
    const char *end = strchr(start, '>');
    char key[64];
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *v = strstr(start, key);
    cr_assert(v && v < end, "no %s on chart \"%s\"", attr, chart);
    v += strlen(key);
    size_t n = strcspn(v, "\"");
    cr_assert_lt(n, len);
    memcpy(out, v, n);
    out[n] = '\0';
}

void image_load(const char *path, image *img)
{
    memset(img, 0, sizeof *img);
    img->png.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img->png, path), "%s: %s", path, img->png.message);
    img->png.format = PNG_FORMAT_RGB;
    img->rgb = malloc(PNG_IMAGE_SIZE(img->png));
    cr_assert_not_null(img->rgb);
    cr_assert(png_image_finish_read(&img->png, NULL, img->rgb, 0, NULL), "%s", img->png.message);
}

void image_free(image *img)
{
    free(img->rgb);
    img->rgb = NULL;
}

long image_count_colour(const image *img, const char *hex, int x0, int y0, int w, int h)
{
    unsigned c = (unsigned)strtoul(hex + 1, NULL, 16);
    int r = (int)(c >> 16), g = (int)((c >> 8) & 255), b = (int)(c & 255);
    long n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < (int)img->png.height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < (int)img->png.width; x++) {
            const unsigned char *p = img->rgb + 3 * ((size_t)y * img->png.width + (size_t)x);
            n += abs(p[0] - r) <= 12 && abs(p[1] - g) <= 12 && abs(p[2] - b) <= 12;
        }
    return n;
}

int check_curves(const char *dom, const image *img, const char *chart, long min_pixels)
{
    char colours[256], box[64];
    dom_attribute(dom, chart, "data-colors", colours, sizeof colours);
    dom_attribute(dom, chart, "data-plot-box", box, sizeof box);
    int x, y, w, h;
    cr_assert_eq(sscanf(box, "%d,%d,%d,%d", &x, &y, &w, &h), 4, "%s", box);
    cr_assert(w > 300 && h > 100 && y + h <= (int)img->png.height, "%s: plotting area %s outside the screenshot",
              chart, box);
    int n = 0;
    char *save = NULL;
    for (char *c = strtok_r(colours, ",", &save); c; c = strtok_r(NULL, ",", &save), n++) {
        long got = image_count_colour(img, c, x, y, w, h);
        cr_assert_geq(got, min_pixels, "%s: only %ld pixels of %s (a configuration's curve is missing)", chart, got,
                      c);
    }
    return n;
}
