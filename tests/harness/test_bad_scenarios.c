/* `flatline validate` on every file in tests/bad-scenarios/: exit 2 and the
 * message in the file's .expect sidecar (which names path and line:column). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leftovers.h"

#define BAD_DIR FLATLINE_SOURCE_DIR "/tests/bad-scenarios"

static char *slurp(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    return buf;
}

/* The .expect sidecar: the message on its first line, then optional
 * directives, one a line: "exit N" (the code expected, default 2), "root"
 * (the check needs root: skipped otherwise), "ulimit N" (run with
 * RLIMIT_NOFILE N, soft and hard, so that the case does not depend on the
 * machine's own limit), "absent TEXT" (the output must not contain TEXT),
 * "no-controls" (no control character but newlines: nothing from the file
 * reaches the terminal raw). */
typedef struct expectation {
    char *message;
    int exit_code;
    bool needs_root, no_controls;
    long nofile;
    const char *absent[4];
    size_t nabsent;
} expectation;

static expectation read_expect(const char *name, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%.*s.expect", BAD_DIR, (int)(len - 5), name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s has no .expect file", name);
    char *text = slurp(f);
    fclose(f);
    expectation e = { .message = text, .exit_code = 2 };
    char *nl = strchr(text, '\n');
    if (!nl)
        return e;
    *nl = '\0';
    for (char *line = strtok(nl + 1, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "exit ", 5) == 0)
            e.exit_code = atoi(line + 5);
        else if (strcmp(line, "root") == 0)
            e.needs_root = true;
        else if (strncmp(line, "ulimit ", 7) == 0)
            e.nofile = atol(line + 7);
        else if (strncmp(line, "absent ", 7) == 0 && e.nabsent < 4)
            e.absent[e.nabsent++] = line + 7;
        else if (strcmp(line, "no-controls") == 0)
            e.no_controls = true;
        else
            cr_assert_fail("%s.expect: unknown directive \"%s\"", name, line);
    }
    return e;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next *.json entry of dir, with its name's length; NULL at the end. */
static struct dirent *next_scenario(DIR *dir, size_t *len)
{
    struct dirent *e;
    while ((e = readdir(dir))) {
        *len = strlen(e->d_name);
        if (*len > 5 && strcmp(e->d_name + *len - 5, ".json") == 0)
            return e;
    }
    return NULL;
}

Test(bad_scenarios, each_fails_with_its_message)
{
    DIR *dir = opendir(BAD_DIR);
    cr_assert_not_null(dir);
    struct dirent *e;
    size_t len;
    int checked = 0;
    while ((e = next_scenario(dir, &len))) {
        char cmd[1024], limit[64] = "";
        expectation x = read_expect(e->d_name, len);
        char *expect = x.message;
        if (x.needs_root && geteuid() != 0) {
            free(expect);
            continue;
        }
        if (x.nofile)
            snprintf(limit, sizeof limit, "ulimit -n %ld && ", x.nofile);
        snprintf(cmd, sizeof cmd, "cd %s && %s%s/flatline validate %s 2>&1", BAD_DIR, limit, FLATLINE_BINARY_DIR,
                 e->d_name);
        FILE *p = popen(cmd, "r");
        char *out = slurp(p);
        int status = pclose(p);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == x.exit_code, "%s: exit %d, want %d", e->d_name,
                  WEXITSTATUS(status), x.exit_code);
        cr_expect(strstr(out, expect) != NULL, "%s:\n  want: %s\n  got:  %s", e->d_name, expect, out);
        for (size_t k = 0; k < x.nabsent; k++)
            cr_expect(strstr(out, x.absent[k]) == NULL, "%s: the output says \"%s\": %s", e->d_name, x.absent[k], out);
        for (const char *c = out; x.no_controls && *c; c++)
            if ((unsigned char)*c < 0x20 && *c != '\n') {
                cr_expect_fail("%s: a raw control character %#x in the output", e->d_name, (unsigned char)*c);
                break;
            }
        /* every message names the file and a JSON path or position */
        cr_expect(strncmp(out, e->d_name, len) == 0, "%s: message does not start with the file name: %s",
                  e->d_name, out);
        free(out);
        free(expect);
        checked++;
    }
    closedir(dir);
    cr_expect_geq(checked, 15, "only %d bad scenarios", checked);
}

/* `flatline run` refuses the same files the same way before it creates
 * anything: exit 2, no report, no namespace and no state file of that run. */
static int run_refused(const char *name, long nofile, char **out, pid_t *pid)
{
    char path[512], report[64];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, name);
    snprintf(report, sizeof report, "/tmp/flatline-bad-%d.json", (int)getpid());
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    char *argv[] = { "flatline", "run", path, "-o", report, NULL };
    *pid = fork();
    cr_assert_geq(*pid, 0);
    if (*pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
        if (nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(125);
        execv(FLATLINE_BINARY_DIR "/flatline", argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    *out = slurp(f);
    fclose(f);
    int status;
    waitpid(*pid, &status, 0);
    struct stat st;
    cr_expect_neq(stat(report, &st), 0, "%s: a report was written", name);
    unlink(report);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(bad_scenarios, run_refuses_before_creating_anything)
{
    if (geteuid() != 0)
        cr_skip_test("flatline run needs root to get as far as reading the scenario");
    DIR *dir = opendir(BAD_DIR);
    cr_assert_not_null(dir);
    struct dirent *e;
    size_t len;
    int checked = 0;
    while ((e = next_scenario(dir, &len))) {
        char *out;
        pid_t pid;
        expectation x = read_expect(e->d_name, len);
        free(x.message);
        double t0 = now_s();
        int rc = run_refused(e->d_name, x.nofile, &out, &pid);
        double took = now_s() - t0;
        cr_expect_eq(rc, x.exit_code, "%s: flatline run exit %d, want %d: %s", e->d_name, rc, x.exit_code, out);
        /* Refused before anything starts, not after a connect timeout (a loose
         * bound: parsing a scenario takes milliseconds). */
        cr_expect_lt(took, 1.0, "%s: refused after %.2f s", e->d_name, took);
        cr_expect(strstr(out, e->d_name) && strstr(out, "nothing was created"), "%s: message: %s", e->d_name, out);
        cr_expect_eq(leftover_namespaces(pid), 0, "%s: namespaces of the refused run exist", e->d_name);
        char why[256];
        cr_expect_eq(leftovers_of_run(pid, why, sizeof why), 0, "%s: %s", e->d_name, why);
        char state[64];
        snprintf(state, sizeof state, "/run/flatline/fl%d.json", (int)pid);
        cr_expect_neq(access(state, F_OK), 0, "%s: the refused run left %s", e->d_name, state);
        free(out);
        checked++;
    }
    closedir(dir);
    cr_expect_geq(checked, 30, "only %d bad scenarios", checked);
}

Test(bad_scenarios, shipped_scenarios_are_valid)
{
    DIR *dir = opendir(FLATLINE_SOURCE_DIR "/scenarios");
    cr_assert_not_null(dir);
    struct dirent *e;
    size_t len;
    int checked = 0;
    while ((e = next_scenario(dir, &len))) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s/flatline validate %s/scenarios/%s 2>&1", FLATLINE_BINARY_DIR,
                 FLATLINE_SOURCE_DIR, e->d_name);
        FILE *p = popen(cmd, "r");
        char *out = slurp(p);
        int status = pclose(p);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", e->d_name, out);
        free(out);
        checked++;
    }
    closedir(dir);
    cr_expect_geq(checked, 2);
}

Test(cli, usage_errors_exit_2)
{
    int status = system(FLATLINE_BINARY_DIR "/flatline frobnicate >/dev/null 2>&1");
    cr_expect_eq(WEXITSTATUS(status), 2);
    status = system(FLATLINE_BINARY_DIR "/flatline run >/dev/null 2>&1");
    cr_expect_eq(WEXITSTATUS(status), 2);
    status = system(FLATLINE_BINARY_DIR "/flatline validate /nonexistent.json >/dev/null 2>&1");
    cr_expect_eq(WEXITSTATUS(status), 2);
    status = system(FLATLINE_BINARY_DIR "/flatline --version | grep -q '^flatline [0-9]'");
    cr_expect_eq(WEXITSTATUS(status), 0);
    for (const char *const *c = (const char *const[]){ "run", "validate", "doctor", "cleanup", NULL }; *c; c++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, FLATLINE_BINARY_DIR "/flatline %s --help | grep -q '^Usage: flatline %s'", *c, *c);
        cr_expect_eq(WEXITSTATUS(system(cmd)), 0, "%s --help", *c);
    }
}
