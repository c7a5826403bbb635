#include "evlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

struct fl_evlog {
    int fd; /* -1: discard */
    bool owns_fd;
    char *source;
};

fl_evlog *fl_evlog_open(const char *spec, const char *source, char *err, size_t errlen)
{
    fl_evlog *log = calloc(1, sizeof *log);
    if (!log || !(log->source = strdup(source ? source : "?"))) {
        free(log);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    log->fd = -1;
    if (!spec) {
        return log;
    } else if (strcmp(spec, "-") == 0) {
        log->fd = STDOUT_FILENO;
    } else if (strncmp(spec, "fd:", 3) == 0) {
        char *end;
        long fd = strtol(spec + 3, &end, 10);
        if (*end || end == spec + 3 || fd < 0 || fcntl((int)fd, F_GETFD) < 0) {
            snprintf(err, errlen, "events: '%s' is not an open file descriptor", spec);
            goto fail;
        }
        log->fd = (int)fd;
        log->owns_fd = true;
    } else {
        log->fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (log->fd < 0) {
            snprintf(err, errlen, "events: cannot open '%s': %s", spec, strerror(errno));
            goto fail;
        }
        log->owns_fd = true;
    }
    return log;
fail:
    free(log->source);
    free(log);
    return NULL;
}

void fl_evlog_close(fl_evlog *log)
{
    if (!log)
        return;
    if (log->owns_fd && log->fd >= 0)
        close(log->fd);
    free(log->source);
    free(log);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int fl_evlog_emit_at(fl_evlog *log, uint64_t t_ns, json_t *ev)
{
    if (!ev)
        return -1;
    if (!log || log->fd < 0) {
        json_decref(ev);
        return 0;
    }
    /* "t" and "src" first so that the lines read well and sort by prefix. */
    json_t *line = json_pack("{s:I, s:s}", "t", (json_int_t)t_ns, "src", log->source);
    json_object_update(line, ev);
    json_decref(ev);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return -1;
    size_t len = strlen(text);
    text[len] = '\n'; /* overwrite the terminator: one write, one whole line */
    int rc = write_all(log->fd, text, len + 1);
    free(text);
    return rc;
}

int fl_evlog_emit(fl_evlog *log, json_t *ev) { return fl_evlog_emit_at(log, fl_now_ns(), ev); }

const char *fl_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}
