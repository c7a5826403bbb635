/* Whole-file writes that a reader never sees half done: a temporary file in
 * the target's directory (rename is atomic only within one file system),
 * fsync of the data, rename over the target, fsync of the directory so the
 * rename itself survives a crash. A character device or a FIFO in place of
 * the target is written through instead: renaming over it would replace
 * the node (-o /dev/full once replaced /dev/full with a report). */
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

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket"
         : S_ISCHR(mode) ? "a character device" : S_ISFIFO(mode) ? "a FIFO" : "not a regular file";
}

/* Through a device or FIFO: no temporary, no rename, no truncation. */
static int write_through(const char *path, mode_t mode, const void *data, size_t len, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging the runner. */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open %s for writing: %s", path, kind_of(mode),
                 errno == ENXIO && S_ISFIFO(mode) ? "no process reads it" : strerror(errno));
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int rc = write_all(fd, data, len);
    int saved = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0)
        snprintf(err, errlen, "%s: write to %s failed: %s", path, kind_of(mode), strerror(saved));
    return rc;
}

int fl_output_path_check(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            if (access(path, W_OK) != 0) {
                snprintf(err, errlen, "%s: not writable: %s", path, strerror(errno));
                return -1;
            }
            if (S_ISFIFO(st.st_mode)) {
                /* Without a reader the write would fail (or an open hang): say so now. */
                int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0) {
                    snprintf(err, errlen, "%s: a FIFO %s", path, errno == ENXIO ? "that no process reads"
                                                                                  : strerror(errno));
                    return -1;
                }
                close(fd);
            }
            if (!S_ISREG(st.st_mode))
                return 0; /* written through: its folder does not matter */
        } else {
            snprintf(err, errlen, "%s: is %s; a report goes to a file, a character device or a FIFO", path,
                     kind_of(st.st_mode));
            return -1;
        }
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* A new file, or a file replaced by rename: its folder must take a new
     * entry (a symlink's target's folder: the target is what is replaced). */
    char *resolved = realpath(path, NULL);
    char *copy = strdup(resolved ? resolved : path);
    free(resolved);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    const char *dir = dirname(copy);
    int rc = 0;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: its folder %s: %s", path, dir, strerror(errno));
        rc = -1;
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s is not a folder", path, dir);
        rc = -1;
    } else if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s: its folder %s is not writable: %s", path, dir, strerror(errno));
        rc = -1;
    }
    free(copy);
    return rc;
}

static int write_replacing(const char *path, const void *data, size_t len, char *err, size_t errlen);

int fl_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    struct stat st, lst;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
            return write_through(path, st.st_mode, data, len, err, errlen);
        snprintf(err, errlen, "%s: is %s; refusing to replace it", path, kind_of(st.st_mode));
        return -1;
    }
    /* A symlink to a file (-o /dev/stdout redirected to a file): the link is
     * not replaced, its target is. A target with no path of its own (an fd
     * of /proc) is written through. */
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && stat(path, &st) == 0) {
        char *target = realpath(path, NULL);
        if (!target)
            return write_through(path, st.st_mode, data, len, err, errlen);
        int rc = write_replacing(target, data, len, err, errlen);
        free(target);
        return rc;
    }
    return write_replacing(path, data, len, err, errlen);
}

static int write_replacing(const char *path, const void *data, size_t len, char *err, size_t errlen)
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
