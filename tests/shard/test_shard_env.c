/* --shard K/N and --shard auto with each engine's variables
 * (harness/scenario/shard.h), from an injected environment. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/scenario/shard.h"

/* The environment a test sets: NAME=value pairs, NULL-terminated. */
static const char *const *env_now;

static const char *fake_env(const char *name)
{
    for (const char *const *e = env_now; e && *e; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static int from(const char *const *env, fl_shard *s, char *err, size_t len)
{
    env_now = env;
    return fl_shard_from_env(fake_env, s, err, len);
}

Test(shard, k_of_n_is_one_based)
{
    fl_shard s;
    char err[256];
    cr_assert_eq(fl_shard_parse("2/4", &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 2);
    cr_expect_eq(s.count, 4);
    cr_expect_str_eq(s.source, "--shard 2/4");
    static const char *const bad[][2] = { { "0/4", "from 1" }, { "5/4", "K must be" }, { "2", "expected K/N" },
                                          { "a/4", "K must be" }, { "1/0", "N must be" }, { "1/4x", "N must be" },
                                          { "-1/4", "K must be" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_expect_eq(fl_shard_parse(bad[i][0], &s, err, sizeof err), -1, "%s accepted", bad[i][0]);
        cr_expect(strstr(err, bad[i][0]) && strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
    }
}

/* Round robin: every cell in exactly one shard, shard sizes differ by one at most. */
Test(shard, every_cell_in_exactly_one_shard)
{
    for (unsigned n = 1; n <= 7; n++)
        for (size_t cell = 0; cell < 23; cell++) {
            unsigned owners = 0;
            for (unsigned k = 1; k <= n; k++) {
                fl_shard s = { .index = k, .count = n };
                owners += fl_shard_has_cell(&s, cell);
            }
            cr_expect_eq(owners, 1, "cell %zu of %u shards has %u owners", cell, n, owners);
        }
    fl_shard s = { .index = 2, .count = 2 };
    cr_expect(!fl_shard_has_cell(&s, 0) && fl_shard_has_cell(&s, 1) && !fl_shard_has_cell(&s, 2) &&
              fl_shard_has_cell(&s, 3));
}

Test(shard, auto_kubernetes_indexed_job)
{
    fl_shard s;
    char err[512];
    const char *const env[] = { "JOB_COMPLETION_INDEX", "0", "FLATLINE_SHARD_COUNT", "3", NULL };
    cr_assert_eq(from(env, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 1, "0-based index 0 is shard 1");
    cr_expect_eq(s.count, 3);
    cr_expect(strstr(s.source, "Kubernetes Indexed Job") && strstr(s.source, "JOB_COMPLETION_INDEX=0"), "%s",
              s.source);
    const char *const last[] = { "JOB_COMPLETION_INDEX", "2", "FLATLINE_SHARD_COUNT", "3", NULL };
    cr_assert_eq(from(last, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 3);
    /* Kubernetes tells a pod no completions count: without ours it is an error that says so. */
    const char *const nocount[] = { "JOB_COMPLETION_INDEX", "1", NULL };
    cr_expect_eq(from(nocount, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "FLATLINE_SHARD_COUNT=unset") && strstr(err, ".spec.completions"), "%s", err);
    const char *const over[] = { "JOB_COMPLETION_INDEX", "3", "FLATLINE_SHARD_COUNT", "3", NULL };
    cr_expect_eq(from(over, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "shard 4 of 3 is out of range"), "%s", err);
}

Test(shard, auto_gitlab_parallel)
{
    fl_shard s;
    char err[512];
    const char *const env[] = { "CI_NODE_INDEX", "1", "CI_NODE_TOTAL", "2", NULL };
    cr_assert_eq(from(env, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 1, "GitLab counts from 1");
    cr_expect_eq(s.count, 2);
    cr_expect(strstr(s.source, "GitLab CI"), "%s", s.source);
    const char *const zero[] = { "CI_NODE_INDEX", "0", "CI_NODE_TOTAL", "2", NULL };
    cr_expect_eq(from(zero, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "CI_NODE_INDEX='0'"), "%s", err);
}

Test(shard, auto_slurm_array_from_its_min)
{
    fl_shard s;
    char err[512];
    /* sbatch --array=0-3: ids 0..3 */
    const char *const zero[] = { "SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN",
                                 "0", "SLURM_ARRAY_TASK_MAX", "3", NULL };
    cr_assert_eq(from(zero, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 1);
    cr_expect_eq(s.count, 4);
    cr_expect(strstr(s.source, "Slurm job array"), "%s", s.source);
    /* sbatch --array=1-4: ids 1..4, the same four shards */
    const char *const one[] = { "SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN",
                                "1", "SLURM_ARRAY_TASK_MAX", "4", NULL };
    cr_assert_eq(from(one, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 4);
    /* sbatch --array=1-7:2: ids 1, 3, 5, 7 */
    const char *const step[] = { "SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN",
                                 "1", "SLURM_ARRAY_TASK_MAX", "7", "SLURM_ARRAY_TASK_STEP", "2", NULL };
    cr_assert_eq(from(step, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 3);
    /* sbatch --array=1,3,8: not one range */
    const char *const list[] = { "SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_TASK_MIN",
                                 "1", "SLURM_ARRAY_TASK_MAX", "8", NULL };
    cr_expect_eq(from(list, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "not one range"), "%s", err);
    const char *const nomin[] = { "SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "3", NULL };
    cr_expect_eq(from(nomin, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "SLURM_ARRAY_TASK_MIN=unset"), "%s", err);
}

/* GitHub Actions has no index variable: the workflow passes the matrix's. */
Test(shard, auto_explicit_for_github_actions)
{
    fl_shard s;
    char err[512];
    const char *const env[] = { "FLATLINE_SHARD_INDEX", "2", "FLATLINE_SHARD_COUNT", "2", "CI_NODE_INDEX", "1",
                                "CI_NODE_TOTAL", "2", NULL };
    cr_assert_eq(from(env, &s, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.index, 2, "FLATLINE_SHARD_INDEX comes first");
    cr_expect(strstr(s.source, "FLATLINE_SHARD_INDEX=2"), "%s", s.source);
    const char *const none[] = { "GITHUB_ACTIONS", "true", NULL };
    cr_expect_eq(from(none, &s, err, sizeof err), -1);
    cr_expect(strstr(err, "no shard index in the environment") && strstr(err, "--shard K/N"), "%s", err);
}
