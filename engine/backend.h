/* engine/backend.h - one table of ops over backend buffers, so that the block, the scoring and
 * the hooks are written once (engine/forward.c) for every backend: the CPU (engine/backend_cpu.c:
 * kern_table + the thread pool, buffers are host memory) and CUDA (engine/backend_cuda.c:
 * kernels_cuda, buffers are device memory). Legend: L blocks, D model width, H heads, Hkv kv
 * heads, Dh head dim, F FFN width, V vocabulary, T tokens, Q = H*Dh, KV = Hkv*Dh. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"
#include "../kernels/kernels.h"

typedef struct backend backend;

/* A weight W (N, K) in the backend's own form: the CPU's packed kweight, or CUDA's device copy
 * in the Hugging Face layout (row n = output feature n). */
typedef struct {
    const void *h; /* const kweight * (CPU) or const float * on the device (CUDA) */
    int n, k;
} be_mat;

/* One block's weights in backend memory; vectors NULL when the model has none. */
typedef struct {
    const float *attn_norm, *mlp_norm;           /* (D) */
    be_mat wq, wk, wv, wo;                       /* (Q, D), (KV, D), (KV, D), (D, Q) */
    be_mat wg, wu, wd;                           /* (F, D), (F, D), (D, F) */
    const float *bq, *bk, *bv, *bo;              /* (Q), (KV), (KV), (D) or NULL */
    const float *bg, *bu, *bd;                   /* (F), (F), (D) or NULL */
} be_block;

/* The ops. Every pointer argument is backend memory unless it says host. Each returns ABL_OK
 * or fills err (the CPU never fails; CUDA reports launch and API errors, ABL_E_NOMEM).
 * Shapes and aliasing are those of kernels/kernels.h and kernels_cuda/kernels_cuda.h. */
typedef struct {
    const char *name;
    /* Scratch for t tokens and s scored rows (grows, never shrinks); refreshes the scratch
     * pointers of the backend struct. */
    abl_status (*reserve)(backend *be, int t, int s, abl_err *err);
    /* host -> backend, backend -> host (waits for queued work), backend -> backend */
    abl_status (*put)(backend *be, void *dst, const void *host_src, size_t bytes, abl_err *err);
    abl_status (*get)(backend *be, void *host_dst, const void *src, size_t bytes, abl_err *err);
    abl_status (*copy)(backend *be, void *dst, const void *src, size_t bytes, abl_err *err);
    /* y (m, N) = x (m, K) . W^T */
    abl_status (*matmul)(backend *be, float *y, const float *x, const be_mat *w, int m,
                         abl_err *err);
    abl_status (*rmsnorm)(backend *be, float *y, const float *x, const float *g, int m, int d,
                          float eps, abl_err *err);
    /* in place on x (t, nh*Dh) at positions pos (t), with the backend's rope tables */
    abl_status (*rope)(backend *be, float *x, int t, int nh, int dh, const int32_t *pos,
                       abl_err *err);
    abl_status (*swiglu)(backend *be, float *out, const float *gate, const float *up, size_t n,
                         abl_err *err);
    abl_status (*add)(backend *be, float *y, const float *x, size_t n, abl_err *err);
    /* y (rows, n) += bias (n) on every row */
    abl_status (*add_bias)(backend *be, float *y, const float *bias, int rows, int n,
                           abl_err *err);
    abl_status (*attention)(backend *be, float *out, const float *q, const float *k,
                            const float *v, const k_span *span, int t, int h, int hkv, int dh,
                            abl_err *err);
    /* x (t, D) = the backend's embedding rows ids (t) */
    abl_status (*embed)(backend *be, float *x, const int32_t *ids, int t, abl_err *err);
    /* dst (n, d) = rows `rows` (n) of src */
    abl_status (*gather_rows)(backend *be, float *dst, const float *src, const int32_t *rows,
                              int n, int d, abl_err *err);
    /* lp[r] = logits[r][tgt[r]] - logsumexp(row r), top1[r] = that logit is the row's maximum */
    abl_status (*logsoftmax_gather)(backend *be, float *lp, uint8_t *top1, const float *logits,
                                    const int32_t *tgt, int rows, int v, abl_err *err);
    /* sums (rows, 3) double: per row dot(a, b), |a|^2, |b|^2 over d */
    abl_status (*dot3)(backend *be, double *sums, const float *a, const float *b, int rows,
                       int d, abl_err *err);
    /* wait for queued work and report what failed while it ran */
    abl_status (*sync)(backend *be, abl_err *err);
} be_ops;

/* A backend: its ops, its copy of the weights, and its scratch (set by ops->reserve). */
struct backend {
    const be_ops *ops;
    void *ctx;                  /* the backend's own state */
    bool host;                  /* buffers are host memory: hooks read them in place */
    int head_chunk;             /* scored rows per head matmul */
    /* weights */
    const be_block *blk;        /* (L) */
    be_mat head;                /* (V, D) */
    const float *final_norm;    /* (D) */
    /* scratch, valid for cap tokens and score_cap scored rows after reserve */
    int cap, score_cap;
    float *x, *xn, *sub, *pre;  /* (cap, D); pre: a block's input kept for block statistics */
    float *q, *att;             /* (cap, Q) */
    float *k, *v;               /* (cap, KV) */
    float *gate, *up;           /* (cap, F) */
    int32_t *ids, *pos;         /* (cap) */
    k_span *span;               /* (cap) */
    k_span *span_w;             /* (cap) the spans under a sliding window (model_layer_span) */
    int32_t *score_row, *score_tgt; /* (score_cap) */
    float *score_lp;            /* (score_cap) */
    uint8_t *score_top1;        /* (score_cap) */
    float *head_x;              /* (head_chunk, D) */
    float *logits;              /* (head_chunk, V) */
    double *stats;              /* (cap, 3): one block's statistics */
    /* host buffers for hooks and top-k on a device backend (NULL on the CPU) */
    float *h_x, *h_ref;         /* (cap, D) */
    float *h_logits;            /* (head_chunk, V) */
};

#endif
