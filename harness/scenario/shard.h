/* Sharding a sweep (docs/scale-out.md): which cells of a matrix one of N
 * machines runs. `--shard K/N` is 1-based like `split -n K/N`; cell i
 * (0-based, in the matrix's own order) belongs to shard (i mod N) + 1, so the
 * shards of a cross sweep each get a spread of its first parameter rather than
 * one block of it. A cell's run does not depend on its shard: it is the cell's
 * document with the cell's own seed.
 *
 * `--shard auto` takes K and N from the variables of the engine that started
 * the job; fl_shard_from_env() says which it used. */
#ifndef FLATLINE_HARNESS_SHARD_H
#define FLATLINE_HARNESS_SHARD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fl_shard {
    unsigned index; /* K, 1-based */
    unsigned count; /* N */
    char source[160]; /* "--shard 2/4", "GitLab CI (CI_NODE_INDEX=2, CI_NODE_TOTAL=4)" */
} fl_shard;

/* "K/N" with 1 <= K <= N. Returns 0, or -1 with err quoting the text. */
int fl_shard_parse(const char *text, fl_shard *out, char *err, size_t errlen);

/* The engines, in this order; the first whose index variable is set wins:
 *   FLATLINE_SHARD_INDEX (1-based) + FLATLINE_SHARD_COUNT: set by hand (GitHub Actions' matrix)
 *   JOB_COMPLETION_INDEX (0-based) + FLATLINE_SHARD_COUNT: a Kubernetes Indexed Job (Kubernetes
 *     sets no count: the manifest sets FLATLINE_SHARD_COUNT to .spec.completions)
 *   CI_NODE_INDEX (1-based) + CI_NODE_TOTAL: GitLab CI parallel:
 *   SLURM_ARRAY_TASK_ID + SLURM_ARRAY_TASK_COUNT, with SLURM_ARRAY_TASK_MIN and _STEP: a Slurm
 *     job array; K = (ID - MIN) / STEP + 1, so --array=0-3 and --array=1-4 both give 1..4
 * getenv_fn is getenv() (tests pass their own). Returns 0, or -1 with err
 * naming the variable at fault, or saying that none is set. */
int fl_shard_from_env(const char *(*getenv_fn)(const char *name), fl_shard *out, char *err, size_t errlen);

/* Is cell (0-based) in shard s? */
bool fl_shard_has_cell(const fl_shard *s, size_t cell);

#endif
