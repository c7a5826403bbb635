/* A full temporary file system (issue 18, case 1): the runner's work
 * directory goes under $TMPDIR, and a config it cannot write (ENOSPC when the
 * stream is flushed) breaks the run cleanly: exit 4, an incomplete report
 * naming the file and the error, nothing left running or mounted. Once this
 * was a double free (fclose called again after it failed) that left the
 * namespaces, the state file and the processes behind.
 *
 * The small tmpfs is mounted in a private mount namespace of the runner's
 * own (unshare(CLONE_NEWNS) in the child before exec): nothing leaks into
 * the host's mounts, and it disappears with the runner. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runctl.h"
#include "support/leftovers.h"

static const char scenario[] =
    "{ \"flatline\": 1, \"name\": \"tmpfs\", \"description\": \"a full TMPDIR\", \"duration\": 2,\n"
    "  \"connect_timeout\": 10, \"broker\": { \"kind\": \"reference\" },\n"
    "  \"groups\": [ { \"name\": \"g\", \"clients_per_host\": 2, \"id_pattern\": \"c-{n}\", \"keepalive\": 2 } ] }\n";

/* Processes whose command line names a work directory of this runner. */
static size_t run_procs_alive(pid_t runner)
{
    char needle[48];
    snprintf(needle, sizeof needle, "/flatline-fl%d-", (int)runner);
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    size_t alive = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, cmd, sizeof cmd - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (!cmd[i])
                cmd[i] = ' ';
        cmd[n > 0 ? n : 0] = 0;
        alive += strstr(cmd, needle) != NULL;
    }
    closedir(d);
    return alive;
}

static void fill(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/fill", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        _exit(120);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    close(fd);
}

Test(tmpfs, full_tmpdir_breaks_the_run_cleanly, .timeout = 90)
{
    char dir[64], mnt[96], spath[96], report[96], log[96];
    snprintf(dir, sizeof dir, "/tmp/flatline-rel-tmpfs-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(mnt, sizeof mnt, "%s/tmp", dir);
    snprintf(spath, sizeof spath, "%s/s.json", dir);
    snprintf(report, sizeof report, "%s/report.json", dir);
    snprintf(log, sizeof log, "%s/flatline.log", dir);
    cr_assert_eq(mkdir(mnt, 0755), 0);
    FILE *f = fopen(spath, "w");
    cr_assert_not_null(f);
    fputs(scenario, f);
    fclose(f);

    char *ruleset = leftovers_root_ruleset();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=1777") < 0) {
            fprintf(stderr, "mount namespace: %s\n", strerror(errno));
            _exit(121);
        }
        fill(mnt);
        setenv("TMPDIR", mnt, 1);
        unsetenv("FLATLINE_TEST_PAUSE_AT");
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run", spath, "-o", report, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    pid_t got = 0;
    for (int waited = 0; waited < 60000 && got != pid; waited += 20) {
        got = waitpid(pid, &st, WNOHANG);
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        if (got != pid)
            nanosleep(&ts, NULL);
    }
    if (got != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        rc_cleanup();
        cr_assert_fail("the runner did not end within 60 s");
    }
    char *text = rc_read_file(log);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status %#x, expected exit 4; output:\n%s", st,
              text ? text : "");
    cr_expect(text && strstr(text, "No space left on device") && strstr(text, mnt),
              "the output does not name the full TMPDIR and ENOSPC:\n%s", text ? text : "");
    free(text);
    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    cr_expect_not_null(rep, "no report: %s", jerr.text);
    cr_expect(json_is_false(json_object_get(json_object_get(rep, "run"), "complete")), "run.complete is not false");
    json_decref(rep);

    cr_expect_eq(leftover_namespaces(pid), 0, "namespaces left");
    cr_expect_not(rc_state_file_left(pid), "state file left");
    cr_expect_eq(run_procs_alive(pid), 0, "processes of the run still running");
    cr_expect_eq(rc_workdirs_left(pid), 0, "a work directory in /tmp although TMPDIR was set");
    char why[256];
    cr_expect_eq(leftovers_of_run(pid, why, sizeof why), 0, "%s", why);
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
    /* The tmpfs went with the runner's mount namespace: the folder under it is empty here. */
    DIR *d = opendir(mnt);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    cr_expect_eq(n, 0, "the tmpfs leaked out of the runner's mount namespace");
    char cmd[160];
    snprintf(cmd, sizeof cmd, "grep -q ' %s ' /proc/self/mountinfo", mnt);
    cr_expect_neq(system(cmd), 0, "the tmpfs is mounted in the test's namespace");
    if (rc_namespaces_left(pid))
        rc_cleanup();
    unlink(spath);
    unlink(report);
    unlink(log);
    rmdir(mnt);
    rmdir(dir);
}
