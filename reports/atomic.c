/* Whole-file writes that a reader never sees half done: a temporary file in
 * the target's directory (rename is atomic only within one file system),
 * fsync of the data, rename over the target, fsync of the directory so the
 * rename itself survives a crash. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: the data itself is already durable */
        close(fd);
    }
    free(copy);
}

int fl_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* Hidden name beside the target; mkstemp makes it unique and 0600. */
    char *copy = strdup(path);
    if (!copy) {
        free(tmp);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    char *slash = strrchr(copy, '/');
    if (slash) {
        *slash = '\0';
        snprintf(tmp, plen + 16, "%s/.%s.XXXXXX", copy, slash + 1);
    } else {
        snprintf(tmp, plen + 16, ".%s.XXXXXX", copy);
    }
    free(copy);

    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *step = "write";
    if (fchmod(fd, 0644) < 0)
        step = "chmod";
    else if (write_all(fd, data, len) < 0)
        step = "write";
    else if (fsync(fd) < 0)
        step = "fsync";
    else
        step = NULL;
    int saved = errno;
    if (close(fd) < 0 && !step) {
        step = "close";
        saved = errno;
    }
    if (!step && rename(tmp, path) < 0) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s failed: %s (the previous file, if any, is unchanged)", path, step,
                 strerror(saved));
        free(tmp);
        return -1;
    }
    free(tmp);
    sync_dir(path);
    return 0;
}
