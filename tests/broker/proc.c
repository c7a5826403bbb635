#include "proc.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void child_start(child *c, char *const argv[])
{
    static int seq;
    memset(c, 0, sizeof *c);
    snprintf(c->out_path, sizeof c->out_path, "/tmp/flatline-broker-child-%d-%d.out", (int)getpid(), seq++);
    c->pid = fork();
    cr_assert_geq(c->pid, 0, "fork");
    if (c->pid == 0) {
        int fd = open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* Criterion's worker may block signals; the child starts clean. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        _exit(127);
    }
}

bool child_wait(child *c, int timeout_ms)
{
    if (c->reaped)
        return true;
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid) {
            c->reaped = true;
            return true;
        }
        if (now_ms() >= end)
            return false;
        sleep_ms(5);
    }
}

void child_cleanup(child *c)
{
    if (c->pid > 0 && !c->reaped) {
        kill(c->pid, SIGCONT);
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->reaped = true;
    }
    if (c->out_path[0])
        unlink(c->out_path);
}

char *child_output(const child *c)
{
    FILE *f = fopen(c->out_path, "r");
    if (!f)
        return strdup("");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

bool child_wait_output(const child *c, const char *needle, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        char *out = child_output(c);
        bool found = strstr(out, needle) != NULL;
        free(out);
        if (found)
            return true;
        if (now_ms() >= end)
            return false;
        sleep_ms(10);
    }
}

static bool match(json_t *j, const char *ev, const char *key, const char *value)
{
    const char *name = json_string_value(json_object_get(j, "ev"));
    if (!name || strcmp(name, ev))
        return false;
    if (!key)
        return true;
    const char *v = json_string_value(json_object_get(j, key));
    return v && strcmp(v, value) == 0;
}

json_t *broker_event(const broker_proc *b, const char *ev, const char *key, const char *value, int nth)
{
    FILE *f = fopen(b->events_path, "r");
    if (!f)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    json_t *found = NULL;
    while (!found && getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (j && match(j, ev, key, value) && nth-- == 0)
            found = j;
        else
            json_decref(j);
    }
    free(line);
    fclose(f);
    return found;
}

json_t *broker_wait_event(const broker_proc *b, const char *ev, const char *key, const char *value, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        json_t *j = broker_event(b, ev, key, value, 0);
        if (j || now_ms() >= end)
            return j;
        sleep_ms(5);
    }
}

void broker_start(broker_proc *b, char *const extra[])
{
    static int seq;
    memset(b, 0, sizeof *b);
    snprintf(b->events_path, sizeof b->events_path, "/tmp/flatline-broker-ev-%d-%d.jsonl", (int)getpid(), seq++);
    char *argv[64];
    int n = 0;
    /* e.g. FLATLINE_BROKER_WRAPPER="valgrind --error-exitcode=99 --leak-check=full" */
    static char wrapper[512];
    const char *w = getenv("FLATLINE_BROKER_WRAPPER");
    snprintf(wrapper, sizeof wrapper, "%s", w ? w : "");
    for (char *save = NULL, *tok = strtok_r(wrapper, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    argv[n++] = FLATLINE_BINARY_DIR "/flatline-broker";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--events";
    argv[n++] = b->events_path;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    unlink(b->events_path);
    child_start(&b->proc, argv);
    json_t *ev = broker_wait_event(b, "listening", NULL, NULL, 10000);
    cr_assert_not_null(ev, "the broker did not report listening");
    const char *addr = json_string_value(json_object_get(ev, "addr"));
    b->port = (uint16_t)atoi(strrchr(addr, ':') + 1);
    snprintf(b->port_str, sizeof b->port_str, "%u", b->port);
    json_decref(ev);
}

void broker_stop(broker_proc *b)
{
    if (!b->proc.reaped)
        kill(b->proc.pid, SIGTERM);
    bool exited = child_wait(&b->proc, 10000);
    char *out = child_output(&b->proc);
    cr_assert(exited, "the broker did not exit on SIGTERM");
    cr_assert(WIFEXITED(b->proc.status) && WEXITSTATUS(b->proc.status) == 0, "broker exit status %d: %s",
              b->proc.status, out);
    free(out);
}

void broker_free(broker_proc *b)
{
    child_cleanup(&b->proc);
    if (b->events_path[0])
        unlink(b->events_path);
}
