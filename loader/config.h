/* loader/config.h - Hugging Face config.json for llama-family models
 * (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM). */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>

#include "../base/abl.h"

typedef struct {
    char arch[64];          /* "LlamaForCausalLM", ... */
    int d_model;            /* hidden_size (D) */
    int n_layers;           /* num_hidden_layers (L) */
    int n_heads;            /* num_attention_heads (H) */
    int n_kv_heads;         /* num_key_value_heads (Hkv), default H */
    int head_dim;           /* head_dim (Dh), default D/H */
    int d_ff;               /* intermediate_size (F) */
    int vocab;              /* vocab_size (V) */
    int max_pos;            /* max_position_embeddings */
    double rope_theta;      /* default 10000 */
    double norm_eps;        /* rms_norm_eps, default 1e-6 */
    bool tie_embeddings;    /* tie_word_embeddings */
    bool attn_bias;         /* q/k/v biases (Qwen2: true) */
    bool mlp_bias;
    int bos_id, eos_id;     /* -1 when absent; eos: first of a list */
    int sliding_window;     /* attention window (Mistral; Qwen2 with use_sliding_window), 0 none:
                             * exact only for sequences no longer than it */
} hf_config;

/* Read and validate config.json at path. Unsupported architecture, activation other than silu,
 * or rope_scaling other than null give ABL_E_UNSUPPORTED with a clear message. */
abl_status cfg_load(hf_config *cfg, const char *path, abl_err *err);

/* Same, from an in-memory JSON text (name labels errors). */
abl_status cfg_parse(hf_config *cfg, const char *text, size_t len, const char *name, abl_err *err);

/* Total parameter count implied by the config (embeddings counted once when tied). */
long long cfg_param_count(const hf_config *cfg);

/* True when o_proj carries a bias too (Llama with attention_bias; never for Qwen2, whose
 * attn_bias covers q/k/v only). */
bool cfg_has_o_bias(const hf_config *cfg);

#endif
