/* What a flatline run may leave behind, for the tests that run the real
 * program: the runner names its namespaces "fl<pid>-..." and must remove
 * them itself. Header-only: each test executable is a single file. */
#ifndef FLATLINE_TESTS_LEFTOVERS_H
#define FLATLINE_TESTS_LEFTOVERS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* How many namespaces of the run with this runner pid still exist. */
static inline int leftover_namespaces(pid_t pid)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fl%d-", (int)pid);
    DIR *d = opendir("/run/netns");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* ---- everything else a run may leave (issue 18) ---- */

#include <stdlib.h>
#include <unistd.h>

/* Whether the run's state file (/run/flatline/fl<pid>.json) is still there. */
static inline bool leftover_state_file(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/run/flatline/fl%d.json", (int)pid);
    return access(path, F_OK) == 0;
}

static inline int leftovers_count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* Work directories (flatline-fl<pid>-*) in /tmp and in $TMPDIR. */
static inline int leftover_workdirs(pid_t pid)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "flatline-fl%d-", (int)pid);
    const char *tmpdir = getenv("TMPDIR");
    int n = leftovers_count_prefixed("/tmp", prefix);
    if (tmpdir && tmpdir[0] == '/' && strcmp(tmpdir, "/tmp") != 0)
        n += leftovers_count_prefixed(tmpdir, prefix);
    return n;
}

/* Live processes whose command line names one of the run's work directories
 * (every broker and swarm it starts gets its config from there). */
static inline int leftover_processes(pid_t pid)
{
    char needle[48];
    snprintf(needle, sizeof needle, "/flatline-fl%d-", (int)pid);
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int p = atoi(e->d_name);
        if (p <= 0)
            continue;
        char path[64], cmd[4096], stat[512];
        snprintf(path, sizeof path, "/proc/%d/stat", p);
        FILE *f = fopen(path, "re");
        size_t got = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f)
            fclose(f);
        stat[got] = 0;
        const char *paren = strrchr(stat, ')');
        if (!paren || paren[2] == 'Z' || paren[2] == 'X')
            continue; /* gone, or a zombie its parent has not reaped */
        snprintf(path, sizeof path, "/proc/%d/cmdline", p);
        f = fopen(path, "re");
        got = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i < got; i++)
            if (!cmd[i])
                cmd[i] = ' ';
        cmd[got] = 0;
        n += strstr(cmd, needle) != NULL;
    }
    closedir(d);
    return n;
}

/* The root namespace's nftables ruleset (`nft -j list ruleset`), malloc'd;
 * "" when nft is not there. A run must leave it as it found it. */
static inline char *leftovers_root_ruleset(void)
{
    FILE *p = popen("nft -j list ruleset 2>/dev/null", "r");
    size_t len = 0, cap = 8192;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t got;
    while (p && (got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
    }
    out[len] = 0;
    if (p)
        pclose(p);
    return out;
}

/* Every check but the ruleset: how many things of the run are left, named in why. */
static inline int leftovers_of_run(pid_t pid, char *why, size_t len)
{
    int ns = leftover_namespaces(pid), wd = leftover_workdirs(pid), procs = leftover_processes(pid);
    bool state = leftover_state_file(pid);
    snprintf(why, len, "left by run %d: %d namespace(s), %d work directorie(s), %d process(es), %s state file",
             (int)pid, ns, wd, procs, state ? "a" : "no");
    return ns + wd + procs + (int)state;
}

#endif
