/* loader/config.c - reads a Hugging Face config.json for llama-family models and rejects anything
 * the engine would silently compute wrong (other activations, rope scaling, inconsistent sizes). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "config_int.h"
#include "hf_names.h"
#include "json.h"

static const struct {
    const char *arch, *model_type;
    int family;
    bool qkv_bias;      /* Qwen2: q/k/v biases always; NeoX: attention_bias defaults to true */
    const char *act;    /* the one hidden_act implemented */
} known_archs[] = {
    {"LlamaForCausalLM", "llama", ARCH_LLAMA, false, "silu"},
    {"MistralForCausalLM", "mistral", ARCH_LLAMA, false, "silu"},
    {"Qwen2ForCausalLM", "qwen2", ARCH_LLAMA, true, "silu"},
    {"GPTNeoXForCausalLM", "gpt_neox", ARCH_NEOX, true, "gelu"},
    {"OlmoForCausalLM", "olmo", ARCH_OLMO, false, "silu"},
    {"Olmo2ForCausalLM", "olmo2", ARCH_OLMO2, false, "silu"},
};

abl_status cfg_get_dim(const json_val *root, const char *key, int64_t def, int64_t max,
                          int *out, const char *name, abl_err *err)
{
    const json_val *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) {
        if (def < 0)
            return abl_fail(err, ABL_E_FORMAT, "%s: expected an integer \"%s\", found none", name, key);
        *out = (int)def;
        return ABL_OK;
    }
    int64_t x;
    if (!json_as_int(v, &x))
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected an integer, found %s", name, key,
                        v->type == JSON_NUMBER ? "a non-integer number" : json_type_name(v->type));
    if (x <= 0)
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected a positive integer, found %lld",
                        name, key, (long long)x);
    if (x > max)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: \"%s\" = %lld is implausibly large (limit %lld)",
                        name, key, (long long)x, (long long)max);
    *out = (int)x;
    return ABL_OK;
}

abl_status cfg_get_pos(const json_val *root, const char *key, double def, double *out,
                          const char *name, abl_err *err)
{
    const json_val *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) {
        *out = def;
        return ABL_OK;
    }
    double x;
    if (!json_as_num(v, &x))
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected a number, found %s", name, key,
                        json_type_name(v->type));
    if (!(x > 0) || !isfinite(x))
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected a positive finite number, found %g",
                        name, key, x);
    *out = x;
    return ABL_OK;
}

abl_status cfg_get_bool(const json_val *root, const char *key, bool def, bool *out,
                           const char *name, abl_err *err)
{
    const json_val *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) {
        *out = def;
        return ABL_OK;
    }
    if (!json_as_bool(v, out))
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected true or false, found %s", name,
                        key, json_type_name(v->type));
    return ABL_OK;
}

/* Token id: integer >= 0, null/absent -> -1, a list -> its first element. */
static abl_status get_token(const json_val *root, const char *key, int *out, const char *name,
                            abl_err *err)
{
    const json_val *v = json_get(root, key);
    *out = -1;
    if (v && v->type == JSON_ARRAY)
        v = v->len ? &v->kids[0] : NULL;
    if (!v || v->type == JSON_NULL)
        return ABL_OK;
    int64_t x;
    if (!json_as_int(v, &x) || x < 0 || x > INT32_MAX)
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected a token id (integer >= 0), found %s",
                        name, key, json_type_name(v->type));
    *out = (int)x;
    return ABL_OK;
}

/* The fields one family reads: norm epsilon, NeoX's residual wiring, OLMo's clip_qkv. */
static abl_status read_family(hf_config *cfg, const json_val *r, const char *name, abl_err *err)
{
    abl_status st = ABL_OK;
    switch (cfg->family) {
    case ARCH_NEOX:
        if ((st = cfg_get_pos(r, "layer_norm_eps", 1e-5, &cfg->norm_eps, name, err)))
            return st;
        return cfg_get_bool(r, "use_parallel_residual", true, &cfg->parallel_residual, name, err);
    case ARCH_OLMO:
        cfg->norm_eps = 1e-5; /* transformers' OlmoLayerNorm hard-codes it */
        return cfg_get_pos(r, "clip_qkv", 0.0, &cfg->clip_qkv, name, err);
    default:
        return cfg_get_pos(r, "rms_norm_eps", 1e-6, &cfg->norm_eps, name, err);
    }
}

/* Sliding-window attention. Mistral: sliding_window (null = none) on every block. Qwen2:
 * layer_types when given ("full_attention" / "sliding_attention" per block; the sliding ones
 * must be the blocks from some block on), else use_sliding_window with max_window_layers
 * (blocks from it on slide); the window is sliding_window, and only when use_sliding_window. */
static abl_status read_window(hf_config *cfg, const json_val *r, int ai, const char *name,
                              abl_err *err)
{
    abl_status st;
    cfg->sliding_window = 0;
    cfg->sliding_from = 0;
    if (ai == 1)
        return cfg_get_dim(r, "sliding_window", 0, 1 << 24, &cfg->sliding_window, name, err);
    if (ai != 2)
        return ABL_OK; /* Llama: transformers ignores any sliding_window field */
    bool use = false;
    int win = 0, from = cfg->n_layers;
    if ((st = cfg_get_bool(r, "use_sliding_window", false, &use, name, err)) ||
        (use && (st = cfg_get_dim(r, "sliding_window", 0, 1 << 24, &win, name, err))) ||
        (st = cfg_get_dim(r, "max_window_layers", 28, 1 << 20, &from, name, err)))
        return st;
    const json_val *lt = json_get(r, "layer_types");
    if (lt && lt->type != JSON_NULL) {
        if (lt->type != JSON_ARRAY || lt->len != (size_t)cfg->n_layers)
            return abl_fail(err, ABL_E_FORMAT, "%s: \"layer_types\": expected a list of %d "
                            "strings (one per block)", name, cfg->n_layers);
        from = cfg->n_layers;
        for (int l = 0; l < cfg->n_layers; l++) {
            const char *ty = json_as_str(&lt->kids[l]);
            bool slide = ty && strcmp(ty, "sliding_attention") == 0;
            if (!slide && !(ty && strcmp(ty, "full_attention") == 0))
                return abl_fail(err, ABL_E_UNSUPPORTED, "%s: layer_types[%d]: expected "
                                "\"full_attention\" or \"sliding_attention\"", name, l);
            if (slide && from == cfg->n_layers)
                from = l;
            if (!slide && from < cfg->n_layers)
                return abl_fail(err, ABL_E_UNSUPPORTED, "%s: layer_types: a full-attention block "
                                "(%d) after a sliding one (%d) is not supported", name, l, from);
        }
        if (from < cfg->n_layers && win == 0)
            return abl_fail(err, ABL_E_UNSUPPORTED, "%s: layer_types has sliding_attention "
                            "blocks but no window (use_sliding_window false or sliding_window "
                            "null)", name);
    }
    if (win > 0 && from < cfg->n_layers) {
        cfg->sliding_window = win;
        cfg->sliding_from = from;
    }
    return ABL_OK;
}

abl_status cfg_parse(hf_config *cfg, const char *text, size_t len, const char *name, abl_err *err)
{
    ABL_ASSERT(cfg);
    memset(cfg, 0, sizeof *cfg);
    if (!name)
        name = "config.json";
    json_doc *doc = NULL;
    abl_status st = json_parse(&doc, text, len, name, err);
    if (st != ABL_OK)
        return st;
    const json_val *r = json_root(doc);
    int ai = -1;
    if (r->type != JSON_OBJECT) {
        st = abl_fail(err, ABL_E_FORMAT, "%s: expected a JSON object, found %s", name,
                      json_type_name(r->type));
        goto out;
    }
    /* architecture: "architectures"[0], else "model_type" */
    const json_val *archs = json_get(r, "architectures");
    const char *arch = NULL, *mt = json_as_str(json_get(r, "model_type"));
    if (archs && archs->type == JSON_ARRAY && archs->len >= 1)
        arch = json_as_str(&archs->kids[0]);
    else if (archs && archs->type != JSON_NULL && archs->type != JSON_ARRAY) {
        st = abl_fail(err, ABL_E_FORMAT, "%s: \"architectures\": expected a list of strings", name);
        goto out;
    }
    for (int i = 0; i < (int)ABL_ARRAY_LEN(known_archs); i++)
        if ((arch && strcmp(arch, known_archs[i].arch) == 0) ||
            (!arch && mt && strcmp(mt, known_archs[i].model_type) == 0))
            ai = i;
    char q1[64];
    if (ai < 0) {
        st = abl_fail(err, ABL_E_UNSUPPORTED,
                      "%s: unsupported architecture '%s' (hint: supported are LlamaForCausalLM, "
                      "MistralForCausalLM, Qwen2ForCausalLM, GPTNeoXForCausalLM, OlmoForCausalLM, "
                      "Olmo2ForCausalLM)", name,
                      json_quote(q1, sizeof q1, arch ? arch : mt ? mt : "(none given)"));
        goto out;
    }
    snprintf(cfg->arch, sizeof cfg->arch, "%s", known_archs[ai].arch);
    cfg->family = known_archs[ai].family;
    int fam = cfg->family;

    const char *act = json_as_str(json_get(r, "hidden_act"));
    const json_val *actv = json_get(r, "hidden_act");
    if (actv && actv->type != JSON_NULL && (!act || strcmp(act, known_archs[ai].act) != 0)) {
        st = abl_fail(err, ABL_E_UNSUPPORTED,
                      "%s: hidden_act: expected \"%s\", found %s%s%s (hint: that is the only MLP "
                      "activation implemented for %s)", name, known_archs[ai].act,
                      act ? "\"" : "",
                      act ? json_quote(q1, sizeof q1, act) : json_type_name(actv->type),
                      act ? "\"" : "", cfg->arch);
        goto out;
    }
    /* fields that change the math and that the engine does not implement */
    static const char *const refused[] = {"quantization_config", "attn_logit_softcapping",
                                           "final_logit_softcapping"};
    for (int i = 0; i < (int)ABL_ARRAY_LEN(refused); i++) {
        const json_val *v = json_get(r, refused[i]);
        if (v && v->type != JSON_NULL) {
            st = abl_fail(err, ABL_E_UNSUPPORTED, "%s: \"%s\" is set but not implemented (hint: "
                          "the model would compute wrong values; use an unquantized F32/F16/BF16 "
                          "checkpoint without it)", name, refused[i]);
            goto out;
        }
    }

    if ((st = cfg_get_dim(r, "hidden_size", -1, 1 << 16, &cfg->d_model, name, err)) ||
        (st = cfg_get_dim(r, "num_hidden_layers", -1, 1024, &cfg->n_layers, name, err)) ||
        (st = cfg_get_dim(r, "num_attention_heads", -1, 1024, &cfg->n_heads, name, err)) ||
        (fam == ARCH_NEOX ? (cfg->n_kv_heads = cfg->n_heads, 0) : /* no GQA in GPT-NeoX */
         (st = cfg_get_dim(r, "num_key_value_heads", cfg->n_heads, 1024, &cfg->n_kv_heads, name,
                           err))) ||
        (st = cfg_get_dim(r, "intermediate_size", -1, 1 << 20, &cfg->d_ff, name, err)) ||
        (st = cfg_get_dim(r, "vocab_size", -1, 1 << 24, &cfg->vocab, name, err)) ||
        (st = cfg_get_dim(r, "max_position_embeddings", 2048, 1 << 21, &cfg->max_pos, name, err)))
        goto out;
    const json_val *hd = fam == ARCH_NEOX ? NULL : json_get(r, "head_dim");
    if (!hd || hd->type == JSON_NULL) {
        if (cfg->d_model % cfg->n_heads != 0) {
            st = abl_fail(err, ABL_E_FORMAT,
                          "%s: hidden_size %d is not divisible by num_attention_heads %d", name,
                          cfg->d_model, cfg->n_heads);
            goto out;
        }
        cfg->head_dim = cfg->d_model / cfg->n_heads;
    } else if ((st = cfg_get_dim(r, "head_dim", -1, 1024, &cfg->head_dim, name, err))) {
        goto out;
    }
    if (cfg->n_heads % cfg->n_kv_heads != 0) {
        st = abl_fail(err, ABL_E_FORMAT,
                      "%s: num_attention_heads %d is not divisible by num_key_value_heads %d", name,
                      cfg->n_heads, cfg->n_kv_heads);
        goto out;
    }
    if (cfg->head_dim % 2 != 0) {
        st = abl_fail(err, ABL_E_UNSUPPORTED, "%s: head_dim %d is odd (RoPE needs an even head_dim)",
                      name, cfg->head_dim);
        goto out;
    }
    if ((st = cfg_read_rope(cfg, r, fam == ARCH_NEOX, name, err)) ||
        (st = read_family(cfg, r, name, err)) ||
        (st = cfg_get_bool(r, "tie_word_embeddings", false, &cfg->tie_embeddings, name, err)) ||
        (st = cfg_get_bool(r, "attention_bias", known_archs[ai].qkv_bias, &cfg->attn_bias, name, err)) ||
        (fam != ARCH_NEOX &&
         (st = cfg_get_bool(r, "mlp_bias", false, &cfg->mlp_bias, name, err))) ||
        (st = get_token(r, "bos_token_id", &cfg->bos_id, name, err)) ||
        (st = get_token(r, "eos_token_id", &cfg->eos_id, name, err)))
        goto out;
    if (known_archs[ai].qkv_bias)
        cfg->attn_bias = true; /* Qwen2 always has q/k/v biases whatever the field says */
    if (fam == ARCH_NEOX)
        cfg->mlp_bias = true; /* GPT-NeoX's MLP linears always carry biases */
    else if (cfg->mlp_bias && ai != 0) {
        st = abl_fail(err, ABL_E_UNSUPPORTED, "%s: mlp_bias is only defined for LlamaForCausalLM", name);
        goto out;
    }
    if ((st = read_window(cfg, r, ai, name, err)))
        goto out;
out:
    json_free(doc);
    if (st != ABL_OK)
        memset(cfg, 0, sizeof *cfg);
    return st;
}

abl_status cfg_load(hf_config *cfg, const char *path, abl_err *err)
{
    ABL_ASSERT(cfg && path);
    memset(cfg, 0, sizeof *cfg);
    char *buf = NULL;
    size_t n = 0;
    abl_status st = abl_read_file(path, (size_t)16 << 20, "pass a Hugging Face model folder "
                                  "with --model, or run `make model` for the default one", &buf,
                                  &n, err);
    if (st == ABL_OK)
        st = cfg_parse(cfg, buf, n, path, err);
    free(buf);
    return st;
}

long long cfg_param_count(const hf_config *c)
{
    ABL_ASSERT(c);
    long long n = 0;
    for (int l = 0; l < c->n_layers; l++) {
        /* per block, so that no buffer of every spec is needed */
        hf_tensor_spec sp[HF_ROLE_COUNT];
        int k = hf_layer_tensors(c, l, sp, HF_ROLE_COUNT);
        for (int i = 0; i < k; i++)
            n += sp[i].shape[0] * (sp[i].ndim == 2 ? sp[i].shape[1] : 1);
    }
    for (int r = 0; r < HF_FIRST_LAYER_ROLE; r++) {
        hf_tensor_spec sp;
        if (hf_tensor_spec_of(c, (hf_role)r, -1, &sp))
            n += sp.shape[0] * (sp.ndim == 2 ? sp.shape[1] : 1);
    }
    return n;
}

bool cfg_has_o_bias(const hf_config *c)
{
    /* Llama's attention_bias covers o_proj too (so do NeoX's and OLMo's); Qwen2 has q/k/v
     * biases only. */
    return c->attn_bias && strcmp(c->arch, "Qwen2ForCausalLM") != 0;
}
