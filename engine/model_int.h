/* engine/model_int.h - the model's internals, shared by engine/model.c, forward.c, generate.c
 * and (later) the CUDA backend: packed weights per block, norms, biases, scratch buffers.
 * Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim, F FFN width,
 * V vocabulary, T tokens in a batch, Q = H*Dh, KV = Hkv*Dh. */
#ifndef MODEL_INT_H
#define MODEL_INT_H

#include "../kernels/kernels.h"
#include "../kernels/pool.h"
#include "../loader/safetensors.h"
#include "backend.h"
#include "model.h"

/* Rows of the head matmul done at once when scoring: the (HEAD_CHUNK, V) logits scratch is the
 * largest per-row buffer; there is never a (T, V) one. */
#define MODEL_HEAD_CHUNK 64
#define MODEL_TOPK_MAX 64 /* largest run_plan.topk */

typedef struct {
    float *attn_norm;       /* (D) input_layernorm */
    float *mlp_norm;        /* (D) post_attention_layernorm */
    kweight wq;             /* (Q, D) */
    kweight wk;             /* (KV, D) */
    kweight wv;             /* (KV, D) */
    kweight wo;             /* (D, Q) */
    kweight wg;             /* (F, D) gate_proj */
    kweight wu;             /* (F, D) up_proj */
    kweight wd;             /* (D, F) down_proj */
    float *bq, *bk, *bv;    /* (Q), (KV), (KV) or NULL (Qwen2-style q/k/v biases) */
    float *bo;              /* (D) or NULL (attention output bias, when mlp/attn bias set) */
    float *bg, *bu, *bd;    /* (F), (F), (D) or NULL (mlp_bias) */
    float *attn_norm_b, *mlp_norm_b;        /* (D) NeoX LayerNorm biases, else NULL */
    float *q_norm, *k_norm;                 /* (Q), (KV) OLMo-2 QK-norm gains, else NULL */
    float *attn_post_norm, *mlp_post_norm;  /* (D) OLMo-2 norms on the sub-block outputs */
} model_block;

/* Scratch for a pass over up to cap tokens; sized by model_reserve, grows, never shrinks. */
typedef struct {
    int cap;                /* tokens the buffers hold */
    float *x;               /* (cap, D) residual stream */
    float *xn;              /* (cap, D) normed input of a sub-block */
    float *q;               /* (cap, Q) */
    float *k, *v;           /* (cap, KV) */
    float *att;             /* (cap, Q) attention output before o_proj */
    float *sub;             /* (cap, D) sub-block output (attn_out / mlp_out) */
    float *sub2;            /* (cap, D) a parallel block's MLP output; NULL unless parallel */
    float *gate, *up;       /* (cap, F) */
    k_span *span_w;         /* (cap) the batch's spans under the sliding window, if any */
    float *ws;              /* nthreads * kern_ws_floats(max(cap, HEAD_CHUNK), max K, Dh) */
    size_t ws_floats;
} model_scratch;

struct model {
    hf_config cfg;
    model_opts opts;
    tokenizer *tok;
    kpool *pool;
    st_file *st;                /* kept open: the embedding table may point into its mmap */
    const float *embed;         /* (V, D) token embeddings (mmap or embed_owned) */
    float *embed_owned;         /* non-NULL when the file was not F32 */
    kweight head;               /* (V, D) lm_head, or the packed embeddings when tied */
    float *final_norm;          /* (D) model.norm (NULL: OLMo's norm has no weight) */
    float *final_norm_b;        /* (D) NeoX final LayerNorm bias, else NULL */
    model_block *blocks;        /* (L) */
    float *vecs;                /* one allocation holding every norm and bias vector */
    float *rope_cos, *rope_sin; /* (rope_len, Dh/2) */
    int rope_len;
    model_scratch s;
    float *head_x;              /* (HEAD_CHUNK, D) gathered scored rows */
    float *head_logits;         /* (HEAD_CHUNK, V) */
    float *row_tmp;             /* (D) model_logits' normed row */
    backend cpu;                /* the CPU backend (engine/backend_cpu.c), always open */
    backend *be;                /* the one model_forward runs on: &cpu, or the CUDA backend */
};

/* Make sure the scratch holds n_tok tokens (grows only). ABL_E_NOMEM. */
abl_status model_reserve(model *m, int n_tok, abl_err *err);

/* One block over T rows of x (T, D), in place, on backend be (every pointer in be's memory).
 * Writes this pass's keys and values into k_dst/v_dst (T, KV) and attends over k_all/v_all (rows
 * named by span, which index k_all). For a packed batch k_dst == k_all (the scratch); for
 * generation they point into a KV cache. plan may be NULL; hooks run at the points
 * plan->hook_mask asks for, with b (may be NULL). With plan->block_stats, the block's
 * statistics go to be->stats + l*T*3 (model_forward fetches them). Errors: the backend's
 * (never on the CPU). */
abl_status model_block_run(model *m, backend *be, int l, float *x, int T, const int32_t *pos,
                           const k_span *span, float *k_dst, float *v_dst, const float *k_all,
                           const float *v_all, const run_plan *plan, const fwd_batch *b,
                           abl_err *err);

/* Fire plan's hook at (l, p) when it asks for that point. */
static inline void model_fire(const run_plan *plan, int l, hook_point p, float *x,
                              const fwd_batch *b)
{
    if (plan && plan->hook && (plan->hook_mask & (1u << p)))
        plan->hook(plan->hook_user, l, p, x, b);
}

/* y (T, n) += bias (n) on every row; bias NULL = nothing. */
static inline void model_add_bias(float *y, const float *bias, int T, int n)
{
    if (!bias)
        return;
    for (int r = 0; r < T; r++)
        kern.add(y + (size_t)r * n, bias, (size_t)n);
}

/* y (n, D) = the final norm of x (n, D) as the model's family defines it (RMSNorm; NeoX
 * LayerNorm with bias; OLMo LayerNorm without parameters). y may alias x. */
void model_final_norm(const model *m, float *y, const float *x, int n);

/* model_block_run for the families other than ARCH_LLAMA (engine/block_family.c): NeoX
 * (parallel or sequential residual), OLMo, OLMo-2. Same contract as model_block_run. */
void model_block_run_family(model *m, int l, float *x, int T, const int32_t *pos,
                            const k_span *span, float *k_dst, float *v_dst, const float *k_all,
                            const float *v_all, const run_plan *plan, const fwd_batch *b);

/* The spans block l attends with: win (the sliding-window spans) for the blocks that slide,
 * full otherwise. */
static inline const k_span *model_layer_span(const model *m, int l, const k_span *full,
                                             const k_span *win)
{
    return m->cfg.sliding_window > 0 && l >= m->cfg.sliding_from ? win : full;
}

/* x (T, D) = embedding rows of ids (T), on the host. */
void model_embed(const model *m, const int32_t *ids, int T, float *x);

/* ---- backends (engine/backend_cpu.c, engine/backend_cuda.c) ------------------------------ */

/* Open the CPU backend m->cpu over the loaded weights and make it m->be. ABL_E_NOMEM. */
abl_status backend_cpu_open(model *m, abl_err *err);
void backend_cpu_close(model *m); /* fine on a model whose backend never opened */

/* Select CUDA device `ordinal`, upload every weight once (F32, Hugging Face layout) and make
 * that backend m->be. The CPU weights stay (generation and the logit lens run there). In a
 * CPU-only build ABL_E_DEVICE ("this build has no CUDA backend (hint: make cuda)"); without a
 * GPU, "no CUDA device found ..."; ABL_E_NOMEM. On failure m->be stays the CPU. */
abl_status model_cuda_attach(model *m, int ordinal, abl_err *err);

/* Free the device copy, if any; m->be = &m->cpu. */
void model_cuda_detach(model *m);

#endif
