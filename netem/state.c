/* What a run created, recorded in /run/flatline/<prefix>.json with its owner,
 * so that the remains of a killed run can be found and removed, and nothing
 * else ever is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "netem/internal.h"

#define STATE_DIR "/run/flatline"

/* Field 22 of /proc/<pid>/stat: tells a live owner from a reused pid. */
static unsigned long long process_start(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    if (p[1] == 0 || p[2] == 'Z' || p[2] == 'X')
        return 0; /* a zombie owner is a dead owner */
    p += 2; /* at field 3 */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

int fl_state_write(fl_netem *net, char *err, size_t errlen)
{
    if (mkdir(STATE_DIR, 0755) && errno != EEXIST)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "mkdir " STATE_DIR);
    json_t *names = json_array();
    json_array_append_new(names, json_string(net->sw.netns));
    for (size_t i = 0; i < net->n_hosts; i++)
        json_array_append_new(names, json_string(net->hosts[i].netns));
    pid_t self = getpid();
    json_t *doc = json_pack("{s:s, s:i, s:I, s:o}", "prefix", net->prefix, "owner_pid", (int)self,
                            "owner_start", (json_int_t)process_start(self), "namespaces", names);
    if (!doc)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "build state document");
    char tmp[160];
    snprintf(net->state_path, sizeof net->state_path, STATE_DIR "/%s.json", net->prefix);
    snprintf(tmp, sizeof tmp, "%s.tmp", net->state_path);
    int rc = 0;
    if (access(net->state_path, F_OK) == 0)
        rc = fl_neterr(err, errlen, FL_NETEM_ESTATE, EEXIST, "state file %s (prefix in use?)",
                       net->state_path);
    else if (json_dump_file(doc, tmp, JSON_COMPACT) || rename(tmp, net->state_path))
        rc = fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "write %s", net->state_path);
    json_decref(doc);
    if (rc && rc != -FL_NETEM_ESTATE)
        unlink(tmp);
    if (rc)
        net->state_path[0] = 0; /* not ours: teardown must not remove it */
    return rc;
}

void fl_state_remove(const fl_netem *net)
{
    if (net->state_path[0])
        unlink(net->state_path);
}

static bool owner_alive(json_t *doc)
{
    json_int_t pid = json_integer_value(json_object_get(doc, "owner_pid"));
    json_int_t start = json_integer_value(json_object_get(doc, "owner_start"));
    if (pid <= 0)
        return false;
    unsigned long long now = process_start((pid_t)pid);
    return now != 0 && (json_int_t)now == start;
}

/* Removes one dead run. Only names "<prefix>-..." are touched, so a damaged or
 * forged state file cannot make us delete another namespace. */
static int remove_run(json_t *doc, const char *path, char *err, size_t errlen)
{
    const char *prefix = json_string_value(json_object_get(doc, "prefix"));
    json_t *names = json_object_get(doc, "namespaces");
    if (!prefix || !json_is_array(names))
        return fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s: no prefix/namespaces", path);
    size_t plen = strlen(prefix);
    size_t n = json_array_size(names), kept = 0;
    const char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "cleanup %s", path);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(names, i));
        if (name && !strncmp(name, prefix, plen) && name[plen] == '-' && !strchr(name, '/'))
            list[kept++] = name;
    }
    fl_ns_kill_many(list, kept, 2000);
    int rc = 0;
    for (size_t i = 0; i < kept; i++) {
        int r = fl_ns_delete(list[i], rc ? NULL : err, rc ? 0 : errlen);
        if (r && !rc)
            rc = r;
    }
    free(list);
    if (!rc)
        unlink(path);
    return rc;
}

int fl_netem_cleanup_stale(char *err, size_t errlen)
{
    DIR *d = opendir(STATE_DIR);
    if (!d)
        return errno == ENOENT ? 0 : fl_neterr(err, errlen, FL_NETEM_ESYS, errno, "open " STATE_DIR);
    int removed = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
            continue;
        char path[300];
        snprintf(path, sizeof path, STATE_DIR "/%s", de->d_name);
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (!doc) {
            if (!rc)
                rc = fl_neterr(err, errlen, FL_NETEM_EINVAL, 0, "%s: line %d: %s", path, jerr.line,
                               jerr.text);
            continue;
        }
        if (!owner_alive(doc)) {
            int r = remove_run(doc, path, rc ? NULL : err, rc ? 0 : errlen);
            if (r && !rc)
                rc = r;
            else if (!r)
                removed++;
        }
        json_decref(doc);
    }
    closedir(d);
    return rc ? rc : removed;
}
