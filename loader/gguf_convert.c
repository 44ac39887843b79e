/* loader/gguf_convert.c - llama GGUF to a Hugging Face folder (config.json, F32 model.safetensors,
 * tokenizer.json, tokenizer_config.json, generation_config.json); the body of tools/gguf2st.
 * Legend: L layers, D d_model, H heads, Hkv kv heads, Dh head dim, F ffn size, V vocab. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_convert.h"

#include "../base/jw.h"
#include "dequant.h"
#include "st_write.h"

/* Hyper-parameters read from the GGUF metadata. */
typedef struct {
    int64_t n_layers, d_model, d_ff, n_heads, n_kv_heads, head_dim, vocab, ctx_len;
    double norm_eps, rope_theta;
    int64_t bos, eos, pad, unk; /* -1 when absent */
    int tied;
} hparams;

/* One output tensor: where it comes from and whether its rows need un-permuting. */
typedef struct {
    const gguf_tensor *src;
    int perm_heads;        /* 0, or the head count whose rows are un-permuted (q: H, k: Hkv) */
    char name[96];
} out_tensor;

/* ---- small helpers -------------------------------------------------------------------------- */

static abl_status need_int(const gguf_file *g, const char *key, int64_t *out, abl_err *err)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv || kv->type == GGUF_V_ARR || !gguf_kv_int(kv, 0, out) || *out <= 0)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected a positive integer '%s', found %s "
                        "(hint: is this a llama-architecture GGUF?)", gguf_name(g), key,
                        kv ? gguf_vtype_name(kv->type) : "nothing");
    return ABL_OK;
}

static int64_t opt_int(const gguf_file *g, const char *key, int64_t dflt)
{
    int64_t v;
    const gguf_kv *kv = gguf_find_kv(g, key);
    return kv && kv->type != GGUF_V_ARR && gguf_kv_int(kv, 0, &v) ? v : dflt;
}

static double opt_num(const gguf_file *g, const char *key, double dflt)
{
    double v;
    const gguf_kv *kv = gguf_find_kv(g, key);
    return kv && kv->type != GGUF_V_ARR && gguf_kv_num(kv, 0, &v) ? v : dflt;
}

/* A scalar string value as a malloc'ed C string, or NULL when absent/not a string. */
static char *opt_str(const gguf_file *g, const char *key)
{
    gguf_str s;
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv || kv->type != GGUF_V_STR || !gguf_kv_str(kv, 0, &s))
        return NULL;
    char *c = malloc(s.len + 1);
    if (c) {
        memcpy(c, s.ptr, s.len);
        c[s.len] = 0;
    }
    return c;
}

static int str_is(gguf_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* ---- hyper-parameters ------------------------------------------------------------------------- */

static abl_status read_hparams(const gguf_file *g, hparams *hp, abl_err *err)
{
    gguf_str arch = {0};
    if (!gguf_kv_str(gguf_find_kv(g, "general.architecture"), 0, &arch) || !str_is(arch, "llama"))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected general.architecture 'llama', "
                        "found '%.*s' (hint: only llama-architecture GGUFs are converted)",
                        gguf_name(g), (int)(arch.len > 40 ? 40 : arch.len),
                        arch.ptr ? arch.ptr : "");
    abl_status s;
    if ((s = need_int(g, "llama.block_count", &hp->n_layers, err)) ||
        (s = need_int(g, "llama.embedding_length", &hp->d_model, err)) ||
        (s = need_int(g, "llama.feed_forward_length", &hp->d_ff, err)) ||
        (s = need_int(g, "llama.attention.head_count", &hp->n_heads, err)))
        return s;
    hp->n_kv_heads = opt_int(g, "llama.attention.head_count_kv", hp->n_heads);
    hp->head_dim = opt_int(g, "llama.attention.key_length", hp->d_model / hp->n_heads);
    hp->ctx_len = opt_int(g, "llama.context_length", 2048);
    hp->norm_eps = opt_num(g, "llama.attention.layer_norm_rms_epsilon", 1e-5);
    hp->rope_theta = opt_num(g, "llama.rope.freq_base", 10000.0);
    hp->bos = opt_int(g, "tokenizer.ggml.bos_token_id", -1);
    hp->eos = opt_int(g, "tokenizer.ggml.eos_token_id", -1);
    hp->pad = opt_int(g, "tokenizer.ggml.padding_token_id", -1);
    hp->unk = opt_int(g, "tokenizer.ggml.unknown_token_id", -1);
    if (hp->n_kv_heads <= 0 || hp->n_heads % hp->n_kv_heads || hp->head_dim <= 0 ||
        hp->head_dim % 2)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected heads divisible by kv heads and an even "
                        "head dim, found H=%lld Hkv=%lld Dh=%lld", gguf_name(g),
                        (long long)hp->n_heads, (long long)hp->n_kv_heads,
                        (long long)hp->head_dim);
    int64_t rot = opt_int(g, "llama.rope.dimension_count", hp->head_dim);
    if (rot != hp->head_dim)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected rotary dims == head dim %lld, found "
                        "%lld (hint: partial rotary embeddings are not supported)", gguf_name(g),
                        (long long)hp->head_dim, (long long)rot);
    char *scaling = opt_str(g, "llama.rope.scaling.type");
    int scaled = scaling && strcmp(scaling, "none") != 0;
    free(scaling);
    if (scaled || gguf_find_tensor(g, "rope_freqs.weight"))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected plain RoPE, found RoPE scaling "
                        "(hint: rope-scaled models are not supported)", gguf_name(g));
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->ndim != 2 || emb->ne[0] != hp->d_model)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected token_embd.weight of shape (V, %lld)",
                        gguf_name(g), (long long)hp->d_model);
    hp->vocab = emb->ne[1];
    hp->tied = gguf_find_tensor(g, "output.weight") == NULL;
    return ABL_OK;
}

/* ---- tensor names and shapes -------------------------------------------------------------------- */

/* HF name for a GGUF tensor name, the expected HF shape (rows, cols) and the permutation. */
static abl_status map_tensor(const gguf_file *g, const hparams *hp, const gguf_tensor *t,
                             out_tensor *o, int64_t *rows, int64_t *cols, abl_err *err)
{
    static const struct { const char *gg, *hf; int kind; } BLK[] = {
        /* kind: 0 norm (D), 1 q, 2 k, 3 v, 4 o, 5 gate, 6 up, 7 down */
        {"attn_norm.weight", "input_layernorm.weight", 0},
        {"ffn_norm.weight", "post_attention_layernorm.weight", 0},
        {"attn_q.weight", "self_attn.q_proj.weight", 1},
        {"attn_k.weight", "self_attn.k_proj.weight", 2},
        {"attn_v.weight", "self_attn.v_proj.weight", 3},
        {"attn_output.weight", "self_attn.o_proj.weight", 4},
        {"ffn_gate.weight", "mlp.gate_proj.weight", 5},
        {"ffn_up.weight", "mlp.up_proj.weight", 6},
        {"ffn_down.weight", "mlp.down_proj.weight", 7},
    };
    const int64_t D = hp->d_model, F = hp->d_ff, Dh = hp->head_dim;
    o->src = t;
    o->perm_heads = 0;
    if (strcmp(t->name, "token_embd.weight") == 0) {
        snprintf(o->name, sizeof o->name, "model.embed_tokens.weight");
        *rows = hp->vocab, *cols = D;
    } else if (strcmp(t->name, "output.weight") == 0) {
        snprintf(o->name, sizeof o->name, "lm_head.weight");
        *rows = hp->vocab, *cols = D;
    } else if (strcmp(t->name, "output_norm.weight") == 0) {
        snprintf(o->name, sizeof o->name, "model.norm.weight");
        *rows = 0, *cols = D;
    } else {
        int layer = -1, used = 0;
        if (sscanf(t->name, "blk.%d.%n", &layer, &used) != 1 || used == 0 || layer < 0 ||
            layer >= hp->n_layers)
            goto unknown;
        const char *rest = t->name + used;
        size_t k = 0;
        while (k < ABL_ARRAY_LEN(BLK) && strcmp(rest, BLK[k].gg) != 0)
            k++;
        if (k == ABL_ARRAY_LEN(BLK))
            goto unknown;
        snprintf(o->name, sizeof o->name, "model.layers.%d.%s", layer, BLK[k].hf);
        const int64_t r[] = {0, hp->n_heads * Dh, hp->n_kv_heads * Dh, hp->n_kv_heads * Dh, D,
                             F, F, D};
        const int64_t c[] = {D, D, D, D, hp->n_heads * Dh, D, D, F};
        *rows = r[BLK[k].kind];
        *cols = c[BLK[k].kind];
        o->perm_heads = BLK[k].kind == 1 ? (int)hp->n_heads
                      : BLK[k].kind == 2 ? (int)hp->n_kv_heads : 0;
    }
    /* GGUF ne = (cols, rows); a norm vector has ne = (D) */
    if (t->ne[0] != *cols || (*rows ? t->ndim != 2 || t->ne[1] != *rows : t->ndim != 1))
        return abl_fail(err, ABL_E_SHAPE, "%s: tensor '%s': expected ne (%lld, %lld), found "
                        "(%lld, %lld) with %d dims", gguf_name(g), t->name, (long long)*cols,
                        (long long)*rows, (long long)t->ne[0], (long long)t->ne[1], t->ndim);
    if (!dq_supported(t->type))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: tensor '%s': type %s cannot be dequantized "
                        "(hint: use a GGUF quantized to Q8_0, Q4_K_M, Q6_K, F16 or similar)",
                        gguf_name(g), t->name, gguf_type_name(t->type));
    return ABL_OK;
unknown:
    return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected llama tensor names, found '%s' (hint: "
                    "biases, rope_freqs and other extras are not supported)", gguf_name(g),
                    t->name);
}

int64_t gguf_unpermute_row(int64_t row, int64_t head_dim)
{
    const int64_t head = row / head_dim, p = row % head_dim, j = p / 2, a = p % 2;
    return head * head_dim + a * (head_dim / 2) + j;
}

abl_status gguf_dequant_matrix(const gguf_tensor *t, int unpermute_heads, float *dst,
                               abl_err *err)
{
    if (!unpermute_heads)
        return dq_to_f32(t->type, t->data, (size_t)t->numel, dst, err);
    const int64_t cols = t->ne[0], rows = t->numel / (cols ? cols : 1);
    if (t->ndim != 2 || unpermute_heads < 0 || rows % (2 * (int64_t)unpermute_heads))
        return abl_fail(err, ABL_E_SHAPE, "tensor '%s': expected a matrix whose %lld rows split "
                        "into %d heads of an even size", t->name, (long long)rows,
                        unpermute_heads);
    const int64_t dh = rows / unpermute_heads;
    const size_t row_bytes = (size_t)(cols / gguf_type_block(t->type)) *
                             (size_t)gguf_type_size(t->type);
    for (int64_t r = 0; r < rows; r++) {
        abl_status s = dq_to_f32(t->type, (const uint8_t *)t->data + (size_t)r * row_bytes,
                                 (size_t)cols, dst + gguf_unpermute_row(r, dh) * cols, err);
        if (s)
            return s;
    }
    return ABL_OK;
}

/* stw_fill_fn: one output tensor, dequantized (and un-permuted for q/k). */
static abl_status fill_tensor(void *ctx, float *dst, int64_t numel, abl_err *err)
{
    const out_tensor *o = ctx;
    ABL_ASSERT(numel == o->src->numel);
    return gguf_dequant_matrix(o->src, o->perm_heads, dst, err);
}

/* dir/file into buf; false when it does not fit (paths are length-checked up front). */
static bool join(char *buf, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(buf, cap, "%s/%s", dir, file);
    return n >= 0 && (size_t)n < cap;
}

/* ---- JSON files --------------------------------------------------------------------------------- */

static abl_status json_open(const char *dir, const char *file, FILE **fp, jw *w, char *path,
                            size_t cap, abl_err *err)
{
    if (!join(path, cap, dir, file))
        return abl_fail(err, ABL_E_ARG, "%s: path too long", dir);
    *fp = fopen(path, "wb");
    if (!*fp)
        return abl_fail(err, ABL_E_IO, "%s: cannot create: %s", path, strerror(errno));
    jw_init(w, *fp, 2);
    return ABL_OK;
}

static abl_status json_close(FILE *fp, jw *w, const char *path, abl_err *err)
{
    abl_status s = jw_finish(w, path, err);
    if (fclose(fp) != 0 && !s)
        s = abl_fail(err, ABL_E_IO, "%s: close failed: %s", path, strerror(errno));
    return s;
}

static void kv_int_or_null(jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    if (v >= 0)
        jw_int(w, v);
    else
        jw_null(w);
}

static abl_status write_config(const char *dir, const hparams *hp, abl_err *err)
{
    char path[4096];
    FILE *fp;
    jw w;
    abl_status s = json_open(dir, "config.json", &fp, &w, path, sizeof path, err);
    if (s)
        return s;
    jw_obj_begin(&w);
    jw_key(&w, "architectures");
    jw_arr_begin(&w);
    jw_str(&w, "LlamaForCausalLM");
    jw_arr_end(&w);
    jw_key(&w, "model_type"); jw_str(&w, "llama");
    jw_key(&w, "hidden_size"); jw_int(&w, hp->d_model);
    jw_key(&w, "intermediate_size"); jw_int(&w, hp->d_ff);
    jw_key(&w, "num_hidden_layers"); jw_int(&w, hp->n_layers);
    jw_key(&w, "num_attention_heads"); jw_int(&w, hp->n_heads);
    jw_key(&w, "num_key_value_heads"); jw_int(&w, hp->n_kv_heads);
    jw_key(&w, "head_dim"); jw_int(&w, hp->head_dim);
    jw_key(&w, "hidden_act"); jw_str(&w, "silu");
    jw_key(&w, "rms_norm_eps"); jw_f32(&w, (float)hp->norm_eps);
    jw_key(&w, "rope_theta"); jw_f32(&w, (float)hp->rope_theta);
    jw_key(&w, "rope_scaling"); jw_null(&w);
    jw_key(&w, "vocab_size"); jw_int(&w, hp->vocab);
    jw_key(&w, "max_position_embeddings"); jw_int(&w, hp->ctx_len);
    jw_key(&w, "tie_word_embeddings"); jw_bool(&w, hp->tied);
    jw_key(&w, "attention_bias"); jw_bool(&w, false);
    jw_key(&w, "mlp_bias"); jw_bool(&w, false);
    kv_int_or_null(&w, "bos_token_id", hp->bos);
    kv_int_or_null(&w, "eos_token_id", hp->eos);
    if (hp->pad >= 0)
        kv_int_or_null(&w, "pad_token_id", hp->pad);
    jw_key(&w, "torch_dtype"); jw_str(&w, "float32");
    jw_obj_end(&w);
    return json_close(fp, &w, path, err);
}

static abl_status write_generation_config(const char *dir, const hparams *hp, abl_err *err)
{
    char path[4096];
    FILE *fp;
    jw w;
    abl_status s = json_open(dir, "generation_config.json", &fp, &w, path, sizeof path, err);
    if (s)
        return s;
    jw_obj_begin(&w);
    if (hp->bos >= 0)
        kv_int_or_null(&w, "bos_token_id", hp->bos);
    if (hp->eos >= 0)
        kv_int_or_null(&w, "eos_token_id", hp->eos);
    if (hp->pad >= 0)
        kv_int_or_null(&w, "pad_token_id", hp->pad);
    jw_obj_end(&w);
    return json_close(fp, &w, path, err);
}

/* Tokens that become HF added tokens: llama.cpp types UNKNOWN 2, CONTROL 3, USER_DEFINED 4. */
static int is_added(const gguf_kv *types, int64_t id)
{
    int64_t ty = 1;
    if (types && !gguf_kv_int(types, (uint64_t)id, &ty))
        ty = 1;
    return ty == 2 || ty == 3 || ty == 4;
}

static void added_token_fields(jw *w, gguf_str s)
{
    jw_key(w, "content"); jw_strn(w, s.ptr, s.len);
    jw_key(w, "single_word"); jw_bool(w, false);
    jw_key(w, "lstrip"); jw_bool(w, false);
    jw_key(w, "rstrip"); jw_bool(w, false);
    jw_key(w, "normalized"); jw_bool(w, false);
    jw_key(w, "special"); jw_bool(w, true);
}

static void byte_level(jw *w)
{
    jw_obj_begin(w);
    jw_key(w, "type"); jw_str(w, "ByteLevel");
    jw_key(w, "add_prefix_space"); jw_bool(w, false);
    jw_key(w, "trim_offsets"); jw_bool(w, true);
    jw_key(w, "use_regex"); jw_bool(w, true);
    jw_obj_end(w);
}

typedef struct {
    gguf_str s;
    int id;
} tok_ref;

static int cmp_tok(const void *a, const void *b)
{
    const gguf_str *x = &((const tok_ref *)a)->s, *y = &((const tok_ref *)b)->s;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Vocabulary sanity: model gpt2, pre smollm (or absent), one string per embedding row, no
 * duplicate strings (a JSON vocab object cannot hold them). */
static abl_status check_vocab(const gguf_file *g, const hparams *hp, const gguf_kv **tokens,
                              const gguf_kv **merges, const gguf_kv **types, abl_err *err)
{
    gguf_str model = {0}, pre = {0};
    gguf_kv_str(gguf_find_kv(g, "tokenizer.ggml.model"), 0, &model);
    if (!str_is(model, "gpt2"))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected tokenizer.ggml.model 'gpt2' "
                        "(byte-level BPE), found '%.*s'", gguf_name(g),
                        (int)(model.len > 40 ? 40 : model.len), model.ptr ? model.ptr : "");
    if (gguf_kv_str(gguf_find_kv(g, "tokenizer.ggml.pre"), 0, &pre) && !str_is(pre, "smollm"))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected tokenizer.ggml.pre 'smollm', found "
                        "'%.*s' (hint: only the smollm pre-tokenizer is exported)", gguf_name(g),
                        (int)(pre.len > 40 ? 40 : pre.len), pre.ptr);
    *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
    *merges = gguf_find_kv(g, "tokenizer.ggml.merges");
    *types = gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (!*tokens || (*tokens)->arr_type != GGUF_V_STR || (int64_t)(*tokens)->n != hp->vocab)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected tokenizer.ggml.tokens with %lld strings "
                        "(one per embedding row), found %llu", gguf_name(g),
                        (long long)hp->vocab, *tokens ? (unsigned long long)(*tokens)->n : 0ULL);
    if (!*merges || (*merges)->arr_type != GGUF_V_STR)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected tokenizer.ggml.merges strings",
                        gguf_name(g));
    if (*types && ((*types)->type != GGUF_V_ARR || (*types)->n != (*tokens)->n))
        *types = NULL;
    tok_ref *refs = malloc((size_t)hp->vocab * sizeof *refs);
    if (!refs)
        return abl_fail(err, ABL_E_NOMEM, "out of memory");
    for (int i = 0; i < (int)hp->vocab; i++)
        refs[i] = (tok_ref){(*tokens)->strs[i], i};
    qsort(refs, (size_t)hp->vocab, sizeof *refs, cmp_tok);
    abl_status s = ABL_OK;
    for (int64_t i = 1; i < hp->vocab && !s; i++)
        if (cmp_tok(&refs[i - 1], &refs[i]) == 0)
            s = abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected distinct token strings, found ids "
                         "%d and %d equal", gguf_name(g), refs[i - 1].id, refs[i].id);
    free(refs);
    return s;
}

static abl_status write_tokenizer(const char *dir, const gguf_file *g, const hparams *hp,
                                  abl_err *err)
{
    const gguf_kv *tokens = NULL, *merges = NULL, *types = NULL;
    abl_status s = check_vocab(g, hp, &tokens, &merges, &types, err);
    if (s)
        return s;
    char path[4096];
    FILE *fp;
    jw w;
    if ((s = json_open(dir, "tokenizer.json", &fp, &w, path, sizeof path, err)))
        return s;
    jw_obj_begin(&w);
    jw_key(&w, "version"); jw_str(&w, "1.0");
    jw_key(&w, "truncation"); jw_null(&w);
    jw_key(&w, "padding"); jw_null(&w);
    jw_key(&w, "added_tokens");
    jw_arr_begin(&w);
    for (int64_t i = 0; i < hp->vocab; i++) {
        if (!is_added(types, i))
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "id"); jw_int(&w, i);
        added_token_fields(&w, tokens->strs[i]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "normalizer"); jw_null(&w);
    /* llama.cpp's `smollm` pre-tokenizer: every digit on its own, then the GPT-2 regex */
    jw_key(&w, "pre_tokenizer");
    jw_obj_begin(&w);
    jw_key(&w, "type"); jw_str(&w, "Sequence");
    jw_key(&w, "pretokenizers");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "type"); jw_str(&w, "Split");
    jw_key(&w, "pattern");
    jw_obj_begin(&w);
    jw_key(&w, "Regex"); jw_str(&w, "\\p{N}");
    jw_obj_end(&w);
    jw_key(&w, "behavior"); jw_str(&w, "Isolated");
    jw_key(&w, "invert"); jw_bool(&w, false);
    jw_obj_end(&w);
    byte_level(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_key(&w, "post_processor"); jw_null(&w);
    jw_key(&w, "decoder"); byte_level(&w);
    jw_key(&w, "model");
    jw_obj_begin(&w);
    jw_key(&w, "type"); jw_str(&w, "BPE");
    jw_key(&w, "dropout"); jw_null(&w);
    jw_key(&w, "unk_token"); jw_null(&w);
    jw_key(&w, "continuing_subword_prefix"); jw_null(&w);
    jw_key(&w, "end_of_word_suffix"); jw_null(&w);
    jw_key(&w, "fuse_unk"); jw_bool(&w, false);
    jw_key(&w, "byte_fallback"); jw_bool(&w, false);
    jw_key(&w, "ignore_merges"); jw_bool(&w, false);
    jw_key(&w, "vocab");
    jw_obj_begin(&w);
    for (int64_t i = 0; i < hp->vocab; i++) {
        jw_keyn(&w, tokens->strs[i].ptr, tokens->strs[i].len);
        jw_int(&w, i);
    }
    jw_obj_end(&w);
    jw_key(&w, "merges");
    jw_arr_begin(&w);
    for (uint64_t i = 0; i < merges->n; i++)
        jw_strn(&w, merges->strs[i].ptr, merges->strs[i].len);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    return json_close(fp, &w, path, err);
}

static void token_or_null(jw *w, const char *key, const gguf_kv *tokens, int64_t id)
{
    jw_key(w, key);
    if (id >= 0 && (uint64_t)id < tokens->n)
        jw_strn(w, tokens->strs[id].ptr, tokens->strs[id].len);
    else
        jw_null(w);
}

static abl_status write_tokenizer_config(const char *dir, const gguf_file *g, const hparams *hp,
                                         abl_err *err)
{
    const gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
    const gguf_kv *types = gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (types && (types->type != GGUF_V_ARR || types->n != tokens->n))
        types = NULL;
    char path[4096];
    FILE *fp;
    jw w;
    abl_status s = json_open(dir, "tokenizer_config.json", &fp, &w, path, sizeof path, err);
    if (s)
        return s;
    char *tmpl = opt_str(g, "tokenizer.chat_template");
    jw_obj_begin(&w);
    jw_key(&w, "add_bos_token"); jw_bool(&w, opt_int(g, "tokenizer.ggml.add_bos_token", 0) != 0);
    jw_key(&w, "add_eos_token"); jw_bool(&w, opt_int(g, "tokenizer.ggml.add_eos_token", 0) != 0);
    jw_key(&w, "add_prefix_space"); jw_bool(&w, false);
    jw_key(&w, "added_tokens_decoder");
    jw_obj_begin(&w);
    for (int64_t i = 0; i < hp->vocab; i++) {
        if (!is_added(types, i))
            continue;
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)i);
        jw_key(&w, id);
        jw_obj_begin(&w);
        added_token_fields(&w, tokens->strs[i]);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
    token_or_null(&w, "bos_token", tokens, hp->bos);
    token_or_null(&w, "eos_token", tokens, hp->eos);
    token_or_null(&w, "pad_token", tokens, hp->pad);
    token_or_null(&w, "unk_token", tokens, hp->unk);
    jw_key(&w, "chat_template"); jw_str(&w, tmpl);
    jw_key(&w, "clean_up_tokenization_spaces"); jw_bool(&w, false);
    jw_key(&w, "model_max_length"); jw_int(&w, hp->ctx_len);
    jw_key(&w, "tokenizer_class"); jw_str(&w, "GPT2Tokenizer");
    jw_key(&w, "vocab_size"); jw_int(&w, hp->vocab);
    jw_obj_end(&w);
    free(tmpl);
    return json_close(fp, &w, path, err);
}

/* ---- weights ------------------------------------------------------------------------------------- */

static abl_status write_weights(const char *dir, const gguf_file *g, const hparams *hp,
                                out_tensor *outs, int64_t *n_params, abl_err *err)
{
    char path[4096];
    if (!join(path, sizeof path, dir, "model.safetensors"))
        return abl_fail(err, ABL_E_ARG, "%s: path too long", dir);
    st_writer *w;
    abl_status s = stw_open(&w, path, err);
    if (s)
        return s;
    s = stw_meta(w, "format", "pt", err);
    int n = gguf_tensor_count(g);
    *n_params = 0;
    for (int i = 0; i < n && !s; i++) {
        int64_t shape[2];
        s = map_tensor(g, hp, gguf_tensor_at(g, i), &outs[i], &shape[0], &shape[1], err);
        if (!s)
            s = shape[0] ? stw_add_fn(w, outs[i].name, shape, 2, fill_tensor, &outs[i], err)
                         : stw_add_fn(w, outs[i].name, &shape[1], 1, fill_tensor, &outs[i], err);
        *n_params += gguf_tensor_at(g, i)->numel;
    }
    /* every llama tensor must be present exactly once: count what a full model needs */
    int64_t want = 3 + 9 * hp->n_layers - hp->tied;
    if (!s && n != want)
        s = abl_fail(err, ABL_E_FORMAT, "%s: expected %lld tensors for %lld layers, found %d "
                     "(hint: a tensor is missing)", gguf_name(g), (long long)want,
                     (long long)hp->n_layers, n);
    if (!s)
        s = stw_finish(w, err);
    stw_close(w);
    return s;
}

/* ---- main ------------------------------------------------------------------------------------------ */

static const char *FILES[] = {"config.json", "generation_config.json", "tokenizer.json",
                              "tokenizer_config.json", "model.safetensors"};

static void remove_tmp(const char *dir)
{
    char p[4096];
    for (size_t i = 0; i < ABL_ARRAY_LEN(FILES); i++) {
        if (join(p, sizeof p, dir, FILES[i]))
            remove(p);
    }
    rmdir(dir);
}

abl_status gguf_convert_hf(const char *in, const char *out, int verbose, abl_err *err)
{
    struct stat st;
    if (strlen(out) > 3000)
        return abl_fail(err, ABL_E_ARG, "%.100s...: expected a path under 3000 bytes", out);
    if (stat(out, &st) == 0)
        return abl_fail(err, ABL_E_ARG, "%s: expected a path that does not exist yet, found "
                        "one (hint: remove it first)", out);
    gguf_file *g;
    abl_status s = gguf_open(&g, in, err);
    if (s)
        return s;
    hparams hp;
    memset(&hp, 0, sizeof hp);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    out_tensor *outs = calloc((size_t)gguf_tensor_count(g) + 1, sizeof *outs);
    int64_t n_params = 0;
    if (!outs)
        s = abl_fail(err, ABL_E_NOMEM, "out of memory");
    if (!s)
        s = read_hparams(g, &hp, err);
    if (!s && mkdir(tmp, 0755) != 0)
        s = abl_fail(err, ABL_E_IO, "%s: cannot create folder: %s", tmp, strerror(errno));
    int made = !s;
    if (!s)
        s = write_config(tmp, &hp, err);
    if (!s)
        s = write_generation_config(tmp, &hp, err);
    if (!s)
        s = write_tokenizer(tmp, g, &hp, err);
    if (!s)
        s = write_tokenizer_config(tmp, g, &hp, err);
    if (!s)
        s = write_weights(tmp, g, &hp, outs, &n_params, err);
    if (!s && rename(tmp, out) != 0)
        s = abl_fail(err, ABL_E_IO, "%s: cannot rename to %s: %s", tmp, out, strerror(errno));
    if (s && made)
        remove_tmp(tmp);
    if (!s && verbose)
        printf("gguf2st: %s -> %s: %d tensors, %lld parameters, %lld layers, vocab %lld%s\n", in,
               out, gguf_tensor_count(g), (long long)n_params, (long long)hp.n_layers,
               (long long)hp.vocab, hp.tied ? ", tied embeddings" : "");
    free(outs);
    gguf_close(g);
    return s;
}

