/* engine/forward.c - the forward pass, once for every backend (engine/backend.h): blocks over a
 * packed batch under a run plan (skips, resume, hooks, block statistics), then row-by-row
 * log-probs (and top-k) through the head in chunks; the logit-lens helper (CPU).
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

/* Run the plan's hook at point p on rows x (T, D) of be. On a device backend x is copied to the
 * host for the hook and back only when the hook changed it. */
static abl_status fire(backend *be, const run_plan *plan, int l, hook_point p, float *x, int T,
                       int D, const fwd_batch *b, abl_err *err)
{
    if (!plan || !plan->hook || !(plan->hook_mask & (1u << p)))
        return ABL_OK;
    if (be->host) {
        plan->hook(plan->hook_user, l, p, x, b);
        return ABL_OK;
    }
    size_t bytes = (size_t)T * (size_t)D * sizeof(float);
    abl_status s = be->ops->get(be, be->h_x, x, bytes, err);
    if (s)
        return s;
    memcpy(be->h_ref, be->h_x, bytes);
    plan->hook(plan->hook_user, l, p, be->h_x, b);
    return memcmp(be->h_ref, be->h_x, bytes) ? be->ops->put(be, x, be->h_x, bytes, err) : ABL_OK;
}

/* y (T, n) += bias (n) on every row; bias NULL = nothing. */
static abl_status add_bias(backend *be, float *y, const float *bias, int T, int n, abl_err *err)
{
    return bias ? be->ops->add_bias(be, y, bias, T, n, err) : ABL_OK;
}

/* y (n, D) = the final norm of x: the model's family's own (model_final_norm) on the CPU, RMSNorm
 * through the table elsewhere (a device backend only runs llama-family models). */
static abl_status final_norm(model *m, backend *be, float *y, const float *x, int n, abl_err *err)
{
    if (be->host) {
        model_final_norm(m, y, x, n);
        return ABL_OK;
    }
    return be->ops->rmsnorm(be, y, x, be->final_norm, n, m->cfg.d_model, (float)m->cfg.norm_eps,
                            err);
}

void model_embed(const model *m, const int32_t *ids, int T, float *x)
{
    size_t D = (size_t)m->cfg.d_model;
    for (int r = 0; r < T; r++)
        memcpy(x + (size_t)r * D, m->embed + (size_t)ids[r] * D, D * sizeof(float));
}

abl_status model_block_run(model *m, backend *be, int l, float *x, int T, const int32_t *pos,
                           const k_span *span, float *k_dst, float *v_dst, const float *k_all,
                           const float *v_all, const run_plan *plan, const fwd_batch *b,
                           abl_err *err)
{
    const hf_config *c = &m->cfg;
    if (c->family != ARCH_LLAMA) { /* other block shapes: engine/block_family.c, on the CPU */
        if (!be->host)
            return abl_fail(err, ABL_E_UNSUPPORTED, "model: this architecture family runs on "
                            "the CPU only (hint: --device cpu)");
        bool st = plan && plan->block_stats;
        if (st)
            memcpy(be->pre, x, (size_t)T * c->d_model * sizeof(float));
        model_block_run_family(m, l, x, T, pos, span, k_dst, v_dst, k_all, v_all, plan, b);
        return st ? be->ops->dot3(be, be->stats + (size_t)l * T * 3, be->pre, x, T, c->d_model,
                                  err)
                  : ABL_OK;
    }
    const be_block *bk = &be->blk[l];
    const be_ops *o = be->ops;
    int D = c->d_model, F = c->d_ff, H = c->n_heads, Hkv = c->n_kv_heads, Dh = c->head_dim;
    int Q = H * Dh, KV = Hkv * Dh;
    size_t TD = (size_t)T * D;
    float eps = (float)c->norm_eps;
    bool skip_attn = plan && plan->skip_attn && plan->skip_attn[l];
    bool skip_mlp = plan && plan->skip_mlp && plan->skip_mlp[l];
    bool stats = plan && plan->block_stats;
    ABL_ASSERT(T <= be->cap);
    abl_status s;

    if ((s = fire(be, plan, l, HOOK_RESID_PRE, x, T, D, b, err)) ||
        (stats && (s = o->copy(be, be->pre, x, TD * sizeof(float), err))))
        return s;
    if (!skip_attn &&
        ((s = o->rmsnorm(be, be->xn, x, bk->attn_norm, T, D, eps, err)) ||
         (s = o->matmul(be, be->q, be->xn, &bk->wq, T, err)) ||  /* (T, Q) */
         (s = o->matmul(be, k_dst, be->xn, &bk->wk, T, err)) ||  /* (T, KV) */
         (s = o->matmul(be, v_dst, be->xn, &bk->wv, T, err)) ||  /* (T, KV) */
         (s = add_bias(be, be->q, bk->bq, T, Q, err)) ||
         (s = add_bias(be, k_dst, bk->bk, T, KV, err)) ||
         (s = add_bias(be, v_dst, bk->bv, T, KV, err)) ||
         (s = o->rope(be, be->q, T, H, Dh, pos, err)) ||
         (s = o->rope(be, k_dst, T, Hkv, Dh, pos, err)) ||
         (s = o->attention(be, be->att, be->q, k_all, v_all, span, T, H, Hkv, Dh, err)) ||
         (s = o->matmul(be, be->sub, be->att, &bk->wo, T, err)) || /* (T, D) */
         (s = add_bias(be, be->sub, bk->bo, T, D, err)) ||
         (s = fire(be, plan, l, HOOK_ATTN_OUT, be->sub, T, D, b, err)) ||
         (s = o->add(be, x, be->sub, TD, err))))
        return s;
    if ((s = fire(be, plan, l, HOOK_RESID_MID, x, T, D, b, err)))
        return s;
    if (!skip_mlp &&
        ((s = o->rmsnorm(be, be->xn, x, bk->mlp_norm, T, D, eps, err)) ||
         (s = o->matmul(be, be->gate, be->xn, &bk->wg, T, err)) || /* (T, F) */
         (s = o->matmul(be, be->up, be->xn, &bk->wu, T, err)) ||   /* (T, F) */
         (s = add_bias(be, be->gate, bk->bg, T, F, err)) ||
         (s = add_bias(be, be->up, bk->bu, T, F, err)) ||
         (s = o->swiglu(be, be->gate, be->gate, be->up, (size_t)T * F, err)) ||
         (s = o->matmul(be, be->sub, be->gate, &bk->wd, T, err)) || /* (T, D) */
         (s = add_bias(be, be->sub, bk->bd, T, D, err)) ||
         (s = fire(be, plan, l, HOOK_MLP_OUT, be->sub, T, D, b, err)) ||
         (s = o->add(be, x, be->sub, TD, err))))
        return s;
    if (stats && (s = o->dot3(be, be->stats + (size_t)l * T * 3, be->pre, x, T, D, err)))
        return s;
    return fire(be, plan, l, HOOK_RESID_POST, x, T, D, b, err);
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

/* Log-probs of the scored rows of xs (T, D) on be: per chunk of be->head_chunk rows gather
 * the rows, norm them (unless normed: the FINAL hook ran), one head matmul into the
 * (head_chunk, V) logits, then log-softmax at the targets; top-k (when asked) on the host. */
static abl_status score_rows(model *m, backend *be, fwd_batch *b, const float *xs, bool normed,
                             const run_plan *plan, abl_err *err)
{
    int k = plan && plan->topk > 0 ? plan->topk : 0;
    const hf_config *c = &m->cfg;
    const be_ops *o = be->ops;
    int D = c->d_model, V = c->vocab, n = b->n_score;
    bool dist = plan && (plan->probs_out || plan->kl_out);
    if (n == 0)
        return ABL_OK;
    abl_status s;
    if ((s = o->put(be, be->score_row, b->score_row, (size_t)n * sizeof(int32_t), err)) ||
        (s = o->put(be, be->score_tgt, b->score_tgt, (size_t)n * sizeof(int32_t), err)))
        return s;
    for (int i0 = 0; i0 < n; i0 += be->head_chunk) {
        int r = n - i0 < be->head_chunk ? n - i0 : be->head_chunk;
        if ((s = o->gather_rows(be, be->head_x, xs, be->score_row + i0, r, D, err)) ||
            (!normed && (s = final_norm(m, be, be->head_x, be->head_x, r, err))) ||
            (s = o->matmul(be, be->logits, be->head_x, &be->head, r, err)) || /* (r, V) */
            (s = o->logsoftmax_gather(be, be->score_lp + i0, be->score_top1 + i0, be->logits,
                                      be->score_tgt + i0, r, V, err)))
            return s;
        if (!k && !dist)
            continue;
        const float *rows = be->logits; /* top-k and distributions on the host */
        if (!be->host) {
            if ((s = o->get(be, be->h_logits, be->logits, (size_t)r * V * sizeof(float), err)))
                return s;
            rows = be->h_logits;
        }
        for (int j = 0; j < r; j++) {
            const float *row = rows + (size_t)j * V;
            double lse = kern.logsumexp(row, V);
            if (k)
                top_k(row, V, k, lse, plan->topk_ids + (size_t)(i0 + j) * k,
                      plan->topk_lp + (size_t)(i0 + j) * k);
            if (plan->probs_out) { /* p = exp(row - lse), and sum p log p */
                float *p = plan->probs_out + (size_t)(i0 + j) * V;
                double ne = 0;
                for (int v = 0; v < V; v++) {
                    double lp = (double)row[v] - lse;
                    p[v] = (float)exp(lp);
                    ne += p[v] * lp;
                }
                plan->negent_out[i0 + j] = ne;
            }
            if (plan->kl_out) { /* KL = sum p log p - sum p (row - lse) */
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
    if ((s = o->get(be, b->score_lp, be->score_lp, (size_t)n * sizeof(float), err)) ||
        (s = o->get(be, b->score_top1, be->score_top1, (size_t)n, err)))
        return s;
    return ABL_OK;
}

abl_status model_forward(model *m, fwd_batch *b, const run_plan *plan, abl_err *err)
{
    const hf_config *c = &m->cfg;
    int T = b->n_tok, D = c->d_model, L = c->n_layers;
    if (T == 0)
        return ABL_OK;
    abl_status s = check_batch(m, b, plan, err);
    if (s)
        return s;
    backend *be = m->be;
    const be_ops *o = be->ops;
    size_t TD = (size_t)T * D;
    int l0 = plan ? plan->start_layer : 0, win = c->sliding_window;
    if ((s = o->reserve(be, T, b->n_score, err)) ||
        (s = o->put(be, be->ids, b->ids, (size_t)T * sizeof(int32_t), err)) ||
        (s = o->put(be, be->pos, b->pos, (size_t)T * sizeof(int32_t), err)) ||
        (s = o->put(be, be->span, b->span, (size_t)T * sizeof(k_span), err)))
        return s;
    if (win > 0) { /* the spans under the sliding window, made on the host (m->s.span_w) */
        if ((s = model_reserve(m, T, err)))
            return s;
        batch_window_spans(b, win, m->s.span_w);
        if ((s = o->put(be, be->span_w, m->s.span_w, (size_t)T * sizeof(k_span), err)))
            return s;
    }
    float *x = be->x; /* (T, D) */
    if ((s = l0 > 0 ? o->put(be, x, plan->resume, TD * sizeof(float), err)
                    : o->embed(be, x, be->ids, T, err)))
        return s;
    for (int l = l0; l < L; l++)
        if ((s = model_block_run(m, be, l, x, T, be->pos,
                                 model_layer_span(m, l, be->span, be->span_w), be->k, be->v,
                                 be->k, be->v, plan, b, err)))
            return s;
    bool final_hook = plan && plan->hook && (plan->hook_mask & (1u << HOOK_FINAL));
    if (final_hook) {
        if ((s = final_norm(m, be, be->xn, x, T, err)) ||
            (s = fire(be, plan, -1, HOOK_FINAL, be->xn, T, D, b, err)) ||
            (s = score_rows(m, be, b, be->xn, true, plan, err)))
            return s;
    } else if ((s = score_rows(m, be, b, x, false, plan, err))) {
        return s;
    }
    if (plan && plan->block_stats && l0 < L &&
        (s = o->get(be, plan->block_stats + (size_t)l0 * T * 3, be->stats + (size_t)l0 * T * 3,
                    (size_t)(L - l0) * T * 3 * sizeof(double), err)))
        return s;
    return o->sync(be, err);
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
