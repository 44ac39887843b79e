/* loader/config.h - Hugging Face config.json for llama-family models
 * (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM). */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>

#include "../base/abl.h"

/* hf_config.family: the shape of a block (names, norms, MLP, residual wiring). */
typedef enum {
    ARCH_LLAMA = 0,  /* Llama, Mistral, Qwen2: RMSNorm before attention and MLP, SwiGLU */
    ARCH_NEOX,       /* GPT-NeoX (Pythia): LayerNorm with bias, fused QKV, GELU MLP, partial
                      * rotary, parallel residual (use_parallel_residual) */
    ARCH_OLMO,       /* OLMo: LayerNorm without weight or bias (eps 1e-5), optional clip_qkv */
    ARCH_OLMO2       /* OLMo-2: RMSNorm on the attention and MLP outputs, QK-norm */
} cfg_family;

typedef struct {
    char arch[64];          /* "LlamaForCausalLM", ... */
    int family;             /* cfg_family */
    bool parallel_residual; /* NeoX: x + attn(ln1(x)) + mlp(ln2(x)) */
    double clip_qkv;        /* OLMo: q, k, v clamped to [-clip, clip]; 0 = none */
    int d_model;            /* hidden_size (D) */
    int n_layers;           /* num_hidden_layers (L) */
    int n_heads;            /* num_attention_heads (H) */
    int n_kv_heads;         /* num_key_value_heads (Hkv), default H */
    int head_dim;           /* head_dim (Dh), default D/H */
    int d_ff;               /* intermediate_size (F) */
    int vocab;              /* vocab_size (V) */
    int max_pos;            /* max_position_embeddings */
    double rope_theta;      /* default 10000 (top-level, or inside rope_parameters) */
    int rope_type;          /* cfg_rope_type: how the RoPE inverse frequencies are scaled */
    double rope_factor;     /* linear and llama3 "factor"; 1 for default */
    double rope_low_freq;   /* llama3 low_freq_factor */
    double rope_high_freq;  /* llama3 high_freq_factor */
    int rope_orig_max;      /* llama3 original_max_position_embeddings */
    int rotary_dim;         /* leading dims of each head RoPE rotates: Dh unless partial rotary */
    double norm_eps;        /* rms_norm_eps, default 1e-6 (NeoX layer_norm_eps; OLMo 1e-5) */
    bool tie_embeddings;    /* tie_word_embeddings */
    bool attn_bias;         /* q/k/v biases (Qwen2: true) */
    bool mlp_bias;
    int bos_id, eos_id;     /* -1 when absent; eos: first of a list */
    int sliding_window;     /* W: a query at position p sees keys at positions > p - W (Mistral;
                             * Qwen2 with use_sliding_window or sliding layer_types); 0 = none */
    int sliding_from;       /* first block that uses the window (later blocks all do) */
} hf_config;

/* hf_config.rope_type. inv_freq(i) = theta^(-2i/rotary_dim), i < rotary_dim/2, then:
 * DEFAULT unchanged; LINEAR divided by factor; LLAMA3 Llama-3.1's banded scaling (wavelengths
 * above orig_max/low_freq divided by factor, below orig_max/high_freq unchanged, smooth between). */
typedef enum { ROPE_DEFAULT = 0, ROPE_LINEAR, ROPE_LLAMA3 } cfg_rope_type;

/* Read and validate config.json at path. Both layouts are read: transformers 4 (top-level
 * rope_theta and rope_scaling) and transformers 5 (rope_parameters). Every field that changes the
 * math and is not implemented is refused with ABL_E_UNSUPPORTED and a one-line message naming it:
 * an unknown architecture, an activation other than silu, a RoPE type other than default /
 * linear / llama3 (yarn, dynamic, longrope, ...), partial rotary, a quantization_config, logit
 * soft-capping, sliding-window layouts other than "all blocks from some block on". */
abl_status cfg_load(hf_config *cfg, const char *path, abl_err *err);

/* Same, from an in-memory JSON text (name labels errors). */
abl_status cfg_parse(hf_config *cfg, const char *text, size_t len, const char *name, abl_err *err);

/* Total parameter count implied by the config: the sum of every expected tensor's size
 * (hf_expected_tensors; embeddings counted once when tied). */
long long cfg_param_count(const hf_config *cfg);

/* True when o_proj carries a bias too (Llama with attention_bias; never for Qwen2, whose
 * attn_bias covers q/k/v only). */
bool cfg_has_o_bias(const hf_config *cfg);

#endif
