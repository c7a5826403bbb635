/* flatline cleanup: remove what interrupted runs left behind. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "harness/run/run.h"
#include "harness/run/vm_run.h"
#include "netem/netem.h"

/* Each run keeps its configs and process logs in /tmp/flatline-fl<pid>-XXXXXX
 * (run.c). A run that was killed never removes its own. */
#define WORKDIR_PREFIX "flatline-fl"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* True when pid is a running flatline: its work directory is still in use. */
static int runner_alive(pid_t pid)
{
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int alive = fgets(comm, sizeof comm, f) && strncmp(comm, "flatline", 8) == 0;
    fclose(f);
    return alive;
}

/* Removes the work directories of runs whose flatline is gone; returns how many. */
static int remove_stale_workdirs(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, WORKDIR_PREFIX, strlen(WORKDIR_PREFIX)) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + strlen(WORKDIR_PREFIX), &end, 10);
        if (pid <= 0 || *end != '-' || strlen(end) != 7 || runner_alive((pid_t)pid))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        /* A killed virtual-time run's qemu still runs until its timeout. */
        if (fl_vm_kill_stale(path))
            printf("killed the VM of a stale virtual-time run (%s)\n", path);
        if (nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0)
            removed++;
        else
            fprintf(stderr, "%s cleanup: cannot remove %s\n", fl_prog, path);
    }
    closedir(d);
    return removed;
}

int fl_cmd_cleanup(int argc, char **argv)
{
    if (argc == 2 && fl_is_help(argv[1])) {
        printf("Usage: %s cleanup\n\n"
               "Removes the namespaces, processes, state files and work directories\n"
               "($TMPDIR or /tmp/flatline-fl<pid>-*) of runs whose flatline process is gone (killed,\n"
               "crashed). Never touches a run still in progress.\n",
               fl_prog);
        return FL_EXIT_OK;
    }
    if (argc != 1) {
        fprintf(stderr, "Usage: %s cleanup\n", fl_prog);
        return FL_EXIT_USAGE;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "%s cleanup: needs root\n", fl_prog);
        return FL_EXIT_MACHINE;
    }
    char err[512];
    int n = fl_netem_cleanup_stale(err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "%s cleanup: %s\n", fl_prog, err);
        return FL_EXIT_BROKEN;
    }
    /* Runs put their work directories in $TMPDIR when it is set (fl_run_tmpdir). */
    int dirs = remove_stale_workdirs("/tmp");
    if (strcmp(fl_run_tmpdir(), "/tmp") != 0)
        dirs += remove_stale_workdirs(fl_run_tmpdir());
    printf("removed %d stale run%s, %d work director%s\n", n, n == 1 ? "" : "s", dirs, dirs == 1 ? "y" : "ies");
    return FL_EXIT_OK;
}
