/* engine/model.c - loading a Hugging Face llama-style folder: config, tokenizer, every tensor
 * checked (presence, dtype, shape, finite values) and packed once for the active kernels.
 * Legend: L blocks, D model width, H heads, Hkv kv heads, Dh head dim, F FFN width, V vocab. */
#include "model_int.h"

#include "../kernels_cuda/kernels_cuda.h"
#include "../loader/hf_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

model_opts model_opts_default(void)
{
    model_opts o = {.threads = 0, .device = 0, .check_finite = true, .mem_avail = 0};
    return o;
}

double model_mem_estimate(const hf_config *c, int n_tok, double *weights)
{
    double D = c->d_model, F = c->d_ff, V = c->vocab, Q = (double)c->n_heads * c->head_dim,
           KV = (double)c->n_kv_heads * c->head_dim, T = n_tok < 64 ? 64 : n_tok;
    /* parameters as F32, plus the packed head when it shares the embedding table's values */
    double w = 4.0 * ((double)cfg_param_count(c) + (c->tie_embeddings ? V * D : 0));
    double rope = 4.0 * 2 * (c->max_pos > 0 ? c->max_pos : 2048) * (c->rotary_dim / 2);
    double scratch = 4.0 * T * ((c->parallel_residual ? 4 : 3) * D + 2 * Q + 2 * KV + 2 * F) +
                     4.0 * MODEL_HEAD_CHUNK * (V + D);
    if (weights)
        *weights = w;
    return w + rope + scratch;
}

double model_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb > 0)
        return kb * 1024.0;
    long pages = sysconf(_SC_AVPHYS_PAGES), pg = sysconf(_SC_PAGESIZE);
    return pages > 0 && pg > 0 ? (double)pages * (double)pg : 0;
}

const hf_config *model_config(const model *m) { return &m->cfg; }
tokenizer *model_tok(model *m) { return m->tok; }
kpool *model_pool(model *m) { return m->pool; }

/* Give the pages of an mmap'ed span back to the page cache once it has been packed, so the
 * file mapping does not count twice in the resident set (the copy we packed is what we use). */
static void drop_pages(const void *p, size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || !p || n == 0)
        return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t b = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

static abl_status check_finite(const model *m, const st_tensor *t, const float *x, size_t n,
                               abl_err *err)
{
    if (!m->opts.check_finite)
        return ABL_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return abl_fail(err, ABL_E_NUMERIC, "%s: tensor '%s': expected finite "
                            "values, found %g at element %zu (hint: the checkpoint is corrupt or "
                            "was converted badly)", st_shard_path(m->st, t->shard), t->name,
                            (double)x[i], i);
    return ABL_OK;
}

/* Read (role, layer) as F32 (into the mmap or a temporary), check it, and pack it into w. A role
 * the config does not use (NeoX has no gate) leaves w zeroed. */
static abl_status load_weight(model *m, kweight *w, hf_role role, int layer, abl_err *err)
{
    if (!hf_role_used(&m->cfg, role))
        return ABL_OK;
    const st_tensor *t;
    abl_status s = hf_get_tensor(&m->cfg, m->st, role, layer, &t, err);
    if (s)
        return s;
    int n = (int)t->shape[0], k = (int)t->shape[1];
    const float *data;
    float *owned = NULL;
    if ((s = st_read_f32(t, &data, &owned, err)))
        return s;
    s = check_finite(m, t, data, (size_t)n * (size_t)k, err);
    if (!s)
        s = kweight_pack(w, data, n, k, err);
    free(owned);
    drop_pages(t->data, t->nbytes);
    return s;
}

/* Copy the vector (role, layer) to *cursor and point *slot at it; a role the config does not
 * use (a bias the model lacks) leaves *slot NULL. */
static abl_status load_vec(model *m, float **slot, float **cursor, hf_role role, int layer,
                           abl_err *err)
{
    *slot = NULL;
    if (!hf_role_used(&m->cfg, role))
        return ABL_OK;
    const st_tensor *t;
    abl_status s = hf_get_tensor(&m->cfg, m->st, role, layer, &t, err);
    if (s)
        return s;
    size_t n = (size_t)t->numel;
    const float *data;
    float *owned = NULL;
    if ((s = st_read_f32(t, &data, &owned, err)))
        return s;
    s = check_finite(m, t, data, n, err);
    memcpy(*cursor, data, n * sizeof(float));
    free(owned);
    *slot = *cursor;
    *cursor += n;
    return s;
}

/* GPT-NeoX's fused query_key_value (3Q, D), rows per head [q (Dh), k (Dh), v (Dh)], split into
 * wq, wk, wv (Q, D) each; its bias (3Q) likewise into bq, bk, bv at *cursor. */
static abl_status load_qkv_fused(model *m, model_block *b, int l, float **cursor, abl_err *err)
{
    const hf_config *c = &m->cfg;
    int H = c->n_heads, Dh = c->head_dim, D = c->d_model;
    size_t Q = (size_t)H * Dh;
    const st_tensor *t;
    const float *data;
    float *owned = NULL;
    abl_status s = hf_get_tensor(c, m->st, HF_WQKV, l, &t, err);
    if (s || (s = st_read_f32(t, &data, &owned, err)))
        return s;
    float *part = malloc(Q * (size_t)D * sizeof(float));
    kweight *dst[3] = {&b->wq, &b->wk, &b->wv};
    s = part ? check_finite(m, t, data, 3 * Q * (size_t)D, err)
             : abl_fail(err, ABL_E_NOMEM, "model: out of memory splitting '%s'", t->name);
    for (int j = 0; j < 3 && !s; j++) {
        for (int h = 0; h < H; h++)
            memcpy(part + (size_t)h * Dh * D, data + ((size_t)h * 3 + j) * Dh * D,
                   (size_t)Dh * D * sizeof(float));
        s = kweight_pack(dst[j], part, (int)Q, D, err);
    }
    free(part);
    free(owned);
    drop_pages(t->data, t->nbytes);
    if (s || !hf_role_used(c, HF_BQKV))
        return s;
    float *bias = NULL;
    if ((s = load_vec(m, &bias, cursor, HF_BQKV, l, err)))
        return s;
    /* reorder in place through the tail of the cursor space: (H, 3, Dh) -> (3, H, Dh) */
    float *tmp = malloc(3 * Q * sizeof(float));
    if (!tmp)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory splitting a QKV bias");
    for (int j = 0; j < 3; j++)
        for (int h = 0; h < H; h++)
            memcpy(tmp + j * Q + (size_t)h * Dh, bias + ((size_t)h * 3 + j) * Dh,
                   (size_t)Dh * sizeof(float));
    memcpy(bias, tmp, 3 * Q * sizeof(float));
    free(tmp);
    b->bq = bias;
    b->bk = bias + Q;
    b->bv = bias + 2 * Q;
    return ABL_OK;
}

static abl_status load_block(model *m, int l, float **cur, abl_err *err)
{
    model_block *b = &m->blocks[l];
    abl_status s;
    if (m->cfg.family == ARCH_NEOX && (s = load_qkv_fused(m, b, l, cur, err)))
        return s;
    if ((s = load_vec(m, &b->attn_norm_b, cur, HF_ATTN_NORM_B, l, err)) ||
        (s = load_vec(m, &b->mlp_norm_b, cur, HF_MLP_NORM_B, l, err)) ||
        (s = load_vec(m, &b->q_norm, cur, HF_QNORM, l, err)) ||
        (s = load_vec(m, &b->k_norm, cur, HF_KNORM, l, err)) ||
        (s = load_vec(m, &b->attn_post_norm, cur, HF_ATTN_POST_NORM, l, err)) ||
        (s = load_vec(m, &b->mlp_post_norm, cur, HF_MLP_POST_NORM, l, err)))
        return s;
    if ((s = load_vec(m, &b->attn_norm, cur, HF_ATTN_NORM, l, err)) ||
        (s = load_vec(m, &b->mlp_norm, cur, HF_MLP_NORM, l, err)) ||
        (s = load_weight(m, &b->wq, HF_WQ, l, err)) ||
        (s = load_weight(m, &b->wk, HF_WK, l, err)) ||
        (s = load_weight(m, &b->wv, HF_WV, l, err)) ||
        (s = load_weight(m, &b->wo, HF_WO, l, err)) ||
        (s = load_weight(m, &b->wg, HF_WGATE, l, err)) ||
        (s = load_weight(m, &b->wu, HF_WUP, l, err)) ||
        (s = load_weight(m, &b->wd, HF_WDOWN, l, err)) ||
        (m->cfg.family != ARCH_NEOX && /* NeoX: from the fused bias above */
         ((s = load_vec(m, &b->bq, cur, HF_BQ, l, err)) ||
          (s = load_vec(m, &b->bk, cur, HF_BK, l, err)) ||
          (s = load_vec(m, &b->bv, cur, HF_BV, l, err)))) ||
        (s = load_vec(m, &b->bo, cur, HF_BO, l, err)) ||
        (s = load_vec(m, &b->bg, cur, HF_BGATE, l, err)) ||
        (s = load_vec(m, &b->bu, cur, HF_BUP, l, err)) ||
        (s = load_vec(m, &b->bd, cur, HF_BDOWN, l, err)))
        return s;
    return ABL_OK;
}

static abl_status load_embeddings(model *m, abl_err *err)
{
    const hf_config *c = &m->cfg;
    const st_tensor *t;
    abl_status s = hf_get_tensor(c, m->st, HF_EMBED, -1, &t, err);
    if (s)
        return s;
    if ((s = st_read_f32(t, &m->embed, &m->embed_owned, err)))
        return s;
    size_t n = (size_t)c->vocab * (size_t)c->d_model;
    if ((s = check_finite(m, t, m->embed, n, err)))
        return s;
    if (c->tie_embeddings)
        s = kweight_pack(&m->head, m->embed, c->vocab, c->d_model, err);
    else
        s = load_weight(m, &m->head, HF_LM_HEAD, -1, err);
    /* Lookups touch only the rows they need: let the rest of the mapping go. */
    if (!m->embed_owned)
        drop_pages(t->data, t->nbytes);
    return s;
}

static abl_status check_config(const hf_config *c, const char *dir, abl_err *err)
{
    bool ok = c->d_model > 0 && c->n_layers > 0 && c->n_heads > 0 && c->n_kv_heads > 0 &&
              c->head_dim > 0 && c->d_ff > 0 && c->vocab > 0 && c->n_heads % c->n_kv_heads == 0 &&
              c->head_dim % 2 == 0;
    if (!ok)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s/config.json: expected positive sizes, heads "
                        "divisible by kv heads and an even head_dim, found D=%d L=%d H=%d Hkv=%d "
                        "Dh=%d F=%d V=%d", dir, c->d_model, c->n_layers, c->n_heads,
                        c->n_kv_heads, c->head_dim, c->d_ff, c->vocab);
    return ABL_OK;
}

/* The RoPE inverse frequency of pair i (of rotary_dim/2), in double: theta^(-2i/rotary_dim),
 * scaled as the config's rope_type says (see cfg_rope_type). */
static double rope_inv_freq(const hf_config *c, int i)
{
    double theta = c->rope_theta > 0 ? c->rope_theta : 10000.0;
    double inv = pow(theta, -2.0 * i / c->rotary_dim);
    if (c->rope_type == ROPE_LINEAR)
        return inv / c->rope_factor;
    if (c->rope_type != ROPE_LLAMA3)
        return inv;
    double wavelen = 2.0 * M_PI / inv, orig = c->rope_orig_max;
    if (wavelen < orig / c->rope_high_freq)
        return inv;                       /* high frequencies: unchanged */
    if (wavelen > orig / c->rope_low_freq)
        return inv / c->rope_factor;      /* low frequencies: interpolated */
    double smooth = (orig / wavelen - c->rope_low_freq) / (c->rope_high_freq - c->rope_low_freq);
    return (1.0 - smooth) * inv / c->rope_factor + smooth * inv;
}

/* RoPE tables (rope_len, rotary_dim/2): angle(p, i) = p * inv_freq(i), computed in double. */
static abl_status make_rope(model *m, abl_err *err)
{
    const hf_config *c = &m->cfg;
    int half = c->rotary_dim / 2;
    m->rope_len = c->max_pos > 0 ? c->max_pos : 2048;
    size_t n = (size_t)m->rope_len * (size_t)half;
    m->rope_cos = malloc(n * sizeof(float));
    m->rope_sin = malloc(n * sizeof(float));
    if (!m->rope_cos || !m->rope_sin)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for RoPE tables (%zu floats)", n);
    for (int p = 0; p < m->rope_len; p++)
        for (int i = 0; i < half; i++) {
            double a = (double)p * rope_inv_freq(c, i);
            m->rope_cos[(size_t)p * half + i] = (float)cos(a);
            m->rope_sin[(size_t)p * half + i] = (float)sin(a);
        }
    return ABL_OK;
}

static abl_status load_all(model *m, const char *dir, abl_err *err)
{
    char path[4096];
    abl_status s;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if ((s = cfg_load(&m->cfg, path, err)))
        return s;
    if ((s = check_config(&m->cfg, dir, err)))
        return s;
    double wbytes, need = model_mem_estimate(&m->cfg, MODEL_HEAD_CHUNK, &wbytes);
    double avail = m->opts.mem_avail > 0 ? m->opts.mem_avail : model_mem_available();
    if (avail > 0 && need > avail)
        return abl_fail(err, ABL_E_NOMEM, "model: needs about %.3f GB of memory (F32 weights "
                        "%.3f GB) but %.3f GB are available (hint: `ablate inspect --model %s` "
                        "shows the figures; use a smaller model or a bigger machine)",
                        need / 1e9, wbytes / 1e9, avail / 1e9, dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if ((s = tok_load(&m->tok, path, err)))
        return s;
    if ((s = st_open(&m->st, dir, err)) || (s = hf_check_tensors(&m->cfg, m->st, err)))
        return s;
    const hf_config *c = &m->cfg;
    int L = c->n_layers, D = c->d_model;
    /* Norms and biases of every block plus the final norm, in one allocation: every 1-D tensor
     * the config expects. */
    int nspec = hf_expected_tensors(c, NULL, 0);
    hf_tensor_spec *specs = malloc((size_t)nspec * sizeof *specs);
    if (!specs)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory");
    hf_expected_tensors(c, specs, nspec);
    size_t nv = 1;
    for (int i = 0; i < nspec; i++)
        nv += specs[i].ndim == 1 ? (size_t)specs[i].shape[0] : 0;
    free(specs);
    m->vecs = malloc(nv * sizeof(float));
    m->blocks = calloc((size_t)L, sizeof *m->blocks);
    if (!m->vecs || !m->blocks)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for %d blocks", L);
    float *cur = m->vecs;
    if ((s = load_embeddings(m, err)))
        return s;
    for (int l = 0; l < L; l++)
        if ((s = load_block(m, l, &cur, err)))
            return s;
    if ((s = load_vec(m, &m->final_norm, &cur, HF_FINAL_NORM, -1, err)) ||
        (s = load_vec(m, &m->final_norm_b, &cur, HF_FINAL_NORM_B, -1, err)))
        return s;
    if ((s = make_rope(m, err)))
        return s;
    m->head_x = malloc((size_t)MODEL_HEAD_CHUNK * D * sizeof(float));
    m->head_logits = malloc((size_t)MODEL_HEAD_CHUNK * c->vocab * sizeof(float));
    m->row_tmp = malloc((size_t)D * sizeof(float));
    if (!m->head_x || !m->head_logits || !m->row_tmp)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for the head scratch");
    m->pool = kpool_create(m->opts.threads);
    if (!m->pool)
        return abl_fail(err, ABL_E_NOMEM, "model: could not start %d threads", m->opts.threads);
    if ((s = model_reserve(m, MODEL_HEAD_CHUNK, err)))
        return s;
    return backend_cpu_open(m, err);
}

abl_status model_load(model **out, const char *dir, const model_opts *opts, abl_err *err)
{
    *out = NULL;
    model_opts o = opts ? *opts : model_opts_default();
    if (o.device != 0 && o.device != 1)
        return abl_fail(err, ABL_E_ARG, "model: expected device 0 (cpu) or 1 (cuda), found %d",
                        o.device);
    /* Ask for the GPU before spending time on the weights (CPU-only build: ABL_E_DEVICE). */
    abl_status s = o.device == 1 ? kc_init(0, err) : ABL_OK;
    if (s)
        return s;
    model *m = calloc(1, sizeof *m);
    if (!m)
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory");
    m->opts = o;
    s = load_all(m, dir, err);
    if (!s && o.device == 1 && m->cfg.family != ARCH_LLAMA)
        s = abl_fail(err, ABL_E_UNSUPPORTED, "%s: the %s block runs on the CPU only for now "
                     "(hint: --device cpu)", dir, m->cfg.arch);
    if (!s && o.device == 1)
        s = model_cuda_attach(m, 0, err);
    if (s) {
        model_free(m);
        return abl_wrap(err, "loading model %s", dir);
    }
    *out = m;
    return ABL_OK;
}

static void scratch_free(model_scratch *s)
{
    free(s->x);
    free(s->xn);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->att);
    free(s->sub);
    free(s->sub2);
    free(s->gate);
    free(s->up);
    free(s->ws);
    free(s->span_w);
    memset(s, 0, sizeof *s);
}

static int imax(int a, int b) { return a > b ? a : b; }

abl_status model_reserve(model *m, int n_tok, abl_err *err)
{
    if (n_tok <= m->s.cap)
        return ABL_OK;
    const hf_config *c = &m->cfg;
    size_t T = (size_t)n_tok, D = (size_t)c->d_model, F = (size_t)c->d_ff;
    size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    scratch_free(&m->s);
    model_scratch *s = &m->s;
    int maxk = imax(imax(c->d_model, c->d_ff), (int)Q);
    size_t per = kern_ws_floats(imax(n_tok, MODEL_HEAD_CHUNK), maxk, c->head_dim);
    s->ws_floats = per * (size_t)kpool_nthreads(m->pool);
    s->x = malloc(T * D * sizeof(float));
    s->xn = malloc(T * D * sizeof(float));
    s->q = malloc(T * Q * sizeof(float));
    s->k = malloc(T * KV * sizeof(float));
    s->v = malloc(T * KV * sizeof(float));
    s->att = malloc(T * Q * sizeof(float));
    s->sub = malloc(T * D * sizeof(float));
    s->sub2 = c->parallel_residual ? malloc(T * D * sizeof(float)) : NULL;
    s->gate = malloc(T * F * sizeof(float));
    s->up = malloc(T * F * sizeof(float));
    s->ws = aligned_alloc(64, ((s->ws_floats * sizeof(float) + 63) / 64) * 64 + 64);
    s->span_w = malloc(T * sizeof(k_span));
    if (!s->span_w || (c->parallel_residual && !s->sub2) ||
        !s->x || !s->xn || !s->q || !s->k || !s->v || !s->att || !s->sub || !s->gate || !s->up ||
        !s->ws) {
        scratch_free(s);
        return abl_fail(err, ABL_E_NOMEM, "model: out of memory for scratch of %d tokens", n_tok);
    }
    s->cap = n_tok;
    return ABL_OK;
}

void model_free(model *m)
{
    if (!m)
        return;
    model_cuda_detach(m);
    backend_cpu_close(m);
    if (m->blocks)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            model_block *b = &m->blocks[l];
            kweight_free(&b->wq);
            kweight_free(&b->wk);
            kweight_free(&b->wv);
            kweight_free(&b->wo);
            kweight_free(&b->wg);
            kweight_free(&b->wu);
            kweight_free(&b->wd);
        }
    free(m->blocks);
    kweight_free(&m->head);
    free(m->vecs);
    free(m->embed_owned);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->head_x);
    free(m->head_logits);
    free(m->row_tmp);
    scratch_free(&m->s);
    kpool_free(m->pool);
    st_close(m->st);
    tok_free(m->tok);
    free(m);
}
