/* tests/test_hf_names.c - expected HF tensor names and shapes per config, and the checker's
 * verdict on good, missing, mis-shaped and extra tensors (plus the model-folder fixture). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/config.h"
#include "../loader/hf_names.h"
#include "../loader/safetensors.h"
#include "loader_fixture.h"
#include "t.h"

const char *const lt_tiny_config =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":8,\"num_hidden_layers\":2,"
    "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"intermediate_size\":12,"
    "\"vocab_size\":16,\"rope_theta\":100000.0,\"rms_norm_eps\":1e-05,\"hidden_act\":\"silu\","
    "\"tie_word_embeddings\":false,\"max_position_embeddings\":64,\"bos_token_id\":1,"
    "\"eos_token_id\":2}";

/* ---- fixture: a minimal safetensors writer (independent of loader/st_write.c) ------------ */

typedef struct {
    char name[80];
    const char *dtype;  /* "F32" or "I32" (both 4 bytes) */
    int ndim;
    long long shape[2];
} lt_tensor;

static int write_tensors(const char *path, const lt_tensor *ts, int n)
{
    size_t cap = 256 + (size_t)n * 160, w = 0, off = 0;
    char *h = malloc(cap);
    w += (size_t)snprintf(h + w, cap - w, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        long long numel = 1;
        for (int k = 0; k < ts[i].ndim; k++)
            numel *= ts[i].shape[k];
        w += (size_t)snprintf(h + w, cap - w, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", ts[i].name,
                              ts[i].dtype);
        for (int k = 0; k < ts[i].ndim; k++)
            w += (size_t)snprintf(h + w, cap - w, "%s%lld", k ? "," : "", ts[i].shape[k]);
        w += (size_t)snprintf(h + w, cap - w, "],\"data_offsets\":[%zu,%zu]}", off,
                              off + (size_t)numel * 4);
        off += (size_t)numel * 4;
    }
    w += (size_t)snprintf(h + w, cap - w, "}");
    while (w % 8)
        h[w++] = ' ';
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(h);
        return 0;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((unsigned long long)w >> (8 * i));
    int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(h, 1, w, fp) == w;
    for (size_t i = 0; i < off / 4 && ok; i++) {
        float x = (float)((i * 7919) % 97) / 97.0f - 0.5f;
        ok = fwrite(&x, 4, 1, fp) == 1;
    }
    free(h);
    return fclose(fp) == 0 && ok;
}

int lt_write_model(const char *dir, const char *config_json, lt_variant v)
{
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *fp = fopen(p, "w");
    if (!fp || fputs(config_json, fp) < 0)
        return 0;
    if (fclose(fp) != 0)
        return 0;
    hf_config c;
    abl_err e;
    if (cfg_parse(&c, config_json, strlen(config_json), "config.json", &e) != ABL_OK)
        return 0;
    int n = hf_expected_tensors(&c, NULL, 0);
    hf_tensor_spec *sp = malloc((size_t)n * sizeof *sp);
    lt_tensor *ts = calloc((size_t)n + 4, sizeof *ts);
    hf_expected_tensors(&c, sp, n);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (v == LT_MISSING && strcmp(sp[i].name, "model.layers.1.mlp.up_proj.weight") == 0)
            continue;
        lt_tensor *t = &ts[m++];
        snprintf(t->name, sizeof t->name, "%s", sp[i].name);
        t->dtype = "F32";
        t->ndim = sp[i].ndim;
        t->shape[0] = sp[i].shape[0];
        t->shape[1] = sp[i].shape[1];
        if (v == LT_BADSHAPE && strcmp(t->name, "model.layers.0.self_attn.k_proj.weight") == 0)
            t->shape[0]++;
        if (v == LT_INT_DTYPE && strcmp(t->name, "model.norm.weight") == 0)
            t->dtype = "I32";
    }
    if (v == LT_EXTRA)
        ts[m++] = (lt_tensor){"model.layers.7.mlp.extra.weight", "F32", 1, {3, 0}};
    if (v == LT_TIED_EXTRA) {
        ts[m++] = (lt_tensor){"model.layers.0.self_attn.rotary_emb.inv_freq", "F32", 1, {2, 0}};
        ts[m++] = (lt_tensor){"model.rotary_emb.inv_freq", "F32", 1, {2, 0}};
    }
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    int ok = write_tensors(p, ts, m);
    free(sp);
    free(ts);
    return ok;
}

/* ---- tests --------------------------------------------------------------------------------- */

static int tiny_cfg(tctx *t, hf_config *c, const char *json)
{
    abl_err e;
    if (cfg_parse(c, json, strlen(json), "config.json", &e) != ABL_OK) {
        t_fail(t, "config: %s", e.msg);
        return 0;
    }
    return 1;
}

/* The names of a 2-layer untied Llama, written out by hand from the HF modeling code. */
void test_hf_names_expected_list(tctx *t)
{
    hf_config c;
    if (!tiny_cfg(t, &c, lt_tiny_config))
        return;
    static const char *want[] = {
        "model.embed_tokens.weight (16, 8)",
        "model.layers.0.input_layernorm.weight (8)",
        "model.layers.0.self_attn.q_proj.weight (8, 8)",
        "model.layers.0.self_attn.k_proj.weight (4, 8)",
        "model.layers.0.self_attn.v_proj.weight (4, 8)",
        "model.layers.0.self_attn.o_proj.weight (8, 8)",
        "model.layers.0.post_attention_layernorm.weight (8)",
        "model.layers.0.mlp.gate_proj.weight (12, 8)",
        "model.layers.0.mlp.up_proj.weight (12, 8)",
        "model.layers.0.mlp.down_proj.weight (8, 12)",
        "model.layers.1.input_layernorm.weight (8)",
        "model.layers.1.self_attn.q_proj.weight (8, 8)",
        "model.layers.1.self_attn.k_proj.weight (4, 8)",
        "model.layers.1.self_attn.v_proj.weight (4, 8)",
        "model.layers.1.self_attn.o_proj.weight (8, 8)",
        "model.layers.1.post_attention_layernorm.weight (8)",
        "model.layers.1.mlp.gate_proj.weight (12, 8)",
        "model.layers.1.mlp.up_proj.weight (12, 8)",
        "model.layers.1.mlp.down_proj.weight (8, 12)",
        "model.norm.weight (8)",
        "lm_head.weight (16, 8)",
    };
    hf_tensor_spec s[32];
    int n = hf_expected_tensors(&c, s, 32);
    T_CHECK(t, n == (int)ABL_ARRAY_LEN(want));
    T_CHECK(t, hf_expected_tensors(&c, NULL, 0) == n);
    T_CHECK(t, hf_expected_tensors(&c, s, 3) == n); /* small cap: count still right */
    long long total = 0;
    for (int i = 0; i < n && i < (int)ABL_ARRAY_LEN(want); i++) {
        char buf[160], sh[64];
        snprintf(buf, sizeof buf, "%s %s", s[i].name, hf_shape_str(sh, sizeof sh, s[i].ndim, s[i].shape));
        if (strcmp(buf, want[i]) != 0)
            t_fail(t, "entry %d: got '%s', want '%s'", i, buf, want[i]);
        total += s[i].shape[0] * (s[i].ndim == 2 ? s[i].shape[1] : 1);
    }
    T_CHECK(t, total == cfg_param_count(&c));
    T_CHECK(t, hf_layer_tensors(&c, 1, s, 32) == 9 && s[0].layer == 1 && s[0].role == HF_ATTN_NORM);
    T_CHECK(t, s[8].role == HF_WDOWN);
}

/* Qwen2 (q/k/v biases), tied embeddings, Llama with attention and MLP biases: the parameter
 * count from the expected list matches cfg_param_count. */
void test_hf_names_biases_and_tying(tctx *t)
{
    const char *cfgs[] = {
        "{\"architectures\":[\"Qwen2ForCausalLM\"],\"hidden_size\":8,\"num_hidden_layers\":3,"
        "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"intermediate_size\":12,"
        "\"vocab_size\":16,\"tie_word_embeddings\":true}",
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":8,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":2,\"intermediate_size\":12,\"vocab_size\":16,"
        "\"attention_bias\":true,\"mlp_bias\":true}",
    };
    for (int k = 0; k < 2; k++) {
        hf_config c;
        if (!tiny_cfg(t, &c, cfgs[k]))
            return;
        hf_tensor_spec s[64];
        int n = hf_expected_tensors(&c, s, 64);
        long long total = 0;
        int has_bq = 0, has_bo = 0, has_head = 0, has_bup = 0;
        for (int i = 0; i < n; i++) {
            total += s[i].shape[0] * (s[i].ndim == 2 ? s[i].shape[1] : 1);
            has_bq += s[i].role == HF_BQ;
            has_bo += s[i].role == HF_BO;
            has_head += s[i].role == HF_LM_HEAD;
            has_bup += s[i].role == HF_BUP;
        }
        T_CHECK(t, total == cfg_param_count(&c));
        if (k == 0)
            T_CHECK(t, n == 1 + 3 * 12 + 1 && has_bq == 3 && !has_bo && !has_head && !has_bup &&
                           strcmp(s[6].name, "model.layers.0.self_attn.q_proj.bias") == 0 &&
                           s[6].shape[0] == 8 && s[6].ndim == 1);
        else
            T_CHECK(t, n == 1 + 2 * 16 + 2 && has_bq == 2 && has_bo == 2 && has_head == 1 &&
                           has_bup == 2);
    }
}

void test_hf_names_check_good_model(tctx *t)
{
    const char *dir = t_tmpdir(t);
    T_CHECK(t, lt_write_model(dir, lt_tiny_config, LT_GOOD));
    hf_config c;
    if (!tiny_cfg(t, &c, lt_tiny_config))
        return;
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, dir, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, hf_check_tensors(&c, f, &e) == ABL_OK);
    const st_tensor *w;
    T_CHECK(t, hf_get_tensor(&c, f, HF_WK, 1, &w, &e) == ABL_OK && w->shape[0] == 4);
    T_CHECK(t, strcmp(w->name, "model.layers.1.self_attn.k_proj.weight") == 0);
    T_CHECK(t, hf_get_tensor(&c, f, HF_BQ, 0, &w, &e) == ABL_E_ARG && w == NULL);
    st_close(f);
    /* tied config against an untied file: lm_head.weight is tolerated */
    hf_config tied = c;
    tied.tie_embeddings = true;
    T_CHECK(t, st_open(&f, dir, &e) == ABL_OK && hf_check_tensors(&tied, f, &e) == ABL_OK);
    st_close(f);
    /* inv_freq buffers are tolerated */
    T_CHECK(t, lt_write_model(dir, lt_tiny_config, LT_TIED_EXTRA));
    T_CHECK(t, st_open(&f, dir, &e) == ABL_OK && hf_check_tensors(&c, f, &e) == ABL_OK);
    st_close(f);
}

void test_hf_names_check_bad_models(tctx *t)
{
    struct { lt_variant v; abl_status code; const char *want; } cases[] = {
        {LT_MISSING, ABL_E_FORMAT, "missing tensor 'model.layers.1.mlp.up_proj.weight' (expected shape (12, 8)"},
        {LT_BADSHAPE, ABL_E_SHAPE, "tensor 'model.layers.0.self_attn.k_proj.weight': expected shape (4, 8), found (5, 8)"},
        {LT_EXTRA, ABL_E_FORMAT, "unexpected tensor 'model.layers.7.mlp.extra.weight' (3)"},
        {LT_INT_DTYPE, ABL_E_SHAPE, "'model.norm.weight': expected dtype F32, F16, BF16 or F64, found I32"},
    };
    hf_config c;
    if (!tiny_cfg(t, &c, lt_tiny_config))
        return;
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++) {
        const char *dir = t_tmpdir(t);
        T_CHECK(t, lt_write_model(dir, lt_tiny_config, cases[i].v));
        st_file *f = NULL;
        abl_err e = {0};
        if (!T_CHECK(t, st_open(&f, dir, &e) == ABL_OK))
            continue;
        abl_status st = hf_check_tensors(&c, f, &e);
        if (st != cases[i].code || !strstr(e.msg, cases[i].want) || strchr(e.msg, '\n'))
            t_fail(t, "variant %d: want %s '%s', got %s '%s'", (int)cases[i].v,
                   abl_status_name(cases[i].code), cases[i].want, abl_status_name(st), e.msg);
        st_close(f);
    }
    /* a config with more layers than the file: many missing tensors, one line with the count */
    hf_config more = c;
    more.n_layers = 3;
    st_file *f = NULL;
    abl_err e = {0};
    T_CHECK(t, lt_write_model(t_tmpdir(t), lt_tiny_config, LT_GOOD));
    if (T_CHECK(t, st_open(&f, t_tmpdir(t), &e) == ABL_OK)) {
        T_CHECK(t, hf_check_tensors(&more, f, &e) == ABL_E_FORMAT);
        T_CHECK(t, strstr(e.msg, "missing tensor 'model.layers.2.input_layernorm.weight'") &&
                   strstr(e.msg, "9 problems in all"));
        /* fewer layers than the file: the extra block is unexpected */
        more.n_layers = 1;
        T_CHECK(t, hf_check_tensors(&more, f, &e) == ABL_E_FORMAT &&
                   strstr(e.msg, "unexpected tensor 'model.layers.1.") &&
                   strstr(e.msg, "9 problems in all"));
    }
    st_close(f);
}
