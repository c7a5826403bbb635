#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t th_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void th_sleep(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool th_wait_port(int port, double timeout_s)
{
    uint64_t end = th_now_ns() + (uint64_t)(timeout_s * 1e9);
    while (th_now_ns() < end) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (rc == 0)
            return true;
        th_sleep(0.02);
    }
    return false;
}

pid_t th_spawn(char *const argv[], int keep_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

pid_t th_start_mosquitto(const char *dir, int port)
{
    char conf[512];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\nmax_keepalive 65535\nmax_queued_messages 100000\n"
               "persistence false\nlog_dest stderr\nlog_type error\n", port);
    fclose(f);
    char *argv[] = { "/usr/sbin/mosquitto", "-c", conf, NULL };
    pid_t pid = th_spawn(argv, -1);
    if (pid > 0 && !th_wait_port(port, 5)) {
        th_kill(pid);
        return -1;
    }
    return pid;
}

void th_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int th_wait_exit(pid_t pid, double timeout_s)
{
    uint64_t end = th_now_ns() + (uint64_t)(timeout_s * 1e9);
    int status;
    while (th_now_ns() < end) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        th_sleep(0.02);
    }
    return -1;
}

json_t *th_read_events(const char *path)
{
    json_t *arr = json_array();
    FILE *f = fopen(path, "r");
    if (!f)
        return arr;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *ev = json_loads(line, 0, NULL);
        if (ev)
            json_array_append_new(arr, ev);
    }
    free(line);
    fclose(f);
    return arr;
}

bool th_wait_event(const char *path, const char *ev, double timeout_s)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"ev\":\"%s\"", ev);
    uint64_t end = th_now_ns() + (uint64_t)(timeout_s * 1e9);
    while (th_now_ns() < end) {
        FILE *f = fopen(path, "r");
        if (f) {
            char *line = NULL;
            size_t cap = 0;
            bool found = false;
            while (!found && getline(&line, &cap, f) > 0)
                found = strstr(line, needle) != NULL;
            free(line);
            fclose(f);
            if (found)
                return true;
        }
        th_sleep(0.05);
    }
    return false;
}

size_t th_count(json_t *events, const char *ev)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(events, i, e) {
        const char *name = json_string_value(json_object_get(e, "ev"));
        n += name && strcmp(name, ev) == 0;
    }
    return n;
}
