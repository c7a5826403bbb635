/* What the plot tests need to look at a page: shell commands in a test
 * directory, headless Chromium (--dump-dom, --screenshot), the attributes
 * plot.js leaves on the page, and pixel counts in a PNG (libpng). */
#ifndef FLATLINE_TESTS_PLOT_BROWSER_H
#define FLATLINE_TESTS_PLOT_BROWSER_H

#include <png.h>
#include <stddef.h>

/* Runs a shell command in dir; returns its exit status, its stderr in errbuf. */
int sh_in(const char *dir, char *errbuf, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Debian's chromium, or NULL when it is not installed. */
const char *chromium_path(void);
/* Loads dir/page headless with args, its stdout to dir/stdout_file. */
void chromium_run(const char *dir, const char *browser, const char *args, const char *page, const char *stdout_file);

/* The whole file (NUL-terminated; free it). */
char *slurp(const char *path);

/* The value of attr on the element whose data-chart is chart, or on <html>
 * when chart is "". Fails the test when there is none. */
void dom_attribute(const char *dom, const char *chart, const char *attr, char *out, size_t len);

typedef struct image {
    png_image png;
    unsigned char *rgb;
} image;

void image_load(const char *path, image *img);
void image_free(image *img);
/* Pixels of colour "#rrggbb" (within 12 a channel: antialiasing) in a box. */
long image_count_colour(const image *img, const char *hex, int x0, int y0, int w, int h);

/* Checks that every colour plot.js lists for chart has at least min_pixels
 * inside the chart's plotting area of the screenshot; returns the number of
 * colours (curves). */
int check_curves(const char *dom, const image *img, const char *chart, long min_pixels);

#endif
