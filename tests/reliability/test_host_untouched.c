/* Full runs leave the root network namespace as they found it: links,
 * addresses, routes (v4 and v6, every table), the network sysctls (TCP,
 * conntrack, forwarding, bridge: everything flatline reads or sets, and the
 * rest of net.ipv4, net.ipv6.conf.{all,default}, net.netfilter, net.core) and
 * the nftables ruleset, compared before and after quickstart and nat-expiry. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "runctl.h"

/* Values that change without anyone writing them. */
static bool volatile_sysctl(const char *name)
{
    return strcmp(name, "nf_conntrack_count") == 0;
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    while (*len + n + 1 > *cap)
        *buf = realloc(*buf, *cap = *cap ? *cap * 2 : 8192);
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static char *sysctl_snapshot(void)
{
    static const char *const dirs[] = {
        "/proc/sys/net/ipv4",          "/proc/sys/net/ipv4/conf/all", "/proc/sys/net/ipv4/conf/default",
        "/proc/sys/net/ipv6/conf/all", "/proc/sys/net/ipv6/conf/default", "/proc/sys/net/netfilter",
        "/proc/sys/net/core",          "/proc/sys/net/bridge",        "/proc/sys/net",
    };
    char *buf = NULL;
    size_t len = 0, cap = 0;
    append(&buf, &len, &cap, "");
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        struct dirent **names;
        int n = scandir(dirs[i], &names, NULL, alphasort);
        for (int j = 0; j < n; j++) {
            if (names[j]->d_type == DT_REG && !volatile_sysctl(names[j]->d_name)) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", dirs[i], names[j]->d_name);
                char *value = rc_read_file(path);
                if (value) {
                    append(&buf, &len, &cap, path);
                    append(&buf, &len, &cap, "=");
                    append(&buf, &len, &cap, value);
                    append(&buf, &len, &cap, "\n");
                    free(value);
                }
            }
            free(names[j]);
        }
        if (n >= 0)
            free(names);
    }
    return buf;
}

typedef struct host_state {
    const char *what;
    char *text;
} host_state;

#define NSTATE 7

static void snapshot(host_state s[NSTATE])
{
    s[0] = (host_state){ "links (ip -j link)", rc_capture("ip -j link show 2>&1") };
    s[1] = (host_state){ "addresses (ip -j addr)", rc_capture("ip -j addr show 2>&1") };
    s[2] = (host_state){ "IPv4 routes", rc_capture("ip -4 -j route show table all 2>&1") };
    s[3] = (host_state){ "IPv6 routes", rc_capture("ip -6 -j route show table all 2>&1") };
    s[4] = (host_state){ "policy rules", rc_capture("ip -j rule show 2>&1; ip -6 -j rule show 2>&1") };
    s[5] = (host_state){ "nftables ruleset", rc_capture("nft -j list ruleset 2>&1") };
    s[6] = (host_state){ "network sysctls", sysctl_snapshot() };
}

static void run_scenario(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FLATLINE_SOURCE_DIR "/scenarios/%s.json", name);
    host_state before[NSTATE], after[NSTATE];
    snapshot(before);
    rc_run r;
    rc_start(&r, path, NULL);
    int st = rc_wait_exit(&r, 100000);
    if (st == -1) {
        rc_kill(&r, SIGKILL);
        rc_cleanup();
        cr_assert_fail("%s did not finish in 100 s", name);
    }
    char *log = rc_read_file(r.log);
    /* 0: every expectation held; 1: one failed. Either way a full run. */
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "%s: status %#x; output:\n%s", name, st, log ? log : "");
    free(log);
    snapshot(after);
    for (int i = 0; i < NSTATE; i++) {
        cr_expect_str_eq(after[i].text, before[i].text, "%s: root namespace %s changed", name, before[i].what);
        free(before[i].text);
        free(after[i].text);
    }
    cr_expect_eq(rc_namespaces_left(r.pid), 0);
    cr_expect_eq(rc_workdirs_left(r.pid), 0);
    cr_expect_not(rc_state_file_left(r.pid));
    rc_free(&r);
}

Test(host, untouched_by_quickstart, .timeout = 120) { run_scenario("quickstart"); }
Test(host, untouched_by_nat_expiry, .timeout = 120) { run_scenario("nat-expiry"); }
