/* What `flatline validate`, `run` and `doctor` say before anything starts
 * (issue 18, cases 5 and 7): a sweep's total time, and the open-files limit
 * measured against the scenario's connections, never called "enough". */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/leftovers.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-preflight-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(preflight, .init = make_dir, .fini = remove_dir);

/* 16 x 16 = 256 cells of an hour each. */
static const char sweep[] =
    "{ \"flatline\": 1, \"name\": \"long-sweep\", \"description\": \"256 hours\", \"duration\": 3600,\n"
    "  \"broker\": { \"kind\": \"reference\" },\n"
    "  \"groups\": [ { \"name\": \"g\", \"clients_per_host\": 2, \"id_pattern\": \"c-{n}\", \"keepalive\": 2 } ],\n"
    "  \"matrix\": { \"params\": {\n"
    "    \"groups[0].keepalive\": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],\n"
    "    \"groups[0].clients_per_host\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] } } }\n";

static const char *write_text(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* argv run with RLIMIT_NOFILE nofile (0: unchanged); exit status, output in out. */
static int run(const char *const *argv, long nofile, const char *pause_at, char *out, size_t outlen, pid_t *pid_out,
               bool *stopped)
{
    char log[128];
    snprintf(log, sizeof log, "%s/log", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
        if (nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(125);
        if (pause_at)
            setenv("FLATLINE_TEST_PAUSE_AT", pause_at, 1);
        else
            unsetenv("FLATLINE_TEST_PAUSE_AT");
        execv(FLATLINE_BINARY_DIR "/flatline", (char *const *)argv);
        _exit(127);
    }
    if (pid_out)
        *pid_out = pid;
    int st = 0;
    if (stopped) {
        *stopped = false;
        for (int waited = 0; waited < 30000; waited += 10) {
            pid_t got = waitpid(pid, &st, WNOHANG | WUNTRACED);
            if (got == pid) {
                *stopped = WIFSTOPPED(st);
                break;
            }
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    } else {
        waitpid(pid, &st, 0);
    }
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(preflight, validate_says_a_sweeps_total_time)
{
    const char *path = write_text("sweep.json", sweep);
    char out[8192];
    const char *argv[] = { "flatline", "validate", path, NULL };
    int rc = run(argv, 0, NULL, out, sizeof out, NULL, NULL);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "256 cells x 3600 s = 256 h measured"), "no total time:\n%s", out);
}

Test(preflight, run_prints_a_sweeps_total_time_before_starting, .timeout = 60)
{
    const char *path = write_text("sweep.json", sweep);
    char out[8192], report[128];
    snprintf(report, sizeof report, "%s/r.json", dir);
    const char *argv[] = { "flatline", "run", path, "-o", report, NULL };
    pid_t pid;
    bool stopped;
    char *ruleset = leftovers_root_ruleset();
    /* Stopped at the first cell's first phase, before its topology exists. */
    run(argv, 0, "setup", out, sizeof out, &pid, &stopped);
    cr_assert(stopped, "the runner never reached the first cell:\n%s", out);
    cr_expect(strstr(out, "sweep: 256 cells x 3600 s = 256 h measured"), "no total before the first cell:\n%s", out);
    char *total = strstr(out, "256 h"), *first = strstr(out, "cell 1 of 256");
    cr_expect(total && first && total < first, "the total is not said before the first cell:\n%s", out);
    kill(pid, SIGTERM);
    kill(pid, SIGCONT);
    int st;
    waitpid(pid, &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status %#x after SIGTERM", st);
    char why[256];
    cr_expect_eq(leftovers_of_run(pid, why, sizeof why), 0, "%s", why);
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
}

static const char crowd[] =
    "{ \"flatline\": 1, \"name\": \"crowd\", \"description\": \"30,000 clients\", \"duration\": 10,\n"
    "  \"groups\": [ { \"name\": \"g\", \"hosts\": 3, \"clients_per_host\": 10000, \"id_pattern\": \"c-{host}-{n}\",\n"
    "                  \"keepalive\": 30 } ] }\n";

Test(preflight, doctor_never_calls_a_limit_enough)
{
    char out[8192];
    const char *plain[] = { "flatline", "doctor", NULL };
    run(plain, 20000, NULL, out, sizeof out, NULL, NULL);
    cr_expect(!strstr(out, "enough"), "doctor calls the limit enough:\n%s", out);
    cr_expect(strstr(out, "RLIMIT_NOFILE 20000 (hard 20000): at most 19984 connections"), "%s", out);

    const char *path = write_text("crowd.json", crowd);
    const char *with[] = { "flatline", "doctor", path, NULL };
    int rc = run(with, 20000, NULL, out, sizeof out, NULL, NULL);
    cr_expect_eq(rc, 3, "doctor of 30,000 clients under 20,000 files: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "30000 connections: the broker needs 30016 open files") &&
              strstr(out, "the hard limit is 20000"), "%s", out);
    cr_expect(!strstr(out, "enough"), "%s", out);

    /* 15,000 connections fit under the same limit (raising a hard limit
     * needs CAP_SYS_RESOURCE, which a container may not give even root). */
    char fewer[sizeof crowd];
    snprintf(fewer, sizeof fewer, "%s", crowd);
    memcpy(strstr(fewer, "10000"), " 5000", 5);
    const char *small = write_text("fewer.json", fewer);
    const char *fits[] = { "flatline", "doctor", small, NULL };
    run(fits, 20000, NULL, out, sizeof out, NULL, NULL);
    cr_expect(strstr(out, "ok      scenario    15000 connections: the broker needs 15016 open files"), "%s", out);
}

Test(preflight, run_refuses_more_connections_than_the_limit_at_once)
{
    const char *path = write_text("crowd.json", crowd);
    char out[8192], report[128];
    snprintf(report, sizeof report, "%s/r.json", dir);
    const char *argv[] = { "flatline", "run", path, "-o", report, NULL };
    pid_t pid;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = run(argv, 20000, NULL, out, sizeof out, &pid, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_eq(rc, 3, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "crowd.json:2:13: $.groups: 30000 connections need 30016 open files"), "%s", out);
    cr_expect(strstr(out, "nothing was created"), "%s", out);
    cr_expect_lt(took, 1.0, "refused after %.2f s", took);
    char why[256];
    cr_expect_eq(leftovers_of_run(pid, why, sizeof why), 0, "%s", why);
    cr_expect_neq(access(report, F_OK), 0, "a report was written");
}
