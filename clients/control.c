#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct swarm_control {
    fl_loop *loop;
    swarm *swarm;
    int fd, sigfd;
    char line[256];
    size_t len;
};

static void command(swarm_control *c, const char *cmd)
{
    if (strcmp(cmd, "stop") == 0) {
        swarm_stop(c->swarm);
    } else if (strcmp(cmd, "kill") == 0) {
        /* No DISCONNECT, no flushing: the kernel closes the sockets (FIN). */
        _exit(0);
    } else if (strcmp(cmd, "counters") == 0) {
        swarm_emit_counters(c->swarm);
    } else if (strcmp(cmd, "status") == 0) {
        swarm_print_counters(c->swarm, stdout);
    } else if (*cmd) {
        fprintf(stderr, "flatline-swarm: control: unknown command '%s' (stop, kill, counters, status)\n", cmd);
    }
}

static void on_control(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    swarm_control *c = arg;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The runner closed its end: no more commands, but the swarm runs on
         * until it is signalled (the runner may only have wanted to detach). */
        fl_loop_remove(loop, fd);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->len == sizeof c->line - 1) {
            c->line[c->len] = '\0';
            if (c->len && c->line[c->len - 1] == '\r')
                c->line[c->len - 1] = '\0';
            c->len = 0;
            command(c, c->line);
        } else {
            c->line[c->len++] = buf[i];
        }
    }
}

static void on_signal(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    swarm_control *c = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1)
            swarm_print_counters(c->swarm, stderr);
        else
            swarm_stop(c->swarm);
    }
}

swarm_control *control_open(fl_loop *loop, swarm *s, int control_fd, char *err, size_t errlen)
{
    swarm_control *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->swarm = s;
    c->fd = control_fd;
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (c->sigfd < 0 || fl_loop_add(loop, c->sigfd, FL_READ, on_signal, c) < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        goto fail;
    }
    if (control_fd >= 0) {
        fcntl(control_fd, F_SETFL, fcntl(control_fd, F_GETFL) | O_NONBLOCK);
        if (fl_loop_add(loop, control_fd, FL_READ, on_control, c) < 0) {
            snprintf(err, errlen, "control: fd %d cannot be watched: %s", control_fd, strerror(errno));
            goto fail;
        }
    }
    return c;
fail:
    control_close(c);
    return NULL;
}

void control_close(swarm_control *c)
{
    if (!c)
        return;
    if (c->sigfd >= 0) {
        fl_loop_remove(c->loop, c->sigfd);
        close(c->sigfd);
    }
    if (c->fd >= 0)
        fl_loop_remove(c->loop, c->fd);
    free(c);
}

int control_parse_fd(const char *spec)
{
    if (strncmp(spec, "fd:", 3) != 0)
        return -1;
    char *end;
    long fd = strtol(spec + 3, &end, 10);
    if (end == spec + 3 || *end || fd < 0 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0)
        return -1;
    return (int)fd;
}
