/* study/prune.h - greedy block pruning: rank the remaining blocks by a metric on a calibration
 * half of each task's items, remove the least important, re-rank; held-out accuracy per step. */
#ifndef PRUNE_H
#define PRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/abl.h"
#include "report.h"
#include "study.h"

typedef enum { PRUNE_ACCURACY = 0, PRUNE_COSINE, PRUNE_COSINE_ITER, PRUNE_METRIC_COUNT } prune_metric;

typedef struct {
    const char *model_dir;
    const char *data_dir;       /* NULL = data/tasks */
    const char *calib;          /* comma list of tasks ranked on (their even-position items) */
    const char *eval;           /* comma list of tasks reported (their odd-position items) */
    int limit;                  /* items per task before the split; <= 0 all */
    int blocks;                 /* K blocks to remove, >= 1 and < L */
    bool use[PRUNE_METRIC_COUNT];
    study_metric metric;        /* accuracy metric override (acc / acc_norm) */
    int threads;
    int device;
    uint64_t seed;
    int batch_tokens;
    bool progress;
    volatile int *stop;         /* polled between passes -> ABL_E_INTERRUPTED */
} prune_opts;

/* Defaults: the default model, piqa,arc_easy for both splits, K = 8, all three metrics. */
prune_opts prune_opts_default(void);

const char *prune_metric_name(prune_metric m); /* "accuracy", "cosine", "cosine-iter" */

/* Run every metric in o->use: curves[k] gets the removal order, calibration accuracy and
 * held-out accuracy (mean over the eval tasks' headline accuracies) after each step;
 * *n_curves the number filled. Deterministic. Errors: bad task lists or K (ABL_E_ARG),
 * loading, ABL_E_INTERRUPTED. */
abl_status prune_run(const prune_opts *o, report_curve *curves, int *n_curves, abl_err *err);

#endif
