/* tests/test_arch.c - every architecture and config feature against transformers: tiny random
 * checkpoints (tests/fixtures/arch) and their goldens (tools/golden/hf_arch_golden.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/generate.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "test_model_util.h"

#define ARCH_TOL 1e-4 /* log-probs (nats) and residual rows (relative to the row's largest) */

static const char *const variants[KV_COUNT] = {"ref", "avx2", "avx512", "neon"};

/* One checkpoint on one kernel variant: intact log-probs, the residual leaving every block, and
 * the log-probs with each block skipped, all within ARCH_TOL of transformers. */
static void check_arch_variant(tctx *t, const char *name, kern_variant v)
{
    char dir[256], gpath[256];
    snprintf(dir, sizeof dir, "tests/fixtures/arch/%s", name);
    snprintf(gpath, sizeof gpath, "tests/golden/arch/%s.txt", name);
    abl_err err = {0};
    if (kern_init(variants[v], &err)) {
        t_fail(t, "kern_init %s: %s", variants[v], err.msg);
        return;
    }
    model *m = load(t, dir, 2);
    golden *g = m ? golden_load(t, gpath, model_config(m)->d_model) : NULL;
    if (g) {
        double rd = 0, skip_worst = 0;
        int top1_bad = 0, n_skip = 0;
        double d = golden_diff(t, m, g, &rd, &top1_bad);
        for (int l = 0; l < model_config(m)->n_layers; l++) {
            int n = 0;
            double s = golden_skip_diff(t, m, g, l, &n);
            skip_worst = s < 0 || skip_worst < 0 ? -1 : fmax(skip_worst, s);
            n_skip += n;
            if (n == 0)
                t_fail(t, "%s: no skip records for block %d", gpath, l);
        }
        bool ok = d >= 0 && d < ARCH_TOL && rd < ARCH_TOL && skip_worst >= 0 &&
                  skip_worst < ARCH_TOL && g->n_res > 0;
        t_note(t, "%s [%s]: %d log-probs max_abs_diff=%.3g; %d residual rows max rel diff=%.3g; "
               "%d skipped-block log-probs max_abs_diff=%.3g (tol %.0e): %s", name, variants[v],
               g->n_score, d, g->n_res, rd, n_skip, skip_worst, ARCH_TOL, ok ? "PASS" : "FAIL");
        T_CHECK(t, ok);
        T_CHECK(t, top1_bad <= g->n_score / 50);
    }
    golden_free(g);
    model_free(m);
}

static void check_arch(tctx *t, const char *name)
{
    for (int v = 0; v < KV_COUNT; v++)
        if (kern_supported((kern_variant)v))
            check_arch_variant(t, name, (kern_variant)v);
    kern_init(NULL, NULL);
}

/* transformers-5 layout (theta inside rope_parameters), head_dim != D/H, untied head,
 * attention biases (o_proj too) and MLP biases */
void test_arch_llama_t5_layout(tctx *t)
{
    check_arch(t, "llama_t5");
}

/* Llama-3 rope scaling, all three frequency bands in use */
void test_arch_llama3_rope(tctx *t)
{
    check_arch(t, "llama3");
}

/* linear rope scaling written in the transformers-4 layout (top-level rope_theta) */
void test_arch_llama_linear_t4_layout(tctx *t)
{
    check_arch(t, "llama_linear_t4");
}

/* Mistral with a 4-token sliding window on 13..37-token inputs */
void test_arch_mistral_sliding_window(tctx *t)
{
    check_arch(t, "mistral_sw");
}

/* Qwen2: q/k/v biases without an o_proj bias, tied embeddings */
void test_arch_qwen2(tctx *t)
{
    check_arch(t, "qwen2");
}

/* Qwen2 with use_sliding_window: the window only from max_window_layers on */
void test_arch_qwen2_sliding_from(tctx *t)
{
    check_arch(t, "qwen2_sw");
}

/* The sliding window in the other two attention paths: packed prefix + branches (branch tokens
 * see a clipped prefix) and KV-cache generation, both against the golden's log-probs. */
void test_arch_sliding_window_paths(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, "tests/fixtures/arch/mistral_sw", 1);
    golden *g = m ? golden_load(t, "tests/golden/arch/mistral_sw.txt", model_config(m)->d_model)
                  : NULL;
    if (!g) {
        model_free(m);
        return;
    }
    T_CHECK(t, model_config(m)->sliding_window == 4 && g->len[0] > 12);
    /* KV cache, one token at a time: log P(ids[r+1] | ids[0..r]) after feeding row r */
    gen_session gs;
    abl_err err = {0};
    double worst = 0;
    int n = 0;
    if (!T_CHECK(t, gen_open(&gs, m, 64, NULL, &err) == ABL_OK)) {
        t_fail(t, "%s", err.msg);
    } else {
        for (int r = 0; r + 1 < g->len[0]; r++) {
            if (gen_feed(&gs, &g->ids[0][r], 1, &err)) {
                t_fail(t, "gen_feed: %s", err.msg);
                break;
            }
            for (int i = 0; i < g->n_score; i++)
                if (g->sc_seq[i] == 0 && g->sc_row[i] == r) {
                    double lp = log_softmax_at(gs.logits, model_config(m)->vocab, g->sc_tgt[i]);
                    worst = fmax(worst, fabs(lp - g->sc_lp[i]));
                    n++;
                }
        }
        gen_close(&gs);
    }
    t_note(t, "generation with a sliding window: %d log-probs max_abs_diff=%.3g (tol %.0e)", n,
           worst, ARCH_TOL);
    T_CHECK(t, n == g->len[0] - 1 && worst < ARCH_TOL);
    /* prefix of 9 tokens + 4 branches of 3..6 tokens vs the same as separate sequences */
    const int32_t *br[4] = {&g->ids[0][9], &g->ids[1][2], &g->ids[2][5], &g->ids[0][20]};
    const int nb[4] = {6, 3, 5, 4};
    check_packed(t, m, g->ids[0], 9, br, nb, 1e-5);
    golden_free(g);
    model_free(m);
}

/* batch_window_spans: which keys a window keeps, for plain and branch rows */
void test_arch_window_spans(tctx *t)
{
    fwd_batch b;
    batch_init(&b);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    k_span out[32];
    T_CHECK(t, batch_add_seq(&b, 0, ids, 6) == 0);      /* rows 0..5, positions 0..5 */
    T_CHECK(t, batch_add_seq(&b, 1, ids, 3) == 6);      /* rows 6..8: prefix of 3 */
    T_CHECK(t, batch_add_branch(&b, ids, 4) == 9);      /* rows 9..12, positions 3..6 */
    T_CHECK(t, batch_window_spans(&b, 100, NULL) == 0); /* a window longer than every input */
    int changed = batch_window_spans(&b, 3, out);
    /* plain row 5 (position 5) sees rows 3..5; row 2 (position 2) still sees rows 0..2 */
    T_CHECK(t, out[5].b0 == 3 && out[5].b1 == 6 && out[2].b0 == 0 && out[2].b1 == 3);
    /* branch row 10 (position 4) sees prefix row 8 (position 2) and branch rows 9..10 */
    T_CHECK(t, out[10].a0 == 8 && out[10].a1 == 9 && out[10].b0 == 9 && out[10].b1 == 11);
    /* branch row 12 (position 6): the prefix is out of the window entirely */
    T_CHECK(t, out[12].a0 == out[12].a1 && out[12].b0 == 10 && out[12].b1 == 13);
    /* rows 3, 4, 5 and every branch row 9..12 lose keys; prefix rows 6..8 (positions < 3) not */
    T_CHECK(t, changed == 7);
    batch_free(&b);
}

/* GPT-NeoX (Pythia): parallel residual, half-head rotary, LayerNorm with bias, GELU MLP, fused
 * per-head query_key_value, untied embed_out */
void test_arch_neox_parallel(tctx *t)
{
    check_arch(t, "neox");
}

/* GPT-NeoX with the sequential residual, transformers-4 names (rotary_pct, rotary_emb_base) */
void test_arch_neox_sequential_t4(tctx *t)
{
    check_arch(t, "neox_seq_t4");
}

/* OLMo: non-parametric LayerNorm, clip_qkv */
void test_arch_olmo(tctx *t)
{
    check_arch(t, "olmo");
}

/* OLMo-2: output norms on attention and MLP, QK-norm */
void test_arch_olmo2(tctx *t)
{
    check_arch(t, "olmo2");
}

/* On the CUDA backend: other block families are refused at load; a sliding-window model runs
 * every batch, the clipped ones with the CPU's log-probs. Skipped without a GPU. */
void test_arch_cuda_refusals(tctx *t)
{
    abl_err e = {0};
    if (kc_init(0, &e) != ABL_OK) {
        t_skip(t, e.msg);
        return;
    }
    kern_init(NULL, NULL);
    model_opts o = model_opts_default();
    o.device = 1;
    model *m = NULL;
    T_CHECK(t, model_load(&m, "tests/fixtures/arch/neox", &o, &e) == ABL_E_UNSUPPORTED &&
               strstr(e.msg, "CPU only") && !m);
    if (!T_CHECK(t, model_load(&m, "tests/fixtures/arch/mistral_sw", &o, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    fwd_batch b;
    batch_init(&b);
    int32_t ids[8] = {5, 6, 7, 8, 9, 10, 11, 12};
    batch_add_seq(&b, 0, ids, 4); /* no longer than the window: runs */
    batch_add_score(&b, 3, 9);
    T_CHECK(t, model_forward(m, &b, NULL, &e) == ABL_OK);
    batch_clear(&b);
    batch_add_seq(&b, 0, ids, 8);
    batch_add_score(&b, 7, 9);
    /* longer than the window: the clipped spans go to the device too, same log-prob as the CPU */
    model *mc = NULL;
    model_opts oc = model_opts_default();
    float lp_gpu = 0;
    T_CHECK(t, model_forward(m, &b, NULL, &e) == ABL_OK);
    lp_gpu = b.score_lp[0];
    if (T_CHECK(t, model_load(&mc, "tests/fixtures/arch/mistral_sw", &oc, &e) == ABL_OK) &&
        T_CHECK(t, model_forward(mc, &b, NULL, &e) == ABL_OK)) {
        t_note(t, "windowed batch: cuda %.6f, cpu %.6f", lp_gpu, b.score_lp[0]);
        T_CHECK(t, fabs(lp_gpu - b.score_lp[0]) < 1e-4);
    }
    model_free(mc);
    batch_free(&b);
    model_free(m);
}

/* The ops the new families added, on hand-computed values (every variant's table entry). */
void test_arch_new_ops(tctx *t)
{
    for (int v = 0; v < KV_COUNT; v++) {
        if (!kern_supported((kern_variant)v) || kern_init(variants[v], NULL) != ABL_OK)
            continue;
        float x[4] = {1, 2, 3, 4}, y[4], g[4] = {2, 2, 2, 2}, bias[4] = {1, 1, 1, 1};
        double z = 1.5 / sqrt(1.25); /* (4 - 2.5) / sqrt(var 1.25) */
        kern.layernorm(y, x, g, bias, 1, 4, 0.0f);
        float want[4] = {(float)(1 - 2 * z), (float)(1 - 2 * z / 3), (float)(1 + 2 * z / 3),
                         (float)(1 + 2 * z)};
        t_close_f32(t, "layernorm g, b", y, want, 4, 1e-6, 1e-6);
        kern.layernorm(y, x, NULL, NULL, 1, 4, 0.0f);
        float want0[4] = {(float)-z, (float)(-z / 3), (float)(z / 3), (float)z};
        t_close_f32(t, "layernorm without parameters", y, want0, 4, 1e-6, 1e-6);
        float gx[3] = {1, -1, 0}, gw[3] = {0.8413447460685429f, -0.15865525393145707f, 0};
        kern.gelu(gx, gx, 3);
        t_close_f32(t, "gelu (erf)", gx, gw, 3, 1e-6, 1e-6);
        /* rope_part: head dim 4, rot 2: only dims 0, 1 turn (by 90 degrees at position 1) */
        float r[8] = {1, 2, 3, 4, 5, 6, 7, 8}, cs[2] = {1, 0}, sn[2] = {0, 1};
        int32_t pos[1] = {1};
        kern.rope_part(r, 1, 2, 4, 2, pos, cs, sn);
        float rw[8] = {-2, 1, 3, 4, -6, 5, 7, 8};
        t_close_f32(t, "rope_part", r, rw, 8, 0, 0);
        float c[4] = {-3, -0.5f, 0.5f, 3}, cw[4] = {-1, -0.5f, 0.5f, 1};
        kern.clamp(c, 4, 1.0f);
        t_close_f32(t, "clamp", c, cw, 4, 0, 0);
    }
    kern_init(NULL, NULL);
}

/* The memory figure and the up-front refusal of a model that does not fit. */
void test_arch_memory_refusal(tctx *t)
{
    hf_config c;
    abl_err e = {0};
    if (!T_CHECK(t, cfg_load(&c, "tests/fixtures/arch/neox/config.json", &e) == ABL_OK))
        return;
    double w = 0, need = model_mem_estimate(&c, 64, &w);
    /* untied NeoX: every parameter once, as F32 */
    T_CHECK(t, w == 4.0 * (double)cfg_param_count(&c) && need > w);
    T_CHECK(t, model_mem_estimate(&c, 1088, NULL) > need); /* more tokens, more scratch */
    kern_init(NULL, NULL);
    model_opts o = model_opts_default();
    o.mem_avail = need * 0.9;
    model *m = NULL;
    T_CHECK(t, model_load(&m, "tests/fixtures/arch/neox", &o, &e) == ABL_E_NOMEM && !m &&
               strstr(e.msg, "needs about") && strstr(e.msg, "are available") &&
               !strchr(e.msg, '\n'));
    t_note(t, "refusal: %s", e.msg);
    o.mem_avail = need * 1.1;
    T_CHECK(t, model_load(&m, "tests/fixtures/arch/neox", &o, &e) == ABL_OK && m);
    model_free(m);
    /* Llama-3-8B: 8,030,261,248 parameters, about 32.1 GB as F32 */
    const char *l3 = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":4096,"
                     "\"intermediate_size\":14336,\"max_position_embeddings\":8192,"
                     "\"num_attention_heads\":32,\"num_hidden_layers\":32,\"num_key_value_heads\":8,"
                     "\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0,\"tie_word_embeddings\":false,"
                     "\"vocab_size\":128256}";
    if (T_CHECK(t, cfg_parse(&c, l3, strlen(l3), "config.json", &e) == ABL_OK)) {
        need = model_mem_estimate(&c, 512, &w);
        t_note(t, "Llama-3-8B: %lld parameters, %.2f GB as F32, %.2f GB with a 512-token pass",
               cfg_param_count(&c), w / 1e9, need / 1e9);
        T_CHECK(t, cfg_param_count(&c) == 8030261248LL && w > 32.0e9 && w < 32.2e9);
    }
}
