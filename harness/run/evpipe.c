#include "harness/run/evpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_LINE = 1 << 16 };

struct fl_evpipe {
    fl_loop *loop;
    int fd;
    char *name;
    FILE *copy;
    fl_evpipe_fn on_event;
    fl_evpipe_eof_fn on_eof;
    void *arg;
    char *buf; /* a partial line carried between reads */
    size_t len, cap;
    bool eof, overlong;
    size_t lines;
};

static void deliver(fl_evpipe *p, char *line, size_t len)
{
    line[len] = '\0';
    p->lines++;
    if (p->copy) {
        fwrite(line, 1, len, p->copy);
        fputc('\n', p->copy);
    }
    json_t *ev = json_loadb(line, len, 0, NULL);
    if (ev && !json_is_object(ev)) {
        json_decref(ev);
        ev = NULL;
    }
    p->on_event(p, ev, line, p->arg);
    json_decref(ev);
}

void fl_evpipe_feed(fl_evpipe *p, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (p->len + take + 1 > p->cap) {
            size_t cap = p->cap ? p->cap : 4096;
            while (cap < p->len + take + 1)
                cap *= 2;
            if (cap > MAX_LINE) {
                /* A line this long is not an event: drop it whole, keep the stream. */
                p->overlong = true;
                p->len = 0;
            } else {
                char *buf = realloc(p->buf, cap);
                if (!buf)
                    return;
                p->buf = buf;
                p->cap = cap;
            }
        }
        if (!p->overlong) {
            memcpy(p->buf + p->len, data, take);
            p->len += take;
        }
        data += take;
        len -= take;
        if (nl) {
            if (p->overlong)
                p->on_event(p, NULL, "(line longer than 64 KiB)", p->arg);
            else if (p->len > 0)
                deliver(p, p->buf, p->len);
            p->len = 0;
            p->overlong = false;
            data++;
            len--;
        }
    }
}

static void finish(fl_evpipe *p)
{
    if (p->eof)
        return;
    p->eof = true;
    if (p->len > 0 && !p->overlong)
        deliver(p, p->buf, p->len); /* a last line without its newline (the writer crashed) */
    p->len = 0;
    fl_loop_remove(p->loop, p->fd);
    if (p->on_eof)
        p->on_eof(p, p->arg);
}

static void on_readable(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    fl_evpipe *p = arg;
    char chunk[16384];
    for (int round = 0; round < 16; round++) { /* bounded: other pipes get their turn */
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            fl_evpipe_feed(p, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        finish(p);
        return;
    }
}

fl_evpipe *fl_evpipe_open(fl_loop *loop, int fd, const char *name, FILE *copy, fl_evpipe_fn on_event,
                          fl_evpipe_eof_fn on_eof, void *arg)
{
    fl_evpipe *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        return NULL;
    }
    p->loop = loop;
    p->fd = fd;
    p->copy = copy;
    p->on_event = on_event;
    p->on_eof = on_eof;
    p->arg = arg;
    if (fd >= 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (loop && fl_loop_add(loop, fd, FL_READ, on_readable, p) < 0) {
            free(p->name);
            free(p);
            return NULL;
        }
    }
    return p;
}

void fl_evpipe_close(fl_evpipe *p)
{
    if (!p)
        return;
    if (p->fd >= 0) {
        if (!p->eof && p->loop)
            fl_loop_remove(p->loop, p->fd);
        close(p->fd);
    }
    free(p->buf);
    free(p->name);
    free(p);
}

const char *fl_evpipe_name(const fl_evpipe *p) { return p->name; }
bool fl_evpipe_at_eof(const fl_evpipe *p) { return p->eof; }
size_t fl_evpipe_lines(const fl_evpipe *p) { return p->lines; }
