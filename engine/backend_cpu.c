/* engine/backend_cpu.c - the CPU backend of engine/backend.h: kern_table's kernels over host
 * memory, matmul and attention split over the model's thread pool; never fails.
 * Legend: L blocks, D model width, Dh head dim, T tokens, V vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

/* The CPU backend's state beyond the model's own scratch (model_scratch). */
typedef struct {
    model *m;
    int cap, score_cap;
    float *pre;                     /* (cap, D) */
    double *stats;                  /* (L, cap, 3) */
    int32_t *ids, *pos;             /* (cap) */
    k_span *span;                   /* (cap) */
    int32_t *score_row, *score_tgt; /* (score_cap) */
    float *score_lp;                /* (score_cap) */
    uint8_t *score_top1;            /* (score_cap) */
} cpu_state;

static model *M(backend *be) { return ((cpu_state *)be->ctx)->m; }

static abl_status cpu_reserve(backend *be, int t, int n_score, abl_err *err)
{
    cpu_state *cs = be->ctx;
    model *m = cs->m;
    abl_status s = model_reserve(m, t, err);
    if (s)
        return s;
    const hf_config *c = &m->cfg;
    if (t > cs->cap) {
        size_t n = (size_t)t;
        free(cs->pre), free(cs->stats), free(cs->ids), free(cs->pos), free(cs->span);
        cs->pre = malloc(n * (size_t)c->d_model * sizeof(float));
        cs->stats = malloc((size_t)c->n_layers * n * 3 * sizeof(double));
        cs->ids = malloc(n * sizeof(int32_t));
        cs->pos = malloc(n * sizeof(int32_t));
        cs->span = malloc(n * sizeof(k_span));
        cs->cap = cs->pre && cs->stats && cs->ids && cs->pos && cs->span ? t : 0;
        if (!cs->cap)
            return abl_fail(err, ABL_E_NOMEM, "model: out of memory for a batch of %d tokens", t);
    }
    if (n_score > cs->score_cap) {
        size_t n = (size_t)n_score;
        free(cs->score_row), free(cs->score_tgt), free(cs->score_lp), free(cs->score_top1);
        cs->score_row = malloc(n * sizeof(int32_t));
        cs->score_tgt = malloc(n * sizeof(int32_t));
        cs->score_lp = malloc(n * sizeof(float));
        cs->score_top1 = malloc(n);
        cs->score_cap = cs->score_row && cs->score_tgt && cs->score_lp && cs->score_top1
                            ? n_score : 0;
        if (!cs->score_cap)
            return abl_fail(err, ABL_E_NOMEM, "model: out of memory for %d scored rows",
                            n_score);
    }
    model_scratch *ms = &m->s;
    be->cap = ms->cap < cs->cap ? ms->cap : cs->cap;
    be->score_cap = cs->score_cap;
    be->x = ms->x, be->xn = ms->xn, be->sub = ms->sub, be->pre = cs->pre;
    be->q = ms->q, be->att = ms->att, be->k = ms->k, be->v = ms->v;
    be->gate = ms->gate, be->up = ms->up;
    be->ids = cs->ids, be->pos = cs->pos, be->span = cs->span, be->stats = cs->stats;
    be->span_w = ms->span_w;
    be->score_row = cs->score_row, be->score_tgt = cs->score_tgt;
    be->score_lp = cs->score_lp, be->score_top1 = cs->score_top1;
    be->head_x = m->head_x, be->logits = m->head_logits;
    return ABL_OK;
}

static abl_status cpu_move(backend *be, void *dst, const void *src, size_t bytes, abl_err *err)
{
    (void)be, (void)err;
    if (dst != src && bytes)
        memmove(dst, src, bytes);
    return ABL_OK;
}

static abl_status cpu_matmul(backend *be, float *y, const float *x, const be_mat *w, int m,
                             abl_err *err)
{
    (void)err;
    model *md = M(be);
    k_matmul(md->pool, y, x, (const kweight *)w->h, m, 0, md->s.ws);
    return ABL_OK;
}

static abl_status cpu_rmsnorm(backend *be, float *y, const float *x, const float *g, int m, int d,
                              float eps, abl_err *err)
{
    (void)be, (void)err;
    kern.rmsnorm(y, x, g, m, d, eps);
    return ABL_OK;
}

static abl_status cpu_rope(backend *be, float *x, int t, int nh, int dh, const int32_t *pos,
                           abl_err *err)
{
    (void)err;
    kern.rope(x, t, nh, dh, pos, M(be)->rope_cos, M(be)->rope_sin);
    return ABL_OK;
}

static abl_status cpu_swiglu(backend *be, float *out, const float *gate, const float *up,
                             size_t n, abl_err *err)
{
    (void)be, (void)err;
    kern.swiglu(out, gate, up, n);
    return ABL_OK;
}

static abl_status cpu_add(backend *be, float *y, const float *x, size_t n, abl_err *err)
{
    (void)be, (void)err;
    kern.add(y, x, n);
    return ABL_OK;
}

static abl_status cpu_add_bias(backend *be, float *y, const float *bias, int rows, int n,
                               abl_err *err)
{
    (void)be, (void)err;
    for (int r = 0; r < rows; r++)
        kern.add(y + (size_t)r * n, bias, (size_t)n);
    return ABL_OK;
}

static abl_status cpu_attention(backend *be, float *out, const float *q, const float *k,
                                const float *v, const k_span *span, int t, int h, int hkv, int dh,
                                abl_err *err)
{
    (void)err;
    model *m = M(be);
    k_attention(m->pool, out, q, k, v, span, t, h, hkv, dh, m->s.ws);
    return ABL_OK;
}

static abl_status cpu_embed(backend *be, float *x, const int32_t *ids, int t, abl_err *err)
{
    (void)err;
    model_embed(M(be), ids, t, x);
    return ABL_OK;
}

static abl_status cpu_gather_rows(backend *be, float *dst, const float *src, const int32_t *rows,
                                  int n, int d, abl_err *err)
{
    (void)be, (void)err;
    for (int j = 0; j < n; j++)
        memcpy(dst + (size_t)j * d, src + (size_t)rows[j] * d, (size_t)d * sizeof(float));
    return ABL_OK;
}

static abl_status cpu_logsoftmax_gather(backend *be, float *lp, uint8_t *top1,
                                        const float *logits, const int32_t *tgt, int rows, int V,
                                        abl_err *err)
{
    (void)be, (void)err;
    for (int j = 0; j < rows; j++) {
        const float *row = logits + (size_t)j * V;
        double lse = kern.logsumexp(row, V);
        float best = row[0];
        for (int v = 1; v < V; v++)
            best = row[v] > best ? row[v] : best;
        lp[j] = (float)((double)row[tgt[j]] - lse);
        top1[j] = row[tgt[j]] >= best;
    }
    return ABL_OK;
}

static abl_status cpu_dot3(backend *be, double *sums, const float *a, const float *b, int rows,
                           int d, abl_err *err)
{
    (void)be, (void)err;
    for (int r = 0; r < rows; r++)
        kern.dot3(a + (size_t)r * d, b + (size_t)r * d, d, sums + (size_t)r * 3);
    return ABL_OK;
}

static abl_status cpu_sync(backend *be, abl_err *err)
{
    (void)be, (void)err;
    return ABL_OK;
}

static const be_ops cpu_ops = {
    .name = "cpu",
    .reserve = cpu_reserve,
    .put = cpu_move,
    .get = cpu_move,
    .copy = cpu_move,
    .matmul = cpu_matmul,
    .rmsnorm = cpu_rmsnorm,
    .rope = cpu_rope,
    .swiglu = cpu_swiglu,
    .add = cpu_add,
    .add_bias = cpu_add_bias,
    .attention = cpu_attention,
    .embed = cpu_embed,
    .gather_rows = cpu_gather_rows,
    .logsoftmax_gather = cpu_logsoftmax_gather,
    .dot3 = cpu_dot3,
    .sync = cpu_sync,
};

static be_mat mat(const kweight *w) { return (be_mat){w, w->n, w->k}; }

abl_status backend_cpu_open(model *m, abl_err *err)
{
    int L = m->cfg.n_layers;
    cpu_state *cs = calloc(1, sizeof *cs);
    be_block *blk = calloc((size_t)L, sizeof *blk);
    if (!cs || !blk) {
        free(cs), free(blk);
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the CPU backend");
    }
    cs->m = m;
    for (int l = 0; l < L; l++) {
        const model_block *b = &m->blocks[l];
        blk[l] = (be_block){b->attn_norm, b->mlp_norm, mat(&b->wq), mat(&b->wk), mat(&b->wv),
                            mat(&b->wo), mat(&b->wg), mat(&b->wu), mat(&b->wd), b->bq, b->bk,
                            b->bv, b->bo, b->bg, b->bu, b->bd};
    }
    backend *be = &m->cpu;
    memset(be, 0, sizeof *be);
    be->ops = &cpu_ops;
    be->ctx = cs;
    be->host = true;
    be->head_chunk = MODEL_HEAD_CHUNK;
    be->blk = blk;
    be->head = mat(&m->head);
    be->final_norm = m->final_norm;
    m->be = be;
    return cpu_reserve(be, MODEL_HEAD_CHUNK, MODEL_HEAD_CHUNK, err);
}

void backend_cpu_close(model *m)
{
    cpu_state *cs = m->cpu.ctx;
    if (cs) {
        free(cs->pre), free(cs->stats), free(cs->ids), free(cs->pos), free(cs->span);
        free(cs->score_row), free(cs->score_tgt), free(cs->score_lp), free(cs->score_top1);
        free(cs);
    }
    free((void *)m->cpu.blk);
    memset(&m->cpu, 0, sizeof m->cpu);
}
