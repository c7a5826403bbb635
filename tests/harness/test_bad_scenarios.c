/* `flatline validate` on every file in tests/bad-scenarios/: exit 2 and the
 * message in the file's .expect sidecar (which names path and line:column). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/stat.h>
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
        char expect_path[512], cmd[1024];
        snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", BAD_DIR, (int)(len - 5), e->d_name);
        FILE *ef = fopen(expect_path, "r");
        cr_assert_not_null(ef, "%s has no .expect file", e->d_name);
        char *expect = slurp(ef);
        fclose(ef);
        expect[strcspn(expect, "\n")] = '\0';
        snprintf(cmd, sizeof cmd, "cd %s && %s/flatline validate %s 2>&1", BAD_DIR, FLATLINE_BINARY_DIR, e->d_name);
        FILE *p = popen(cmd, "r");
        char *out = slurp(p);
        int status = pclose(p);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: exit %d, want 2", e->d_name,
                  WEXITSTATUS(status));
        cr_expect(strstr(out, expect) != NULL, "%s:\n  want: %s\n  got:  %s", e->d_name, expect, out);
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
static int run_refused(const char *name, char **out, pid_t *pid)
{
    char path[512], report[64];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, name);
    snprintf(report, sizeof report, "/tmp/flatline-bad-%d.json", (int)getpid());
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = { "flatline", "run", path, "-o", report, NULL };
    extern char **environ;
    cr_assert_eq(posix_spawn(pid, FLATLINE_BINARY_DIR "/flatline", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
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
        int rc = run_refused(e->d_name, &out, &pid);
        cr_expect_eq(rc, 2, "%s: flatline run exit %d, want 2: %s", e->d_name, rc, out);
        cr_expect(strstr(out, e->d_name) && strstr(out, "nothing was created"), "%s: message: %s", e->d_name, out);
        cr_expect_eq(leftover_namespaces(pid), 0, "%s: namespaces of the refused run exist", e->d_name);
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
