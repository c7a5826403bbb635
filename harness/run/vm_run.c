/* flatline run --virtual-time: the host half. Boots tests/vm/flatline-vm with
 * --icount, whose guest job (tests/vm/vtime-guest) copies the programs and the
 * scenario to the guest's tmpfs, runs them there and copies the results to a
 * scratch dir; this file then stamps the report with the clock and writes it
 * where -o asked. */
#include "harness/run/vm_run.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/exit.h"
#include "harness/run/options.h"
#include "model/model.h"

#ifndef FLATLINE_VM_DIR
#define FLATLINE_VM_DIR "tests/vm"
#endif
#ifndef FLATLINE_VM_CACHE_DEFAULT
#define FLATLINE_VM_CACHE_DEFAULT ""
#endif

extern char **environ;

bool fl_vm_is_guest(void)
{
    const char *g = getenv("FLATLINE_VTIME_GUEST");
    return g && strcmp(g, "1") == 0;
}

void fl_vm_guest_setup(void)
{
    const char *hz = getenv("FLATLINE_KERNEL_HZ");
    long v = hz ? strtol(hz, NULL, 10) : 0;
    if (v > 0 && v <= 10000)
        fl_model_set_hz((unsigned)v);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Copies src to dst (the events file); -1 with errno on failure. */
static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rbe");
    if (!in)
        return -1;
    FILE *out = fopen(dst, "wbe");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    return rc;
}

/* The icount shift: auto by default (docs/virtual-time.md says why). */
static const char *icount_shift(void)
{
    const char *s = getenv("FLATLINE_VM_ICOUNT");
    return s && *s ? s : "auto";
}

/* The report with run.clock added: what the latencies were measured on. */
static int stamp_report(const char *scratch, const char *out_path, double host_wall_s)
{
    char path[PATH_MAX + 32];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/report.json", scratch);
    json_t *rep = json_load_file(path, JSON_PRESERVE_ORDER, &jerr);
    if (!rep) {
        fprintf(stderr, "flatline: --virtual-time: the guest wrote no report (%s)\n", jerr.text);
        return -1;
    }
    snprintf(path, sizeof path, "%s/guest.json", scratch);
    json_t *guest = json_load_file(path, 0, &jerr);
    json_t *run = json_object_get(rep, "run");
    char icount[64];
    snprintf(icount, sizeof icount, "shift=%s,sleep=off", icount_shift());
    json_t *clock = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:f}", "kind", "virtual", "icount", icount, "kernel",
                              json_object_get(guest, "kernel"), "hz", json_object_get(guest, "hz"), "guest_s",
                              json_object_get(guest, "guest_s"), "host_wall_s", host_wall_s);
    json_decref(guest);
    if (!json_is_object(run) || !clock) {
        fprintf(stderr, "flatline: --virtual-time: the guest's report has no run object\n");
        json_decref(clock);
        json_decref(rep);
        return -1;
    }
    json_object_set_new(run, "clock", clock);
    int rc = 0;
    if (out_path && json_dump_file(rep, out_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
        fprintf(stderr, "flatline: cannot write the report to %s\n", out_path);
        rc = -1;
    }
    json_decref(rep);
    return rc;
}

int fl_vm_run(const fl_vm_run_options *o)
{
    const char *vmdir = getenv("FLATLINE_VM_DIR");
    if (!vmdir || !*vmdir)
        vmdir = FLATLINE_VM_DIR;
    char vm[PATH_MAX], guest[PATH_MAX];
    snprintf(vm, sizeof vm, "%s/flatline-vm", vmdir);
    snprintf(guest, sizeof guest, "%s/vtime-guest", vmdir);
    if (access(vm, X_OK) != 0 || access(guest, X_OK) != 0) {
        fprintf(stderr, "flatline: --virtual-time needs %s and %s (set FLATLINE_VM_DIR to the source tree's tests/vm)\n",
                vm, guest);
        return FL_EXIT_MACHINE;
    }
    const char *cache = getenv("FLATLINE_VM_CACHE");
    if (!cache || !*cache)
        cache = FLATLINE_VM_CACHE_DEFAULT;
    char scenario[PATH_MAX];
    if (!realpath(o->scenario_path, scenario)) {
        fprintf(stderr, "flatline: %s: %s\n", o->scenario_path, strerror(errno));
        return FL_EXIT_USAGE;
    }
    /* The same name as a run's work dir, so `flatline cleanup` finds it. */
    char scratch[PATH_MAX];
    snprintf(scratch, sizeof scratch, "%s/flatline-fl%d-XXXXXX", fl_run_tmpdir(), (int)getpid());
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "flatline: cannot create a scratch dir: %s\n", strerror(errno));
        return FL_EXIT_MACHINE;
    }
    /* Guest seconds are cheap: the guest-side timeout is generous. The host
     * side is the last resort, sized for ~10 guest s a host s (measured runs
     * go 80 to 650 times faster, docs/virtual-time.md). */
    char guest_to[32], host_to[32], pidfile[PATH_MAX + 16];
    snprintf(guest_to, sizeof guest_to, "%.0f", o->duration_s + 600);
    const char *ht = getenv("FLATLINE_VM_TIMEOUT");
    if (ht && *ht)
        snprintf(host_to, sizeof host_to, "%s", ht);
    else
        snprintf(host_to, sizeof host_to, "%.0f", 600 + o->duration_s / 10);
    snprintf(pidfile, sizeof pidfile, "%s/qemu.pid", scratch);
    /* The guest sees the scratch dir but not the rest of the host's /tmp. */
    char scenario_copy[PATH_MAX + 16];
    snprintf(scenario_copy, sizeof scenario_copy, "%s/scenario.json", scratch);
    if (copy_file(scenario, scenario_copy) < 0) {
        fprintf(stderr, "flatline: cannot copy %s to %s: %s\n", scenario, scenario_copy, strerror(errno));
        nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        return FL_EXIT_MACHINE;
    }
    char *argv[24];
    int n = 0;
    argv[n++] = vm;
    if (*cache) {
        argv[n++] = "--cache";
        argv[n++] = (char *)cache;
    }
    argv[n++] = "run";
    argv[n++] = "--icount";
    argv[n++] = (char *)icount_shift();
    argv[n++] = "--timeout";
    argv[n++] = host_to;
    argv[n++] = "--scratch";
    argv[n++] = scratch;
    argv[n++] = "--pidfile";
    argv[n++] = pidfile;
    argv[n++] = "--";
    argv[n++] = guest;
    argv[n++] = scratch;
    argv[n++] = (char *)o->bindir;
    argv[n++] = scenario_copy;
    argv[n++] = guest_to;
    argv[n] = NULL;

    fprintf(stderr, "flatline: virtual time: booting the VM (icount shift=%s); the run's output follows when it ends\n",
            icount_shift());
    double t0 = now_s();
    pid_t pid;
    int err = posix_spawn(&pid, vm, NULL, NULL, argv, environ);
    if (err) {
        fprintf(stderr, "flatline: cannot start %s: %s\n", vm, strerror(err));
        rmdir(scratch);
        return FL_EXIT_MACHINE;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    double wall = now_s() - t0;
    int st = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    int code;
    if (st == 124) {
        fprintf(stderr, "flatline: --virtual-time: the VM did not finish within its host-side timeout of %s s\n",
                host_to);
        code = FL_EXIT_BROKEN;
    } else if (st == FL_EXIT_MACHINE && access(pidfile, F_OK) != 0) {
        code = FL_EXIT_MACHINE; /* flatline-vm could not prepare or start qemu */
    } else if (st > FL_EXIT_BROKEN) {
        fprintf(stderr, "flatline: --virtual-time: the VM run broke (status %d)\n", st);
        code = FL_EXIT_BROKEN;
    } else {
        code = st;
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/report.json", scratch);
        if (access(path, F_OK) == 0 || st <= FL_EXIT_EXPECTATION) {
            if (stamp_report(scratch, o->report_path, wall) < 0 && code <= FL_EXIT_EXPECTATION)
                code = FL_EXIT_BROKEN;
        }
        snprintf(path, sizeof path, "%s/events.jsonl", scratch);
        if (o->events_path && access(path, F_OK) == 0 && copy_file(path, o->events_path) < 0) {
            fprintf(stderr, "flatline: cannot write the events to %s: %s\n", o->events_path, strerror(errno));
            code = FL_EXIT_BROKEN;
        }
    }
    fprintf(stderr, "flatline: virtual time: %.1f s of host wall time\n", wall);
    if (o->keep || code == FL_EXIT_BROKEN)
        fprintf(stderr, "flatline: the guest's outputs (output.txt, guest.json, workdirs/) are kept in %s\n", scratch);
    else
        nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return code;
}

int fl_vm_kill_stale(const char *dir)
{
    char path[PATH_MAX + 16], comm[32] = "";
    snprintf(path, sizeof path, "%s/qemu.pid", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    long pid = 0;
    int got = fscanf(f, "%ld", &pid);
    fclose(f);
    if (got != 1 || pid <= 1)
        return 0;
    /* Only a qemu whose command line names this dir: the pid may be reused. */
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    bool qemu = fgets(comm, sizeof comm, f) && strncmp(comm, "qemu-system", 11) == 0;
    fclose(f);
    if (!qemu)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[len] = '\0';
    if (!strstr(buf, dir))
        return 0;
    return kill((pid_t)pid, SIGKILL) == 0;
}
