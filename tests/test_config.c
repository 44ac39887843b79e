/* tests/test_config.c - Hugging Face config.json parsing: the SmolLM2 config, defaults, the
 * other llama-family architectures, and every rejection path. */
#include <stdio.h>
#include <string.h>

#include "../loader/config.h"
#include "t.h"

/* The published SmolLM2-135M-Instruct config.json (fields that matter, same values). */
static const char *smollm2 =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,\"attention_dropout\":0.0,"
    "\"bos_token_id\":1,\"eos_token_id\":2,\"hidden_act\":\"silu\",\"hidden_size\":576,"
    "\"initializer_range\":0.041666666666666664,\"intermediate_size\":1536,"
    "\"is_llama_config\":true,\"max_position_embeddings\":8192,\"mlp_bias\":false,"
    "\"model_type\":\"llama\",\"num_attention_heads\":9,\"num_hidden_layers\":30,"
    "\"num_key_value_heads\":3,\"pad_token_id\":2,\"pretraining_tp\":1,\"rms_norm_eps\":1e-05,"
    "\"rope_interleaved\":false,\"rope_scaling\":null,\"rope_theta\":100000,"
    "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.42.3\","
    "\"use_cache\":true,\"vocab_size\":49152}";

static abl_status parse(hf_config *c, const char *s, abl_err *e)
{
    memset(e, 0, sizeof *e);
    return cfg_parse(c, s, strlen(s), "config.json", e);
}

void test_config_smollm2(tctx *t)
{
    hf_config c;
    abl_err e;
    if (!T_CHECK(t, parse(&c, smollm2, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, strcmp(c.arch, "LlamaForCausalLM") == 0);
    T_CHECK(t, c.d_model == 576 && c.n_layers == 30 && c.n_heads == 9 && c.n_kv_heads == 3);
    T_CHECK(t, c.head_dim == 64 && c.d_ff == 1536 && c.vocab == 49152 && c.max_pos == 8192);
    T_CHECK(t, c.rope_theta == 100000.0 && c.norm_eps == 1e-5);
    T_CHECK(t, c.tie_embeddings && !c.attn_bias && !c.mlp_bias && !cfg_has_o_bias(&c));
    T_CHECK(t, c.bos_id == 1 && c.eos_id == 2 && c.sliding_window == 0);
    /* 134,515,008 parameters: the published count for SmolLM2-135M */
    long long n = cfg_param_count(&c);
    t_note(t, "SmolLM2-135M parameter count %lld", n);
    T_CHECK(t, n == 134515008LL);
}

void test_config_defaults(tctx *t)
{
    hf_config c;
    abl_err e;
    const char *s = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"
                    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"
                    "\"vocab_size\":100,\"eos_token_id\":[7,8],\"bos_token_id\":null}";
    if (!T_CHECK(t, parse(&c, s, &e) == ABL_OK))
        return;
    T_CHECK(t, c.head_dim == 16 && c.n_kv_heads == 4 && c.rope_theta == 10000.0);
    T_CHECK(t, c.norm_eps == 1e-6 && c.max_pos == 2048 && !c.tie_embeddings);
    T_CHECK(t, c.bos_id == -1 && c.eos_id == 7);
    /* explicit head_dim need not equal hidden/heads */
    const char *s2 = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":60,\"head_dim\":32,"
                     "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                     "\"intermediate_size\":8,\"vocab_size\":10,\"eos_token_id\":[]}";
    T_CHECK(t, parse(&c, s2, &e) == ABL_OK && c.head_dim == 32 && c.eos_id == -1);
    /* model_type alone is enough */
    const char *s3 = "{\"model_type\":\"llama\",\"hidden_size\":8,\"num_hidden_layers\":1,"
                     "\"num_attention_heads\":2,\"intermediate_size\":8,\"vocab_size\":10}";
    T_CHECK(t, parse(&c, s3, &e) == ABL_OK && strcmp(c.arch, "LlamaForCausalLM") == 0);
}

void test_config_other_archs(tctx *t)
{
    hf_config c;
    abl_err e;
    const char *qwen = "{\"architectures\":[\"Qwen2ForCausalLM\"],\"hidden_size\":896,"
                       "\"num_hidden_layers\":24,\"num_attention_heads\":14,\"num_key_value_heads\":2,"
                       "\"intermediate_size\":4864,\"vocab_size\":151936,\"rope_theta\":1000000.0,"
                       "\"rms_norm_eps\":1e-06,\"tie_word_embeddings\":true,\"hidden_act\":\"silu\","
                       "\"max_position_embeddings\":32768,\"sliding_window\":32768,"
                       "\"use_sliding_window\":false,\"max_window_layers\":21,\"rope_scaling\":null,"
                       "\"bos_token_id\":151643,\"eos_token_id\":151645}";
    if (!T_CHECK(t, parse(&c, qwen, &e) == ABL_OK))
        t_fail(t, "%s", e.msg);
    T_CHECK(t, c.attn_bias && !cfg_has_o_bias(&c) && c.head_dim == 64 && c.sliding_window == 0);
    /* Qwen2-0.5B: 494,032,768 parameters */
    t_note(t, "Qwen2-0.5B parameter count %lld", cfg_param_count(&c));
    T_CHECK(t, cfg_param_count(&c) == 494032768LL);
    const char *mistral = "{\"architectures\":[\"MistralForCausalLM\"],\"hidden_size\":4096,"
                          "\"num_hidden_layers\":32,\"num_attention_heads\":32,"
                          "\"num_key_value_heads\":8,\"intermediate_size\":14336,\"vocab_size\":32000,"
                          "\"sliding_window\":4096,\"rope_theta\":10000.0,\"rms_norm_eps\":1e-05}";
    T_CHECK(t, parse(&c, mistral, &e) == ABL_OK && c.sliding_window == 4096 && !c.attn_bias);
    /* Mistral-7B: 7,241,732,096 parameters */
    T_CHECK(t, cfg_param_count(&c) == 7241732096LL);
    /* Llama with attention_bias has an o_proj bias too */
    const char *lb = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":8,\"num_hidden_layers\":1,"
                     "\"num_attention_heads\":2,\"intermediate_size\":8,\"vocab_size\":10,"
                     "\"attention_bias\":true}";
    T_CHECK(t, parse(&c, lb, &e) == ABL_OK && c.attn_bias && cfg_has_o_bias(&c));
}

void test_config_rejections(tctx *t)
{
#define BASE "\"architectures\":[\"LlamaForCausalLM\"],\"num_hidden_layers\":2,\"intermediate_size\":8,\"vocab_size\":10"
    struct { const char *json; abl_status code; const char *want; } bad[] = {
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"type\":\"dynamic\","
         "\"factor\":2.0}}", ABL_E_UNSUPPORTED, "rope_scaling of type 'dynamic' is not supported"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_parameters\":{\"rope_type\":"
         "\"yarn\",\"factor\":4.0,\"rope_theta\":10000.0}}", ABL_E_UNSUPPORTED,
         "rope_parameters of type 'yarn' is not supported"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":"
         "\"longrope\"}}", ABL_E_UNSUPPORTED, "'longrope'"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":"
         "\"llama3\",\"factor\":8.0}}", ABL_E_FORMAT, "expected a number \"low_freq_factor\""},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":"
         "\"llama3\",\"factor\":8.0,\"low_freq_factor\":4,\"high_freq_factor\":4,"
         "\"original_max_position_embeddings\":8192}}", ABL_E_FORMAT,
         "high_freq_factor > low_freq_factor"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":"
         "\"llama3\",\"factor\":8.0,\"low_freq_factor\":1,\"high_freq_factor\":4,"
         "\"original_max_position_embeddings\":81.5}}", ABL_E_FORMAT,
         "original_max_position_embeddings"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"type\":"
         "\"linear\"}}", ABL_E_FORMAT, "rope_scaling of type 'linear': expected a number \"factor\""},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"type\":"
         "\"linear\",\"factor\":0}}", ABL_E_FORMAT, "factor"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":{\"type\":7}}",
         ABL_E_FORMAT, "\"rope_type\": expected a string"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_scaling\":\"linear\"}",
         ABL_E_FORMAT, "\"rope_scaling\": expected an object or null, found string"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_parameters\":{\"rope_theta\":"
         "-5}}", ABL_E_FORMAT, "rope_theta"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"partial_rotary_factor\":0.5}",
         ABL_E_UNSUPPORTED, "partial_rotary_factor 0.5 is not supported for LlamaForCausalLM"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_parameters\":{\"rope_type\":"
         "\"default\",\"partial_rotary_factor\":0.25}}", ABL_E_UNSUPPORTED, "partial_rotary_factor"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"partial_rotary_factor\":1.5}",
         ABL_E_FORMAT, "expected a number in (0, 1]"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"quantization_config\":"
         "{\"quant_method\":\"gptq\"}}", ABL_E_UNSUPPORTED, "\"quantization_config\" is set but "
         "not implemented"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"final_logit_softcapping\":30.0}",
         ABL_E_UNSUPPORTED, "final_logit_softcapping"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"attn_logit_softcapping\":50.0}",
         ABL_E_UNSUPPORTED, "attn_logit_softcapping"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"hidden_act\":\"gelu\"}",
         ABL_E_UNSUPPORTED, "hidden_act: expected \"silu\", found \"gelu\""},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"hidden_act\":3}",
         ABL_E_UNSUPPORTED, "hidden_act"},
        {"{\"architectures\":[\"GPT2LMHeadModel\"],\"hidden_size\":64}", ABL_E_UNSUPPORTED,
         "unsupported architecture 'GPT2LMHeadModel'"},
        {"{\"hidden_size\":64}", ABL_E_UNSUPPORTED, "(none given)"},
        {"{\"architectures\":\"LlamaForCausalLM\"}", ABL_E_FORMAT, "list of strings"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":5}", ABL_E_FORMAT,
         "hidden_size 64 is not divisible by num_attention_heads 5"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"num_key_value_heads\":3}",
         ABL_E_FORMAT, "num_attention_heads 4 is not divisible by num_key_value_heads 3"},
        {"{" BASE ",\"hidden_size\":0,\"num_attention_heads\":4}", ABL_E_FORMAT,
         "\"hidden_size\": expected a positive integer, found 0"},
        {"{" BASE ",\"hidden_size\":-64,\"num_attention_heads\":4}", ABL_E_FORMAT, "positive integer"},
        {"{" BASE ",\"hidden_size\":64.5,\"num_attention_heads\":4}", ABL_E_FORMAT, "non-integer"},
        {"{" BASE ",\"hidden_size\":\"64\",\"num_attention_heads\":4}", ABL_E_FORMAT,
         "expected an integer, found string"},
        {"{" BASE ",\"num_attention_heads\":4}", ABL_E_FORMAT, "\"hidden_size\", found none"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rope_theta\":-1}", ABL_E_FORMAT,
         "rope_theta"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"rms_norm_eps\":0}", ABL_E_FORMAT,
         "rms_norm_eps"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"tie_word_embeddings\":1}",
         ABL_E_FORMAT, "true or false"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"eos_token_id\":-3}", ABL_E_FORMAT,
         "token id"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"head_dim\":15}", ABL_E_UNSUPPORTED,
         "odd"},
        {"{" BASE ",\"hidden_size\":99999999,\"num_attention_heads\":4}", ABL_E_UNSUPPORTED,
         "implausibly large"},
        {"{" BASE ",\"hidden_size\":64,\"num_attention_heads\":4,\"num_key_value_heads\":0}",
         ABL_E_FORMAT, "num_key_value_heads"},
        {"[]", ABL_E_FORMAT, "expected a JSON object, found array"},
        {"{\"hidden_size\":", ABL_E_FORMAT, "config.json: byte 15"},
#undef BASE
#define QW "\"architectures\":[\"Qwen2ForCausalLM\"],\"num_hidden_layers\":3,\"intermediate_size\":8,\"vocab_size\":10,\"hidden_size\":64,\"num_attention_heads\":4"
        {"{" QW ",\"use_sliding_window\":true,\"sliding_window\":8,\"layer_types\":[\"sliding_attention\","
         "\"full_attention\",\"full_attention\"]}", ABL_E_UNSUPPORTED,
         "a full-attention block (1) after a sliding one (0) is not supported"},
        {"{" QW ",\"layer_types\":[\"full_attention\",\"chunked_attention\",\"full_attention\"]}",
         ABL_E_UNSUPPORTED, "layer_types[1]: expected"},
        {"{" QW ",\"layer_types\":[\"full_attention\"]}", ABL_E_FORMAT, "a list of 3 strings"},
        {"{" QW ",\"use_sliding_window\":false,\"sliding_window\":8,\"layer_types\":["
         "\"full_attention\",\"sliding_attention\",\"sliding_attention\"]}", ABL_E_UNSUPPORTED,
         "but no window"},
        {"{" QW ",\"use_sliding_window\":true,\"sliding_window\":-8}", ABL_E_FORMAT, "sliding_window"},
#undef QW
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(bad); i++) {
        hf_config c;
        abl_err e;
        abl_status st = parse(&c, bad[i].json, &e);
        if (st != bad[i].code || !strstr(e.msg, bad[i].want))
            t_fail(t, "case %zu: want %s '%s', got %s '%s'", i, abl_status_name(bad[i].code),
                   bad[i].want, abl_status_name(st), e.msg);
        if (strncmp(e.msg, "config.json: ", 13) != 0)
            t_fail(t, "case %zu: message does not name the file: %s", i, e.msg);
    }
}

/* Both RoPE layouts and the rope types that are implemented, and the sliding-window layouts. */
void test_config_rope_and_window(tctx *t)
{
#define B "\"hidden_size\":64,\"num_hidden_layers\":4,\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10"
    hf_config c;
    abl_err e;
    /* transformers 5: theta inside rope_parameters wins over a stale top-level one */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," B ",\"rope_theta\":10000,"
                     "\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":500000.0}}",
                     &e) == ABL_OK);
    T_CHECK(t, c.rope_theta == 500000.0 && c.rope_type == ROPE_DEFAULT && c.rotary_dim == 16);
    /* transformers 4 linear; "type" as the key */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," B ",\"rope_theta\":20000,"
                     "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.5}}", &e) == ABL_OK);
    T_CHECK(t, c.rope_theta == 20000.0 && c.rope_type == ROPE_LINEAR && c.rope_factor == 2.5);
    /* Llama-3.1 */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," B ",\"rope_theta\":500000.0,"
                     "\"rope_scaling\":{\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":"
                     "4.0,\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"}}",
                     &e) == ABL_OK);
    T_CHECK(t, c.rope_type == ROPE_LLAMA3 && c.rope_factor == 8.0 && c.rope_low_freq == 1.0 &&
               c.rope_high_freq == 4.0 && c.rope_orig_max == 8192);
    /* rope_scaling {"rope_type": "default"} is plain RoPE */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," B ",\"rope_scaling\":"
                     "{\"rope_type\":\"default\"}}", &e) == ABL_OK && c.rope_type == ROPE_DEFAULT);
    /* Llama ignores sliding_window (as transformers does); Mistral applies it to every block */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," B ",\"sliding_window\":4}",
                     &e) == ABL_OK && c.sliding_window == 0);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"MistralForCausalLM\"]," B ",\"sliding_window\":4}",
                     &e) == ABL_OK && c.sliding_window == 4 && c.sliding_from == 0);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"MistralForCausalLM\"]," B ",\"sliding_window\":null}",
                     &e) == ABL_OK && c.sliding_window == 0);
    /* Qwen2: max_window_layers without layer_types; layer_types when given */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," B ",\"use_sliding_window\":true,"
                     "\"sliding_window\":6,\"max_window_layers\":3}", &e) == ABL_OK &&
               c.sliding_window == 6 && c.sliding_from == 3);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," B ",\"use_sliding_window\":true,"
                     "\"sliding_window\":6,\"max_window_layers\":9}", &e) == ABL_OK &&
               c.sliding_window == 0);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," B ",\"use_sliding_window\":true,"
                     "\"sliding_window\":6,\"layer_types\":[\"full_attention\",\"full_attention\","
                     "\"sliding_attention\",\"sliding_attention\"]}", &e) == ABL_OK &&
               c.sliding_window == 6 && c.sliding_from == 2);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," B ",\"use_sliding_window\":false,"
                     "\"sliding_window\":null,\"layer_types\":[\"full_attention\",\"full_attention\","
                     "\"full_attention\",\"full_attention\"]}", &e) == ABL_OK && c.sliding_window == 0);
#undef B
}

/* GPT-NeoX (the published Pythia-160m config, transformers-4 layout), OLMo-1B and OLMo-2. */
void test_config_neox_olmo(tctx *t)
{
    hf_config c;
    abl_err e;
    const char *pythia =
        "{\"architectures\":[\"GPTNeoXForCausalLM\"],\"bos_token_id\":0,\"eos_token_id\":0,"
        "\"hidden_act\":\"gelu\",\"hidden_size\":768,\"initializer_range\":0.02,"
        "\"intermediate_size\":3072,\"layer_norm_eps\":1e-05,\"max_position_embeddings\":2048,"
        "\"model_type\":\"gpt_neox\",\"num_attention_heads\":12,\"num_hidden_layers\":12,"
        "\"rotary_emb_base\":10000,\"rotary_pct\":0.25,\"tie_word_embeddings\":false,"
        "\"torch_dtype\":\"float16\",\"transformers_version\":\"4.24.0\",\"use_cache\":true,"
        "\"use_parallel_residual\":true,\"vocab_size\":50304}";
    if (!T_CHECK(t, parse(&c, pythia, &e) == ABL_OK))
        t_fail(t, "%s", e.msg);
    T_CHECK(t, c.family == ARCH_NEOX && c.parallel_residual && c.rotary_dim == 16 &&
               c.head_dim == 64 && c.n_kv_heads == 12 && c.attn_bias && c.mlp_bias &&
               c.norm_eps == 1e-5 && c.rope_theta == 10000.0 && !c.tie_embeddings);
    /* Pythia-160m: 162,322,944 parameters */
    t_note(t, "Pythia-160m parameter count %lld", cfg_param_count(&c));
    T_CHECK(t, cfg_param_count(&c) == 162322944LL);
    const char *olmo =
        "{\"architectures\":[\"OlmoForCausalLM\"],\"attention_bias\":false,\"clip_qkv\":null,"
        "\"hidden_act\":\"silu\",\"hidden_size\":2048,\"intermediate_size\":8192,"
        "\"max_position_embeddings\":2048,\"model_type\":\"olmo\",\"num_attention_heads\":16,"
        "\"num_hidden_layers\":16,\"num_key_value_heads\":16,\"rope_scaling\":null,"
        "\"rope_theta\":10000.0,\"tie_word_embeddings\":true,\"vocab_size\":50304}";
    T_CHECK(t, parse(&c, olmo, &e) == ABL_OK && c.family == ARCH_OLMO && c.clip_qkv == 0 &&
               c.norm_eps == 1e-5);
    /* OLMo-1B: 1,176,764,416 parameters (no norm weights at all) */
    T_CHECK(t, cfg_param_count(&c) == 1176764416LL);
    T_CHECK(t, parse(&c, "{\"architectures\":[\"Olmo2ForCausalLM\"],\"hidden_size\":64,"
                     "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":8,"
                     "\"vocab_size\":10,\"rms_norm_eps\":1e-6}", &e) == ABL_OK &&
               c.family == ARCH_OLMO2 && c.norm_eps == 1e-6);
    /* 10*64 embed + 10*64 head + 64 final + 2 * (4*64*64 + 3*64*8 + 64 + 64 + 64 + 64) */
    T_CHECK(t, cfg_param_count(&c) == 640 + 640 + 64 + 2 * (16384 + 1536 + 256));
    /* refused: other GELUs, a bad clip, partial rotary outside NeoX */
    T_CHECK(t, parse(&c, "{\"architectures\":[\"GPTNeoXForCausalLM\"],\"hidden_size\":64,"
                     "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":8,"
                     "\"vocab_size\":10,\"hidden_act\":\"gelu_fast\"}", &e) == ABL_E_UNSUPPORTED &&
               strstr(e.msg, "hidden_act: expected \"gelu\", found \"gelu_fast\""));
    T_CHECK(t, parse(&c, "{\"architectures\":[\"OlmoForCausalLM\"],\"hidden_size\":64,"
                     "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":8,"
                     "\"vocab_size\":10,\"clip_qkv\":-1}", &e) == ABL_E_FORMAT &&
               strstr(e.msg, "clip_qkv"));
    T_CHECK(t, parse(&c, "{\"architectures\":[\"GPTNeoXForCausalLM\"],\"hidden_size\":64,"
                     "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":8,"
                     "\"vocab_size\":10,\"rotary_pct\":0.05}", &e) == ABL_E_UNSUPPORTED &&
               strstr(e.msg, "expected an even number >= 2"));
}

void test_config_load_file(tctx *t)
{
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", t_tmpdir(t));
    FILE *fp = fopen(p, "w");
    fputs(smollm2, fp);
    fclose(fp);
    hf_config c;
    abl_err e = {0};
    T_CHECK(t, cfg_load(&c, p, &e) == ABL_OK && c.n_layers == 30);
    snprintf(p, sizeof p, "%s/missing.json", t_tmpdir(t));
    T_CHECK(t, cfg_load(&c, p, &e) == ABL_E_IO && strstr(e.msg, "missing.json: cannot open"));
    T_CHECK(t, cfg_load(&c, t_tmpdir(t), &e) != ABL_OK);
}
