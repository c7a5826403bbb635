#include "harness/cli/outpaths.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/cli/cli.h"
#include "reports/report.h"

/* The path with its folder resolved (symlinks, "..", "."): two spellings of
 * one file compare equal even when the file does not exist yet. */
static void canonical(const char *path, char *out, size_t len)
{
    char real[PATH_MAX];
    if (realpath(path, real)) {
        snprintf(out, len, "%s", real);
        return;
    }
    char *d = strdup(path), *b = strdup(path);
    if (d && b && realpath(dirname(d), real))
        snprintf(out, len, "%s/%s", real, basename(b));
    else
        snprintf(out, len, "%s", path);
    free(d);
    free(b);
}

int fl_outpaths_check(const fl_outpath *paths, size_t n)
{
    int problems = 0;
    char err[PATH_MAX + 256];
    for (size_t i = 0; i < n; i++) {
        if (!paths[i].path)
            continue;
        if (!paths[i].path[0]) {
            fprintf(stderr, "%s run: %s: an empty path\n", fl_prog, paths[i].option);
            problems++;
            continue;
        }
        if (fl_output_path_check(paths[i].path, err, sizeof err) < 0) {
            fprintf(stderr, "%s run: %s %s\n", fl_prog, paths[i].option, err);
            problems++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!paths[i].path || !paths[i].path[0])
            continue;
        char a[PATH_MAX + 256], b[PATH_MAX + 256];
        canonical(paths[i].path, a, sizeof a);
        struct stat sa;
        /* Devices and FIFOs are written through: /dev/null twice is fine. */
        if (stat(a, &sa) == 0 && !S_ISREG(sa.st_mode))
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (!paths[j].path || !paths[j].path[0])
                continue;
            canonical(paths[j].path, b, sizeof b);
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "%s run: %s %s and %s %s are the same file; one would overwrite the other\n",
                        fl_prog, paths[i].option, paths[i].path, paths[j].option, paths[j].path);
                problems++;
            }
        }
    }
    return problems;
}
