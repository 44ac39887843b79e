/* engine/model.h - a llama-style transformer loaded from a Hugging Face folder and run by our
 * kernels on packed "prefix + branches" batches, with a run plan (skips, resume), hooks and
 * row-by-row log-probs. Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim,
 * F FFN width, V vocabulary, T tokens in a batch. */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/abl.h"
#include "../kernels/kernels.h"
#include "../loader/config.h"
#include "tokenizer.h"

typedef struct model model;

typedef struct {
    int threads;            /* <= 0: all cores */
    int device;             /* 0 = cpu, 1 = cuda */
    bool check_finite;      /* refuse NaN/Inf weights (default true via model_opts_default) */
    double mem_avail;       /* bytes the load may use; <= 0: the memory available now (Linux
                             * MemAvailable); a model needing more is refused up front */
} model_opts;

model_opts model_opts_default(void);

/* Bytes a CPU model of config c holds once loaded: every weight as F32 (the compute dtype; the
 * embedding table and the packed head are separate copies), norms, biases and RoPE tables, plus
 * the scratch of one pass over n_tok tokens (n_tok >= 64). *weights (may be NULL) gets the
 * weights' share. An estimate within a few percent; pure, thread-safe. */
double model_mem_estimate(const hf_config *c, int n_tok, double *weights);

/* Bytes of memory available now (Linux MemAvailable; else free pages), 0 when unknown. */
double model_mem_available(void);

/* Load dir/config.json, dir/model.safetensors (or shards) and dir/tokenizer.json. Checks every
 * required tensor's presence and shape, packs weights. On failure *out is NULL.
 * Weights are packed for the kernel variant active now: call kern_init before, and do not
 * switch variants while the model lives. opts NULL = model_opts_default(). device 1 needs a
 * CUDA build and a GPU (ABL_E_DEVICE otherwise). Errors name the file or tensor: ABL_E_IO,
 * ABL_E_FORMAT, ABL_E_SHAPE, ABL_E_UNSUPPORTED, ABL_E_NUMERIC (non-finite weight with
 * check_finite), ABL_E_NOMEM (also up front, before reading weights, when
 * model_mem_estimate exceeds opts->mem_avail: the message gives both figures). The caller owns
 * *out (model_free; NULL is fine). */
abl_status model_load(model **out, const char *dir, const model_opts *opts, abl_err *err);
void model_free(model *m);

const hf_config *model_config(const model *m);
tokenizer *model_tok(model *m);
kpool *model_pool(model *m);

/* ---- packed batches ---------------------------------------------------------------------- */

/* Many sequences packed along T. Each sequence is a prefix followed by zero or more branches;
 * a branch token sees the prefix and the earlier tokens of its own branch; positions of every
 * branch continue from the prefix length. Scored rows request log P(target | row's context). */
typedef struct {
    int n_tok, cap_tok;
    int32_t *ids;       /* (T) token ids */
    int32_t *pos;       /* (T) RoPE positions */
    k_span *span;       /* (T) visible key rows */
    int32_t *seq;       /* (T) sequence index the token belongs to */
    int32_t *branch;    /* (T) 0 = prefix, b >= 1 = branch b */
    int n_seq;
    int32_t *seq_start; /* (n_seq) first row of each sequence */
    int32_t *seq_tag;   /* (n_seq) caller's tag (item index) */
    int cap_seq;
    int n_score, cap_score;
    int32_t *score_row; /* (n_score) row whose next-token distribution is read */
    int32_t *score_tgt; /* (n_score) target id */
    float *score_lp;    /* (n_score) out: log P(target) */
    uint8_t *score_top1;/* (n_score) out: 1 when target is the argmax of the row */
} fwd_batch;

void batch_init(fwd_batch *b);
void batch_free(fwd_batch *b);
void batch_clear(fwd_batch *b);   /* keep capacity */

/* Start a new sequence with prefix ids (n >= 1). Returns its row offset, or -1 on NOMEM. */
int batch_add_seq(fwd_batch *b, int32_t tag, const int32_t *ids, int n);
/* Add a branch (n >= 1 ids) to the last sequence (there must be one). Returns the row of its
 * first token, or -1 on NOMEM. */
int batch_add_branch(fwd_batch *b, const int32_t *ids, int n);
/* Request log P(target | context up to and including row). Returns score index or -1. */
int batch_add_score(fwd_batch *b, int row, int32_t target);

/* The spans of b under a sliding window (window > 0): a query at position p keeps only the keys
 * at positions > p - window, as transformers' sliding-window mask does. Writes out (n_tok) when
 * out is not NULL; returns how many rows lose a key (0: the window changes nothing). */
int batch_window_spans(const fwd_batch *b, int window, k_span *out);

/* ---- run plan and hooks ------------------------------------------------------------------ */

typedef enum {
    HOOK_RESID_PRE, HOOK_ATTN_OUT, HOOK_RESID_MID, HOOK_MLP_OUT, HOOK_RESID_POST, HOOK_FINAL,
    HOOK_COUNT
} hook_point;

const char *hook_name(hook_point p); /* "resid_pre", ... */

/* Called at each requested point with x (T, D); may read or overwrite x. layer = -1 for FINAL.
 * Per block the order is resid_pre, attn_out, resid_mid, mlp_out, resid_post; a skipped
 * sub-block does not fire its *_out point (resid_mid/resid_post still fire). FINAL gets the
 * final-normed rows. Writes to attn_out/mlp_out change what is added to the residual. Hooks run
 * on the calling thread. During generation (engine/generate.h) b is NULL. */
typedef void (*model_hook)(void *user, int layer, hook_point p, float *x, const fwd_batch *b);

typedef struct {
    const uint8_t *skip_attn;  /* (L) nonzero = skip the attention sub-block; NULL = none */
    const uint8_t *skip_mlp;   /* (L) nonzero = skip the MLP sub-block */
    int start_layer;           /* run blocks [start_layer, L); 0 = from embeddings */
    const float *resume;       /* (T, D) residual entering start_layer (required when > 0) */
    model_hook hook;
    void *hook_user;
    unsigned hook_mask;        /* bit (1u << hook_point) per wanted point */
    int topk;                  /* 0 = none; else the k (<= 64) most likely next tokens per
                                * scored row are written to topk_ids / topk_lp */
    int32_t *topk_ids;         /* (n_score, topk) out: ids, most likely first */
    float *topk_lp;            /* (n_score, topk) out: their log-probs */
    double *block_stats;       /* (L, T, 3) out or NULL: for every block run and row r,
                                * {dot(in, out), |in|^2, |out|^2} in double, in = resid_pre and
                                * out = resid_post of that block; computed where the activations
                                * live (on a GPU only these sums cross the bus). Rows of blocks
                                * not run are left as they were. */
    /* Output distributions of the scored rows (on the host; for KL between two passes over the
     * same batch). probs_out + negent_out: each row's full next-token distribution p and
     * sum_v p log p. kl_probs + kl_negent (a reference pass's outputs, same rows) + kl_out:
     * KL(p_ref || this pass) = sum_v p_ref (log p_ref - log q) in nats, per row. */
    float *probs_out;          /* (n_score, V) out, with negent_out */
    double *negent_out;        /* (n_score) out */
    const float *kl_probs;     /* (n_score, V) reference probabilities */
    const double *kl_negent;   /* (n_score) reference sum p log p */
    double *kl_out;            /* (n_score) out */
} run_plan;

/* Run the batch under plan (NULL = plain forward) and fill b->score_lp / score_top1.
 * Reserves scratch for b->n_tok on first use (grows, never shrinks). Not thread-safe per model
 * (it uses the model's pool). ABL_E_NOMEM, ABL_E_ARG (bad plan) are the errors. */
abl_status model_forward(model *m, fwd_batch *b, const run_plan *plan, abl_err *err);

/* Final norm + head on one residual row x (D) -> logits (V). For the logit lens. Runs on the
 * CPU with the model's pool and scratch: not thread-safe per model, allocates nothing. */
void model_logits(model *m, const float *x, float *logits, bool apply_final_norm);

#endif
