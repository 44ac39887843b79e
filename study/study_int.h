/* study/study_int.h - internals shared by the study's files: the raw per-item measurements of a
 * task (what the journal stores) and the estimators computed from them. */
#ifndef STUDY_INT_H
#define STUDY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/model.h"
#include "../eval/eval.h"

#include "stats.h"
#include "study.h"

/* Raw measurements of one task, item by item. v = 0 is the intact model, v = 1 + u the model
 * with unit u removed. L = blocks (cosine statistics are kept for every block). */
typedef struct {
    int n_items, n_var, L;
    double *hits;       /* (n_var, n_items) headline hits: 0/1, or top-1 hits for token acc */
    double *weight;     /* (n_items) 1, or scored tokens for token acc */
    double *chance;     /* (n_items) 1 / choices (0 for next-token accuracy) */
    double *cos_sum;    /* (n_items, L) sum over the item's tokens of 1 - cos(in, out) */
    double *n_tok;      /* (n_items) tokens the cosine sums run over */
    double *ang;        /* (n_items, L) arccos(cos) / pi at the item's last context token */
    double *kl;         /* (n_var - 1, n_items) sum over the item's scored rows of KL(intact ||
                           unit removed), full vocabulary; NULL when not measured (CUDA) */
    double *n_score;    /* (n_items) scored rows of the item; NULL = the KL is not measured */
    double *margin;     /* (n_var, n_items) gold choice's length-normalized log-likelihood minus
                           the best other choice's (multiple choice); NULL otherwise */
} study_raw;

/* Fill T's point estimates and correlations from raw over the items idx (n = raw->n_items;
 * idx NULL = every item once). unit_layer (n_units) maps units to blocks. Only the fields of
 * T that are arrays must be allocated (n_units each). */
void study_estimate(const study_raw *raw, const int *idx, const int *unit_layer, int n_units,
                    study_task_res *T);

/* Pool task estimates over the tasks with ref[t].pooled_in (ref = the intact run's tasks, so
 * that a replicate pools the same set): per unit the equal-weight mean over those tasks;
 * relevance over those whose intact accuracy is above chance (NaN when any of them is
 * undefined in this replicate); then correlations across units. */
void study_pool(const study_task_res *tasks, const study_task_res *ref, int n_tasks,
                int n_units, study_task_res *P);

/* True when T's intact accuracy is not clearly above chance: for 0/1 hits the Wilson 95% lower
 * bound is at or below chance, otherwise acc - chance < 2 se. Needs acc, chance, n_items,
 * binary and acc_se. */
bool study_near_chance(const study_task_res *T);

/* Mark the tasks pooled by default (clearly above chance, one metric type: multiple choice,
 * else next-token) or every task (all); write the rule into r->pool_rule. Needs the tasks'
 * metric and near_chance. */
void study_choose_pool(study_result *r, bool all);

/* ABL_E_NOMEM from the two below when out of memory (never a silently missing result). */
/* The ranking confusion of the pooled cosine score against the pooled drop into r (ranks,
 * matrix, misjudged and major-misjudged shares); drop_rep (B, n_units) are the bootstrap
 * replicates of the pooled drops (paired: the same resampled items for every unit). */
abl_status study_confusion(study_result *r, const double *drop_rep, int B, abl_err *err);

/* The task-dependence test into r: per task z-score relevance and the cosine score across
 * units, per unit the spread (sample sd) of each across tasks, and the Wilcoxon signed-rank
 * test of spread(relevance) - spread(cosine) over units. Tasks: intact accuracy clearly above
 * chance. Fewer than 2 such tasks: n/a. */
abl_status study_task_dependence(study_result *r, abl_err *err);

/* Leave-one-unit-out robustness of every correlation of r (tasks and pooled): without block 0
 * and without the most influential unit. Point estimates only. */
void study_robustness(study_result *r);

/* Every CI of r: resample items within each task n_boot times (seeded), re-estimate, take
 * percentile 95% intervals (counting undefined replicates; none next to an undefined point
 * estimate). Drops of tasks with 0/1 hits get Newcombe's paired Wilson interval instead. Returns ABL_E_NOMEM on allocation failure. */
abl_status study_bootstrap(study_result *r, const study_raw *raw, uint64_t seed, abl_err *err);

/* Headline hits of one item under metric (and its weight: scored tokens for next-token
 * accuracy, else 1); *name gets the metric's name ("acc", "acc_norm", "mc2", "token_acc"). */
void study_item_hits(const ev_task *t, study_metric metric, const ev_item_score *sc, double *hit,
                     double *w, const char **name);

/* The cosine hook: saves the residual entering each unit (resid_pre, or resid_mid for MLP
 * units) and, where the unit's output appears, adds 1 - cos(in, out) of every row to the
 * owning item's sum (cos_sum may be NULL: totals only, into tot_sum (L)) and the last-context-
 * row angular distance to ang (may be NULL). */
typedef struct {
    int L, D;
    study_unit unit;
    float *save;            /* (L, T, D) residual entering each unit, this batch */
    size_t stride;          /* T * D */
    const int32_t *last_row;/* (n_seq) last context row of each sequence */
    double *row_cos;        /* (T) scratch */
    double *cos_sum;        /* (n_items, L) task-global, or NULL */
    double *ang;            /* (n_items, L) task-global, or NULL */
    double *tot_sum;        /* (L) sum over all rows, or NULL */
    double *tot_n;          /* (L) rows counted, or NULL */
} cos_hook;

void study_cos_hook(void *user, int l, hook_point p, float *x, const fwd_batch *b);

/* ---- the resume sweep (sweep.c): shared by the study and greedy pruning ------------------- */

/* One packed batch through a model with some blocks removed (removed, or none): a base pass
 * with the cosine hook caching the residual entering every block, then one pass per unit of
 * units[] (blocks or sub-blocks, per unit) with that unit also removed, resuming from the
 * cached residual (or, with no_resume, a full pass: the slow reference). Scratch grows as
 * needed and is kept between batches. */
typedef struct {
    model *m;
    int L, D;
    study_unit unit;
    bool no_resume;
    volatile int *stop;         /* polled before every pass: nonzero -> ABL_E_INTERRUPTED */
    float *save;                /* (L, T, D) residual entering each block (scratch) */
    size_t save_cap;
    double *row_cos;            /* (T) */
    int32_t *last_row;          /* (n_seq) */
    size_t cap_tok, cap_seq;
    /* KL baseline: the base pass's distributions of this batch's scored rows, kept only while
     * the batch's removals run (at most n_score x V floats) */
    float *kl_p;                /* (n_score, V) */
    double *kl_h, *kl_row;      /* (n_score) sum p log p; one pass's KL per row */
    size_t cap_klp, cap_klh, cap_klr;
    double *stats;              /* (L, T, 3) block statistics of the base pass (unit block) */
    size_t stats_cap;
} study_sweep;

/* Per-batch inputs and outputs of one sweep. after(user, v, err) is called after every pass:
 * v = 0 the base pass, v = 1 + i the pass with units[i] removed; it reads the logits through
 * ev_accumulate and may fail. Statistics of the base pass: cos_sum and ang (n_items, L) per
 * item (rows of fb's items are zeroed first), tot_sum and tot_n (L) totals; any may be NULL;
 * with all NULL and n_units 0 no hook runs. */
typedef struct {
    const uint8_t *removed;     /* (L) skipped in every pass, or NULL */
    const int *units;           /* (n_units) blocks removed one at a time */
    int n_units;
    double *cos_sum, *ang, *tot_sum, *tot_n;
    double *kl;                 /* (n_units, kl_items) per item the sum over its scored rows of
                                   KL(base || unit removed), full vocabulary (rows of fb's items
                                   zeroed first); NULL = not measured (CPU only) */
    int kl_items;
    abl_status (*after)(void *user, int v, abl_err *err);
    void *user;
} study_sweep_job;

abl_status study_sweep_batch(study_sweep *sw, ev_batch *eb, const study_sweep_job *job,
                             abl_err *err);
/* 2 x multiply-adds of the passes study_sweep_batch runs on fb for a job without removed
 * blocks (the --estimate cost model), and of one pass through blocks [first, L). */
double study_sweep_flops(const study_sweep *sw, const fwd_batch *fb, const int *units, int n);
double study_pass_flops(const hf_config *g, const fwd_batch *fb, int first);
void study_sweep_free(study_sweep *sw);

/* ---- configuration (config.c) ------------------------------------------------------------- */

/* "0-9,20" -> sorted unique blocks in [0, L) (NULL or "all" = every block). */
abl_status study_parse_layers(const char *s, int L, int *out, int *n, abl_err *err);
/* Name of a unit kind: "block", "attn", "mlp". */
const char *study_unit_name(study_unit u);

/* ---- work units (unit.c) ------------------------------------------------------------------ */

/* The journals of a run directory: this process's own (journal.tsv, or its shard's
 * journal.shard-I-of-N.tsv) plus every other journal there, read-only. */
typedef struct study_store study_store;

/* Open the run directory dir for config (the fingerprint text): config.txt is created
 * race-free by whoever comes first (temp file + link, never overwritten) and compared by
 * everyone else; another configuration is ABL_E_STATE, directory untouched. shard < 0: the
 * main journal; else journal.shard-SHARD-of-N.tsv. Every other journal in dir is loaded
 * read-only (one of another configuration: ABL_E_STATE). */
abl_status study_store_open(study_store **out, const char *dir, const char *config, int shard,
                            int n_shards, abl_err *err);
/* Reload the other journals (other shards may have finished since). */
abl_status study_store_refresh(study_store *st, abl_err *err);
const char *study_store_find(const study_store *st, const char *key);
/* Shard counts N of the shard journals present (sorted, unique); returns how many (<= cap). */
int study_store_shard_counts(const study_store *st, int *ns, int cap);
void study_store_close(study_store *st);

/* The study's state shared by its files. */
typedef struct {
    const study_opts *o;
    model *m;
    study_store *store;         /* NULL: no run directory */
    const char *dir;            /* run directory or NULL */
    int L, D, n_units;
    const int *unit_layer;
    int units_new, units_resumed, units_total, units_missing;
    study_sweep sw;
    char *payload;
    size_t payload_cap;
    /* shards: owner of every unit (phase 1 then the pruning passes); my = this process's
     * shard, or -1 (every unit is this process's, unless no_compute) */
    int my;
    int *owner;                 /* (n_all) or NULL */
    uint8_t *missing;           /* (n_all) units found missing, or NULL */
    int n_all;                  /* units of the whole study, both phases */
    int *off1, *off2, *nb;      /* (n_tasks) first unit index of each task's sweep and pruning
                                 * units; its batches */
    int prune_K;                /* pruning steps (0 = none) */
    /* the run's progress: tokens x passes of every unit, one ETA (progress on, no estimate) */
    ev_progress pr;
    bool show;
    long long work_total;
    /* estimate mode: the one timed work unit */
    double probe_s, probe_flops, probe_cpu; /* probe_cpu: process CPU-s of the timed unit */
    long long probe_tok;
} study_ctx;

/* One work unit: state after study_unit_do */
typedef enum { UNIT_RESUMED, UNIT_COMPUTED, UNIT_MISSING } study_unit_state;

/* How to make one unit's result: compute it into the caller's buffers, encode those as one
 * line (NULL = out of memory; the buffer is c->payload), or decode a journaled line into
 * them (0 = ok, -1 = does not match). */
typedef struct {
    abl_status (*compute)(study_ctx *c, void *user, abl_err *err);
    const char *(*encode)(study_ctx *c, void *user);
    int (*decode)(study_ctx *c, void *user, const char *payload);
} study_unit_ops;

/* Work unit u (global index) named key: decode its journaled result; else, when it is this
 * process's (study_unit_mine), compute, encode and append it; else count it missing (and mark
 * c->missing[u]). Counts units, honours the stop flag and stop_after_units. */
abl_status study_unit_do(study_ctx *c, const char *key, int u, const study_unit_ops *ops,
                         void *user, study_unit_state *state, abl_err *err);

/* Is unit u (global index) this process's to compute? */
bool study_unit_mine(const study_ctx *c, int u);

/* ---- shards (shard.c) --------------------------------------------------------------------- */

/* Deterministic balanced assignment of n units (cost[i] >= 0) to n_shards: longest processing
 * time first (cost descending, ties by index), each to the least loaded shard (ties: lowest
 * shard). owner (n) gets 0..n_shards-1; load (n_shards, may be NULL) the summed cost. The
 * same inputs give the same owners on every machine. ABL_E_NOMEM only. */
abl_status study_shard_assign(const double *cost, int n, int n_shards, int *owner, double *load,
                              abl_err *err);

/* ---- one task and the pruning curves (study_task.c) --------------------------------------- */

/* Every sweep unit of task t (index ti): decoded, computed (when mine) or missing; when none
 * is missing, raw gets the per-item measurements and T the estimates. Estimate mode: the cost
 * of every unit and one timed unit only. */
abl_status study_task_run(study_ctx *c, const ev_task *t, int ti, int n_tasks, study_raw *raw,
                          study_task_res *T, abl_err *err);
/* The one-shot pruning curves over every task (r->pooled known): units decoded, computed
 * when mine, or missing (then r->prune_k stays 0). */
abl_status study_prune_curves(study_ctx *c, ev_task **tasks, int n_tasks, study_result *r,
                              abl_err *err);
/* Cost of every unit of task t (phase 1 into cost1[nb], pruning passes into cost2[2 K nb],
 * ordered curve, step, batch); *nb = its batches (cost arrays NULL: count only); *n_tok (may
 * be NULL) = tokens of one pass over the task. */
abl_status study_task_costs(study_ctx *c, const ev_task *t, double *cost1, double *cost2,
                            int *nb, long long *n_tok, abl_err *err);
void study_raw_free(study_raw *r);

/* Scratch that only grows: returns p when *cap >= need, else frees p and returns a fresh
 * malloc of need elements of elt bytes (contents not kept), setting *cap to need, or to 0 with
 * NULL returned when out of memory. The caller owns the result (free). Not thread-safe on one
 * buffer. */
void *study_reserve(void *p, size_t *cap, size_t need, size_t elt);

/* Allocate / free the per-unit arrays of a task result. */
abl_status study_task_alloc(study_task_res *T, int n_units);
void study_task_free(study_task_res *T);

#endif
