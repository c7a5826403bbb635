/* cleanup_stale after a runner was SIGKILLed: its namespaces, the processes
 * still running inside them and its state file go; a live run's stay. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doomed_report.h"
#include "helpers.h"

TestSuite(netem_cleanup, .fini = th_teardown, .timeout = 60);

static bool exists(const char *dir, const char *name, const char *suffix)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    return access(path, F_OK) == 0;
}

static bool process_alive(pid_t pid)
{
    char path[64], buf[256] = {0};
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[2] != 'Z' && p[2] != 'X';
}

Test(netem_cleanup, removes_a_killed_runs_remains_only)
{
    /* A live run of our own that must survive. */
    fl_group_spec g = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &g, .n_groups = 1};
    th_build(&spec, "kl");
    const char *live_ns = fl_host_netns(fl_netem_group_host(th_net, 0, 0));

    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t child = fork();
    /* No assertion before the branch: with --full-stats even a passing one
     * sends a message, and the runner rejects one from a grandchild. */
    if (child == 0) {
        char fd[16];
        snprintf(fd, sizeof fd, "%d", pfd[1]);
        close(pfd[0]);
        execl(FLATLINE_BINARY_DIR "/tests/netem_doomed_runner", "netem_doomed_runner", fd,
              (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    cr_assert_geq(child, 0);
    struct doomed_report r;
    ssize_t got = -1;
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    if (poll(&p, 1, 20000) == 1)
        got = read(pfd[0], &r, sizeof r);
    close(pfd[0]);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    cr_assert_eq(got, (ssize_t)sizeof r, "the doomed runner failed to build (status %d)", status);
    cr_assert_gt(r.inner, 0);
    for (int i = 0; i < 3; i++)
        cr_assert(exists("/run/netns", r.netns[i], ""), "%s should exist before cleanup",
                  r.netns[i]);
    cr_assert(exists("/run/flatline", r.prefix, ".json"));
    cr_assert(process_alive(r.inner), "the process inside the dead run's host should still run");

    int removed = fl_netem_cleanup_stale(th_err, sizeof th_err);
    cr_assert_geq(removed, 1, "cleanup_stale: %d %s", removed, th_err);
    for (int i = 0; i < 3; i++)
        cr_assert_not(exists("/run/netns", r.netns[i], ""), "%s survived cleanup", r.netns[i]);
    cr_assert_not(exists("/run/flatline", r.prefix, ".json"), "state file survived cleanup");
    for (int i = 0; i < 100 && process_alive(r.inner); i++)
        usleep(10000); /* reaped by init, not by us */
    cr_assert_not(process_alive(r.inner), "process %d inside the dead run survived", r.inner);

    /* The live run is untouched. */
    cr_assert(exists("/run/netns", live_ns, ""), "cleanup removed a live run's namespace");
    cr_assert(exists("/run/flatline", fl_netem_prefix(th_net), ".json"));
}
