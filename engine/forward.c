/* engine/forward.c - the forward pass: blocks over a packed batch under a run plan (skips,
 * resume, hooks), then row-by-row log-probs through the head in chunks; the logit-lens helper.
 * Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim, F FFN width,
 * V vocabulary, T tokens in a batch, Q = H*Dh, KV = Hkv*Dh. */
#include <math.h>
#include <string.h>

#include "model_int.h"

static const char *const hook_names[HOOK_COUNT] = {"resid_pre", "attn_out", "resid_mid",
                                                   "mlp_out", "resid_post", "final"};

const char *hook_name(hook_point p)
{
    return (unsigned)p < HOOK_COUNT ? hook_names[p] : "?";
}

static void fire(const run_plan *plan, int l, hook_point p, float *x, const fwd_batch *b)
{
    model_fire(plan, l, p, x, b);
}

static void add_bias(float *y, const float *bias, int T, int n)
{
    model_add_bias(y, bias, T, n);
}

void model_embed(const model *m, const int32_t *ids, int T, float *x)
{
    size_t D = (size_t)m->cfg.d_model;
    for (int r = 0; r < T; r++)
        memcpy(x + (size_t)r * D, m->embed + (size_t)ids[r] * D, D * sizeof(float));
}

void model_block_run(model *m, int l, float *x, int T, const int32_t *pos, const k_span *span,
                     float *k_dst, float *v_dst, const float *k_all, const float *v_all,
                     const run_plan *plan, const fwd_batch *b)
{
    if (m->cfg.family != ARCH_LLAMA) { /* other block shapes: engine/block_family.c */
        model_block_run_family(m, l, x, T, pos, span, k_dst, v_dst, k_all, v_all, plan, b);
        return;
    }
    const hf_config *c = &m->cfg;
    const model_block *bk = &m->blocks[l];
    model_scratch *s = &m->s;
    int D = c->d_model, F = c->d_ff, H = c->n_heads, Hkv = c->n_kv_heads, Dh = c->head_dim;
    float eps = (float)c->norm_eps;
    bool skip_attn = plan && plan->skip_attn && plan->skip_attn[l];
    bool skip_mlp = plan && plan->skip_mlp && plan->skip_mlp[l];
    ABL_ASSERT(T <= s->cap);

    fire(plan, l, HOOK_RESID_PRE, x, b);
    if (!skip_attn) {
        kern.rmsnorm(s->xn, x, bk->attn_norm, T, D, eps);
        k_matmul(m->pool, s->q, s->xn, &bk->wq, T, 0, s->ws);   /* (T, Q) */
        k_matmul(m->pool, k_dst, s->xn, &bk->wk, T, 0, s->ws);  /* (T, KV) */
        k_matmul(m->pool, v_dst, s->xn, &bk->wv, T, 0, s->ws);  /* (T, KV) */
        add_bias(s->q, bk->bq, T, H * Dh);
        add_bias(k_dst, bk->bk, T, Hkv * Dh);
        add_bias(v_dst, bk->bv, T, Hkv * Dh);
        kern.rope(s->q, T, H, Dh, pos, m->rope_cos, m->rope_sin);
        kern.rope(k_dst, T, Hkv, Dh, pos, m->rope_cos, m->rope_sin);
        k_attention(m->pool, s->att, s->q, k_all, v_all, span, T, H, Hkv, Dh, s->ws);
        k_matmul(m->pool, s->sub, s->att, &bk->wo, T, 0, s->ws); /* (T, D) */
        add_bias(s->sub, bk->bo, T, D);
        fire(plan, l, HOOK_ATTN_OUT, s->sub, b);
        kern.add(x, s->sub, (size_t)T * D);
    }
    fire(plan, l, HOOK_RESID_MID, x, b);
    if (!skip_mlp) {
        kern.rmsnorm(s->xn, x, bk->mlp_norm, T, D, eps);
        k_matmul(m->pool, s->gate, s->xn, &bk->wg, T, 0, s->ws); /* (T, F) */
        k_matmul(m->pool, s->up, s->xn, &bk->wu, T, 0, s->ws);   /* (T, F) */
        add_bias(s->gate, bk->bg, T, F);
        add_bias(s->up, bk->bu, T, F);
        kern.swiglu(s->gate, s->gate, s->up, (size_t)T * F);
        k_matmul(m->pool, s->sub, s->gate, &bk->wd, T, 0, s->ws); /* (T, D) */
        add_bias(s->sub, bk->bd, T, D);
        fire(plan, l, HOOK_MLP_OUT, s->sub, b);
        kern.add(x, s->sub, (size_t)T * D);
    }
    fire(plan, l, HOOK_RESID_POST, x, b);
}

static abl_status check_batch(const model *m, const fwd_batch *b, const run_plan *plan,
                              abl_err *err)
{
    const hf_config *c = &m->cfg;
    if (plan && (plan->start_layer < 0 || plan->start_layer > c->n_layers))
        return abl_fail(err, ABL_E_ARG, "run plan: expected start_layer in [0, %d], found %d",
                        c->n_layers, plan->start_layer);
    if (plan && (plan->topk < 0 || plan->topk > MODEL_TOPK_MAX || plan->topk > c->vocab ||
                 (plan->topk > 0 && (!plan->topk_ids || !plan->topk_lp))))
        return abl_fail(err, ABL_E_ARG, "run plan: expected topk in [0, %d] with output "
                        "arrays, found %d", MODEL_TOPK_MAX, plan->topk);
    if (plan && ((plan->probs_out != NULL) != (plan->negent_out != NULL) ||
                 (plan->kl_out != NULL) != (plan->kl_probs != NULL) ||
                 (plan->kl_out != NULL) != (plan->kl_negent != NULL)))
        return abl_fail(err, ABL_E_ARG, "run plan: expected probs_out with negent_out, and "
                        "kl_out with kl_probs and kl_negent");
    if (plan && (plan->probs_out || plan->kl_out) && m->backend)
        return abl_fail(err, ABL_E_UNSUPPORTED, "run plan: output distributions (KL) are not "
                        "implemented on the CUDA backend (hint: --device cpu)");
    if (plan && plan->topk > 0 && m->backend)
        return abl_fail(err, ABL_E_UNSUPPORTED, "run plan: top-k logits are not implemented "
                        "on the CUDA backend (hint: --device cpu)");
    if (plan && plan->start_layer > 0 && !plan->resume)
        return abl_fail(err, ABL_E_ARG, "run plan: start_layer %d needs a resume residual "
                        "(hint: cache resid_pre of that block from an intact pass)",
                        plan->start_layer);
    for (int r = 0; r < b->n_tok; r++) {
        if (b->ids[r] < 0 || b->ids[r] >= c->vocab)
            return abl_fail(err, ABL_E_ARG, "batch: expected token ids in [0, %d), found %d at "
                            "row %d", c->vocab, (int)b->ids[r], r);
        if (b->pos[r] < 0 || b->pos[r] >= m->rope_len)
            return abl_fail(err, ABL_E_ARG, "batch: expected positions below %d "
                            "(max_position_embeddings), found %d at row %d (hint: use shorter "
                            "inputs)", m->rope_len, (int)b->pos[r], r);
    }
    for (int i = 0; i < b->n_score; i++)
        if (b->score_tgt[i] < 0 || b->score_tgt[i] >= c->vocab || b->score_row[i] < 0 ||
            b->score_row[i] >= b->n_tok)
            return abl_fail(err, ABL_E_ARG, "batch: score %d: expected a row in [0, %d) and a "
                            "target in [0, %d), found row %d target %d", i, b->n_tok, c->vocab,
                            (int)b->score_row[i], (int)b->score_tgt[i]);
    return ABL_OK;
}

/* The k largest entries of row (V) in descending order (ties: lower id first) into ids/lp,
 * as log-probs (row - lse). k <= V and k <= MODEL_TOPK_MAX. */
static void top_k(const float *row, int V, int k, double lse, int32_t *ids, float *lp)
{
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (n == k && row[v] <= row[ids[n - 1]])
            continue;
        int j = n < k ? n++ : k - 1; /* insertion point search from the end */
        while (j > 0 && row[v] > row[ids[j - 1]]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    for (int j = 0; j < k; j++)
        lp[j] = (float)((double)row[ids[j]] - lse);
}

/* Log-probs of the scored rows: gather up to HEAD_CHUNK normed rows, one head matmul into the
 * (HEAD_CHUNK, V) scratch, then logsumexp and the target per row. normed: x is already
 * final-normed (the FINAL hook ran); otherwise the gathered rows are normed here. */
static void score_rows(model *m, fwd_batch *b, const float *x, bool normed, const run_plan *plan)
{
    int k = plan && plan->topk > 0 ? plan->topk : 0;
    const hf_config *c = &m->cfg;
    int D = c->d_model, V = c->vocab;
    for (int i0 = 0; i0 < b->n_score; i0 += MODEL_HEAD_CHUNK) {
        int n = b->n_score - i0 < MODEL_HEAD_CHUNK ? b->n_score - i0 : MODEL_HEAD_CHUNK;
        for (int j = 0; j < n; j++)
            memcpy(m->head_x + (size_t)j * D, x + (size_t)b->score_row[i0 + j] * D,
                   (size_t)D * sizeof(float));
        if (!normed)
            model_final_norm(m, m->head_x, m->head_x, n);
        k_matmul(m->pool, m->head_logits, m->head_x, &m->head, n, 0, m->s.ws); /* (n, V) */
        for (int j = 0; j < n; j++) {
            const float *row = m->head_logits + (size_t)j * V;
            int tgt = b->score_tgt[i0 + j];
            double lse = kern.logsumexp(row, V);
            float best = row[0];
            for (int v = 1; v < V; v++)
                best = row[v] > best ? row[v] : best;
            b->score_lp[i0 + j] = (float)((double)row[tgt] - lse);
            b->score_top1[i0 + j] = row[tgt] >= best;
            if (k)
                top_k(row, V, k, lse, plan->topk_ids + (size_t)(i0 + j) * k,
                      plan->topk_lp + (size_t)(i0 + j) * k);
            if (plan && plan->probs_out) { /* p = exp(row - lse), and sum p log p */
                float *p = plan->probs_out + (size_t)(i0 + j) * V;
                double ne = 0;
                for (int v = 0; v < V; v++) {
                    double lp = (double)row[v] - lse;
                    p[v] = (float)exp(lp);
                    ne += p[v] * lp;
                }
                plan->negent_out[i0 + j] = ne;
            }
            if (plan && plan->kl_out) { /* KL = sum p log p - sum p (row - lse) */
                const float *p = plan->kl_probs + (size_t)(i0 + j) * V;
                double dot = 0, mass = 0;
                for (int v = 0; v < V; v++) {
                    dot += (double)p[v] * row[v];
                    mass += p[v];
                }
                double kl = plan->kl_negent[i0 + j] - (dot - mass * lse);
                plan->kl_out[i0 + j] = kl > 0 ? kl : 0; /* rounding can dip below 0 */
            }
        }
    }
}

abl_status model_forward(model *m, fwd_batch *b, const run_plan *plan, abl_err *err)
{
    const hf_config *c = &m->cfg;
    int T = b->n_tok, D = c->d_model;
    if (T == 0)
        return ABL_OK;
    abl_status s = check_batch(m, b, plan, err);
    if (s)
        return s;
    int win = c->sliding_window;
    if (m->backend && win > 0 && batch_window_spans(b, win, NULL) > 0)
        return abl_fail(err, ABL_E_UNSUPPORTED, "model: sliding-window attention (window %d) is "
                        "not implemented on the CUDA backend and this batch is longer than the "
                        "window (hint: --device cpu)", win);
    if (m->backend)
        return model_forward_cuda(m, b, plan, NULL, err);
    if ((s = model_reserve(m, T, err)))
        return s;
    if (win > 0)
        batch_window_spans(b, win, m->s.span_w);
    float *x = m->s.x; /* (T, D) */
    int l0 = plan ? plan->start_layer : 0;
    if (l0 > 0)
        memcpy(x, plan->resume, (size_t)T * D * sizeof(float));
    else
        model_embed(m, b->ids, T, x);
    for (int l = l0; l < c->n_layers; l++)
        model_block_run(m, l, x, T, b->pos, model_layer_span(m, l, b->span, m->s.span_w),
                        m->s.k, m->s.v, m->s.k, m->s.v, plan, b);
    bool final_hook = plan && plan->hook && (plan->hook_mask & (1u << HOOK_FINAL));
    if (final_hook) {
        model_final_norm(m, m->s.xn, x, T);
        fire(plan, -1, HOOK_FINAL, m->s.xn, b);
        score_rows(m, b, m->s.xn, true, plan);
    } else {
        score_rows(m, b, x, false, plan);
    }
    return ABL_OK;
}

void model_logits(model *m, const float *x, float *logits, bool apply_final_norm)
{
    int D = m->cfg.d_model;
    if (apply_final_norm)
        model_final_norm(m, m->row_tmp, x, 1);
    else
        memcpy(m->row_tmp, x, (size_t)D * sizeof(float));
    k_matmul(m->pool, logits, m->row_tmp, &m->head, 1, 0, m->s.ws); /* (1, V) */
}
