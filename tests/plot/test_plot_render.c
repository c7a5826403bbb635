/* flatline plot end to end: reports written by the report writer, the
 * flatline binary, and the page rendered by headless Chromium (Debian's
 * chromium package): the DOM says what was drawn, the screenshot shows each
 * configuration's curve colour inside each chart. Also the CLI's errors and
 * exit codes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "browser.h"
#include "plot_fixture.h"

#define FLATLINE FLATLINE_BINARY_DIR "/flatline"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-plot-render-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(plot_cli, .init = make_dir, .fini = remove_dir);
TestSuite(plot_render, .init = make_dir, .fini = remove_dir, .timeout = 240);

static void write_report(const char *file, const char *name, const double *first, size_t nfaults, size_t n,
                         double step, int ka)
{
    fl_report *r = plot_report(name, first, nfaults, n, step, ka);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cr_assert_eq(fl_report_write_json(r, path, err, sizeof err), 0, "%s", err);
    fl_report_free(r);
}

static int run(char *errbuf, size_t len, const char *cmd) { return sh_in(dir, errbuf, len, "%s", cmd); }

Test(plot_cli, bad_input_names_the_field_and_exits_2)
{
    const double first[] = { 1.0 };
    write_report("ok.json", "ok", first, 1, 3, 0.1, 2);
    char err[4096];
    /* a report from before the latencies were written */
    char path[128];
    snprintf(path, sizeof path, "%s/ok.json", dir);
    json_error_t je;
    json_t *old = json_load_file(path, 0, &je);
    cr_assert_not_null(old, "%s", je.text);
    json_object_del(json_object_get(json_array_get(json_object_get(old, "faults"), 0), "client"), "latencies");
    snprintf(path, sizeof path, "%s/old.json", dir);
    cr_assert_eq(json_dump_file(old, path, 0), 0);
    json_decref(old);
    cr_assert_eq(run(err, sizeof err, FLATLINE " plot ok.json old.json -o out.html"), 2);
    cr_assert_not_null(strstr(err, "old.json: faults[0].client.latencies: missing"), "%s", err);
    char out[128];
    snprintf(out, sizeof out, "%s/out.html", dir);
    cr_assert_neq(access(out, F_OK), 0, "no page for bad input");

    cr_assert_eq(run(err, sizeof err, "printf '{\\n  \"faults\": [,]}' > broken.json && " FLATLINE
                                      " plot broken.json -o out.html"),
                 2);
    cr_assert_not_null(strstr(err, "broken.json:2:"), "%s", err);

    cr_assert_eq(run(err, sizeof err, FLATLINE " plot ok.json"), 2);
    cr_assert_not_null(strstr(err, "no -o OUT.html given"), "%s", err);
    cr_assert_eq(run(err, sizeof err, FLATLINE " plot -o out.html"), 2);
    cr_assert_not_null(strstr(err, "no report given"), "%s", err);
    cr_assert_eq(run(err, sizeof err, FLATLINE " plot missing.json -o out.html"), 2);
    cr_assert_not_null(strstr(err, "missing.json"), "%s", err);
}

Test(plot_cli, missing_assets_exit_3)
{
    const double first[] = { 1.0 };
    write_report("ok.json", "ok", first, 1, 3, 0.1, 2);
    char err[4096];
    cr_assert_eq(run(err, sizeof err, "mkdir empty && " FLATLINE " plot ok.json -o out.html --assets empty"), 3);
    cr_assert_not_null(strstr(err, "empty/plot.html.in"), "%s", err);
}

/* ---- rendering ---- */

Test(plot_render, one_curve_per_configuration_in_each_chart)
{
    if (RUNNING_ON_VALGRIND) /* valgrind would follow Chromium's processes */
        cr_skip_test("rendering skipped under valgrind");
    const char *browser = chromium_path();
    if (!browser)
        cr_skip_test("chromium is not installed (apt-get install chromium)");
    /* Three configurations: alpha (one fault; its name tries to close the
     * data's <script>), and beta's two faults. */
    const double a[] = { 1.0 }, b[] = { 3.0, 4.0 };
    write_report("alpha.json", "alpha</script><!--", a, 1, 20, 0.05, 2);
    write_report("beta.json", "beta", b, 2, 20, 0.1, 4);
    char err[4096];
    cr_assert_eq(run(err, sizeof err, FLATLINE " plot alpha.json beta.json -o page.html > stdout.txt"), 0, "%s",
                 err);

    /* Self-contained: nothing to fetch. */
    char path[128];
    snprintf(path, sizeof path, "%s/page.html", dir);
    char *html = slurp(path);
    cr_assert_null(strstr(html, "<script src"));
    cr_assert_null(strstr(html, "<link"));
    cr_assert_null(strstr(html, "url(http"));
    free(html);

    /* The DOM at the screenshot's window size: the page lays a side's two
     * charts out side by side only when there is room, so the plotting
     * areas it records depend on the width. */
    chromium_run(dir, browser, "--dump-dom --window-size=1200,2600", "page.html", "dom.html");
    snprintf(path, sizeof path, "%s/dom.html", dir);
    char *dom = slurp(path);
    char v[256];
    dom_attribute(dom, "", "data-rendered", v, sizeof v);
    cr_assert_str_eq(v, "ok");
    dom_attribute(dom, "", "data-configurations", v, sizeof v);
    cr_assert_str_eq(v, "3");
    cr_assert_not_null(strstr(dom, "(3 configurations)</title>"));

    chromium_run(dir, browser, "--screenshot=shot.png --window-size=1200,2600", "page.html", "/dev/null");
    snprintf(path, sizeof path, "%s/shot.png", dir);
    image img;
    image_load(path, &img);

    /* Broker and client charts: every configuration has a curve, in its own
     * colour, inside the plotting area. The will chart has none: no will. */
    const char *charts[] = { "cdf-broker", "cdf-client" };
    for (size_t i = 0; i < 2; i++) {
        dom_attribute(dom, charts[i], "data-series", v, sizeof v);
        cr_assert_str_eq(v, "3", "%s", charts[i]);
        cr_assert_eq(check_curves(dom, &img, charts[i], 150), 3, "%s", charts[i]);
        /* and a colour no curve has is not there: the count means something */
        char box[64];
        int x, y, w, h;
        dom_attribute(dom, charts[i], "data-plot-box", box, sizeof box);
        cr_assert_eq(sscanf(box, "%d,%d,%d,%d", &x, &y, &w, &h), 4);
        cr_assert_lt(image_count_colour(&img, "#9467bd", x, y, w, h), 20);
    }
    /* Beside each, the residuals (PLOT_RESIDUAL: differ per configuration):
     * a curve per configuration in its colour; alpha's broker detections
     * beyond [-1 ms, 1 ms] counted in the table. */
    const char *residuals[] = { "residual-broker", "residual-client" };
    for (size_t i = 0; i < 2; i++) {
        dom_attribute(dom, residuals[i], "data-series", v, sizeof v);
        cr_assert_str_eq(v, "3", "%s", residuals[i]);
        cr_assert_eq(check_curves(dom, &img, residuals[i], 100), 3, "%s", residuals[i]);
    }
    cr_assert_not_null(strstr(dom, "\">16 of 20</td>"), "alpha: 16 of 20 unexplained");
    cr_assert_null(strstr(dom, "data-chart=\"cdf-will\""));
    cr_assert_null(strstr(dom, "data-chart=\"residual-will\""));
    dom_attribute(dom, "timeline", "data-rows", v, sizeof v);
    cr_assert_str_eq(v, "3");
    dom_attribute(dom, "timeline", "data-series", v, sizeof v);
    cr_assert_str_eq(v, "2", "broker and client detections");
    image_free(&img);
    free(dom);
}
