/* A host's own link (its group's `link`) is back on after a degrade fault on
 * it heals, and after a power cycle (restore_after) whose link took the
 * qdiscs with it. `flatline run` for real, paused at "drain" (after every
 * heal) through FLATLINE_TEST_PAUSE_AT; each host's root qdisc is then read
 * inside its namespace with libnl. Needs sch_netem (label "netem": the VM). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>

#include "netem/netem.h"
#include "reliability/runctl.h"
#include "helpers.h"

static const char scenario_text[] =
    "{\"flatline\": 1, \"name\": \"link-restore\", \"description\": \"own links back after heal and reboot\",\n"
    " \"seed\": 1, \"duration\": 5,\n"
    " \"links\": {\"base\": {\"delay_ms\": 20}, \"worse\": {\"delay_ms\": 60}},\n"
    " \"groups\": [{\"name\": \"g\", \"hosts\": 2, \"clients_per_host\": 2, \"keepalive\": 5, \"link\": \"base\",\n"
    "              \"reconnect\": {\"kind\": \"fixed\", \"delay\": 1}}],\n"
    " \"faults\": [{\"kind\": \"degrade\", \"target\": \"g[0]\", \"at\": 1, \"duration\": 1, \"link\": \"worse\"},\n"
    "            {\"kind\": \"power-loss\", \"target\": \"g[1]\", \"at\": 1, \"restore_after\": 1}]}\n";

/* The delay (us) of the netem root qdisc on eth0 inside namespace ns; -1:
 * no netem root qdisc; -2: the namespace or link could not be read. */
static long root_netem_delay_us(const char *ns)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        long delay = -2;
        char path[128];
        snprintf(path, sizeof path, "/run/netns/%s", ns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct nl_sock *sk = nl_socket_alloc();
        struct rtnl_link *link = NULL;
        struct nl_cache *cache = NULL;
        if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0 && sk && nl_connect(sk, NETLINK_ROUTE) == 0 &&
            rtnl_link_get_kernel(sk, 0, "eth0", &link) == 0 && rtnl_qdisc_alloc_cache(sk, &cache) == 0) {
            struct rtnl_qdisc *q = rtnl_qdisc_get_by_parent(cache, rtnl_link_get_ifindex(link), TC_H_ROOT);
            const char *kind = q ? rtnl_tc_get_kind(TC_CAST(q)) : NULL;
            delay = kind && strcmp(kind, "netem") == 0 ? rtnl_netem_get_delay(q) : -1;
            if (q)
                rtnl_qdisc_put(q);
        }
        if (write(p[1], &delay, sizeof delay) != sizeof delay)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    long delay = -2;
    cr_assert_eq(read(p[0], &delay, sizeof delay), (ssize_t)sizeof delay);
    close(p[0]);
    waitpid(pid, NULL, 0);
    return delay;
}

Test(link_restore, own_link_back_after_heal_and_reboot, .timeout = 90)
{
    th_need_netem();
    char path[64];
    snprintf(path, sizeof path, "/tmp/flatline-link-restore-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(scenario_text, f);
    fclose(f);

    rc_run r;
    rc_start(&r, path, "drain");
    bool stopped = rc_wait_stopped(&r, 60000);
    if (!stopped) {
        char *log = rc_read_file(r.log);
        cr_log_error("flatline run did not reach drain; its output:\n%s", log ? log : "(none)");
        free(log);
    }
    cr_assert(stopped, "the runner never paused at drain");
    const char *hosts[] = { "g0-0 (degraded, healed)", "g0-1 (powered off, on again)" };
    long delays[2];
    for (int i = 0; i < 2; i++) {
        char ns[64];
        snprintf(ns, sizeof ns, "fl%d-g0-%d", (int)r.pid, i);
        delays[i] = root_netem_delay_us(ns);
    }
    kill(r.pid, SIGCONT);
    int status = rc_wait_exit(&r, 30000);
    unlink(path);
    for (int i = 0; i < 2; i++) {
        cr_expect(delays[i] >= 0, "%s: %s", hosts[i], delays[i] == -1 ? "no netem qdisc: its link was not put back"
                                                                       : "could not read its qdisc");
        cr_expect(labs(delays[i] - 20000) <= 2, "%s: delay %ld us, want its own link's 20000 us", hosts[i], delays[i]);
    }
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "flatline run: wait status %d", status);
    cr_expect_eq(rc_namespaces_left(r.pid), 0);
    rc_free(&r);
}
