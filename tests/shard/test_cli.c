/* flatline run --shard and flatline merge as a user runs them: bad input is
 * exit 2 with the flag, variable, file or cell named, before anything runs. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLATLINE FLATLINE_BINARY_DIR "/flatline"
#define SWEEP FLATLINE_SOURCE_DIR "/tests/shard/sweep-4.json"
#define SINGLE FLATLINE_SOURCE_DIR "/scenarios/quickstart.json"

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CLEAN_ENV "env -u FLATLINE_SHARD_INDEX -u JOB_COMPLETION_INDEX -u CI_NODE_INDEX -u SLURM_ARRAY_TASK_ID "

Test(shard_cli, bad_shards_are_refused_before_anything_runs)
{
    char *out;
    cr_expect_eq(run(&out, FLATLINE " run " SWEEP " --shard 3/2 -o /nonexistent/x.json"), 2);
    cr_expect(strstr(out, "--shard '3/2': K must be a whole number from 1 to N (2)"), "%s", out);
    cr_expect_eq(run(&out, FLATLINE " run " SWEEP " --shard 0/2"), 2);
    cr_expect(strstr(out, "shards count from 1"), "%s", out);
    cr_expect_eq(run(&out, CLEAN_ENV FLATLINE " run " SWEEP " --shard auto"), 2);
    cr_expect(strstr(out, "no shard index in the environment"), "%s", out);
    cr_expect_eq(run(&out, CLEAN_ENV "JOB_COMPLETION_INDEX=1 " FLATLINE " run " SWEEP " --shard auto"), 2);
    cr_expect(strstr(out, "FLATLINE_SHARD_COUNT=unset"), "%s", out);
    cr_expect_eq(run(&out, FLATLINE " run " SINGLE " --shard 1/2"), 2);
    cr_expect(strstr(out, "is not a sweep") && strstr(out, "one run is not split"), "%s", out);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(shard_cli, merge_names_the_file)
{
    char dir[] = "/tmp/flatline-merge-cli-XXXXXX", a[96], b[96], *out;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    write_file(a, "{\"report_version\": 1, \"faults\": []}\n");
    write_file(b, "{\"report_version\": 1,\n \"cells\": [}\n");
    cr_expect_eq(run(&out, FLATLINE " merge %s -o %s/m.json", a, dir), 2);
    cr_expect(strstr(out, "a.json: not a partial report of a sharded sweep"), "%s", out);
    cr_expect_eq(run(&out, FLATLINE " merge %s -o %s/m.json", b, dir), 2);
    cr_expect(strstr(out, "b.json:2:"), "a syntax error names the file and line: %s", out);
    cr_expect_eq(run(&out, FLATLINE " merge %s", a), 2);
    cr_expect(strstr(out, "no -o SWEEP.json given"), "%s", out);
    cr_expect_eq(access("m.json", F_OK), -1);
    remove(a);
    remove(b);
    rmdir(dir);
}

/* plot --metric speaks the same grammar: a bad path is exit 2, named. */
Test(shard_cli, plot_metric_paths_are_checked)
{
    char *out;
    cr_expect_eq(run(&out, FLATLINE " plot " FLATLINE_SOURCE_DIR "/tests/compare/fixtures/base.json -o /tmp/never.html"
                           " --metric broker.p42"), 2);
    cr_expect(strstr(out, "--metric faults[0].broker.p42: unknown metric 'p42'"), "%s", out);
    cr_expect_eq(access("/tmp/never.html", F_OK), -1);
}
