/* Named network namespaces the way iproute2 keeps them (a bind mount of the
 * namespace file on /run/netns/<name>), created without the ip tool, and the
 * processes living in them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netlink/errno.h>

#include "netem/internal.h"

#define NETNS_DIR "/run/netns"

int fl_neterr(char *err, size_t errlen, int code, int errnum, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        int n = snprintf(err, errlen, "netem: ");
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < errlen)
            n += vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
        if (errnum && n >= 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, ": %s", strerror(errnum));
    }
    return -code;
}

int fl_nlerr(char *err, size_t errlen, int nlerr, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        int n = snprintf(err, errlen, "netem: ");
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < errlen)
            n += vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, ": %s", nl_geterror(nlerr));
    }
    return -FL_NETEM_ESYS;
}

static void ns_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, NETNS_DIR "/%s", name);
}

/* Like iproute2: /run/netns is a shared mount point, so that unmounting a
 * name propagates to every mount namespace and the namespace is freed sooner. */
static int netns_dir_prepare(char *err, size_t errlen)
{
    if (mkdir("/run", 0755) && errno != EEXIST)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "mkdir /run");
    if (mkdir(NETNS_DIR, 0755) && errno != EEXIST)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "mkdir " NETNS_DIR);
    bool made_mount = false;
    while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL)) {
        if (errno != EINVAL || made_mount)
            return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "mount --make-shared " NETNS_DIR);
        if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
            return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "mount --bind " NETNS_DIR);
        made_mount = true;
    }
    return 0;
}

int fl_ns_create(const char *name, char *err, size_t errlen)
{
    static bool dir_ready; /* racy only in the harmless direction: prepared twice */
    if (!dir_ready) {
        int rc = netns_dir_prepare(err, errlen);
        if (rc)
            return rc;
        dir_ready = true;
    }
    char path[128];
    ns_path(name, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "create %s", path);
    close(fd);

    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) {
        int e = errno;
        unlink(path);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, e, "open /proc/thread-self/ns/net");
    }
    int rc = 0;
    /* Only this thread moves; it comes straight back to where it was. */
    if (unshare(CLONE_NEWNET)) {
        rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "unshare(CLONE_NEWNET) for %s", name);
    } else {
        if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL))
            rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "bind-mount namespace on %s", path);
        if (setns(saved, CLONE_NEWNET) && !rc)
            rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "setns back after creating %s", name);
    }
    close(saved);
    if (rc)
        unlink(path);
    return rc;
}

int fl_ns_delete(const char *name, char *err, size_t errlen)
{
    char path[128];
    ns_path(name, path, sizeof path);
    int rc = 0;
    if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
        rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "umount %s", path);
    if (unlink(path) && errno != ENOENT && !rc)
        rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "unlink %s", path);
    return rc;
}

bool fl_ns_exists(const char *name)
{
    char path[128];
    ns_path(name, path, sizeof path);
    return access(path, F_OK) == 0;
}

int fl_ns_open(const char *name, char *err, size_t errlen)
{
    char path[128];
    ns_path(name, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "open namespace %s", path);
    return fd;
}

int fl_ns_enter(const char *name, int *saved, char *err, size_t errlen)
{
    int fd = fl_ns_open(name, err, errlen);
    if (fd < 0)
        return fd;
    *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*saved < 0) {
        int e = errno;
        close(fd);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, e, "open /proc/thread-self/ns/net");
    }
    if (setns(fd, CLONE_NEWNET)) {
        int e = errno;
        close(fd);
        close(*saved);
        return fl_neterr(err, errlen, FL_NETEM_ESYS, e, "setns into %s", name);
    }
    close(fd);
    return 0;
}

void fl_ns_leave(int saved)
{
    /* Cannot fail for a namespace we were in a moment ago; if it ever did,
     * carrying on would silently aim every later call at a test host. */
    if (setns(saved, CLONE_NEWNET))
        abort();
    close(saved);
}

static bool ns_inode(const char *name, ino_t *ino, dev_t *dev)
{
    char path[128];
    struct stat st;
    ns_path(name, path, sizeof path);
    if (stat(path, &st))
        return false;
    *ino = st.st_ino;
    *dev = st.st_dev;
    return true;
}

/* One pass over /proc for a set of namespaces: a teardown of hundreds of hosts
 * would otherwise walk /proc once per host. */
static size_t pids_in_any(const ino_t *inos, size_t n_inos, dev_t dev, pid_t *pids, size_t cap)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    pid_t self = getpid();
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
        if (stat(path, &st) || st.st_dev != dev)
            continue;
        for (size_t i = 0; i < n_inos; i++) {
            if (st.st_ino == inos[i]) {
                if (n < cap)
                    pids[n] = (pid_t)pid;
                n++;
                break;
            }
        }
    }
    closedir(d);
    return n;
}

size_t fl_ns_pids(const char *name, pid_t *pids, size_t cap)
{
    ino_t ino;
    dev_t dev;
    if (!ns_inode(name, &ino, &dev))
        return 0;
    return pids_in_any(&ino, 1, dev, pids, cap);
}

/* True when the process is gone or a zombie (dead, waiting to be reaped). */
static bool process_dead(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    const char *p = strrchr(buf, ')');
    return !p || p[1] == 0 || p[2] == 'Z' || p[2] == 'X';
}

size_t fl_ns_kill_many(const char *const *names, size_t n_names, unsigned timeout_ms)
{
    ino_t *inos = calloc(n_names ? n_names : 1, sizeof *inos);
    if (!inos)
        return 0;
    size_t n_inos = 0;
    dev_t dev = 0;
    for (size_t i = 0; i < n_names; i++)
        if (ns_inode(names[i], &inos[n_inos], &dev))
            n_inos++;
    enum { CAP = 4096 };
    pid_t *pids = n_inos ? malloc(CAP * sizeof *pids) : NULL;
    size_t killed = 0;
    /* Repeat: a process may fork while we kill its parent. */
    for (int round = 0; pids && round < 8; round++) {
        size_t n = pids_in_any(inos, n_inos, dev, pids, CAP);
        if (n > CAP)
            n = CAP;
        size_t live = 0;
        for (size_t i = 0; i < n; i++) {
            if (process_dead(pids[i]))
                continue;
            kill(pids[i], SIGKILL);
            pids[live++] = pids[i];
        }
        if (!live)
            break;
        killed += live;
        struct timespec step = {0, 1000000};
        for (unsigned waited = 0; waited < timeout_ms; waited++) {
            size_t i = 0;
            while (i < live && process_dead(pids[i]))
                i++;
            if (i == live)
                break;
            nanosleep(&step, NULL);
        }
    }
    free(pids);
    free(inos);
    return killed;
}

size_t fl_ns_kill_all(const char *name, unsigned timeout_ms)
{
    return fl_ns_kill_many(&name, 1, timeout_ms);
}

int fl_sysctl_write(const char *name, const char *value, char *err, size_t errlen)
{
    char path[256];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "sysctl name too long: %s", name);
    for (char *p = path + 10; *p; p++)
        if (*p == '.')
            *p = '/';
    if (strstr(name, ".."))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "bad sysctl name %s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return fl_neterr(err, errlen, errno == ENOENT ? FL_NETEM_EINVAL : FL_NETEM_ESYS, errno,
                         "sysctl %s", name);
    size_t len = strlen(value);
    ssize_t w = write(fd, value, len);
    int e = errno;
    close(fd);
    if (w < 0 || (size_t)w != len)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, w < 0 ? e : EIO, "sysctl %s = %s", name,
                         value);
    return 0;
}
