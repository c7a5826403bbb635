/* flatline plot on a real run (root, namespaces, ~15 s): quickstart's report
 * drawn, its 25 broker and 25 client latencies in the page's data, and the
 * curve on screen in both charts. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leftovers.h"

#include "browser.h"

#define FLATLINE FLATLINE_BINARY_DIR "/flatline"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-plot-run-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void run_quickstart(const char *report, const char *log)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (!freopen(log, "w", stdout))
            _exit(126);
        dup2(fileno(stdout), STDERR_FILENO);
        execl(FLATLINE, "flatline", "run", FLATLINE_SOURCE_DIR "/scenarios/quickstart.json", "-o", report,
              (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect_eq(leftover_namespaces(pid), 0, "namespaces left behind");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "flatline run: status %d (log: %s)", status, log);
}

/* The data the page carries, parsed back out of its <script> element. */
static json_t *page_data(const char *html)
{
    const char *start = strstr(html, "id=\"flatline-data\">");
    cr_assert_not_null(start);
    start = strchr(start, '>') + 1;
    const char *end = strstr(start, "</script>");
    cr_assert_not_null(end);
    json_error_t je;
    json_t *data = json_loadb(start, (size_t)(end - start), 0, &je);
    cr_assert_not_null(data, "the page's data: %s", je.text);
    return data;
}

Test(plot_run, quickstart_report_drawn, .init = make_dir, .fini = remove_dir, .timeout = 200)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (namespaces)");
    const char *browser = chromium_path();
    if (!browser)
        cr_skip_test("chromium is not installed (apt-get install chromium)");
    char report[128], log[128], err[4096];
    snprintf(report, sizeof report, "%s/quickstart.json", dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    run_quickstart(report, log);

    cr_assert_eq(sh_in(dir, err, sizeof err, FLATLINE " plot quickstart.json -o page.html > /dev/null"), 0, "%s",
                 err);
    char path[128];
    snprintf(path, sizeof path, "%s/page.html", dir);
    char *html = slurp(path);
    json_t *data = page_data(html);
    free(html);
    json_t *rep = json_load_file(report, 0, NULL);
    cr_assert_not_null(rep);
    json_t *fault = json_array_get(json_object_get(rep, "faults"), 0);
    json_t *cfg = json_array_get(json_object_get(data, "configs"), 0);
    cr_assert_eq(json_array_size(json_object_get(data, "configs")), 1);
    const char *sides[] = { "broker", "client" };
    for (size_t s = 0; s < 2; s++) {
        json_t *drawn = json_object_get(json_object_get(cfg, "sides"), sides[s]);
        json_int_t detected = json_integer_value(json_object_get(json_object_get(fault, sides[s]), "detected"));
        cr_assert_eq(detected, 25, "%s: quickstart cuts 25 connections and every one is detected", sides[s]);
        cr_assert_eq((json_int_t)json_array_size(json_object_get(drawn, "latencies")), detected, "%s", sides[s]);
    }
    json_decref(rep);
    json_decref(data);

    /* The DOM at the screenshot's window size: the page lays a side's two
     * charts out side by side only when there is room, so the plotting
     * areas it records depend on the width. */
    chromium_run(dir, browser, "--dump-dom --window-size=1200,1600", "page.html", "dom.html");
    chromium_run(dir, browser, "--screenshot=shot.png --window-size=1200,1600", "page.html", "/dev/null");
    snprintf(path, sizeof path, "%s/dom.html", dir);
    char *dom = slurp(path);
    char v[64];
    dom_attribute(dom, "", "data-rendered", v, sizeof v);
    cr_assert_str_eq(v, "ok");
    snprintf(path, sizeof path, "%s/shot.png", dir);
    image img;
    image_load(path, &img);
    cr_assert_eq(check_curves(dom, &img, "cdf-broker", 150), 1);
    cr_assert_eq(check_curves(dom, &img, "cdf-client", 150), 1);
    image_free(&img);
    free(dom);
}
