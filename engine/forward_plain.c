/* engine/forward_plain.c - the forward pass written out the way a textbook gives it: one token
 * of one causal sequence at a time, plain loops, no kernel table, spans, hooks or threads.
 * Read this file first. It is also the oracle the tests hold model_forward (forward.c) to.
 * Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim, F FFN width,
 * V vocabulary, C context capacity, Q = H*Dh, KV = Hkv*Dh. */
#include "forward_plain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/hf_names.h"
#include "model_int.h"

/* One block's matrices as Hugging Face stores them: W (out, in), row-major. */
typedef struct {
    const float *wq, *wk, *wv, *wo; /* (Q, D), (KV, D), (KV, D), (D, Q) */
    const float *wg, *wu, *wd;      /* (F, D), (F, D), (D, F) */
} plain_block;

struct fwd_plain {
    model *m;                       /* borrowed: config, embeddings, norms, biases, checkpoint */
    int max_ctx, n_past;
    plain_block *w;                 /* (L) */
    const float *head;              /* (V, D) lm_head, or the embedding table when tied */
    float **owned;                  /* F32 copies of non-F32 tensors, n_owned of them */
    int n_owned;
    uint8_t *skip_attn, *skip_mlp;  /* (L) */
    float *kcache, *vcache;         /* (L, C, KV): keys and values of every past token */
    float *x, *xn, *sub;            /* (D) residual stream, its normed copy, a sub-block's out */
    float *q, *att;                 /* (Q) this token's queries, attention output per head */
    float *gate, *up;               /* (F) */
    float *score;                   /* (C) attention weights of one head */
};

/* ---- the five operations a llama block is made of ---------------------------------------- */

/* y (n) = W (n, k) x (k) + bias (n or NULL); sums in double. */
static void matvec(float *y, const float *W, const float *x, const float *bias, int n, int k)
{
    for (int i = 0; i < n; i++) {
        double s = bias ? bias[i] : 0.0;
        for (int j = 0; j < k; j++)
            s += (double)W[(size_t)i * k + j] * x[j];
        y[i] = (float)s;
    }
}

/* RMSNorm: y (d) = x / sqrt(mean(x^2) + eps) * g. No mean is subtracted (unlike LayerNorm). */
static void rmsnorm(float *y, const float *x, const float *g, int d, float eps)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(ss / d + eps));
    for (int i = 0; i < d; i++)
        y[i] = x[i] * inv * g[i];
}

/* RoPE on v (nh, Dh): pair element i with i + Dh/2 in every head (the "rotate half" layout)
 * and turn the pair by the angle pos * theta^(-2i/Dh), whose cos and sin are c and s (Dh/2),
 * the row for this position of the model's tables (model.c, make_rope, which also applies the
 * config's RoPE scaling). Low i turn fast, high i slowly; the dot product of a rotated query
 * and key then depends on how far apart they are, not on where they are. */
static void rope(float *v, int nh, int dh, const float *c, const float *s)
{
    int half = dh / 2;
    for (int h = 0; h < nh; h++) {
        float *r = v + (size_t)h * dh;
        for (int i = 0; i < half; i++) {
            float x0 = r[i], x1 = r[i + half];
            r[i] = x0 * c[i] - x1 * s[i];
            r[i + half] = x1 * c[i] + x0 * s[i];
        }
    }
}

/* In-place softmax of s (n): subtract the max first so exp never overflows. */
static void softmax(float *s, int n)
{
    float mx = s[0];
    for (int i = 1; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (s[i] = expf(s[i] - mx));
    for (int i = 0; i < n; i++)
        s[i] = (float)(s[i] / sum);
}

/* SiLU (swish): x * sigmoid(x), the gate's non-linearity in SwiGLU. */
static float silu(float x) { return x / (1.0f + expf(-x)); }

/* ---- the forward pass --------------------------------------------------------------------- */

abl_status fwdp_step(fwd_plain *p, int32_t id, float *logits, abl_err *err)
{
    model *m = p->m;
    const hf_config *c = &m->cfg;
    int D = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, Dh = c->head_dim, F = c->d_ff;
    int Q = H * Dh, KV = Hkv * Dh, C = p->max_ctx, pos = p->n_past;
    float eps = (float)c->norm_eps;
    if (id < 0 || id >= c->vocab)
        return abl_fail(err, ABL_E_ARG, "plain forward: expected a token id in [0, %d), found "
                        "%d", c->vocab, (int)id);
    if (pos >= C)
        return abl_fail(err, ABL_E_ARG, "plain forward: the context of %d tokens is full", C);
    float *x = p->x; /* (D) the residual stream: every block reads it and adds to it */

    /* 1. Embedding: the stream starts as the token's row of the embedding table. */
    memcpy(x, m->embed + (size_t)id * D, (size_t)D * sizeof(float));

    for (int l = 0; l < c->n_layers; l++) {
        const model_block *nb = &m->blocks[l]; /* norms and biases */
        const plain_block *w = &p->w[l];       /* matrices */
        float *kc = p->kcache + (size_t)l * C * KV, *vc = p->vcache + (size_t)l * C * KV;
        if (!p->skip_attn[l]) {
            /* 2. Attention. Normalise the stream, project it to queries (one per head) and
             * to a key and a value (one per kv head); this token's k and v join the cache. */
            rmsnorm(p->xn, x, nb->attn_norm, D, eps);
            float *k = kc + (size_t)pos * KV, *v = vc + (size_t)pos * KV; /* (KV) each */
            matvec(p->q, w->wq, p->xn, nb->bq, Q, D);
            matvec(k, w->wk, p->xn, nb->bk, KV, D);
            matvec(v, w->wv, p->xn, nb->bv, KV, D);
            /* 3. RoPE: rotate queries and keys by the position (values are not rotated). */
            const float *cs = m->rope_cos + (size_t)pos * (Dh / 2);
            const float *sn = m->rope_sin + (size_t)pos * (Dh / 2);
            rope(p->q, H, Dh, cs, sn);
            rope(k, Hkv, Dh, cs, sn);
            /* 4. Causal attention, head by head. The query at position pos scores the keys of
             * positions 0..pos only (later tokens do not exist yet: that is the causal mask),
             * scaled by 1/sqrt(Dh), softmax, then the weighted sum of their values.
             * Grouped-query attention: H/Hkv query heads share one key/value head. With a
             * sliding window W (Mistral), blocks from sliding_from on see only the last W. */
            int t0 = c->sliding_window > 0 && l >= c->sliding_from && pos >= c->sliding_window
                         ? pos - c->sliding_window + 1 : 0;
            for (int h = 0; h < H; h++) {
                const float *qh = p->q + (size_t)h * Dh; /* (Dh) */
                int g = h / (H / Hkv);                   /* its kv head */
                for (int t = t0; t <= pos; t++) {
                    const float *kt = kc + (size_t)t * KV + (size_t)g * Dh;
                    double dot = 0;
                    for (int i = 0; i < Dh; i++)
                        dot += (double)qh[i] * kt[i];
                    p->score[t] = (float)(dot / sqrt((double)Dh));
                }
                softmax(p->score + t0, pos + 1 - t0);
                for (int i = 0; i < Dh; i++) {
                    double s = 0;
                    for (int t = t0; t <= pos; t++)
                        s += (double)p->score[t] * vc[(size_t)t * KV + (size_t)g * Dh + i];
                    p->att[(size_t)h * Dh + i] = (float)s;
                }
            }
            /* 5. Output projection mixes the heads back to width D; residual add. */
            matvec(p->sub, w->wo, p->att, nb->bo, D, Q);
            for (int i = 0; i < D; i++)
                x[i] += p->sub[i];
        }
        if (!p->skip_mlp[l]) {
            /* 6. MLP (SwiGLU): normalise, down( silu(gate(xn)) * up(xn) ); residual add. */
            rmsnorm(p->xn, x, nb->mlp_norm, D, eps);
            matvec(p->gate, w->wg, p->xn, nb->bg, F, D);
            matvec(p->up, w->wu, p->xn, nb->bu, F, D);
            for (int i = 0; i < F; i++)
                p->gate[i] = silu(p->gate[i]) * p->up[i];
            matvec(p->sub, w->wd, p->gate, nb->bd, D, F);
            for (int i = 0; i < D; i++)
                x[i] += p->sub[i];
        }
    }
    /* 7. Final norm, then the head: one logit per vocabulary entry (a dot product with each
     * row of lm_head; with tied embeddings that is the embedding table itself). */
    rmsnorm(p->xn, x, m->final_norm, D, eps);
    matvec(logits, p->head, p->xn, NULL, c->vocab, D);
    p->n_past++;
    return ABL_OK;
}

/* ---- set-up: the matrices in Hugging Face layout, the cache and the vectors --------------- */

static abl_status get_matrix(fwd_plain *p, hf_role role, int layer, const float **out,
                             abl_err *err)
{
    const st_tensor *t;
    float *owned = NULL;
    abl_status s = hf_get_tensor(&p->m->cfg, p->m->st, role, layer, &t, err);
    if (!s)
        s = st_read_f32(t, out, &owned, err);
    if (owned)
        p->owned[p->n_owned++] = owned;
    return s;
}

abl_status fwdp_open(fwd_plain **out, model *m, int max_ctx, const uint8_t *skip_attn,
                     const uint8_t *skip_mlp, abl_err *err)
{
    *out = NULL;
    const hf_config *c = &m->cfg;
    if (max_ctx < 1)
        return abl_fail(err, ABL_E_ARG, "plain forward: expected a context of at least 1 "
                        "token, found %d", max_ctx);
    max_ctx = max_ctx < m->rope_len ? max_ctx : m->rope_len;
    size_t L = (size_t)c->n_layers, D = (size_t)c->d_model, F = (size_t)c->d_ff;
    size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    size_t cache = L * (size_t)max_ctx * KV;
    fwd_plain *p = calloc(1, sizeof *p);
    if (!p)
        return abl_fail(err, ABL_E_NOMEM, "plain forward: out of memory");
    p->m = m;
    p->max_ctx = max_ctx;
    p->w = calloc(L, sizeof *p->w);
    p->owned = calloc(L * 7 + 1, sizeof *p->owned);
    p->skip_attn = calloc(L, 1);
    p->skip_mlp = calloc(L, 1);
    p->kcache = malloc(cache * sizeof(float));
    p->vcache = malloc(cache * sizeof(float));
    p->x = malloc((3 * D + 2 * Q + 2 * F + (size_t)max_ctx) * sizeof(float));
    if (!p->w || !p->owned || !p->skip_attn || !p->skip_mlp || !p->kcache || !p->vcache ||
        !p->x) {
        fwdp_close(p);
        return abl_fail(err, ABL_E_NOMEM, "plain forward: out of memory for a context of %d "
                        "tokens", max_ctx);
    }
    p->xn = p->x + D;
    p->sub = p->xn + D;
    p->q = p->sub + D;
    p->att = p->q + Q;
    p->gate = p->att + Q;
    p->up = p->gate + F;
    p->score = p->up + F;
    for (size_t l = 0; l < L; l++) {
        p->skip_attn[l] = skip_attn && skip_attn[l];
        p->skip_mlp[l] = skip_mlp && skip_mlp[l];
    }
    abl_status s = ABL_OK;
    for (int l = 0; l < (int)L && !s; l++) {
        plain_block *w = &p->w[l];
        if ((s = get_matrix(p, HF_WQ, l, &w->wq, err)) ||
            (s = get_matrix(p, HF_WK, l, &w->wk, err)) ||
            (s = get_matrix(p, HF_WV, l, &w->wv, err)) ||
            (s = get_matrix(p, HF_WO, l, &w->wo, err)) ||
            (s = get_matrix(p, HF_WGATE, l, &w->wg, err)) ||
            (s = get_matrix(p, HF_WUP, l, &w->wu, err)))
            break;
        s = get_matrix(p, HF_WDOWN, l, &w->wd, err);
    }
    if (!s && c->tie_embeddings)
        p->head = m->embed;
    else if (!s)
        s = get_matrix(p, HF_LM_HEAD, -1, &p->head, err);
    if (s) {
        fwdp_close(p);
        return abl_wrap(err, "plain forward");
    }
    *out = p;
    return ABL_OK;
}

void fwdp_close(fwd_plain *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->w);
    free(p->skip_attn);
    free(p->skip_mlp);
    free(p->kcache);
    free(p->vcache);
    free(p->x);
    free(p);
}

int fwdp_n_past(const fwd_plain *p) { return p->n_past; }
int fwdp_max_ctx(const fwd_plain *p) { return p->max_ctx; }

abl_status fwdp_logprobs(model *m, const int32_t *ids, int T, const uint8_t *skip_attn,
                         const uint8_t *skip_mlp, float *lp, uint8_t *top1, abl_err *err)
{
    if (T < 2)
        return abl_fail(err, ABL_E_ARG, "plain forward: expected at least 2 tokens to score, "
                        "found %d", T);
    fwd_plain *p;
    abl_status s = fwdp_open(&p, m, T, skip_attn, skip_mlp, err);
    if (s)
        return s;
    int V = m->cfg.vocab;
    float *logits = malloc((size_t)V * sizeof(float));
    if (!logits)
        s = abl_fail(err, ABL_E_NOMEM, "plain forward: out of memory for %d logits", V);
    else if (T > p->max_ctx)
        s = abl_fail(err, ABL_E_ARG, "plain forward: expected at most %d tokens, found %d",
                     p->max_ctx, T);
    for (int t = 0; t + 1 < T && !s; t++) {
        if ((s = fwdp_step(p, ids[t], logits, err)))
            break;
        float mx = logits[0];
        double sum = 0;
        for (int v = 1; v < V; v++)
            mx = logits[v] > mx ? logits[v] : mx;
        for (int v = 0; v < V; v++)
            sum += exp((double)logits[v] - mx);
        int tgt = ids[t + 1];
        if (tgt < 0 || tgt >= V) {
            s = abl_fail(err, ABL_E_ARG, "plain forward: expected a token id in [0, %d), found "
                         "%d", V, tgt);
            break;
        }
        lp[t] = (float)((double)logits[tgt] - mx - log(sum));
        if (top1)
            top1[t] = logits[tgt] >= mx;
    }
    free(logits);
    fwdp_close(p);
    return s;
}
