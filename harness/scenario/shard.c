/* --shard K/N and --shard auto (harness/scenario/shard.h). */
#include "harness/scenario/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole decimal number in [min, max]. */
static bool whole(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return false;
    *out = v;
    return true;
}

#define MAX_SHARDS 100000L /* more machines than cells is already pointless; this only bounds the numbers */

int fl_shard_parse(const char *text, fl_shard *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char k[32], n[32];
    const char *slash = text ? strchr(text, '/') : NULL;
    long kv, nv;
    if (!slash || (size_t)(slash - text) >= sizeof k || strlen(slash + 1) >= sizeof n) {
        snprintf(err, errlen, "--shard '%s': expected K/N (shard K of N, from 1), or auto", text ? text : "");
        return -1;
    }
    snprintf(k, sizeof k, "%.*s", (int)(slash - text), text);
    snprintf(n, sizeof n, "%s", slash + 1);
    if (!whole(n, 1, MAX_SHARDS, &nv)) {
        snprintf(err, errlen, "--shard '%s': N must be a whole number from 1 to %ld", text, MAX_SHARDS);
        return -1;
    }
    if (!whole(k, 1, nv, &kv)) {
        snprintf(err, errlen, "--shard '%s': K must be a whole number from 1 to N (%ld); shards count from 1", text,
                 nv);
        return -1;
    }
    out->index = (unsigned)kv;
    out->count = (unsigned)nv;
    snprintf(out->source, sizeof out->source, "--shard %ld/%ld", kv, nv);
    return 0;
}

static int bad_var(char *err, size_t errlen, const char *engine, const char *name, const char *value,
                   const char *want)
{
    snprintf(err, errlen, "--shard auto: %s: %s=%s%s%s: %s", engine, name, value ? "'" : "", value ? value : "unset",
             value ? "'" : "", want);
    return -1;
}

static int index_count(fl_shard *out, long k, long n, char *err, size_t errlen, const char *engine)
{
    if (k < 1 || k > n) {
        snprintf(err, errlen, "--shard auto: %s: shard %ld of %ld is out of range", engine, k, n);
        return -1;
    }
    out->index = (unsigned)k;
    out->count = (unsigned)n;
    return 0;
}

int fl_shard_from_env(const char *(*env)(const char *name), fl_shard *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    long k, n;
    const char *v;
    if ((v = env("FLATLINE_SHARD_INDEX"))) {
        const char *c = env("FLATLINE_SHARD_COUNT");
        if (!whole(v, 1, MAX_SHARDS, &k))
            return bad_var(err, errlen, "flatline", "FLATLINE_SHARD_INDEX", v, "a shard number from 1");
        if (!whole(c, 1, MAX_SHARDS, &n))
            return bad_var(err, errlen, "flatline", "FLATLINE_SHARD_COUNT", c, "the number of shards, from 1");
        snprintf(out->source, sizeof out->source, "FLATLINE_SHARD_INDEX=%ld, FLATLINE_SHARD_COUNT=%ld", k, n);
        return index_count(out, k, n, err, errlen, "flatline");
    }
    if ((v = env("JOB_COMPLETION_INDEX"))) {
        const char *c = env("FLATLINE_SHARD_COUNT");
        if (!whole(v, 0, MAX_SHARDS - 1, &k))
            return bad_var(err, errlen, "Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", v, "an index from 0");
        if (!whole(c, 1, MAX_SHARDS, &n))
            return bad_var(err, errlen, "Kubernetes Indexed Job", "FLATLINE_SHARD_COUNT", c,
                           "Kubernetes does not tell a pod the Job's completions: set FLATLINE_SHARD_COUNT to "
                           ".spec.completions in the manifest");
        snprintf(out->source, sizeof out->source,
                 "Kubernetes Indexed Job (JOB_COMPLETION_INDEX=%ld, FLATLINE_SHARD_COUNT=%ld)", k, n);
        return index_count(out, k + 1, n, err, errlen, "Kubernetes Indexed Job");
    }
    if ((v = env("CI_NODE_INDEX"))) {
        const char *c = env("CI_NODE_TOTAL");
        if (!whole(v, 1, MAX_SHARDS, &k))
            return bad_var(err, errlen, "GitLab CI", "CI_NODE_INDEX", v, "a node number from 1");
        if (!whole(c, 1, MAX_SHARDS, &n))
            return bad_var(err, errlen, "GitLab CI", "CI_NODE_TOTAL", c, "the number of parallel jobs");
        snprintf(out->source, sizeof out->source, "GitLab CI parallel (CI_NODE_INDEX=%ld, CI_NODE_TOTAL=%ld)", k, n);
        return index_count(out, k, n, err, errlen, "GitLab CI");
    }
    if ((v = env("SLURM_ARRAY_TASK_ID"))) {
        const char *c = env("SLURM_ARRAY_TASK_COUNT"), *mn = env("SLURM_ARRAY_TASK_MIN"),
                   *st = env("SLURM_ARRAY_TASK_STEP"), *mx = env("SLURM_ARRAY_TASK_MAX");
        long id, min, step = 1, max;
        if (!whole(v, 0, 1L << 30, &id))
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_ID", v, "an array index");
        if (!whole(c, 1, MAX_SHARDS, &n))
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_COUNT", c, "the number of tasks");
        if (!whole(mn, 0, 1L << 30, &min))
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_MIN", mn, "the array's lowest index");
        if (st && !whole(st, 1, 1L << 30, &step))
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_STEP", st, "the array's step");
        /* Only a range (with a step) maps onto 1..N: a list such as --array=1,3,7 does not. */
        if (mx && whole(mx, 0, 1L << 30, &max) && (max - min) / step + 1 != n)
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_MAX", mx,
                           "the array is not one range MIN-MAX:STEP of COUNT tasks; submit --array=0-<N-1> or "
                           "pass --shard K/N");
        if ((id - min) % step)
            return bad_var(err, errlen, "Slurm job array", "SLURM_ARRAY_TASK_ID", v,
                           "not MIN + a multiple of STEP");
        k = (id - min) / step + 1;
        snprintf(out->source, sizeof out->source,
                 "Slurm job array (SLURM_ARRAY_TASK_ID=%ld, SLURM_ARRAY_TASK_MIN=%ld, SLURM_ARRAY_TASK_COUNT=%ld)", id,
                 min, n);
        return index_count(out, k, n, err, errlen, "Slurm job array");
    }
    snprintf(err, errlen,
             "--shard auto: no shard index in the environment (FLATLINE_SHARD_INDEX, JOB_COMPLETION_INDEX, "
             "CI_NODE_INDEX, SLURM_ARRAY_TASK_ID); pass --shard K/N");
    return -1;
}

bool fl_shard_has_cell(const fl_shard *s, size_t cell) { return cell % s->count == s->index - 1; }
