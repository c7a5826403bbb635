#include "runctl.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static char small_path[64];
static void remove_small(void) { unlink(small_path); }

const char *rc_small_scenario(void)
{
    static const char text[] =
        "{ \"flatline\": 1, \"name\": \"reliability\", \"description\": \"kill and signal tests\",\n"
        "  \"seed\": 1, \"duration\": 4, \"connect_timeout\": 20,\n"
        "  \"broker\": { \"kind\": \"reference\" },\n"
        "  \"middleboxes\": [ { \"name\": \"nat\", \"kind\": \"nat\", \"timeout\": 30, \"on_expiry\": \"drop\" } ],\n"
        "  \"groups\": [\n"
        "    { \"name\": \"plain\", \"hosts\": 2, \"clients_per_host\": 5, \"id_pattern\": \"p-{host}-{n}\",\n"
        "      \"keepalive\": 2, \"strategy\": { \"kind\": \"mqtt\", \"ping_timeout\": 1 } },\n"
        "    { \"name\": \"natted\", \"clients_per_host\": 5, \"id_pattern\": \"n-{n}\", \"keepalive\": 2,\n"
        "      \"strategy\": { \"kind\": \"mqtt\", \"ping_timeout\": 1 }, \"behind\": \"nat\" } ],\n"
        "  \"faults\": [ { \"kind\": \"cable-pull\", \"target\": \"plain[0]\", \"at\": 1, \"duration\": 2 } ] }\n";
    if (!small_path[0]) {
        snprintf(small_path, sizeof small_path, "/tmp/flatline-rel-%d.json", (int)getpid());
        FILE *f = fopen(small_path, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
        atexit(remove_small);
    }
    return small_path;
}

void rc_start(rc_run *r, const char *scenario, const char *pause_at)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/flatline-rel-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    snprintf(r->report, sizeof r->report, "%s/report.json", r->dir);
    snprintf(r->events, sizeof r->events, "%s/events.jsonl", r->dir);
    snprintf(r->log, sizeof r->log, "%s/flatline.log", r->dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int log = open(r->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        /* A runner paused by the hook would outlive a test that dies (a ctest
         * timeout) stopped forever; SIGKILL reaches even a stopped process,
         * and `flatline cleanup` then takes what it built. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* A process group of its own, as a shell's job: a test can send the
         * terminal's signals to the runner and its children at once. */
        setpgid(0, 0);
        if (pause_at)
            setenv("FLATLINE_TEST_PAUSE_AT", pause_at, 1);
        else
            unsetenv("FLATLINE_TEST_PAUSE_AT");
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run", scenario, "-o", r->report, "--events", r->events,
              (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
}

bool rc_wait_stopped(rc_run *r, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        int st;
        pid_t got = waitpid(r->pid, &st, WNOHANG | WUNTRACED);
        if (got == r->pid)
            return WIFSTOPPED(st);
        sleep_ms(5);
    }
    return false;
}

int rc_wait_exit(rc_run *r, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        int st;
        pid_t got = waitpid(r->pid, &st, WNOHANG);
        if (got == r->pid)
            return st;
        sleep_ms(10);
    }
    return -1;
}

void rc_kill(rc_run *r, int sig)
{
    kill(r->pid, sig);
    if (sig == SIGKILL) {
        int st;
        waitpid(r->pid, &st, 0);
    }
}

void rc_free(rc_run *r)
{
    unlink(r->report);
    unlink(r->events);
    unlink(r->log);
    rmdir(r->dir);
}

/* ---- processes ---- */

/* Field 4 (ppid) and 3 (state) of /proc/<pid>/stat. */
static bool proc_stat(pid_t pid, pid_t *ppid, char *state)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return false;
    int pp = 0;
    char s = 0;
    if (sscanf(p + 2, "%c %d", &s, &pp) != 2)
        return false;
    *ppid = pp;
    *state = s;
    return true;
}

static bool in_namespaces(pid_t pid, const ino_t *inos, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (st.st_ino == inos[i])
            return true;
    return false;
}

static size_t namespace_inodes(pid_t runner, ino_t *out, size_t max)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fl%d-", (int)runner);
    DIR *d = opendir("/run/netns");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/run/netns/%s", e->d_name);
        struct stat st;
        if (stat(path, &st) == 0)
            out[n++] = st.st_ino;
    }
    closedir(d);
    return n;
}

size_t rc_record_procs(rc_run *r)
{
    ino_t inos[64];
    size_t ninos = namespace_inodes(r->pid, inos, 64);
    r->nprocs = 0;
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) && r->nprocs < RC_MAX_PROCS) {
        pid_t pid = (pid_t)atoi(e->d_name);
        pid_t ppid;
        char state;
        if (pid <= 0 || pid == r->pid || !proc_stat(pid, &ppid, &state))
            continue;
        if (ppid == r->pid || in_namespaces(pid, inos, ninos))
            r->procs[r->nprocs++] = pid;
    }
    closedir(d);
    return r->nprocs;
}

pid_t rc_find_child(const rc_run *r, const char *comm)
{
    for (size_t i = 0; i < r->nprocs; i++) {
        char path[64], name[64] = "";
        snprintf(path, sizeof path, "/proc/%d/comm", (int)r->procs[i]);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = 0;
        fclose(f);
        if (strcmp(name, comm) == 0)
            return r->procs[i];
    }
    return 0;
}

size_t rc_procs_alive(const rc_run *r)
{
    size_t alive = 0;
    for (size_t i = 0; i < r->nprocs; i++) {
        pid_t ppid;
        char state;
        if (proc_stat(r->procs[i], &ppid, &state) && state != 'Z' && state != 'X')
            alive++;
    }
    return alive;
}

size_t rc_run_procs_alive(pid_t runner)
{
    /* Every process a run starts has its config in the run's work directory
     * (/tmp/flatline-fl<pid>-XXXXXX) on its command line. */
    char needle[48];
    snprintf(needle, sizeof needle, "/tmp/flatline-fl%d-", (int)runner);
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    size_t alive = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        pid_t ppid;
        char state;
        if (pid <= 0 || !proc_stat(pid, &ppid, &state) || state == 'Z' || state == 'X')
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, cmd, sizeof cmd - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == 0)
                cmd[i] = ' ';
        cmd[n] = 0;
        alive += strstr(cmd, needle) != NULL;
    }
    closedir(d);
    return alive;
}

/* ---- what a run leaves ---- */

static size_t count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

size_t rc_namespaces_left(pid_t pid)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fl%d-", (int)pid);
    return count_prefixed("/run/netns", prefix);
}

bool rc_state_file_left(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/run/flatline/fl%d.json", (int)pid);
    return access(path, F_OK) == 0;
}

size_t rc_workdirs_left(pid_t pid)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "flatline-fl%d-", (int)pid);
    return count_prefixed("/tmp", prefix);
}

int rc_cleanup(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "cleanup", (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the root namespace ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char *rc_root_links(void)
{
    struct if_nameindex *ifs = if_nameindex();
    cr_assert_not_null(ifs);
    size_t n = 0;
    while (ifs[n].if_name)
        n++;
    char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = ifs[i].if_name;
    qsort(names, n, sizeof *names, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < n; i++) {
        strcat(out, names[i]);
        strcat(out, "\n");
    }
    free(names);
    if_freenameindex(ifs);
    return out;
}

char *rc_capture(const char *command)
{
    FILE *p = popen(command, "r");
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    if (!p) {
        out[0] = 0;
        return out;
    }
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    pclose(p);
    return out;
}

char *rc_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 1024)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    fclose(f);
    return out;
}

bool rc_file_contains(const char *path, const char *needle)
{
    char *text = rc_read_file(path);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}
