/* loader/hf_names.h - the Hugging Face tensor names and shapes a llama-family checkpoint must
 * hold for a given config, per layer, and a checker that compares them with a safetensors file. */
#ifndef HF_NAMES_H
#define HF_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/abl.h"
#include "config.h"
#include "safetensors.h"

/* Legend: D d_model, H heads, Hkv kv heads, Dh head_dim, F d_ff, V vocab.
 * Linear weights are stored (out, in) as in PyTorch. Names below are the Llama family's; each
 * cfg_family has its own (GPT-NeoX: gpt_neox.layers.N.attention.query_key_value.weight, ...;
 * OLMo has no norm weights; OLMo-2 has QK-norms and output norms instead of input norms). */
typedef enum {
    HF_EMBED,       /* model.embed_tokens.weight            (V, D)      global */
    HF_FINAL_NORM,  /* model.norm.weight                    (D)         global */
    HF_FINAL_NORM_B,/* NeoX gpt_neox.final_layer_norm.bias  (D)         global */
    HF_LM_HEAD,     /* lm_head.weight                       (V, D)      global, absent when tied */
    HF_ATTN_NORM,   /* model.layers.N.input_layernorm.weight           (D) */
    HF_WQ,          /* model.layers.N.self_attn.q_proj.weight          (H*Dh, D) */
    HF_WK,          /* model.layers.N.self_attn.k_proj.weight          (Hkv*Dh, D) */
    HF_WV,          /* model.layers.N.self_attn.v_proj.weight          (Hkv*Dh, D) */
    HF_WO,          /* model.layers.N.self_attn.o_proj.weight          (D, H*Dh) */
    HF_BQ,          /* model.layers.N.self_attn.q_proj.bias            (H*Dh)     attn_bias */
    HF_BK,          /* model.layers.N.self_attn.k_proj.bias            (Hkv*Dh)   attn_bias */
    HF_BV,          /* model.layers.N.self_attn.v_proj.bias            (Hkv*Dh)   attn_bias */
    HF_BO,          /* model.layers.N.self_attn.o_proj.bias            (D)        cfg_has_o_bias */
    HF_MLP_NORM,    /* model.layers.N.post_attention_layernorm.weight  (D) */
    HF_WGATE,       /* model.layers.N.mlp.gate_proj.weight             (F, D) */
    HF_WUP,         /* model.layers.N.mlp.up_proj.weight               (F, D) */
    HF_WDOWN,       /* model.layers.N.mlp.down_proj.weight             (D, F) */
    HF_BGATE,       /* model.layers.N.mlp.gate_proj.bias               (F)        mlp_bias */
    HF_BUP,         /* model.layers.N.mlp.up_proj.bias                 (F)        mlp_bias */
    HF_BDOWN,       /* model.layers.N.mlp.down_proj.bias               (D)        mlp_bias */
    HF_ATTN_NORM_B, /* NeoX input_layernorm.bias                       (D) */
    HF_MLP_NORM_B,  /* NeoX post_attention_layernorm.bias              (D) */
    HF_WQKV,        /* NeoX attention.query_key_value.weight (3*H*Dh, D): per head q, k, v rows */
    HF_BQKV,        /* NeoX attention.query_key_value.bias   (3*H*Dh)    attn_bias */
    HF_QNORM,       /* OLMo-2 self_attn.q_norm.weight                  (H*Dh) */
    HF_KNORM,       /* OLMo-2 self_attn.k_norm.weight                  (Hkv*Dh) */
    HF_ATTN_POST_NORM, /* OLMo-2 post_attention_layernorm.weight (on the attention output) (D) */
    HF_MLP_POST_NORM,  /* OLMo-2 post_feedforward_layernorm.weight (on the MLP output)     (D) */
    HF_ROLE_COUNT
} hf_role;

#define HF_FIRST_LAYER_ROLE HF_ATTN_NORM

typedef struct {
    hf_role role;
    int layer;              /* block index, -1 for global tensors */
    char name[80];          /* full HF name, NUL-terminated */
    int ndim;               /* 1 or 2 */
    int64_t shape[2];
} hf_tensor_spec;

/* True when a checkpoint for cfg holds this role (the family, biases and lm_head depend on the
 * config). Pure, thread-safe. */
bool hf_role_used(const hf_config *cfg, hf_role role);

/* Fill *out with the name and shape of (role, layer). layer is ignored (set -1) for global roles
 * and must be in [0, n_layers) otherwise (ABL_ASSERT). Returns false, leaving *out untouched,
 * when the role is not used by cfg. Pure, thread-safe. */
bool hf_tensor_spec_of(const hf_config *cfg, hf_role role, int layer, hf_tensor_spec *out);

/* The tensors of one block (layer in [0, n_layers)), in role order; writes at most cap entries
 * (out may be NULL when cap is 0) and returns how many there are. */
int hf_layer_tensors(const hf_config *cfg, int layer, hf_tensor_spec *out, int cap);

/* Every expected tensor: embed, then each block's tensors, then final norm and lm_head (when
 * untied). Writes at most cap entries, returns the total (call with cap 0 to size a buffer). */
int hf_expected_tensors(const hf_config *cfg, hf_tensor_spec *out, int cap);

/* Find (role, layer) in f and check it is there with the expected shape and a floating-point
 * dtype (F32, F16, BF16, F64). On success *out points into f (valid until st_close). Errors:
 * ABL_E_FORMAT missing, ABL_E_SHAPE wrong shape or dtype, ABL_E_ARG role unused by cfg. */
abl_status hf_get_tensor(const hf_config *cfg, const st_file *f, hf_role role, int layer,
                         const st_tensor **out, abl_err *err);

/* Check the whole file against cfg: every expected tensor present with the right shape and a
 * floating-point dtype, nothing else present. Tolerated extras: lm_head.weight of the right shape
 * when embeddings are tied, *.rotary_emb.inv_freq buffers, and GPT-NeoX's attention.bias and
 * attention.masked_bias mask buffers. The error (one line) names the
 * first problem and how many there are in all. Thread-safe (read-only). */
abl_status hf_check_tensors(const hf_config *cfg, const st_file *f, abl_err *err);

/* Format a shape as "(a, b)" into buf; returns buf. */
const char *hf_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

#endif
