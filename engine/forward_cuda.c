/* engine/forward_cuda.c - the forward pass on an NVIDIA GPU through kernels_cuda.h: weights
 * uploaded once, the same blocks, skips, resume, hooks and row-by-row log-probs as forward.c.
 * Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim, F FFN width,
 * V vocabulary, T tokens in a batch, Q = H*Dh, KV = Hkv*Dh.
 * Plain C on the kc_ API: in a CPU-only build kernels_cuda/cuda_stub.c answers every call
 * with ABL_E_DEVICE, so model_cuda_attach fails cleanly and nothing else is reached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels_cuda/kernels_cuda.h"
#include "model_int.h"

/* Rows of the head matmul at once: the (CU_HEAD_CHUNK, V) logits buffer on the device. */
#define CU_HEAD_CHUNK 256

/* Device weights of one block, Hugging Face layout (row n = output feature n). */
typedef struct {
    float *attn_norm, *mlp_norm;  /* (D) */
    float *wq, *wk, *wv, *wo;     /* (Q, D), (KV, D), (KV, D), (D, Q) */
    float *wg, *wu, *wd;          /* (F, D), (F, D), (D, F) */
    float *bq, *bk, *bv, *bo;     /* (Q), (KV), (KV), (D) or NULL */
    float *bg, *bu, *bd;          /* (F), (F), (D) or NULL */
} cu_block;

struct model_backend {
    cu_block *blk;                /* (L) */
    float *embed;                 /* (V, D) */
    float *head;                  /* (V, D); == embed when tied */
    float *final_norm;            /* (D) */
    float *rope_cos, *rope_sin;   /* (rope_len, Dh/2) */
    /* per-batch scratch on the device, grown to cap tokens */
    int cap;
    float *x, *xn, *sub, *pre;    /* (cap, D); pre: resid_pre copy for stats */
    float *q, *att;               /* (cap, Q) */
    float *k, *v;                 /* (cap, KV) */
    float *gate, *up;             /* (cap, F) */
    int32_t *ids, *pos;           /* (cap) */
    k_span *span;                 /* (cap) */
    double *stats;                /* (L, cap, 3) */
    /* scoring */
    int score_cap;
    int32_t *score_row, *score_tgt; /* (score_cap) */
    float *score_lp;              /* (score_cap) */
    uint8_t *score_top1;          /* (score_cap) */
    float *head_x;                /* (CU_HEAD_CHUNK, D) */
    float *logits;                /* (CU_HEAD_CHUNK, V) */
    /* host copies for hooks, (cap, D) each */
    float *h_x, *h_ref;
};

/* ---- upload ------------------------------------------------------------------------------ */

/* *dst = a device copy of n floats from host src (NULL src leaves *dst NULL). */
static abl_status cu_put(float **dst, const float *src, size_t n, abl_err *err)
{
    *dst = NULL;
    if (!src)
        return ABL_OK;
    abl_status s = kc_malloc((void **)dst, n * sizeof(float), err);
    if (!s)
        s = kc_upload(*dst, src, n * sizeof(float), err);
    return s;
}

/* A (rows, cols) matrix read from the checkpoint (any float dtype) onto the device. */
static abl_status cu_put_tensor(model *m, float **dst, const char *name, int rows, int cols,
                                abl_err *err)
{
    *dst = NULL;
    const st_tensor *t = st_find(m->st, name);
    if (!t || t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return abl_fail(err, ABL_E_SHAPE, "model.safetensors: expected tensor '%s' of shape "
                        "(%d, %d) for the CUDA upload, found %s", name, rows, cols,
                        t ? "another shape" : "none");
    const float *data;
    float *owned = NULL;
    abl_status s = st_read_f32(t, &data, &owned, err);
    if (!s)
        s = cu_put(dst, data, (size_t)rows * (size_t)cols, err);
    free(owned);
    return s;
}

static abl_status cu_put_block(model *m, int l, abl_err *err)
{
    const hf_config *c = &m->cfg;
    const model_block *hb = &m->blocks[l];
    cu_block *b = &m->backend->blk[l];
    int D = c->d_model, F = c->d_ff, Q = c->n_heads * c->head_dim;
    int KV = c->n_kv_heads * c->head_dim;
    char nm[7][160];
    static const char *const sfx[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                       "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                       "mlp.down_proj"};
    for (int i = 0; i < 7; i++)
        snprintf(nm[i], sizeof nm[i], "model.layers.%d.%s.weight", l, sfx[i]);
    abl_status s;
    if ((s = cu_put(&b->attn_norm, hb->attn_norm, (size_t)D, err)) ||
        (s = cu_put(&b->mlp_norm, hb->mlp_norm, (size_t)D, err)) ||
        (s = cu_put_tensor(m, &b->wq, nm[0], Q, D, err)) ||
        (s = cu_put_tensor(m, &b->wk, nm[1], KV, D, err)) ||
        (s = cu_put_tensor(m, &b->wv, nm[2], KV, D, err)) ||
        (s = cu_put_tensor(m, &b->wo, nm[3], D, Q, err)) ||
        (s = cu_put_tensor(m, &b->wg, nm[4], F, D, err)) ||
        (s = cu_put_tensor(m, &b->wu, nm[5], F, D, err)) ||
        (s = cu_put_tensor(m, &b->wd, nm[6], D, F, err)) ||
        (s = cu_put(&b->bq, hb->bq, (size_t)Q, err)) ||
        (s = cu_put(&b->bk, hb->bk, (size_t)KV, err)) ||
        (s = cu_put(&b->bv, hb->bv, (size_t)KV, err)) ||
        (s = cu_put(&b->bo, hb->bo, (size_t)D, err)) ||
        (s = cu_put(&b->bg, hb->bg, (size_t)F, err)) ||
        (s = cu_put(&b->bu, hb->bu, (size_t)F, err)) ||
        (s = cu_put(&b->bd, hb->bd, (size_t)D, err)))
        return s;
    return ABL_OK;
}

static void cu_scratch_free(model_backend *mb)
{
    float *f[] = {mb->x, mb->xn, mb->sub, mb->pre, mb->q, mb->att, mb->k, mb->v, mb->gate, mb->up};
    for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
        kc_free(f[i]);
    kc_free(mb->ids);
    kc_free(mb->pos);
    kc_free(mb->span);
    kc_free(mb->stats);
    free(mb->h_x);
    free(mb->h_ref);
    mb->x = mb->xn = mb->sub = mb->pre = mb->q = mb->att = mb->k = mb->v = NULL;
    mb->gate = mb->up = mb->h_x = mb->h_ref = NULL;
    mb->ids = mb->pos = NULL;
    mb->span = NULL;
    mb->stats = NULL;
    mb->cap = 0;
}

static void cu_scores_free(model_backend *mb)
{
    kc_free(mb->score_row);
    kc_free(mb->score_tgt);
    kc_free(mb->score_lp);
    kc_free(mb->score_top1);
    mb->score_row = mb->score_tgt = NULL;
    mb->score_lp = NULL;
    mb->score_top1 = NULL;
    mb->score_cap = 0;
}

void model_cuda_detach(model *m)
{
    model_backend *mb = m ? m->backend : NULL;
    if (!mb)
        return;
    if (mb->blk)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            cu_block *b = &mb->blk[l];
            float *f[] = {b->attn_norm, b->mlp_norm, b->wq, b->wk, b->wv, b->wo, b->wg, b->wu,
                          b->wd, b->bq, b->bk, b->bv, b->bo, b->bg, b->bu, b->bd};
            for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
                kc_free(f[i]);
        }
    free(mb->blk);
    if (mb->head != mb->embed)
        kc_free(mb->head);
    kc_free(mb->embed);
    kc_free(mb->final_norm);
    kc_free(mb->rope_cos);
    kc_free(mb->rope_sin);
    kc_free(mb->head_x);
    kc_free(mb->logits);
    cu_scratch_free(mb);
    cu_scores_free(mb);
    free(mb);
    m->backend = NULL;
}

abl_status model_cuda_attach(model *m, int ordinal, abl_err *err)
{
    abl_status s = kc_init(ordinal, err);
    if (s)
        return s;
    model_cuda_detach(m);
    const hf_config *c = &m->cfg;
    int L = c->n_layers, D = c->d_model, V = c->vocab;
    model_backend *mb = calloc(1, sizeof *mb);
    if (mb)
        mb->blk = calloc((size_t)L, sizeof *mb->blk);
    if (!mb || !mb->blk) {
        free(mb);
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the CUDA backend");
    }
    m->backend = mb; /* from here on, detach frees whatever was uploaded */
    const st_tensor *lm_head = st_find(m->st, "lm_head.weight");
    bool tied = c->tie_embeddings || !lm_head;
    size_t half = (size_t)c->head_dim / 2;
    if ((s = cu_put(&mb->embed, m->embed, (size_t)V * D, err)) ||
        (s = cu_put(&mb->final_norm, m->final_norm, (size_t)D, err)) ||
        (s = cu_put(&mb->rope_cos, m->rope_cos, (size_t)m->rope_len * half, err)) ||
        (s = cu_put(&mb->rope_sin, m->rope_sin, (size_t)m->rope_len * half, err)) ||
        (s = kc_malloc((void **)&mb->head_x, (size_t)CU_HEAD_CHUNK * D * sizeof(float), err)) ||
        (s = kc_malloc((void **)&mb->logits, (size_t)CU_HEAD_CHUNK * V * sizeof(float), err)))
        goto fail;
    if (tied)
        mb->head = mb->embed;
    else if ((s = cu_put_tensor(m, &mb->head, "lm_head.weight", V, D, err)))
        goto fail;
    for (int l = 0; l < L; l++)
        if ((s = cu_put_block(m, l, err)))
            goto fail;
    if ((s = kc_sync(err)))
        goto fail;
    return ABL_OK;
fail:
    model_cuda_detach(m);
    abl_wrap(err, "uploading the model to the GPU");
    return s;
}

/* ---- per-batch buffers --------------------------------------------------------------------- */

static abl_status cu_reserve(model *m, int T, abl_err *err)
{
    model_backend *mb = m->backend;
    if (T <= mb->cap)
        return ABL_OK;
    const hf_config *c = &m->cfg;
    size_t n = (size_t)T, D = (size_t)c->d_model, F = (size_t)c->d_ff;
    size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    size_t fl = sizeof(float);
    cu_scratch_free(mb);
    abl_status s;
    if ((s = kc_malloc((void **)&mb->x, n * D * fl, err)) ||
        (s = kc_malloc((void **)&mb->xn, n * D * fl, err)) ||
        (s = kc_malloc((void **)&mb->sub, n * D * fl, err)) ||
        (s = kc_malloc((void **)&mb->pre, n * D * fl, err)) ||
        (s = kc_malloc((void **)&mb->q, n * Q * fl, err)) ||
        (s = kc_malloc((void **)&mb->att, n * Q * fl, err)) ||
        (s = kc_malloc((void **)&mb->k, n * KV * fl, err)) ||
        (s = kc_malloc((void **)&mb->v, n * KV * fl, err)) ||
        (s = kc_malloc((void **)&mb->gate, n * F * fl, err)) ||
        (s = kc_malloc((void **)&mb->up, n * F * fl, err)) ||
        (s = kc_malloc((void **)&mb->ids, n * sizeof(int32_t), err)) ||
        (s = kc_malloc((void **)&mb->pos, n * sizeof(int32_t), err)) ||
        (s = kc_malloc((void **)&mb->span, n * sizeof(k_span), err)) ||
        (s = kc_malloc((void **)&mb->stats, (size_t)c->n_layers * n * 3 * sizeof(double), err))) {
        cu_scratch_free(mb);
        return s;
    }
    mb->h_x = malloc(n * D * fl);
    mb->h_ref = malloc(n * D * fl);
    if (!mb->h_x || !mb->h_ref) {
        cu_scratch_free(mb);
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the hook buffers of %d "
                        "tokens", T);
    }
    mb->cap = T;
    return ABL_OK;
}

static abl_status cu_reserve_scores(model_backend *mb, int n, abl_err *err)
{
    if (n <= mb->score_cap)
        return ABL_OK;
    cu_scores_free(mb);
    size_t k = (size_t)n;
    abl_status s;
    if ((s = kc_malloc((void **)&mb->score_row, k * sizeof(int32_t), err)) ||
        (s = kc_malloc((void **)&mb->score_tgt, k * sizeof(int32_t), err)) ||
        (s = kc_malloc((void **)&mb->score_lp, k * sizeof(float), err)) ||
        (s = kc_malloc((void **)&mb->score_top1, k, err))) {
        cu_scores_free(mb);
        return s;
    }
    mb->score_cap = n;
    return ABL_OK;
}

/* ---- the pass ------------------------------------------------------------------------------ */

/* Run the plan's hook at point p on the device rows dx (T, D): copy to the host, call it, and
 * copy back only when the hook changed the values. */
static abl_status cu_fire(model *m, const run_plan *plan, int l, hook_point p, float *dx,
                          const fwd_batch *b, abl_err *err)
{
    if (!plan || !plan->hook || !(plan->hook_mask & (1u << p)))
        return ABL_OK;
    model_backend *mb = m->backend;
    size_t bytes = (size_t)b->n_tok * (size_t)m->cfg.d_model * sizeof(float);
    abl_status s = kc_download(mb->h_x, dx, bytes, err);
    if (s)
        return s;
    memcpy(mb->h_ref, mb->h_x, bytes);
    plan->hook(plan->hook_user, l, p, mb->h_x, b);
    if (memcmp(mb->h_ref, mb->h_x, bytes) != 0)
        return kc_upload(dx, mb->h_x, bytes, err);
    return ABL_OK;
}

/* y (T, n) += bias when the model has one. */
static abl_status cu_bias(float *y, const float *bias, int T, int n, abl_err *err)
{
    return bias ? kc_add_bias(y, bias, T, n, err) : ABL_OK;
}

/* One block over the batch's T rows of mb->x, in place; the device twin of model_block_run. */
static abl_status cu_block_run(model *m, int l, const run_plan *plan, const fwd_batch *b,
                               bool want_stats, abl_err *err)
{
    const hf_config *c = &m->cfg;
    model_backend *mb = m->backend;
    const cu_block *w = &mb->blk[l];
    int T = b->n_tok, D = c->d_model, F = c->d_ff, H = c->n_heads, Hkv = c->n_kv_heads;
    int Dh = c->head_dim, Q = H * Dh, KV = Hkv * Dh;
    float eps = (float)c->norm_eps;
    size_t TD = (size_t)T * D;
    bool skip_attn = plan && plan->skip_attn && plan->skip_attn[l];
    bool skip_mlp = plan && plan->skip_mlp && plan->skip_mlp[l];
    abl_status s;

    if ((s = cu_fire(m, plan, l, HOOK_RESID_PRE, mb->x, b, err)))
        return s;
    if (want_stats && (s = kc_copy(mb->pre, mb->x, TD * sizeof(float), err)))
        return s;
    if (!skip_attn) {
        if ((s = kc_rmsnorm(mb->xn, mb->x, w->attn_norm, T, D, eps, err)) ||
            (s = kc_matmul(mb->q, mb->xn, w->wq, T, Q, D, 0, err)) ||
            (s = kc_matmul(mb->k, mb->xn, w->wk, T, KV, D, 0, err)) ||
            (s = kc_matmul(mb->v, mb->xn, w->wv, T, KV, D, 0, err)) ||
            (s = cu_bias(mb->q, w->bq, T, Q, err)) ||
            (s = cu_bias(mb->k, w->bk, T, KV, err)) ||
            (s = cu_bias(mb->v, w->bv, T, KV, err)) ||
            (s = kc_rope(mb->q, T, H, Dh, mb->pos, mb->rope_cos, mb->rope_sin, err)) ||
            (s = kc_rope(mb->k, T, Hkv, Dh, mb->pos, mb->rope_cos, mb->rope_sin, err)) ||
            (s = kc_attention(mb->att, mb->q, mb->k, mb->v, mb->span, T, H, Hkv, Dh, err)) ||
            (s = kc_matmul(mb->sub, mb->att, w->wo, T, D, Q, 0, err)) ||
            (s = cu_bias(mb->sub, w->bo, T, D, err)) ||
            (s = cu_fire(m, plan, l, HOOK_ATTN_OUT, mb->sub, b, err)) ||
            (s = kc_add(mb->x, mb->sub, TD, err)))
            return s;
    }
    if ((s = cu_fire(m, plan, l, HOOK_RESID_MID, mb->x, b, err)))
        return s;
    if (!skip_mlp) {
        if ((s = kc_rmsnorm(mb->xn, mb->x, w->mlp_norm, T, D, eps, err)) ||
            (s = kc_matmul(mb->gate, mb->xn, w->wg, T, F, D, 0, err)) ||
            (s = kc_matmul(mb->up, mb->xn, w->wu, T, F, D, 0, err)) ||
            (s = cu_bias(mb->gate, w->bg, T, F, err)) ||
            (s = cu_bias(mb->up, w->bu, T, F, err)) ||
            (s = kc_swiglu(mb->gate, mb->gate, mb->up, (size_t)T * F, err)) ||
            (s = kc_matmul(mb->sub, mb->gate, w->wd, T, D, F, 0, err)) ||
            (s = cu_bias(mb->sub, w->bd, T, D, err)) ||
            (s = cu_fire(m, plan, l, HOOK_MLP_OUT, mb->sub, b, err)) ||
            (s = kc_add(mb->x, mb->sub, TD, err)))
            return s;
    }
    if (want_stats &&
        (s = kc_dot3(mb->stats + (size_t)l * T * 3, mb->pre, mb->x, T, D, err)))
        return s;
    return cu_fire(m, plan, l, HOOK_RESID_POST, mb->x, b, err);
}

/* Log-probs of the scored rows of xs (T, D) (already final-normed when normed), in chunks of
 * CU_HEAD_CHUNK rows: gather, norm, head matmul, log-softmax + gather; one download at the end. */
static abl_status cu_score(model *m, fwd_batch *b, const float *xs, bool normed, abl_err *err)
{
    const hf_config *c = &m->cfg;
    model_backend *mb = m->backend;
    int D = c->d_model, V = c->vocab, n = b->n_score;
    if (n == 0)
        return ABL_OK;
    abl_status s;
    if ((s = cu_reserve_scores(mb, n, err)) ||
        (s = kc_upload(mb->score_row, b->score_row, (size_t)n * sizeof(int32_t), err)) ||
        (s = kc_upload(mb->score_tgt, b->score_tgt, (size_t)n * sizeof(int32_t), err)))
        return s;
    for (int i0 = 0; i0 < n; i0 += CU_HEAD_CHUNK) {
        int k = n - i0 < CU_HEAD_CHUNK ? n - i0 : CU_HEAD_CHUNK;
        if ((s = kc_gather_rows(mb->head_x, xs, mb->score_row + i0, k, D, err)) ||
            (!normed && (s = kc_rmsnorm(mb->head_x, mb->head_x, mb->final_norm, k, D,
                                        (float)c->norm_eps, err))) ||
            (s = kc_matmul(mb->logits, mb->head_x, mb->head, k, V, D, 0, err)) ||
            (s = kc_logsoftmax_gather(mb->score_lp + i0, mb->score_top1 + i0, mb->logits,
                                      mb->score_tgt + i0, k, V, err)))
            return s;
    }
    if ((s = kc_download(b->score_lp, mb->score_lp, (size_t)n * sizeof(float), err)) ||
        (s = kc_download(b->score_top1, mb->score_top1, (size_t)n, err)))
        return s;
    return ABL_OK;
}

abl_status model_forward_cuda(model *m, fwd_batch *b, const run_plan *plan, double *stats,
                              abl_err *err)
{
    const hf_config *c = &m->cfg;
    model_backend *mb = m->backend;
    int T = b->n_tok, D = c->d_model, L = c->n_layers;
    if (!mb)
        return abl_fail(err, ABL_E_DEVICE, "model: expected a model attached to the GPU, found "
                        "none (hint: load it with device cuda)");
    if (T == 0)
        return ABL_OK;
    int l0 = plan ? plan->start_layer : 0;
    size_t TD = (size_t)T * D;
    abl_status s;
    if ((s = cu_reserve(m, T, err)) ||
        (s = kc_upload(mb->ids, b->ids, (size_t)T * sizeof(int32_t), err)) ||
        (s = kc_upload(mb->pos, b->pos, (size_t)T * sizeof(int32_t), err)) ||
        (s = kc_upload(mb->span, b->span, (size_t)T * sizeof(k_span), err)))
        return s;
    if (l0 > 0)
        s = kc_upload(mb->x, plan->resume, TD * sizeof(float), err);
    else
        s = kc_embed(mb->x, mb->embed, mb->ids, T, D, err);
    if (s)
        return s;
    for (int l = l0; l < L; l++)
        if ((s = cu_block_run(m, l, plan, b, stats != NULL, err)))
            return s;
    bool final_hook = plan && plan->hook && (plan->hook_mask & (1u << HOOK_FINAL));
    if (final_hook) {
        if ((s = kc_rmsnorm(mb->xn, mb->x, mb->final_norm, T, D, (float)c->norm_eps, err)) ||
            (s = cu_fire(m, plan, -1, HOOK_FINAL, mb->xn, b, err)) ||
            (s = cu_score(m, b, mb->xn, true, err)))
            return s;
    } else if ((s = cu_score(m, b, mb->x, false, err))) {
        return s;
    }
    if (stats && l0 < L) {
        size_t off = (size_t)l0 * T * 3;
        if ((s = kc_download(stats + off, mb->stats + off, (size_t)(L - l0) * T * 3 *
                             sizeof(double), err)))
            return s;
    }
    return kc_sync(err);
}
