/* Where a report may go, and what CI reads from it (issue 18, cases 3, 4, 6):
 * - a character device or FIFO in place of -o/--junit/--summary-md is written
 *   through, never replaced; a directory is refused (nodes made by the test
 *   with mknod in its own folder, never a real /dev entry);
 * - `flatline run` checks every output path before anything is created:
 *   exit 2 naming the path, within a second, no work directory;
 * - an incomplete run's JUnit has an error (errors >= 1). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reports/fixture.h"
#include "reports/report.h"
#include "support/leftovers.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-outputs-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(outputs, .init = make_dir, .fini = remove_dir);

static size_t entries(const char *d)
{
    size_t n = 0;
    DIR *h = opendir(d);
    cr_assert_not_null(h);
    struct dirent *e;
    while ((e = readdir(h)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(h);
    return n;
}

/* ---- write through, never replace ---- */

static void make_node(const char *path, unsigned maj, unsigned min)
{
    cr_assert_eq(mknod(path, S_IFCHR | 0666, makedev(maj, min)), 0, "mknod %s: %s", path, strerror(errno));
}

Test(outputs, char_device_is_written_through_not_replaced)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/null", dir);
    make_node(path, 1, 3); /* the memory driver's null device */
    cr_assert_eq(fl_write_file_atomic(path, "{}\n", 3, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "the device node was replaced (mode %o)", st.st_mode);
    cr_assert_eq(entries(dir), 1, "a temporary file was left beside the node");
}

Test(outputs, full_device_fails_and_stays_a_device)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/full", dir);
    make_node(path, 1, 7); /* like /dev/full: every write gets ENOSPC */
    fl_report *r = fixture_report();
    cr_assert_eq(fl_report_write_junit(r, path, err, sizeof err), -1, "a write to a full device succeeded");
    cr_assert(strstr(err, path) && strstr(err, "No space"), "%s", err);
    cr_assert_eq(fl_report_write_markdown(r, path, err, sizeof err), -1);
    cr_assert_eq(fl_report_write_json(r, path, err, sizeof err), -1);
    fl_report_free(r);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "the device node was replaced (mode %o)", st.st_mode);
    cr_assert_eq(entries(dir), 1, "a temporary file was left beside the node");
}

Test(outputs, fifo_with_a_reader_gets_the_bytes)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    cr_assert_eq(mkfifo(path, 0644), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    cr_assert_geq(rd, 0);
    cr_assert_eq(fl_write_file_atomic(path, "hello\n", 6, err, sizeof err), 0, "%s", err);
    char buf[16] = "";
    cr_assert_eq(read(rd, buf, sizeof buf), 6);
    cr_assert_str_eq(buf, "hello\n");
    close(rd);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
}

Test(outputs, fifo_without_a_reader_is_refused_at_once)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    cr_assert_eq(mkfifo(path, 0644), 0);
    cr_assert_eq(fl_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "no process reads it"), "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
}

Test(outputs, directory_is_refused)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/sub", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(fl_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "a directory"), "%s", err);
    cr_assert_eq(fl_output_path_check(path, err, sizeof err), -1);
    cr_assert(strstr(err, "a directory"), "%s", err);
}

/* ---- JUnit of an incomplete run ---- */

Test(outputs, incomplete_run_is_a_junit_error)
{
    fl_report *r = fixture_report();
    fl_report_set_complete(r, false);
    fl_report_set_broken(r, "swarm 0 stopped unexpectedly (killed by SIGSEGV)");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/r.xml", dir);
    cr_assert_eq(fl_report_write_junit(r, path, err, sizeof err), 0, "%s", err);
    fl_report_free(r);
    FILE *f = fopen(path, "r");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cr_assert(strstr(buf, "errors=\"1\""), "an incomplete run's JUnit has no error:\n%s", buf);
    cr_assert(strstr(buf, "<error message=\"the report is incomplete: ") && strstr(buf, "SIGSEGV"), "%s", buf);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 -c 'import sys,xml.dom.minidom as m; m.parse(sys.argv[1])' '%s'", path);
    cr_assert_eq(system(cmd), 0, "JUnit XML is not well-formed");
    /* The Jenkins/Ant dialect that docs/ci.md promises (tests/compare/junit.xsd). */
    snprintf(cmd, sizeof cmd,
             "! command -v xmllint >/dev/null || xmllint --noout --schema '%s/tests/compare/junit.xsd' '%s' 2>&1",
             FLATLINE_SOURCE_DIR, path);
    cr_expect_eq(system(cmd), 0, "the JUnit XML does not follow tests/compare/junit.xsd");
}

/* ---- `flatline run` checks its outputs first ---- */

static const char scenario[] =
    "{ \"flatline\": 1, \"name\": \"outputs\", \"duration\": 2,\n"
    "  \"broker\": { \"kind\": \"reference\" },\n"
    "  \"groups\": [ { \"name\": \"g\", \"clients_per_host\": 1, \"keepalive\": 2 } ] }\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* flatline run scenario ARGS... as uid (0: as we are); its exit status and output. */
static int run_flatline(uid_t uid, const char *const *args, char *out, size_t outlen, pid_t *pid_out, double *secs)
{
    char spath[128], log[128];
    snprintf(spath, sizeof spath, "%s/s.json", dir);
    snprintf(log, sizeof log, "%s/../flatline-outputs-log-%d", dir, (int)getpid());
    FILE *f = fopen(spath, "w");
    cr_assert_not_null(f);
    fputs(scenario, f);
    fclose(f);
    chmod(spath, 0644);
    chmod(dir, 0755);
    double t0 = now_s();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
            _exit(126);
        const char *argv[16] = { "flatline", "run", spath };
        int argc = 3;
        for (size_t i = 0; args[i] && argc < 15; i++)
            argv[argc++] = args[i];
        argv[argc] = NULL;
        execv(FLATLINE_BINARY_DIR "/flatline", (char *const *)argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    *secs = now_s() - t0;
    *pid_out = pid;
    f = fopen(log, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    unlink(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t workdirs_of(pid_t pid)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "flatline-fl%d-", (int)pid);
    DIR *d = opendir("/tmp");
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void expect_refused(uid_t uid, const char *const *args, const char *named)
{
    char out[8192], why[256];
    pid_t pid;
    double secs;
    char *ruleset = leftovers_root_ruleset();
    int code = run_flatline(uid, args, out, sizeof out, &pid, &secs);
    cr_expect_eq(code, 2, "exit %d, expected 2; output:\n%s", code, out);
    cr_expect(strstr(out, named), "the message does not name %s:\n%s", named, out);
    cr_expect(strstr(out, "nothing was created"), "%s", out);
    cr_expect_lt(secs, 1.0, "refused after %.2f s", secs);
    cr_expect_eq(leftover_namespaces(pid), 0, "namespaces were created");
    cr_expect_eq(workdirs_of(pid), 0, "a work directory was created");
    cr_expect_eq(leftovers_of_run(pid, why, sizeof why), 0, "%s", why);
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
}

Test(outputs, run_refuses_a_missing_folder)
{
    char report[160];
    snprintf(report, sizeof report, "%s/no/such/report.json", dir);
    const char *args[] = { "-o", report, NULL };
    expect_refused(0, args, report);
}

Test(outputs, run_refuses_a_directory)
{
    const char *args[] = { "-o", dir, NULL };
    expect_refused(0, args, dir);
}

Test(outputs, run_refuses_events_onto_the_report)
{
    char report[160], events[160];
    snprintf(report, sizeof report, "%s/r.json", dir);
    snprintf(events, sizeof events, "%s/./r.json", dir);
    const char *args[] = { "-o", report, "--events", events, NULL };
    expect_refused(0, args, "are the same file");
}

Test(outputs, run_refuses_events_in_a_missing_folder)
{
    char events[160];
    snprintf(events, sizeof events, "%s/missing/events.jsonl", dir);
    const char *args[] = { "--events", events, NULL };
    expect_refused(0, args, events);
}

Test(outputs, run_refuses_junit_and_summary_paths)
{
    char junit[160];
    snprintf(junit, sizeof junit, "%s/nope/r.xml", dir);
    const char *args[] = { "--junit", junit, "--summary-md", dir, NULL };
    expect_refused(0, args, junit);
}

Test(outputs, run_refuses_a_read_only_folder)
{
    /* Root writes into a mode-0555 folder regardless: check as nobody. */
    char ro[160], report[192];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    cr_assert_eq(mkdir(ro, 0555), 0);
    chmod(ro, 0555);
    snprintf(report, sizeof report, "%s/r.json", ro);
    const char *args[] = { "-o", report, NULL };
    expect_refused(65534, args, report);
    cr_expect(strstr(ro, dir) != NULL);
}

/* ---- compare --fail-on on an incomplete report ---- */

Test(outputs, compare_gate_fails_on_an_incomplete_report)
{
    char path[160], cmd[512], out[4096];
    snprintf(path, sizeof path, "%s/incomplete.json", dir);
    /* The fixture with run.complete false and a reason, as a broken run writes it. */
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d[\"run\"][\"complete\"]=False; "
             "d[\"run\"][\"broken\"]=\"swarm 0 stopped unexpectedly\"; json.dump(d, open(sys.argv[2], \"w\"))' "
             "'%s/tests/compare/fixtures/candidate.json' '%s'",
             FLATLINE_SOURCE_DIR, path);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/flatline compare '%s' --fail-on 'client.undetected>1000' 2>&1", FLATLINE_BINARY_DIR,
             path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x, expected exit 1 (a gate failed):\n%s", st, out);
    cr_expect(strstr(out, "the report is incomplete (swarm 0 stopped unexpectedly)"), "%s", out);
}

/* ---- a metric index of -1 in a report ---- */

Test(outputs, negative_fault_index_is_not_wrapped_around)
{
    fl_report *r = fixture_report();
    fl_report_add_expectation(r, "faults[-1].broker.p99", "<=", 1);
    char err[256] = "";
    cr_assert_eq(fl_report_finish(r, err, sizeof err), -1);
    cr_expect(!strstr(err, "18446744073709551615"), "%s", err);
    cr_expect(strstr(err, "faults[-1].broker.p99") && strstr(err, "an index 0, 1"), "%s", err);
    fl_report_free(r);
}

Test(outputs, run_refuses_a_fifo_nobody_reads, .timeout = 20)
{
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/events.fifo", dir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    const char *args[] = { "--events", fifo, NULL };
    expect_refused(0, args, "that no process reads");
}

Test(outputs, symlink_stays_a_link_and_its_target_gets_the_report)
{
    char target[128], link[128], err[256];
    snprintf(target, sizeof target, "%s/target.json", dir);
    snprintf(link, sizeof link, "%s/link.json", dir);
    FILE *f = fopen(target, "w");
    fputs("old\n", f);
    fclose(f);
    cr_assert_eq(symlink("target.json", link), 0);
    cr_assert_eq(fl_write_file_atomic(link, "new\n", 4, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced by a file");
    char buf[16] = "";
    f = fopen(target, "r");
    cr_assert_not_null(f);
    cr_assert_eq(fread(buf, 1, sizeof buf - 1, f), 4);
    fclose(f);
    cr_assert_str_eq(buf, "new\n");
}

Test(outputs, proc_fd_of_a_pipe_is_written_through)
{
    /* What -o /dev/stdout is when stdout is a pipe. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    char path[64], err[256], buf[16] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    cr_assert_eq(fl_write_file_atomic(path, "{}\n", 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(read(p[0], buf, sizeof buf), 3);
    cr_assert_str_eq(buf, "{}\n");
    close(p[0]);
    close(p[1]);
}
