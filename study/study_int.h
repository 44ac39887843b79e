/* study/study_int.h - internals shared by the study's files: the raw per-item measurements of a
 * task (what the journal stores) and the estimators computed from them. */
#ifndef STUDY_INT_H
#define STUDY_INT_H

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

/* Mark the tasks pooled by default (clearly above chance, one metric type: multiple choice,
 * else next-token) or every task (all); write the rule into r->pool_rule. Needs the tasks'
 * metric and near_chance. */
void study_choose_pool(study_result *r, bool all);

/* The ranking confusion of the pooled cosine score against the pooled drop into r (ranks,
 * matrix, misjudged and major-misjudged shares); drop_rep (B, n_units) are the bootstrap
 * replicates of the pooled drops (paired: the same resampled items for every unit). */
void study_confusion(study_result *r, const double *drop_rep, int B);

/* The task-dependence test into r: per task z-score relevance and the cosine score across
 * units, per unit the spread (sample sd) of each across tasks, and the Wilcoxon signed-rank
 * test of spread(relevance) - spread(cosine) over units. Tasks: intact accuracy clearly above
 * chance. Fewer than 2 such tasks: n/a. */
void study_task_dependence(study_result *r);

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

/* Scratch that only grows: returns p when *cap >= need, else frees p and returns a fresh
 * malloc of need elements of elt bytes (contents not kept), setting *cap to need, or to 0 with
 * NULL returned when out of memory. The caller owns the result (free). Not thread-safe on one
 * buffer. */
void *study_reserve(void *p, size_t *cap, size_t need, size_t elt);

/* Allocate / free the per-unit arrays of a task result. */
abl_status study_task_alloc(study_task_res *T, int n_units);
void study_task_free(study_task_res *T);

#endif
