#include "harness/run/procs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "we");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    /* fclose releases the stream even when its final flush fails (a full
     * file system: ENOSPC): it must be called exactly once either way. */
    int failed = fputs(text, f) < 0;
    int saved = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* The slug used in file names: "swarm devices[1].2" -> "swarm-devices-1-2". */
static void slug(const char *name, char *out, size_t len)
{
    size_t j = 0;
    for (const char *c = name; *c && j + 1 < len; c++) {
        char ch = *c;
        out[j++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '-';
    }
    out[j] = '\0';
}

/* The environment plus add ("NAME=value", replacing NAME), in a static-free
 * array the caller frees (not its strings: they are environ's and add's). */
static char **merged_env(char *const *add)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (add && add[m])
        m++;
    char **out = calloc(n + m + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++) {
            size_t len = strcspn(add[j], "=");
            replaced = strncmp(environ[i], add[j], len) == 0 && environ[i][len] == '=';
        }
        if (!replaced)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        out[k++] = add[j];
    return out;
}

/* Spawns argv (with the events and control pipes when asked) in p's host. */
static int spawn(fl_proc *p, const fl_proc_env *env, const char *const *base, char *const *envp, bool events,
                 const char *const *extra_argv, char *err, size_t errlen)
{
    char log_base[64], log_path[512], events_spec[32], control_spec[32];
    slug(p->name, log_base, sizeof log_base);
    snprintf(log_path, sizeof log_path, "%s/%s.log", env->workdir, log_base);
    int ev[2] = { -1, -1 }, ctl[2] = { -1, -1 }, keep[2], nkeep = 0;
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", log_path, strerror(errno));
        return -1;
    }
    const char *argv[64];
    int argc = 0;
    for (size_t i = 0; base[i] && argc < 56; i++)
        argv[argc++] = base[i];
    if (events) {
        if (pipe2(ev, O_CLOEXEC) < 0 || (p->kind == FL_PROC_SWARM && pipe2(ctl, O_CLOEXEC) < 0)) {
            snprintf(err, errlen, "%s: pipe: %s", p->name, strerror(errno));
            goto fail;
        }
        /* The broker writes its log with blocking writes: a 64 KiB pipe fills
         * in one burst of closes (300 lines) whenever the runner is slow to
         * read, and then the broker stalls and closes late. Ask for the most
         * an unprivileged pipe may have (fs.pipe-max-size, 1 MiB by default);
         * a smaller pipe still works. */
        fcntl(ev[1], F_SETPIPE_SZ, 1 << 20);
        snprintf(events_spec, sizeof events_spec, "fd:%d", ev[1]);
        argv[argc++] = "--events";
        argv[argc++] = events_spec;
        keep[nkeep++] = ev[1];
        if (p->kind == FL_PROC_SWARM) {
            snprintf(control_spec, sizeof control_spec, "fd:%d", ctl[0]);
            argv[argc++] = "--control";
            argv[argc++] = control_spec;
            keep[nkeep++] = ctl[0];
        }
    }
    for (size_t i = 0; extra_argv && extra_argv[i] && argc < 63; i++)
        argv[argc++] = extra_argv[i];
    argv[argc] = NULL;

    char **merged = envp ? merged_env(envp) : NULL;
    if (envp && !merged) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fl_spawn_io io = { .stdin_fd = -1, .stdout_fd = log_fd, .stderr_fd = log_fd };
    pid_t pid = fl_host_spawn_io(p->host, (char *const *)argv, merged, keep, (size_t)nkeep, &io, err, errlen);
    free(merged);
    if (pid < 0)
        goto fail;
    close(log_fd);
    p->pid = pid;
    p->exited = false;
    p->control_fd = -1;
    if (ev[1] >= 0) {
        close(ev[1]);
        p->events = fl_evpipe_open(env->loop, ev[0], p->name, env->copy, env->on_event, env->on_eof, env->arg);
    }
    if (ctl[0] >= 0) {
        close(ctl[0]);
        p->control_fd = ctl[1];
    }
    return 0;
fail:
    close(log_fd);
    for (int i = 0; i < 2; i++) {
        if (ev[i] >= 0)
            close(ev[i]);
        if (ctl[i] >= 0)
            close(ctl[i]);
    }
    return -1;
}

int fl_proc_start(fl_proc *p, const fl_proc_env *env, const char *config_text, const char *const *extra_argv,
                  char *err, size_t errlen)
{
    char base[64], config_path[512], program[512];
    slug(p->name, base, sizeof base);
    snprintf(config_path, sizeof config_path, "%s/%s.json", env->workdir, base);
    if (write_text(config_path, config_text, err, errlen) < 0)
        return -1;
    /* flatline-swarm, or a client adapter that speaks its interface (docs/clients.md). */
    snprintf(program, sizeof program, "%s/%s", env->bindir, p->program ? p->program : "flatline-swarm");
    const char *argv[] = { program, "--config", config_path, NULL };
    return spawn(p, env, argv, NULL, true, extra_argv, err, errlen);
}

int fl_proc_start_argv(fl_proc *p, const fl_proc_env *env, char *const *argv, char *const *envp, bool event_log,
                       char *err, size_t errlen)
{
    return spawn(p, env, (const char *const *)argv, envp, event_log, NULL, err, errlen);
}

int fl_proc_command(fl_proc *p, const char *command)
{
    if (p->control_fd < 0)
        return -1;
    char line[64];
    int n = snprintf(line, sizeof line, "%s\n", command);
    /* SIGPIPE is ignored by the runner: a dead swarm gives EPIPE here. */
    return write(p->control_fd, line, (size_t)n) == n ? 0 : -1;
}

bool fl_proc_reap(fl_proc *p)
{
    if (!p->pid || p->exited)
        return p->exited;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->status = r == p->pid ? status : 0;
        p->exited = true;
        fl_host_forget_pid(p->host, p->pid);
    }
    return p->exited;
}

void fl_proc_close(fl_proc *p)
{
    fl_evpipe_close(p->events);
    p->events = NULL;
    if (p->control_fd >= 0)
        close(p->control_fd);
    p->control_fd = -1;
}

const char *fl_proc_status_text(const fl_proc *p, char *buf, size_t len)
{
    if (!p->exited)
        snprintf(buf, len, "running");
    else if (WIFEXITED(p->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(p->status));
    else if (WIFSIGNALED(p->status))
        snprintf(buf, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(p->status)) ? sigabbrev_np(WTERMSIG(p->status)) : "?");
    else
        snprintf(buf, len, "status %d", p->status);
    return buf;
}

static void realtime_error(int e, int priority, char *err, size_t errlen)
{
    snprintf(err, errlen, "SCHED_FIFO priority %d: %s%s", priority, strerror(e),
             e == EPERM ? " (needs CAP_SYS_NICE and a real-time budget: RLIMIT_RTPRIO, the cgroup's cpu.rt_runtime_us)"
                        : "");
}

static int set_fifo(pid_t pid, int priority)
{
    struct sched_param param = { .sched_priority = priority };
    return sched_setscheduler(pid, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) == 0 ? 0 : errno;
}

int fl_proc_set_realtime(pid_t pid, int priority, char *err, size_t errlen)
{
    int e = set_fifo(pid, priority);
    if (e)
        realtime_error(e, priority, err, errlen);
    return e ? -1 : 0;
}

int fl_proc_realtime_possible(int priority, char *err, size_t errlen)
{
    /* The child's errno comes back as its exit status. */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        _exit(set_fifo(0, priority) & 0xff);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int e = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
    if (e)
        realtime_error(e, priority, err, errlen);
    return e ? -1 : 0;
}
