/* JUnit and Markdown of a combined sweep report's JSON (reports/merge_ci.h). */
#include "reports/merge_ci.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/compare.h"
#include "reports/junit.h"
#include "reports/report.h"

static const char *const sides[] = { "broker", "client", "will" };

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void expectation_text(const json_t *x, char *buf, size_t len)
{
    const json_t *actual = json_object_get(x, "actual");
    char a[64] = "no value";
    if (json_is_number(actual))
        snprintf(a, sizeof a, "%g", json_number_value(actual));
    snprintf(buf, len, "%s %s %g (actual %s)", str(x, "metric"), str(x, "op"),
             json_number_value(json_object_get(x, "value")), a);
}

static void suite_of(FILE *out, const char *scenario, const char *label, const json_t *rep)
{
    const json_t *faults = json_object_get(rep, "faults"), *exps = json_object_get(rep, "expectations");
    size_t tests = json_array_size(exps), failures = 0, skipped = 0;
    for (size_t i = 0; i < json_array_size(exps); i++)
        failures += !json_is_true(json_object_get(json_array_get(exps, i), "pass"));
    for (size_t i = 0; i < json_array_size(faults); i++)
        for (int s = 0; s < 3; s++) {
            const char *v = str(json_object_get(json_array_get(faults, i), sides[s]), "verdict");
            tests++;
            failures += strcmp(v, "outside") == 0;
            skipped += strcmp(v, "no_model") == 0 || strcmp(v, "not_applicable") == 0;
        }
    char suite[768];
    snprintf(suite, sizeof suite, "%s [%s]", scenario, label);
    fputs("  <testsuite name=\"", out);
    fl_junit_escaped(out, suite);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"0\" time=\"%.3f\">\n", tests, failures,
            skipped, json_number_value(json_object_get(json_object_get(rep, "run"), "duration_s")));
    char name[512], msg[512];
    for (size_t i = 0; i < json_array_size(faults); i++) {
        const json_t *f = json_array_get(faults, i);
        for (int s = 0; s < 3; s++) {
            const json_t *sd = json_object_get(f, sides[s]);
            const char *v = str(sd, "verdict");
            snprintf(name, sizeof name, "faults[%zu] %s %s: %s detection inside the model window", i, str(f, "kind"),
                     str(f, "target"), sides[s]);
            snprintf(msg, sizeof msg, "%lld of %lld detections outside the window; %lld undetected",
                     (long long)json_integer_value(json_object_get(sd, "outside")),
                     (long long)json_integer_value(json_object_get(sd, "detected")),
                     (long long)json_integer_value(json_object_get(sd, "undetected")));
            fl_junit_testcase(out, suite, name, strcmp(v, "outside") == 0 ? msg : NULL,
                     strcmp(v, "no_model") == 0 || strcmp(v, "not_applicable") == 0);
        }
    }
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *x = json_array_get(exps, i);
        expectation_text(x, msg, sizeof msg);
        snprintf(name, sizeof name, "expect %s %s %g", str(x, "metric"), str(x, "op"),
                 json_number_value(json_object_get(x, "value")));
        fl_junit_testcase(out, suite, name, json_is_true(json_object_get(x, "pass")) ? NULL : msg, false);
    }
    fputs("  </testsuite>\n", out);
}

static void cell_label(const json_t *params, char *buf, size_t len)
{
    size_t used = 0;
    const char *key;
    json_t *v;
    buf[0] = '\0';
    json_object_foreach((json_t *)params, key, v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int n = used < len ? snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", key, text ? text : "?") : 0;
        free(text);
        if (n > 0)
            used += (size_t)n;
    }
}

/* The stream's buffer and length are only set once it is closed. */
static int finish(FILE *out, char **buf, size_t *len, const char *path, char *err, size_t errlen)
{
    if (fclose(out)) {
        free(*buf);
        snprintf(err, errlen, "%s: cannot render", path);
        return -1;
    }
    int rc = fl_write_file_atomic(path, *buf, *len, err, errlen);
    free(*buf);
    return rc;
}

int fl_merge_write_junit(const json_t *combined, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    const char *scenario = str(json_object_get(combined, "scenario"), "name");
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", out);
    const json_t *cells = json_object_get(combined, "cells");
    for (size_t i = 0; i < json_array_size(cells); i++) {
        char label[512];
        cell_label(json_object_get(json_array_get(cells, i), "params"), label, sizeof label);
        suite_of(out, scenario, label, json_object_get(json_array_get(cells, i), "report"));
    }
    fputs("</testsuites>\n", out);
    return finish(out, &buf, &len, path, err, errlen);
}

int fl_merge_write_markdown(const json_t *combined, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    const json_t *sc = json_object_get(combined, "scenario"), *run = json_object_get(combined, "run");
    const json_t *cells = json_object_get(combined, "cells"), *matrix = json_object_get(combined, "matrix");
    size_t total = 1, ran = json_array_size(cells), failed = 0;
    const char *key;
    json_t *values;
    json_object_foreach(json_object_get((json_t *)matrix, "params"), key, values) {
        if (strcmp(str(matrix, "mode"), "zip") == 0)
            total = json_array_size(values);
        else
            total *= json_array_size(values);
    }
    for (size_t i = 0; i < ran; i++)
        failed += !json_is_true(json_object_get(json_object_get(json_array_get(cells, i), "report"), "passed"));
    fprintf(out, "# flatline sweep: %s\n\n", str(sc, "name"));
    fprintf(out, "- %zu of %zu cells ran%s; %zu with a failed expectation\n", ran, total,
            json_is_true(json_object_get(run, "complete")) ? "" : " (**incomplete**)", failed);
    fprintf(out, "- flatline %s, kernel %s, seed %lld, %.1f s measured\n", str(combined, "flatline_version"),
            str(run, "kernel"), (long long)json_integer_value(json_object_get(run, "seed")),
            json_number_value(json_object_get(run, "duration_s")));
    fprintf(out, "- scenario SHA-256 `%s`\n\n", str(sc, "sha256"));
    for (size_t i = 0; i < ran; i++) {
        const json_t *c = json_array_get(cells, i), *exps = json_object_get(json_object_get(c, "report"), "expectations");
        char label[512], text[512];
        cell_label(json_object_get(c, "params"), label, sizeof label);
        for (size_t e = 0; e < json_array_size(exps); e++) {
            const json_t *x = json_array_get(exps, e);
            if (json_is_true(json_object_get(x, "pass")))
                continue;
            expectation_text(x, text, sizeof text);
            fprintf(out, "- **FAIL** `%s`: `%s`\n", label, text);
        }
    }
    fprintf(out, "\n## Cells\n\n");
    fl_cmp_set set;
    fl_cmp_init(&set);
    int rc = fl_cmp_add_json(&set, "sweep", (json_t *)combined, false, err, errlen);
    if (rc == 0)
        rc = fl_cmp_print(&set, FL_CMP_MARKDOWN, out, false);
    fl_cmp_free(&set);
    if (rc < 0) {
        fclose(out);
        free(buf);
        snprintf(err, errlen, "%s: cannot render the tables", path);
        return -1;
    }
    return finish(out, &buf, &len, path, err, errlen);
}
