/* Building a topology: names, addresses, sysctls in the namespace only,
 * processes and threads inside hosts, bad specs, and an untouched root
 * namespace. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(netem_topology, .fini = th_teardown, .timeout = 60);

static const fl_sysctl client_sysctls[] = {
    {"net.ipv4.tcp_keepalive_time", "77"},
    {"net.ipv4.tcp_retries2", "5"},
    {"net.ipv4.ip_local_port_range", "20000 20999"},
};

static fl_topology_spec mixed_spec(fl_group_spec groups[2], fl_nat_spec *nat)
{
    groups[0] = (fl_group_spec){.name = "a", .hosts = 3, .addrs_per_host = 2, .nat = -1,
                                .sysctls = client_sysctls, .n_sysctls = 3};
    groups[1] = (fl_group_spec){.name = "b", .hosts = 2, .nat = 0};
    *nat = (fl_nat_spec){.timeout_s = 30};
    return (fl_topology_spec){.groups = groups, .n_groups = 2, .nats = nat, .n_nats = 1};
}

struct read_job {
    const char *path;
    char buf[64];
};

static int read_job(void *p)
{
    struct read_job *j = p;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, j->buf, sizeof j->buf - 1);
    close(fd);
    if (n < 0)
        return -1;
    j->buf[n] = 0;
    j->buf[strcspn(j->buf, "\n")] = 0;
    return 0;
}

static const char *sysctl_in(fl_host *h, const char *path, struct read_job *j)
{
    j->path = path;
    cr_assert_eq(fl_host_run(h, read_job, j, th_err, sizeof th_err), 0, "read %s in %s", path,
                 fl_host_name(h));
    return j->buf;
}

Test(netem_topology, names_addresses_and_queries)
{
    fl_group_spec groups[2];
    fl_nat_spec nat;
    fl_topology_spec spec = mixed_spec(groups, &nat);
    th_build(&spec, "tp");
    fl_netem *net = th_net;
    cr_assert_eq(fl_netem_host_count(net), 1 + 1 + 5);
    cr_assert_str_eq(fl_netem_broker_addr(net), "198.18.0.1");
    cr_assert_str_eq(fl_host_name(fl_netem_broker(net)), "broker");
    fl_host *a1 = fl_netem_group_host(net, 0, 1);
    cr_assert_str_eq(fl_host_name(a1), "a-1");
    cr_assert_eq(fl_host_group(a1), 0);
    cr_assert_eq(fl_host_addr_count(a1), 2);
    cr_assert_str_eq(fl_host_addr(a1, 0), "198.18.1.3");
    cr_assert_str_eq(fl_host_addr(a1, 1), "198.18.1.4");
    fl_host *b0 = fl_netem_find_host(net, "b-0");
    cr_assert_not_null(b0);
    cr_assert_str_eq(fl_host_addr(b0, 0), "100.64.1.1");
    fl_host *n0 = fl_netem_nat(net, 0);
    cr_assert_eq(fl_host_kind_of(n0), FL_HOST_NAT);
    cr_assert_str_eq(fl_host_addr(n0, 0), "198.18.0.10");
    cr_assert_null(fl_netem_group_host(net, 0, 3));
    cr_assert_null(fl_netem_find_host(net, "nope"));
    for (size_t i = 0; i < fl_netem_host_count(net); i++) {
        char path[128];
        fl_host *h = fl_netem_host(net, i);
        cr_assert(fl_host_powered(h));
        cr_assert_eq(strncmp(fl_host_netns(h), fl_netem_prefix(net), strlen(fl_netem_prefix(net))),
                     0);
        snprintf(path, sizeof path, "/run/netns/%s", fl_host_netns(h));
        cr_assert_eq(access(path, F_OK), 0, "%s missing", path);
    }
    char state[128];
    snprintf(state, sizeof state, "/run/flatline/%s.json", fl_netem_prefix(net));
    cr_assert_eq(access(state, F_OK), 0, "state file %s missing", state);
}

Test(netem_topology, sysctls_only_inside_and_ipv6_off)
{
    fl_group_spec groups[2];
    fl_nat_spec nat;
    fl_topology_spec spec = mixed_spec(groups, &nat);
    th_build(&spec, "ts");
    struct read_job j;
    fl_host *a0 = fl_netem_group_host(th_net, 0, 0), *b0 = fl_netem_group_host(th_net, 1, 0);
    cr_assert_str_eq(sysctl_in(a0, "/proc/sys/net/ipv4/tcp_keepalive_time", &j), "77");
    cr_assert_str_eq(sysctl_in(a0, "/proc/sys/net/ipv4/tcp_retries2", &j), "5");
    cr_assert_str_eq(sysctl_in(a0, "/proc/sys/net/ipv4/ip_local_port_range", &j), "20000\t20999");
    cr_assert_str_eq(sysctl_in(b0, "/proc/sys/net/ipv4/tcp_keepalive_time", &j), "7200");
    cr_assert_str_eq(sysctl_in(a0, "/proc/sys/net/ipv6/conf/all/disable_ipv6", &j), "1");
    cr_assert_str_eq(sysctl_in(a0, "/proc/sys/net/ipv6/conf/eth0/disable_ipv6", &j), "1");
    fl_host *n0 = fl_netem_nat(th_net, 0);
    cr_assert_str_eq(
        sysctl_in(n0, "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", &j), "30");
    cr_assert_str_eq(sysctl_in(n0, "/proc/sys/net/netfilter/nf_conntrack_tcp_loose", &j), "0");
    cr_assert_str_eq(sysctl_in(n0, "/proc/sys/net/ipv4/ip_forward", &j), "1");
}

Test(netem_topology, tcp_across_switch_and_nat)
{
    fl_group_spec groups[2];
    fl_nat_spec nat;
    fl_topology_spec spec = mixed_spec(groups, &nat);
    th_build(&spec, "tc");
    fl_host *broker = fl_netem_broker(th_net);
    uint16_t port;
    int lfd = th_listen(broker, fl_netem_broker_addr(th_net), &port);
    fl_host *from[2] = {fl_netem_group_host(th_net, 0, 2), fl_netem_group_host(th_net, 1, 1)};
    for (int i = 0; i < 2; i++) {
        int c = th_connect(from[i], fl_netem_broker_addr(th_net), port, 0);
        int s = th_accept(lfd);
        cr_assert_geq(s, 0, "no accept from %s", fl_host_name(from[i]));
        cr_assert(th_roundtrip(c, s), "no echo with %s", fl_host_name(from[i]));
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        getpeername(s, (struct sockaddr *)&peer, &len);
        char addr[32];
        inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof addr);
        /* Behind the NAT the broker sees the NAT's outer address. */
        cr_assert_str_eq(addr, i == 0 ? fl_host_addr(from[0], 0) : "198.18.0.10");
        close(c);
        close(s);
    }
    close(lfd);
}

Test(netem_topology, spawn_inside_with_kept_fds)
{
    fl_group_spec group = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &group, .n_groups = 1};
    th_build(&spec, "tw");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    int kept[2], dropped[2];
    cr_assert_eq(pipe2(kept, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(dropped, 0), 0);
    char script[256];
    /* Writes its namespace inode to the kept fd, and proves the other fd is closed. */
    snprintf(script, sizeof script,
             "stat -L -c %%i /proc/self/ns/net >/dev/fd/%d; if [ -e /proc/self/fd/%d ]; then echo "
             "leak >/dev/fd/%d; fi",
             kept[1], dropped[1], kept[1]);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    pid_t pid = fl_host_spawn(h, argv, NULL, &kept[1], 1, th_err, sizeof th_err);
    cr_assert_gt(pid, 0, "spawn: %s", th_err);
    size_t n;
    const pid_t *pids = fl_host_pids(h, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(pids[0], pid);
    close(kept[1]);
    close(dropped[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fl_host_forget_pid(h, pid);
    fl_host_pids(h, &n);
    cr_assert_eq(n, 0);
    char out[64] = {0};
    ssize_t got = read(kept[0], out, sizeof out - 1);
    cr_assert_gt(got, 0);
    cr_assert_null(strstr(out, "leak"), "an unlisted fd reached the child");
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "/run/netns/%s", fl_host_netns(h));
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(strtoull(out, NULL, 10), (unsigned long long)st.st_ino,
                 "child ran in namespace %s, not %s's", out, fl_host_name(h));
    close(kept[0]);
    close(dropped[0]);

    char *bad[] = {"/nonexistent/flatline-broker", NULL};
    pid = fl_host_spawn(h, bad, NULL, NULL, 0, th_err, sizeof th_err);
    cr_assert_eq(pid, -FL_NETEM_ESYS);
    cr_assert(strstr(th_err, "/nonexistent/flatline-broker") &&
                  strstr(th_err, "No such file or directory"),
              "message: %s", th_err);
}

Test(netem_topology, spawn_with_redirected_stdio)
{
    fl_group_spec group = {.hosts = 1, .nat = -1};
    fl_topology_spec spec = {.groups = &group, .n_groups = 1};
    th_build(&spec, "tio");
    fl_host *h = fl_netem_group_host(th_net, 0, 0);
    int out[2];
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    fl_spawn_io io = {.stdin_fd = -1, .stdout_fd = out[1], .stderr_fd = out[1]};
    char *argv[] = {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2", NULL};
    pid_t pid = fl_host_spawn_io(h, argv, NULL, NULL, 0, &io, th_err, sizeof th_err);
    cr_assert_gt(pid, 0, "%s", th_err);
    close(out[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    char buf[64] = {0};
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(out[0]);
    cr_assert_str_eq(buf, "to-stdout\nto-stderr\n");
    io.stdout_fd = 999;
    cr_assert_eq(fl_host_spawn_io(h, argv, NULL, NULL, 0, &io, th_err, sizeof th_err),
                 -FL_NETEM_EINVAL);
    cr_assert(strstr(th_err, "stdout"), "%s", th_err);
}

Test(netem_topology, bad_specs_name_the_field)
{
    fl_netem *net = (fl_netem *)1;
    char err[256];
    fl_group_spec g = {.hosts = 0, .nat = -1};
    fl_topology_spec spec = {.prefix = "tbad", .groups = &g, .n_groups = 1};
    cr_assert_eq(fl_netem_build(&spec, &net, err, sizeof err), -FL_NETEM_EINVAL);
    cr_assert_null(net);
    cr_assert(strstr(err, "groups[0].hosts"), "%s", err);
    g.hosts = 1;
    g.nat = 2;
    cr_assert_eq(fl_netem_build(&spec, &net, err, sizeof err), -FL_NETEM_EINVAL);
    cr_assert(strstr(err, "groups[0].nat"), "%s", err);
    g.nat = -1;
    spec.prefix = "much-too-long-prefix";
    cr_assert_eq(fl_netem_build(&spec, &net, err, sizeof err), -FL_NETEM_EINVAL);
    cr_assert(strstr(err, "prefix"), "%s", err);
    spec.prefix = "tbad";
    fl_sysctl bogus = {"net.ipv4.no_such_sysctl", "1"};
    g.sysctls = &bogus;
    g.n_sysctls = 1;
    cr_assert_eq(fl_netem_build(&spec, &net, err, sizeof err), -FL_NETEM_EINVAL);
    cr_assert(strstr(err, "net.ipv4.no_such_sysctl") && strstr(err, "g0-0"), "%s", err);
    /* The failed build removed what it had created. */
    cr_assert_neq(access("/run/netns/tbad-sw", F_OK), 0);
    cr_assert_neq(access("/run/netns/tbad-g0-0", F_OK), 0);
    cr_assert_neq(access("/run/flatline/tbad.json", F_OK), 0);
}

/* What the root namespace looks like: links, addresses, routes, nftables,
 * sysctls. Read with the ip/nft tools from the root namespace. */
static char *root_snapshot(void)
{
    FILE *p = popen("ip -o link show 2>&1 | sed 's/qlen.*//'; ip -o addr show 2>&1; "
                    "ip route show table all 2>&1; nft list ruleset 2>&1; "
                    "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_keepalive_time "
                    "/proc/sys/net/ipv4/tcp_retries2 /proc/sys/net/ipv6/conf/all/disable_ipv6 "
                    "/proc/sys/net/netfilter/nf_conntrack_tcp_loose 2>&1",
                    "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    buf[len] = 0;
    pclose(p);
    return buf;
}

Test(netem_topology, root_namespace_untouched)
{
    char *before = root_snapshot();
    fl_group_spec groups[2];
    fl_nat_spec nat;
    fl_topology_spec spec = mixed_spec(groups, &nat);
    th_build(&spec, "tr");
    fl_host *a0 = fl_netem_group_host(th_net, 0, 0), *b0 = fl_netem_group_host(th_net, 1, 0);
    fl_host *list[2] = {a0, b0};
    cr_assert_eq(fl_fault_partition(th_net, list, 2, FL_DIR_BOTH, NULL, th_err, sizeof th_err), 0,
                 "%s", th_err);
    cr_assert_eq(fl_fault_cable_pull(th_net, list, 1, NULL, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_eq(fl_fault_power_loss(th_net, &list[1], 1, NULL, th_err, sizeof th_err), 0, "%s",
                 th_err);
    cr_assert_eq(fl_fault_power_restore(th_net, &list[1], 1, NULL, th_err, sizeof th_err), 0, "%s",
                 th_err);
    char *during = root_snapshot();
    th_teardown();
    char *after = root_snapshot();
    cr_assert_str_eq(during, before, "root namespace changed while the topology existed");
    cr_assert_str_eq(after, before, "root namespace changed by build/teardown");
    free(before);
    free(during);
    free(after);
}
