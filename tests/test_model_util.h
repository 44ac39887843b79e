/* tests/test_model_util.h - shared by the engine tests (tests/test_model*.c): reading golden
 * files written by tools/golden/forward.py, comparing a model with them, batch builders, hooks. */
#ifndef TEST_MODEL_UTIL_H
#define TEST_MODEL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/model_int.h"
#include "t.h"

#define TINY_DIR "tests/fixtures/tiny"
#define TINY_QWEN_DIR "tests/fixtures/tiny-qwen"
#define REAL_DIR "models/smollm2-135m-instruct"

#define G_MAX_SEQ 8
#define G_MAX_LEN 256
#define G_MAX_SCORE 1024
#define G_MAX_RES 64
#define G_MAX_SKIP 4096

typedef struct {
    int n_seq, len[G_MAX_SEQ];
    int32_t ids[G_MAX_SEQ][G_MAX_LEN];
    int n_score;
    int sc_seq[G_MAX_SCORE], sc_row[G_MAX_SCORE], sc_tgt[G_MAX_SCORE], sc_top1[G_MAX_SCORE];
    double sc_lp[G_MAX_SCORE];
    int n_res, d;
    int res_seq[G_MAX_RES], res_layer[G_MAX_RES], res_pos[G_MAX_RES];
    float *res;              /* (n_res, d) */
    int n_skip;              /* "skip LAYER S ROW TARGET LP" records (tools/golden/hf_arch_golden.py) */
    int *sk_layer, *sk_seq, *sk_row, *sk_tgt;   /* (G_MAX_SKIP) */
    double *sk_lp;                              /* (G_MAX_SKIP) */
} golden;

/* Parse a golden file for a model of width d; NULL (with a failure recorded) on any problem. */
golden *golden_load(tctx *t, const char *path, int d);
void golden_free(golden *g); /* NULL-safe */

/* The golden's sequences packed into one batch with its scored rows (b is initialised here;
 * the caller frees it). 0 on NOMEM. */
int golden_batch(const golden *g, fwd_batch *b);

/* Log-probs with block `layer` skipped against the golden's skip records for it: returns the
 * max |lp - golden| over them (-1 on error, recorded) and sets *n to how many there were. */
double golden_skip_diff(tctx *t, model *m, const golden *g, int layer, int *n);

/* Run the golden's batch on m: returns max |lp - golden lp| (-1 on error, recorded), sets
 * *res_diff to the worst residual difference relative to its row's largest magnitude and
 * *top1_bad to the number of top-1 flags that disagree. */
double golden_diff(tctx *t, model *m, const golden *g, double *res_diff, int *top1_bad);

/* model_load with `threads`; NULL (failure recorded) on error. */
model *load(tctx *t, const char *dir, int threads);

/* 1 when the real model folder is there, else marks the test skipped and returns 0. */
int have_real_model(tctx *t);

/* Load dir with the default kernels and compare with the golden at gpath. */
void check_golden(tctx *t, const char *dir, const char *gpath, double tol_lp, double tol_res,
                  int threads);

/* Teacher-forced batch over the golden's sequences: every row scored with the next id. */
int teacher_batch(const golden *g, fwd_batch *b);

/* A hook that copies x at (layer, point) into buf (n floats). */
typedef struct {
    int layer;
    hook_point point;
    float *buf; /* (T, D) */
    size_t n;
} grab;
void grab_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b);

/* Packed prefix + 4 branches vs the 4 sequences prefix+branch: log-probs within tol. */
void check_packed(tctx *t, model *m, const int32_t *prefix, int np, const int32_t *br[4],
                  const int nb[4], double tol);

/* Log-softmax of logits (V) at tgt, in double. */
double log_softmax_at(const float *logits, int V, int tgt);

#endif
