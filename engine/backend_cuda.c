/* engine/backend_cuda.c - the CUDA backend of engine/backend.h: every weight uploaded once (F32,
 * Hugging Face layout), the ops of kernels_cuda.h over device buffers. Plain C on the kc_ API:
 * in a CPU-only build kernels_cuda/cuda_stub.c answers every call with ABL_E_DEVICE, so
 * model_cuda_attach fails cleanly. Legend: L blocks, D model width, H heads, Hkv kv heads,
 * Dh head dim, F FFN width, V vocabulary, T tokens, Q = H*Dh, KV = Hkv*Dh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels_cuda/kernels_cuda.h"
#include "model_int.h"

/* Rows of the head matmul at once: the (CU_HEAD_CHUNK, V) logits buffer on the device. */
#define CU_HEAD_CHUNK 256

/* The backend and everything it owns on the device. */
typedef struct {
    backend be;                   /* first: a backend * is a cu_state * */
    model *m;
    be_block *blk;                /* (L), device pointers */
    float *embed;                 /* (V, D) */
    float *head;                  /* (V, D); == embed when tied */
    float *final_norm;            /* (D) */
    float *rope_cos, *rope_sin;   /* (rope_len, Dh/2) */
} cu_state;

static cu_state *CS(backend *be) { return (cu_state *)be; }

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
static abl_status cu_put_tensor(model *m, be_mat *dst, const char *name, int rows, int cols,
                                abl_err *err)
{
    *dst = (be_mat){NULL, rows, cols};
    const st_tensor *t = st_find(m->st, name);
    if (!t || t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return abl_fail(err, ABL_E_SHAPE, "model.safetensors: expected tensor '%s' of shape "
                        "(%d, %d) for the CUDA upload, found %s", name, rows, cols,
                        t ? "another shape" : "none");
    const float *data;
    float *owned = NULL, *d = NULL;
    abl_status s = st_read_f32(t, &data, &owned, err);
    if (!s)
        s = cu_put(&d, data, (size_t)rows * (size_t)cols, err);
    dst->h = d;
    free(owned);
    return s;
}

static abl_status cu_put_vec(const float **dst, const float *src, size_t n, abl_err *err)
{
    float *d = NULL;
    abl_status s = cu_put(&d, src, n, err);
    *dst = d;
    return s;
}

static abl_status cu_put_block(cu_state *cs, int l, abl_err *err)
{
    model *m = cs->m;
    const hf_config *c = &m->cfg;
    const model_block *hb = &m->blocks[l];
    be_block *b = &cs->blk[l];
    int D = c->d_model, F = c->d_ff, Q = c->n_heads * c->head_dim;
    int KV = c->n_kv_heads * c->head_dim;
    char nm[7][160];
    static const char *const sfx[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                       "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                       "mlp.down_proj"};
    for (int i = 0; i < 7; i++)
        snprintf(nm[i], sizeof nm[i], "model.layers.%d.%s.weight", l, sfx[i]);
    abl_status s;
    if ((s = cu_put_vec(&b->attn_norm, hb->attn_norm, (size_t)D, err)) ||
        (s = cu_put_vec(&b->mlp_norm, hb->mlp_norm, (size_t)D, err)) ||
        (s = cu_put_tensor(m, &b->wq, nm[0], Q, D, err)) ||
        (s = cu_put_tensor(m, &b->wk, nm[1], KV, D, err)) ||
        (s = cu_put_tensor(m, &b->wv, nm[2], KV, D, err)) ||
        (s = cu_put_tensor(m, &b->wo, nm[3], D, Q, err)) ||
        (s = cu_put_tensor(m, &b->wg, nm[4], F, D, err)) ||
        (s = cu_put_tensor(m, &b->wu, nm[5], F, D, err)) ||
        (s = cu_put_tensor(m, &b->wd, nm[6], D, F, err)) ||
        (s = cu_put_vec(&b->bq, hb->bq, (size_t)Q, err)) ||
        (s = cu_put_vec(&b->bk, hb->bk, (size_t)KV, err)) ||
        (s = cu_put_vec(&b->bv, hb->bv, (size_t)KV, err)) ||
        (s = cu_put_vec(&b->bo, hb->bo, (size_t)D, err)) ||
        (s = cu_put_vec(&b->bg, hb->bg, (size_t)F, err)) ||
        (s = cu_put_vec(&b->bu, hb->bu, (size_t)F, err)) ||
        (s = cu_put_vec(&b->bd, hb->bd, (size_t)D, err)))
        return s;
    return ABL_OK;
}

/* ---- scratch --------------------------------------------------------------------------------- */

static void cu_scratch_free(backend *be)
{
    float *f[] = {be->x, be->xn, be->sub, be->pre, be->q, be->att, be->k, be->v, be->gate, be->up};
    for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
        kc_free(f[i]);
    kc_free(be->ids);
    kc_free(be->pos);
    kc_free(be->span);
    kc_free(be->span_w);
    kc_free(be->stats);
    free(be->h_x);
    free(be->h_ref);
    be->x = be->xn = be->sub = be->pre = be->q = be->att = be->k = be->v = NULL;
    be->gate = be->up = be->h_x = be->h_ref = NULL;
    be->ids = be->pos = NULL;
    be->span = be->span_w = NULL;
    be->stats = NULL;
    be->cap = 0;
}

static void cu_scores_free(backend *be)
{
    kc_free(be->score_row);
    kc_free(be->score_tgt);
    kc_free(be->score_lp);
    kc_free(be->score_top1);
    be->score_row = be->score_tgt = NULL;
    be->score_lp = NULL;
    be->score_top1 = NULL;
    be->score_cap = 0;
}

static abl_status cu_reserve(backend *be, int T, int n_score, abl_err *err)
{
    const hf_config *c = &CS(be)->m->cfg;
    abl_status s;
    if (T > be->cap) {
        size_t n = (size_t)T, D = (size_t)c->d_model, F = (size_t)c->d_ff;
        size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
        size_t fl = sizeof(float);
        cu_scratch_free(be);
        if ((s = kc_malloc((void **)&be->x, n * D * fl, err)) ||
            (s = kc_malloc((void **)&be->xn, n * D * fl, err)) ||
            (s = kc_malloc((void **)&be->sub, n * D * fl, err)) ||
            (s = kc_malloc((void **)&be->pre, n * D * fl, err)) ||
            (s = kc_malloc((void **)&be->q, n * Q * fl, err)) ||
            (s = kc_malloc((void **)&be->att, n * Q * fl, err)) ||
            (s = kc_malloc((void **)&be->k, n * KV * fl, err)) ||
            (s = kc_malloc((void **)&be->v, n * KV * fl, err)) ||
            (s = kc_malloc((void **)&be->gate, n * F * fl, err)) ||
            (s = kc_malloc((void **)&be->up, n * F * fl, err)) ||
            (s = kc_malloc((void **)&be->ids, n * sizeof(int32_t), err)) ||
            (s = kc_malloc((void **)&be->pos, n * sizeof(int32_t), err)) ||
            (s = kc_malloc((void **)&be->span, n * sizeof(k_span), err)) ||
            (s = kc_malloc((void **)&be->span_w, n * sizeof(k_span), err)) ||
            (s = kc_malloc((void **)&be->stats, (size_t)c->n_layers * n * 3 * sizeof(double),
                           err))) {
            cu_scratch_free(be);
            return s;
        }
        be->h_x = malloc(n * D * fl);
        be->h_ref = malloc(n * D * fl);
        if (!be->h_x || !be->h_ref) {
            cu_scratch_free(be);
            return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the hook buffers of %d "
                            "tokens", T);
        }
        be->cap = T;
    }
    if (n_score > be->score_cap) {
        size_t k = (size_t)n_score;
        cu_scores_free(be);
        if ((s = kc_malloc((void **)&be->score_row, k * sizeof(int32_t), err)) ||
            (s = kc_malloc((void **)&be->score_tgt, k * sizeof(int32_t), err)) ||
            (s = kc_malloc((void **)&be->score_lp, k * sizeof(float), err)) ||
            (s = kc_malloc((void **)&be->score_top1, k, err))) {
            cu_scores_free(be);
            return s;
        }
        be->score_cap = n_score;
    }
    return ABL_OK;
}

/* ---- the ops ----------------------------------------------------------------------------- */

static abl_status cu_upload(backend *be, void *dst, const void *src, size_t n, abl_err *err)
{
    (void)be;
    return kc_upload(dst, src, n, err);
}

static abl_status cu_download(backend *be, void *dst, const void *src, size_t n, abl_err *err)
{
    (void)be;
    return kc_download(dst, src, n, err);
}

static abl_status cu_copy(backend *be, void *dst, const void *src, size_t n, abl_err *err)
{
    (void)be;
    return kc_copy(dst, src, n, err);
}

static abl_status cu_matmul(backend *be, float *y, const float *x, const be_mat *w, int m,
                            abl_err *err)
{
    (void)be;
    return kc_matmul(y, x, w->h, m, w->n, w->k, 0, err);
}

static abl_status cu_rmsnorm(backend *be, float *y, const float *x, const float *g, int m, int d,
                             float eps, abl_err *err)
{
    (void)be;
    return kc_rmsnorm(y, x, g, m, d, eps, err);
}

static abl_status cu_rope(backend *be, float *x, int t, int nh, int dh, const int32_t *pos,
                          abl_err *err)
{
    return kc_rope(x, t, nh, dh, pos, CS(be)->rope_cos, CS(be)->rope_sin, err);
}

static abl_status cu_swiglu(backend *be, float *out, const float *gate, const float *up,
                            size_t n, abl_err *err)
{
    (void)be;
    return kc_swiglu(out, gate, up, n, err);
}

static abl_status cu_add(backend *be, float *y, const float *x, size_t n, abl_err *err)
{
    (void)be;
    return kc_add(y, x, n, err);
}

static abl_status cu_add_bias(backend *be, float *y, const float *bias, int rows, int n,
                              abl_err *err)
{
    (void)be;
    return kc_add_bias(y, bias, rows, n, err);
}

static abl_status cu_attention(backend *be, float *out, const float *q, const float *k,
                               const float *v, const k_span *span, int t, int h, int hkv, int dh,
                               abl_err *err)
{
    (void)be;
    return kc_attention(out, q, k, v, span, t, h, hkv, dh, err);
}

static abl_status cu_embed(backend *be, float *x, const int32_t *ids, int t, abl_err *err)
{
    return kc_embed(x, CS(be)->embed, ids, t, CS(be)->m->cfg.d_model, err);
}

static abl_status cu_gather_rows(backend *be, float *dst, const float *src, const int32_t *rows,
                                 int n, int d, abl_err *err)
{
    (void)be;
    return kc_gather_rows(dst, src, rows, n, d, err);
}

static abl_status cu_logsoftmax_gather(backend *be, float *lp, uint8_t *top1,
                                       const float *logits, const int32_t *tgt, int rows, int v,
                                       abl_err *err)
{
    (void)be;
    return kc_logsoftmax_gather(lp, top1, logits, tgt, rows, v, err);
}

static abl_status cu_dot3(backend *be, double *sums, const float *a, const float *b, int rows,
                          int d, abl_err *err)
{
    (void)be;
    return kc_dot3(sums, a, b, rows, d, err);
}

static abl_status cu_sync(backend *be, abl_err *err)
{
    (void)be;
    return kc_sync(err);
}

static const be_ops cuda_ops = {
    .name = "cuda",
    .reserve = cu_reserve,
    .put = cu_upload,
    .get = cu_download,
    .copy = cu_copy,
    .matmul = cu_matmul,
    .rmsnorm = cu_rmsnorm,
    .rope = cu_rope,
    .swiglu = cu_swiglu,
    .add = cu_add,
    .add_bias = cu_add_bias,
    .attention = cu_attention,
    .embed = cu_embed,
    .gather_rows = cu_gather_rows,
    .logsoftmax_gather = cu_logsoftmax_gather,
    .dot3 = cu_dot3,
    .sync = cu_sync,
};

/* ---- attach and detach ----------------------------------------------------------------------- */

void model_cuda_detach(model *m)
{
    if (!m || !m->be || m->be == &m->cpu)
        return;
    cu_state *cs = CS(m->be);
    if (cs->blk)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            be_block *b = &cs->blk[l];
            const void *f[] = {b->attn_norm, b->mlp_norm, b->wq.h, b->wk.h, b->wv.h, b->wo.h,
                               b->wg.h, b->wu.h, b->wd.h, b->bq, b->bk, b->bv, b->bo, b->bg,
                               b->bu, b->bd};
            for (size_t i = 0; i < ABL_ARRAY_LEN(f); i++)
                kc_free((void *)f[i]);
        }
    free(cs->blk);
    if (cs->head != cs->embed)
        kc_free(cs->head);
    kc_free(cs->embed);
    kc_free(cs->final_norm);
    kc_free(cs->rope_cos);
    kc_free(cs->rope_sin);
    kc_free(cs->be.head_x);
    kc_free(cs->be.logits);
    free(cs->be.h_logits);
    cu_scratch_free(&cs->be);
    cu_scores_free(&cs->be);
    free(cs);
    m->be = &m->cpu;
}

abl_status model_cuda_attach(model *m, int ordinal, abl_err *err)
{
    abl_status s = kc_init(ordinal, err);
    if (s)
        return s;
    model_cuda_detach(m);
    const hf_config *c = &m->cfg;
    int L = c->n_layers, D = c->d_model, V = c->vocab;
    cu_state *cs = calloc(1, sizeof *cs);
    if (cs)
        cs->blk = calloc((size_t)L, sizeof *cs->blk);
    if (cs && cs->blk)
        cs->be.h_logits = malloc((size_t)CU_HEAD_CHUNK * V * sizeof(float));
    if (!cs || !cs->blk || !cs->be.h_logits) {
        if (cs)
            free(cs->blk);
        free(cs);
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the CUDA backend");
    }
    cs->m = m;
    backend *be = &cs->be;
    be->ops = &cuda_ops;
    be->ctx = cs;
    be->host = false;
    be->head_chunk = CU_HEAD_CHUNK;
    be->blk = cs->blk;
    m->be = be; /* from here on, detach frees whatever was uploaded */
    const st_tensor *lm_head = st_find(m->st, "lm_head.weight");
    bool tied = c->tie_embeddings || !lm_head;
    size_t half = (size_t)c->head_dim / 2;
    if ((s = cu_put(&cs->embed, m->embed, (size_t)V * D, err)) ||
        (s = cu_put(&cs->final_norm, m->final_norm, (size_t)D, err)) ||
        (s = cu_put(&cs->rope_cos, m->rope_cos, (size_t)m->rope_len * half, err)) ||
        (s = cu_put(&cs->rope_sin, m->rope_sin, (size_t)m->rope_len * half, err)) ||
        (s = kc_malloc((void **)&be->head_x, (size_t)CU_HEAD_CHUNK * D * sizeof(float), err)) ||
        (s = kc_malloc((void **)&be->logits, (size_t)CU_HEAD_CHUNK * V * sizeof(float), err)))
        goto fail;
    be->final_norm = cs->final_norm;
    if (tied) {
        cs->head = cs->embed;
        be->head = (be_mat){cs->head, V, D};
    } else if ((s = cu_put_tensor(m, &be->head, "lm_head.weight", V, D, err))) {
        goto fail;
    } else {
        cs->head = (float *)be->head.h;
    }
    for (int l = 0; l < L; l++)
        if ((s = cu_put_block(cs, l, err)))
            goto fail;
    if ((s = kc_sync(err)))
        goto fail;
    return ABL_OK;
fail:
    model_cuda_detach(m);
    abl_wrap(err, "uploading the model to the GPU");
    return s;
}
