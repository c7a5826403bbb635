/* Processes and threads inside a host's namespace. */
#include <errno.h>
#include "core/grow.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netem/internal.h"

extern char **environ;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* After fork in a possibly multi-threaded parent: async-signal-safe calls only.
 * Reports failure as an errno on the CLOEXEC pipe; exec closes it on success. */
static __attribute__((noreturn)) void child(int nsfd, int report, const int *keep, size_t n_keep,
                                            const int stdio[3], char *const argv[],
                                            char *const envp[])
{
    int e = 0;
    if (setns(nsfd, CLONE_NEWNET)) {
        e = errno;
        goto fail;
    }
    for (int fd = 0; fd < 3; fd++) {
        if (stdio[fd] >= 0 && stdio[fd] != fd && dup2(stdio[fd], fd) < 0) {
            e = errno;
            goto fail;
        }
        if (stdio[fd] == fd)
            fcntl(fd, F_SETFD, 0);
    }
    /* Everything but 0-2 and keep becomes close-on-exec (report already is). */
    unsigned first = 3;
    for (size_t i = 0; i <= n_keep; i++) {
        unsigned last = i < n_keep ? (unsigned)keep[i] : ~0u;
        if (last > first)
            syscall(SYS_close_range, first, i < n_keep ? last - 1 : last, CLOSE_RANGE_CLOEXEC);
        if (i < n_keep) {
            if (fcntl(keep[i], F_SETFD, 0)) {
                e = errno;
                goto fail;
            }
            first = (unsigned)keep[i] + 1;
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv, envp);
    e = errno;
fail:
    while (write(report, &e, sizeof e) < 0 && errno == EINTR) {
    }
    _exit(127);
}

pid_t fl_host_spawn(fl_host *h, char *const argv[], char *const envp[], const int *keep_fds,
                    size_t n_keep, char *err, size_t errlen)
{
    return fl_host_spawn_io(h, argv, envp, keep_fds, n_keep, NULL, err, errlen);
}

pid_t fl_host_spawn_io(fl_host *h, char *const argv[], char *const envp[], const int *keep_fds,
                       size_t n_keep, const fl_spawn_io *io, char *err, size_t errlen)
{
    int stdio[3] = {-1, -1, -1};
    if (io) {
        stdio[0] = io->stdin_fd;
        stdio[1] = io->stdout_fd;
        stdio[2] = io->stderr_fd;
        for (int i = 0; i < 3; i++)
            if (stdio[i] >= 0 && fcntl(stdio[i], F_GETFD) < 0)
                return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "spawn in %s: %s fd %d",
                                 h->name, i == 0 ? "stdin" : i == 1 ? "stdout" : "stderr",
                                 stdio[i]);
    }
    if (!argv || !argv[0])
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "spawn in %s: argv[0] missing", h->name);
    if (!h->powered)
        return fl_neterr(err, errlen, FL_NETEM_ESTATE, 0, "spawn in %s: host is powered off",
                         h->name);
    for (size_t i = 0; i < n_keep; i++)
        if (keep_fds[i] < 3 || fcntl(keep_fds[i], F_GETFD) < 0)
            return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "spawn in %s: keep_fds[%zu] = %d",
                             h->name, i, keep_fds[i]);
    if (fl_grow(&h->pids, &h->cap_pids, h->n_pids + 1, 8) < 0)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "spawn in %s", h->name);
    int *keep = calloc(n_keep ? n_keep : 1, sizeof *keep);
    if (!keep)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "spawn in %s", h->name);
    if (n_keep)
        memcpy(keep, keep_fds, n_keep * sizeof *keep);
    qsort(keep, n_keep, sizeof *keep, cmp_int);

    int nsfd = fl_ns_open(h->netns, err, errlen);
    if (nsfd < 0) {
        free(keep);
        return nsfd;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC)) {
        int e = errno;
        close(nsfd);
        free(keep);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, e, "spawn in %s: pipe", h->name);
    }
    pid_t pid = fork();
    if (pid == 0)
        child(nsfd, report[1], keep, n_keep, stdio, argv, envp ? envp : environ);
    int fork_errno = errno;
    close(report[1]);
    close(nsfd);
    free(keep);
    if (pid < 0) {
        close(report[0]);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, fork_errno, "spawn in %s: fork", h->name);
    }
    int child_errno = 0;
    ssize_t got;
    while ((got = read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    close(report[0]);
    if (got > 0) {
        waitpid(pid, NULL, 0);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, child_errno, "spawn %s in %s", argv[0],
                         h->name);
    }
    h->pids[h->n_pids++] = pid;
    return pid;
}

void fl_host_forget_pid(fl_host *h, pid_t pid)
{
    for (size_t i = 0; i < h->n_pids; i++) {
        if (h->pids[i] == pid) {
            h->pids[i] = h->pids[--h->n_pids];
            return;
        }
    }
}

const pid_t *fl_host_pids(const fl_host *h, size_t *n)
{
    *n = h->n_pids;
    return h->pids;
}

struct ns_thread {
    int nsfd;
    fl_ns_fn fn;
    void *arg;
    int enter_errno;
    sem_t entered;
};

static void *ns_thread_main(void *p)
{
    struct ns_thread *t = p;
    fl_ns_fn fn = t->fn;
    void *arg = t->arg;
    t->enter_errno = setns(t->nsfd, CLONE_NEWNET) ? errno : 0;
    bool entered = t->enter_errno == 0;
    sem_post(&t->entered); /* t belongs to the starter from here on */
    if (!entered)
        return (void *)(intptr_t)-FL_NETEM_ESYS;
    return (void *)(intptr_t)fn(arg);
}

int fl_host_thread_start(fl_host *h, fl_ns_fn fn, void *arg, pthread_t *thread, char *err,
                         size_t errlen)
{
    struct ns_thread t = {.fn = fn, .arg = arg};
    t.nsfd = fl_ns_open(h->netns, err, errlen);
    if (t.nsfd < 0)
        return t.nsfd;
    sem_init(&t.entered, 0, 0);
    int rc = pthread_create(thread, NULL, ns_thread_main, &t);
    if (rc) {
        close(t.nsfd);
        sem_destroy(&t.entered);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, rc, "thread in %s", h->name);
    }
    while (sem_wait(&t.entered) && errno == EINTR) {
    }
    close(t.nsfd);
    sem_destroy(&t.entered);
    if (t.enter_errno) {
        pthread_join(*thread, NULL);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, t.enter_errno, "setns into %s", h->netns);
    }
    return 0;
}

int fl_host_run(fl_host *h, fl_ns_fn fn, void *arg, char *err, size_t errlen)
{
    pthread_t thread;
    int rc = fl_host_thread_start(h, fn, arg, &thread, err, errlen);
    if (rc)
        return rc;
    void *result;
    pthread_join(thread, &result);
    return (int)(intptr_t)result;
}
