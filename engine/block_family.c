/* engine/block_family.c - the blocks of the families other than Llama: GPT-NeoX (LayerNorm with
 * bias, GELU MLP, partial rotary, parallel or sequential residual), OLMo and OLMo-2; final norms.
 * Legend: D model width, H heads, Hkv kv heads, Dh head dim, F FFN width, T tokens,
 * Q = H*Dh, KV = Hkv*Dh.
 *
 * Removal in a parallel block (NeoX use_parallel_residual): the block computes
 * x + attn(ln1(x)) + mlp(ln2(x)), both halves reading the block input x. Skipping attention
 * leaves x + mlp(ln2(x)); skipping the MLP leaves x + attn(ln1(x)); skipping both, x. The
 * resid_mid hook sees x + attn(...), but the MLP still reads x, not resid_mid. */
#include <string.h>

#include "model_int.h"

void model_final_norm(const model *m, float *y, const float *x, int n)
{
    const hf_config *c = &m->cfg;
    float eps = (float)c->norm_eps;
    if (c->family == ARCH_NEOX || c->family == ARCH_OLMO)
        kern.layernorm(y, x, m->final_norm, m->final_norm_b, n, c->d_model, eps);
    else
        kern.rmsnorm(y, x, m->final_norm, n, c->d_model, eps);
}

/* The input of a sub-block: its pre-norm of x into xn (NeoX: LayerNorm g, bias; OLMo:
 * LayerNorm without parameters), or x itself (OLMo-2 has no pre-norms). */
static const float *pre_norm(const model *m, float *xn, const float *x, const float *g,
                             const float *bias, int T)
{
    const hf_config *c = &m->cfg;
    if (c->family == ARCH_OLMO2)
        return x;
    kern.layernorm(xn, x, g, bias, T, c->d_model, (float)c->norm_eps);
    return xn;
}

/* out (T, D) = the attention sub-block on in (T, D): projections (+ biases), OLMo's clip,
 * OLMo-2's QK-norm, (partial) RoPE, attention over k_all/v_all, output projection (+ bias),
 * OLMo-2's output norm. Writes this pass's keys and values to k_dst/v_dst (T, KV). */
static void attention(model *m, const model_block *bk, const float *in, int T,
                      const int32_t *pos, const k_span *span, float *k_dst, float *v_dst,
                      const float *k_all, const float *v_all, float *out)
{
    const hf_config *c = &m->cfg;
    model_scratch *s = &m->s;
    int D = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, Dh = c->head_dim;
    size_t Q = (size_t)H * Dh, KV = (size_t)Hkv * Dh;
    float eps = (float)c->norm_eps;
    k_matmul(m->pool, s->q, in, &bk->wq, T, 0, s->ws);   /* (T, Q) */
    k_matmul(m->pool, k_dst, in, &bk->wk, T, 0, s->ws);  /* (T, KV) */
    k_matmul(m->pool, v_dst, in, &bk->wv, T, 0, s->ws);  /* (T, KV) */
    model_add_bias(s->q, bk->bq, T, (int)Q);
    model_add_bias(k_dst, bk->bk, T, (int)KV);
    model_add_bias(v_dst, bk->bv, T, (int)KV);
    if (c->clip_qkv > 0) {
        kern.clamp(s->q, (size_t)T * Q, (float)c->clip_qkv);
        kern.clamp(k_dst, (size_t)T * KV, (float)c->clip_qkv);
        kern.clamp(v_dst, (size_t)T * KV, (float)c->clip_qkv);
    }
    if (bk->q_norm) { /* OLMo-2: RMSNorm over all heads of a row at once */
        kern.rmsnorm(s->q, s->q, bk->q_norm, T, (int)Q, eps);
        kern.rmsnorm(k_dst, k_dst, bk->k_norm, T, (int)KV, eps);
    }
    if (c->rotary_dim == Dh) {
        kern.rope(s->q, T, H, Dh, pos, m->rope_cos, m->rope_sin);
        kern.rope(k_dst, T, Hkv, Dh, pos, m->rope_cos, m->rope_sin);
    } else {
        kern.rope_part(s->q, T, H, Dh, c->rotary_dim, pos, m->rope_cos, m->rope_sin);
        kern.rope_part(k_dst, T, Hkv, Dh, c->rotary_dim, pos, m->rope_cos, m->rope_sin);
    }
    k_attention(m->pool, s->att, s->q, k_all, v_all, span, T, H, Hkv, Dh, s->ws);
    k_matmul(m->pool, out, s->att, &bk->wo, T, 0, s->ws); /* (T, D) */
    model_add_bias(out, bk->bo, T, D);
    if (bk->attn_post_norm)
        kern.rmsnorm(out, out, bk->attn_post_norm, T, D, eps);
}

/* out (T, D) = the MLP sub-block on in (T, D): NeoX GELU(in W_up^T + b) W_down^T + b, the
 * others SwiGLU (+ biases when present); then OLMo-2's output norm. */
static void mlp(model *m, const model_block *bk, const float *in, int T, float *out)
{
    const hf_config *c = &m->cfg;
    model_scratch *s = &m->s;
    int D = c->d_model, F = c->d_ff;
    if (c->family == ARCH_NEOX) {
        k_matmul(m->pool, s->up, in, &bk->wu, T, 0, s->ws); /* (T, F) */
        model_add_bias(s->up, bk->bu, T, F);
        kern.gelu(s->up, s->up, (size_t)T * F);
        k_matmul(m->pool, out, s->up, &bk->wd, T, 0, s->ws); /* (T, D) */
    } else {
        k_matmul(m->pool, s->gate, in, &bk->wg, T, 0, s->ws); /* (T, F) */
        k_matmul(m->pool, s->up, in, &bk->wu, T, 0, s->ws);   /* (T, F) */
        model_add_bias(s->gate, bk->bg, T, F);
        model_add_bias(s->up, bk->bu, T, F);
        kern.swiglu(s->gate, s->gate, s->up, (size_t)T * F);
        k_matmul(m->pool, out, s->gate, &bk->wd, T, 0, s->ws); /* (T, D) */
    }
    model_add_bias(out, bk->bd, T, D);
    if (bk->mlp_post_norm)
        kern.rmsnorm(out, out, bk->mlp_post_norm, T, D, (float)c->norm_eps);
}

void model_block_run_family(model *m, int l, float *x, int T, const int32_t *pos,
                            const k_span *span, float *k_dst, float *v_dst, const float *k_all,
                            const float *v_all, const run_plan *plan, const fwd_batch *b)
{
    const hf_config *c = &m->cfg;
    const model_block *bk = &m->blocks[l];
    model_scratch *s = &m->s;
    size_t n = (size_t)T * c->d_model;
    bool skip_attn = plan && plan->skip_attn && plan->skip_attn[l];
    bool skip_mlp = plan && plan->skip_mlp && plan->skip_mlp[l];
    bool par = c->parallel_residual;
    ABL_ASSERT(T <= s->cap && (!par || s->sub2));

    model_fire(plan, l, HOOK_RESID_PRE, x, b);
    if (par && !skip_mlp) /* the parallel MLP reads the block input: run it first */
        mlp(m, bk, pre_norm(m, s->xn, x, bk->mlp_norm, bk->mlp_norm_b, T), T, s->sub2);
    if (!skip_attn) {
        const float *in = pre_norm(m, s->xn, x, bk->attn_norm, bk->attn_norm_b, T);
        attention(m, bk, in, T, pos, span, k_dst, v_dst, k_all, v_all, s->sub);
        model_fire(plan, l, HOOK_ATTN_OUT, s->sub, b);
        kern.add(x, s->sub, n);
    }
    model_fire(plan, l, HOOK_RESID_MID, x, b);
    if (!skip_mlp) {
        float *out = s->sub2;
        if (!par) {
            out = s->sub;
            mlp(m, bk, pre_norm(m, s->xn, x, bk->mlp_norm, bk->mlp_norm_b, T), T, out);
        }
        model_fire(plan, l, HOOK_MLP_OUT, out, b);
        kern.add(x, out, n);
    }
    model_fire(plan, l, HOOK_RESID_POST, x, b);
}
