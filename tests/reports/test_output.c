/* The writers: JSON against docs/report.schema.json, the terminal summary
 * (aligned, colour only when asked), Markdown and JUnit XML. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "fixture.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-output-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    const char *names[] = {"r.json", "r.md", "r.xml"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

TestSuite(output, .init = make_dir, .fini = remove_dir);

static fl_report *finished(void)
{
    fl_report *r = fixture_report();
    fl_report_add_expectation(r, "faults[0].broker.p99", "<=", 3.5);
    fl_report_add_expectation(r, "false_disconnects", "==", 0);
    char err[256];
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 1, "one expectation fails: %s", err);
    return r;
}

/* Debian's python3-jsonschema (draft 2020-12). Returns the exit status, or
 * -1 when no validator is installed. */
static int validate(const char *schema, const char *doc, bool quiet)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "for py in /usr/bin/python3 python3; do "
             "  if $py -c 'import jsonschema' 2>/dev/null; then "
             "    exec $py -c 'import json,sys,jsonschema; "
             "jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' "
             "'%s' '%s' %s; fi; done; exit 127",
             schema, doc, quiet ? "2>/dev/null" : "");
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -2;
    return WEXITSTATUS(rc) == 127 ? -1 : WEXITSTATUS(rc);
}

Test(output, json_validates_against_the_schema)
{
    fl_report *r = finished();
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/r.json", dir);
    cr_assert_eq(fl_report_write_json(r, path, err, sizeof err), 0, "%s", err);

    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_assert_eq(json_integer_value(json_object_get(j, "report_version")), 1);
    json_t *run = json_object_get(j, "run");
    cr_assert_str_eq(json_string_value(json_object_get(run, "started_at")), "2026-11-21T20:00:00.123Z");
    json_t *sysctls = json_object_get(run, "sysctls");
    cr_assert_str_eq(json_string_value(json_object_get(sysctls, "net.ipv4.tcp_retries2")), "15");
    json_t *sc = json_object_get(j, "scenario");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(sc, "document"), "name")), "fixture");
    cr_assert_eq(strlen(json_string_value(json_object_get(sc, "sha256"))), 64);
    json_t *f0 = json_array_get(json_object_get(j, "faults"), 0);
    json_t *broker = json_object_get(f0, "broker");
    cr_assert_float_eq(json_real_value(json_object_get(json_object_get(broker, "latency_s"), "p50")), 2.0, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(json_object_get(broker, "model"), "hi_s")), 3.001, 1e-9);
    cr_assert_eq(json_array_size(json_object_get(f0, "connections")), 4);
    json_t *f2 = json_array_get(json_object_get(j, "faults"), 2);
    json_t *m2 = json_object_get(json_object_get(f2, "client"), "model");
    cr_assert(json_is_false(json_object_get(m2, "applicable")));
    cr_assert(json_is_null(json_object_get(m2, "hi_s")));
    cr_assert(json_is_false(json_object_get(j, "passed")));
    json_decref(j);
    fl_report_free(r);

    if (RUNNING_ON_VALGRIND) /* python under valgrind takes minutes and reports python's own noise */
        cr_skip_test("schema validation skipped under valgrind");
    int rc = validate(FLATLINE_SOURCE_DIR "/docs/report.schema.json", path, false);
    if (rc == -1)
        cr_skip_test("python3-jsonschema is not installed");
    cr_assert_eq(rc, 0, "report does not match docs/report.schema.json");
}

Test(output, schema_rejects_a_broken_report)
{
    if (RUNNING_ON_VALGRIND)
        cr_skip_test("schema validation skipped under valgrind");
    /* the validator must be able to fail, or the test above proves nothing */
    char path[128];
    snprintf(path, sizeof path, "%s/r.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"report_version\": 2}\n", f);
    fclose(f);
    int rc = validate(FLATLINE_SOURCE_DIR "/docs/report.schema.json", path, true);
    if (rc == -1)
        cr_skip_test("python3-jsonschema is not installed");
    cr_assert_neq(rc, 0);
}

static char *render_summary(const fl_report *r, bool colour)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(fl_report_print_summary(r, f, colour), 0);
    fclose(f);
    return buf;
}

Test(output, summary_plain_and_coloured)
{
    fl_report *r = finished();
    char *plain = render_summary(r, false);
    cr_assert_null(strchr(plain, '\033'), "colour without a TTY:\n%s", plain);
    cr_assert(strstr(plain, "cable-pull"), "%s", plain);
    cr_assert(strstr(plain, "recovery after fault 0: 2 reconnected, p50 4.000 s, p99 5.000 s, max 5.000 s"), "%s",
              plain);
    cr_assert(strstr(plain, "FAIL false_disconnects == 0 (actual 1)"), "%s", plain);
    cr_assert(strstr(plain, "PASS faults[0].broker.p99 <= 3.5 (actual 3)"), "%s", plain);
    /* aligned: the verdict column starts at the same offset in the header and the rows */
    const char *hdr = strstr(plain, "\nside ");
    cr_assert_not_null(hdr, "%s", plain);
    hdr++;
    const char *row = strstr(hdr, "\nbroker ");
    cr_assert_not_null(row, "%s", plain);
    row++;
    size_t at = (size_t)(strstr(hdr, "verdict") - hdr);
    cr_assert(strncmp(row + at, "inside", 6) == 0 || strncmp(row + at, "outside", 7) == 0,
              "columns not aligned:\n%s", plain);
    /* the model's window is labelled as its prediction, the measured reasons are shown */
    cr_assert(strstr(plain, "fault 0 cable-pull"), "%s", plain);
    cr_assert(strstr(plain, "  measured reasons: "), "%s", plain);
    cr_assert(strstr(plain, "  model (prediction): "), "%s", plain);
    /* it reads at 80 columns */
    for (const char *l = plain; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        cr_assert_leq(n, 80, "a line over 80 columns: %.*s", (int)n, l);
        l += n + (nl != NULL);
    }

    char *coloured = render_summary(r, true);
    cr_assert_not_null(strstr(coloured, "\033[1;31m"), "outside verdict not red");
    cr_assert_not_null(strstr(coloured, "\033[0m"));
    free(plain);
    free(coloured);
    fl_report_free(r);
}

/* Every line of a summary at 80 columns, also where the text runs long: a
 * broken run's reason, a standing fault's generations, a slow recovery of
 * many connections. Continuation lines are indented. */
Test(output, summary_long_lines_wrap_at_80_columns)
{
    fl_report *r = fixture_report();
    fl_report_set_complete(r, false);
    fl_report_set_broken(r, "only 3 of 19000 clients connected within 20 s ($.connect_timeout); process logs: "
                            "/tmp/flatline-fl123456-AbCdEf/");
    fl_report_fault *f = fl_report_fault_at(r, 0);
    for (int i = 0; i < 150; i++)
        cr_assert_eq(fl_report_fault_recovered(f, 930.25), 0);
    cr_assert_eq(fl_report_fault_generation(f, 1, 4.0), 0);
    cr_assert_eq(fl_report_fault_generation(f, 2, NAN), 0);
    char err[256];
    cr_assert_geq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    char *plain = render_summary(r, false);
    size_t continued = 0;
    for (const char *l = plain; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        cr_expect_leq(n, 80, "a line over 80 columns: %.*s", (int)n, l);
        continued += strncmp(l, "    ", 4) == 0;
        l += n + (nl != NULL);
    }
    cr_expect_geq(continued, 3, "the long lines continue indented:\n%s", plain);
    cr_expect_not_null(strstr(plain, "cut again after reconnecting"), "%s", plain);
    cr_expect_not_null(strstr(plain, "/tmp/flatline-fl123456-AbCdEf/"), "%s", plain);
    cr_expect_not_null(strstr(plain, "recovery after fault 0: 152 reconnected"), "%s", plain);
    free(plain);
    fl_report_free(r);
}

Test(output, no_color_and_no_tty)
{
    FILE *f = tmpfile();
    cr_assert_not(fl_report_want_color(f), "a file is not a TTY");
    fclose(f);
    setenv("NO_COLOR", "1", 1);
    cr_assert_not(fl_report_want_color(stdout));
    unsetenv("NO_COLOR");
}

Test(output, markdown_and_junit)
{
    fl_report *r = finished();
    char md[128], xml[128], err[256];
    snprintf(md, sizeof md, "%s/r.md", dir);
    snprintf(xml, sizeof xml, "%s/r.xml", dir);
    cr_assert_eq(fl_report_write_markdown(r, md, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_report_write_junit(r, xml, err, sizeof err), 0, "%s", err);

    static char buf[1 << 16];
    FILE *f = fopen(md, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert(strncmp(buf, "**FAIL**: 1 of 2 expectations failed\n", 37) == 0, "the first line is the answer:\n%s", buf);
    cr_assert(strstr(buf, "| fault | side | detected | undetected | survived |"), "%s", buf);
    cr_assert(strstr(buf, "model's window (prediction)"), "%s", buf);
    cr_assert(strstr(buf, "|---|---|"), "%s", buf);
    cr_assert(strstr(buf, "**FAIL** `false_disconnects == 0 (actual 1)`"), "%s", buf);

    f = fopen(xml, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    /* 3 sides x 3 faults + 2 expectations; fault 0's client verdict and one expectation fail;
     * skipped: fault 0's will, fault 1's three sides (no model), fault 2's client */
    cr_assert(strstr(buf, "tests=\"11\" failures=\"2\" skipped=\"5\""), "%s", buf);
    cr_assert(strstr(buf, "<failure message=\"false_disconnects == 0 (actual 1)\"/>"), "%s", buf);
    if (!RUNNING_ON_VALGRIND) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "python3 -c 'import sys,xml.dom.minidom as m; m.parse(sys.argv[1])' '%s'", xml);
        cr_assert_eq(system(cmd), 0, "JUnit XML is not well-formed");
    }
    fl_report_free(r);
}

/* A command client's side has no model: its detections are counted, never
 * judged. The JSON has no window for it, the verdict is no_model (not
 * outside), and the summary says why. */
Test(output, a_black_box_clients_side_is_not_judged)
{
    fl_report *r = fl_report_new();
    cr_assert_not_null(r);
    fl_report_set_end(r, FIXTURE_INJECT_NS + UINT64_C(30000000000));
    fl_model_config c;
    fl_model_config_defaults(&c);
    c.client.keepalive_s = 2;
    c.client.rule_unknown = true;
    fl_prediction p;
    char err[256];
    cr_assert_eq(fl_model_predict(&c, &p, err, sizeof err), 0, "%s", err);
    fl_report_fault *f = fl_report_add_fault(r, "nat-expiry", "cgnat", FIXTURE_INJECT_NS);
    fl_report_fault_set_model(f, &p);
    cr_assert_eq(fl_report_fault_add_conn(f, "198.18.1.2:40001"), 0);
    cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_BROKER, "keepalive_timeout", 2.9), 0);
    cr_assert_eq(fl_report_fault_detected(f, FL_SIDE_CLIENT, "closed", 7.0), 0); /* far beyond any swarm rule */
    fl_report_fault_unpredicted(f, FL_SIDE_CLIENT);
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0, "%s", err);

    char path[128];
    snprintf(path, sizeof path, "%s/r.json", dir);
    cr_assert_eq(fl_report_write_json(r, path, err, sizeof err), 0, "%s", err);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *f0 = json_array_get(json_object_get(j, "faults"), 0);
    json_t *client = json_object_get(f0, "client"), *broker = json_object_get(f0, "broker");
    cr_assert(json_is_null(json_object_get(client, "model")));
    cr_assert_str_eq(json_string_value(json_object_get(client, "verdict")), "no_model");
    cr_assert_eq(json_integer_value(json_object_get(client, "outside")), 0);
    cr_assert_eq(json_integer_value(json_object_get(client, "unpredicted")), 1);
    cr_assert_eq(json_integer_value(json_object_get(client, "unexplained")), 0);
    cr_assert(json_is_object(json_object_get(broker, "model")));
    cr_assert_str_eq(json_string_value(json_object_get(broker, "verdict")), "inside");
    json_decref(j);

    char *text = render_summary(r, false);
    cr_assert(strstr(text, "none: a black-box client keeps its own rule"), "%s", text);
    cr_assert(!strstr(text, "outside"), "%s", text);
    free(text);
    fl_report_free(r);
    if (RUNNING_ON_VALGRIND)
        return;
    int rc = validate(FLATLINE_SOURCE_DIR "/docs/report.schema.json", path, false);
    if (rc != -1)
        cr_assert_eq(rc, 0, "report does not match docs/report.schema.json");
}
