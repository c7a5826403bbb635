/* Atomic report writes: the file is whole or absent, never half written, and
 * a failed write leaves the previous report and no temporary behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/report.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/flatline-atomic-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

TestSuite(atomic, .init = make_dir, .fini = remove_dir);

static size_t entries(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(atomic, write_and_replace)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    cr_assert_eq(fl_write_file_atomic(path, "{\"a\": 1}\n", 9, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(slurp(path), "{\"a\": 1}\n");
    cr_assert_eq(fl_write_file_atomic(path, "{\"b\": 2}\n", 9, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(slurp(path), "{\"b\": 2}\n");
    cr_assert_eq(entries(), 1, "a temporary file was left behind");
    struct stat st;
    stat(path, &st);
    cr_assert_eq(st.st_mode & 0777, 0644);
}

Test(atomic, failed_write_keeps_the_old_report)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    cr_assert_eq(fl_write_file_atomic(path, "old\n", 4, err, sizeof err), 0, "%s", err);

    /* A file-size limit makes write(2) fail with EFBIG part way, as a full disk would. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 1000, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    static char big[100000];
    memset(big, 'x', sizeof big);
    int rc = fl_write_file_atomic(path, big, sizeof big, err, sizeof err);
    lim.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &lim);

    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, path) && strstr(err, "unchanged"), "%s", err);
    cr_assert_str_eq(slurp(path), "old\n");
    cr_assert_eq(entries(), 1, "a temporary file was left behind");
}

Test(atomic, missing_directory_is_a_clear_error)
{
    char path[160], err[256];
    snprintf(path, sizeof path, "%s/no/such/dir/report.json", dir);
    cr_assert_eq(fl_write_file_atomic(path, "x", 1, err, sizeof err), -1);
    cr_assert(strstr(err, path), "%s", err);
}

Test(atomic, report_json_is_whole)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/r.json", dir);
    fl_report *r = fl_report_new();
    fl_report_set_version(r, "0.1.0");
    cr_assert_eq(fl_report_finish(r, err, sizeof err), 0);
    cr_assert_eq(fl_report_write_json(r, path, err, sizeof err), 0, "%s", err);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_assert_eq(json_integer_value(json_object_get(j, "report_version")), 1);
    json_decref(j);
    fl_report_free(r);
    cr_assert_eq(entries(), 1);
}
