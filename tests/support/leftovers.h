/* What a flatline run may leave behind, for the tests that run the real
 * program: the runner names its namespaces "fl<pid>-..." and must remove
 * them itself. Header-only: each test executable is a single file. */
#ifndef FLATLINE_TESTS_LEFTOVERS_H
#define FLATLINE_TESTS_LEFTOVERS_H

#include <dirent.h>
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

#endif
