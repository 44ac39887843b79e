/* tests/test_model.c - the engine on the tiny models against numpy goldens, and the cheap
 * identities: empty skip mask, resume, packed branches, threads, kernel variants, KV-cache
 * generation, planted faults, load-time checks, the commands. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../engine/generate.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "test_model_util.h"

void test_model_tiny_golden(tctx *t)
{
    check_golden(t, TINY_DIR, "tests/golden/tiny_forward.txt", 1e-5, 1e-5, 1);
}

void test_model_tiny_qwen_golden(tctx *t)
{
    check_golden(t, TINY_QWEN_DIR, "tests/golden/tiny-qwen_forward.txt", 1e-5, 1e-5, 2);
}

void test_model_planted_fault_caught(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 1);
    golden *g = m ? golden_load(t, "tests/golden/tiny_forward.txt", model_config(m)->d_model)
                  : NULL;
    if (g) {
        double rd = 0;
        int tb = 0;
        double clean = golden_diff(t, m, g, &rd, &tb);
        m->blocks[2].wv.data[0] += 0.05f; /* packed element 0 is W[0][0] in every layout */
        double bad = golden_diff(t, m, g, &rd, &tb);
        t_note(t, "clean max_abs_diff=%.3g, with one weight of block 2 perturbed by 0.05: %.3g",
               clean, bad);
        T_CHECK(t, clean >= 0 && clean < 1e-5);
        T_CHECK(t, bad > 1e-5); /* the golden comparison must notice */
    }
    golden_free(g);
    model_free(m);
}

/* What most tests below start from: the tiny model on `threads` threads, its golden's
 * teacher-forced batch, and the intact pass's log-probs in lp0. */
typedef struct {
    model *m;
    golden *g;
    fwd_batch b;
    int have_batch;
    float *lp0;         /* (b.n_score) */
    int T, D, L;
} tiny_fix;

static void tiny_close(tiny_fix *f)
{
    free(f->lp0);
    if (f->have_batch)
        batch_free(&f->b);
    golden_free(f->g);
    model_free(f->m);
}

/* 1 when ready; 0 after a test failure, with everything freed. */
static int tiny_open(tctx *t, tiny_fix *f, int threads)
{
    memset(f, 0, sizeof *f);
    kern_init(NULL, NULL);
    f->m = load(t, TINY_DIR, threads);
    f->g = f->m ? golden_load(t, "tests/golden/tiny_forward.txt", model_config(f->m)->d_model)
                : NULL;
    f->have_batch = f->g && teacher_batch(f->g, &f->b);
    abl_err err = {0};
    if (f->have_batch) {
        f->T = f->b.n_tok;
        f->D = model_config(f->m)->d_model;
        f->L = model_config(f->m)->n_layers;
        f->lp0 = malloc((size_t)f->b.n_score * sizeof(float));
        if (f->lp0 && !model_forward(f->m, &f->b, NULL, &err)) {
            memcpy(f->lp0, f->b.score_lp, (size_t)f->b.n_score * sizeof(float));
            return 1;
        }
        t_fail(t, "intact forward: %s", f->lp0 ? err.msg : "out of memory");
    }
    tiny_close(f);
    return 0;
}

void test_model_empty_skip_bit_identical(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 2))
        return;
    fwd_batch *b = &f.b;
    size_t nres = (size_t)f.T * f.D, nlp = (size_t)b->n_score * sizeof(float);
    uint8_t none[16] = {0};
    float *f0 = malloc(nres * sizeof(float)), *f1 = malloc(nres * sizeof(float));
    abl_err err = {0};
    T_CHECK(t, f.L <= 16 && f0 && f1);
    grab g0 = {-1, HOOK_FINAL, f0, nres}, g1 = {-1, HOOK_FINAL, f1, nres};
    run_plan p0 = {.hook = grab_hook, .hook_user = &g0, .hook_mask = 1u << HOOK_FINAL};
    run_plan p1 = {.skip_attn = none, .skip_mlp = none, .hook = grab_hook, .hook_user = &g1,
                   .hook_mask = 1u << HOOK_FINAL};
    if (!t_failed(t)) {
        T_CHECK(t, !model_forward(f.m, b, &p1, &err));
        T_CHECK(t, !memcmp(f.lp0, b->score_lp, nlp));
        T_CHECK(t, !model_forward(f.m, b, &p0, &err));
        T_CHECK(t, !memcmp(f.lp0, b->score_lp, nlp));
        T_CHECK(t, !memcmp(f0, f1, nres * sizeof(float)));
        t_note(t, "%d log-probs and the (%d, %d) final residual bit-identical", b->n_score, f.T,
               f.D);
    }
    free(f0);
    free(f1);
    tiny_close(&f);
}

void test_model_skip_changes_output(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 1))
        return;
    abl_err err = {0};
    uint8_t skip[16] = {0};
    skip[1] = 1;
    double dmax[2] = {0, 0};
    for (int which = 0; which < 2; which++) {
        run_plan p = {.skip_attn = which == 0 ? skip : NULL, .skip_mlp = which == 1 ? skip : NULL};
        T_CHECK(t, !model_forward(f.m, &f.b, &p, &err));
        for (int i = 0; i < f.b.n_score; i++)
            dmax[which] = fmax(dmax[which], fabs(f.b.score_lp[i] - f.lp0[i]));
    }
    t_note(t, "skipping block 1's attention moves log-probs by up to %.3g, its MLP by %.3g",
           dmax[0], dmax[1]);
    T_CHECK(t, dmax[0] > 1e-3 && dmax[1] > 1e-3);
    tiny_close(&f);
}

/* A write hook: zero the attention output of one block == skipping that attention. */
static void zero_attn_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    int want = *(int *)user;
    if (layer == want && p == HOOK_ATTN_OUT)
        memset(x, 0, (size_t)b->n_tok * 64 * sizeof(float));
}

void test_model_hook_patch_equals_skip(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 1))
        return;
    T_CHECK(t, f.D == 64);
    abl_err err = {0};
    uint8_t skip[16] = {0};
    int layer = 2;
    skip[layer] = 1;
    run_plan ps = {.skip_attn = skip};
    run_plan ph = {.hook = zero_attn_hook, .hook_user = &layer, .hook_mask = 1u << HOOK_ATTN_OUT};
    if (!model_forward(f.m, &f.b, &ps, &err)) { /* lp0 becomes the skipped model's */
        memcpy(f.lp0, f.b.score_lp, (size_t)f.b.n_score * sizeof(float));
        T_CHECK(t, !model_forward(f.m, &f.b, &ph, &err));
        t_close_f32(t, "zeroed attn_out vs skip_attn", f.b.score_lp, f.lp0, (size_t)f.b.n_score,
                    0, 0);
    } else {
        t_fail(t, "forward: %s", err.msg);
    }
    tiny_close(&f);
}

void test_model_resume_equals_full(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 2))
        return;
    int L = f.L;
    size_t nres = (size_t)f.T * f.D;
    float *res = malloc(nres * sizeof(float));
    abl_err err = {0};
    for (int l = 1; res && l <= L; l++) {
        /* resid_pre of block l, or the last block's resid_post for l == L */
        grab gr = {l < L ? l : L - 1, l < L ? HOOK_RESID_PRE : HOOK_RESID_POST, res, nres};
        run_plan pc = {.hook = grab_hook, .hook_user = &gr,
                       .hook_mask = 1u << (l < L ? HOOK_RESID_PRE : HOOK_RESID_POST)};
        run_plan pr = {.start_layer = l, .resume = res};
        T_CHECK(t, !model_forward(f.m, &f.b, &pc, &err));
        T_CHECK(t, !model_forward(f.m, &f.b, &pr, &err));
        if (memcmp(f.lp0, f.b.score_lp, (size_t)f.b.n_score * sizeof(float)))
            t_fail(t, "resume from block %d differs from the full pass", l);
    }
    T_CHECK(t, res != NULL);
    t_note(t, "resume from every block 1..%d bit-identical to the full pass", L);
    run_plan bad = {.start_layer = 2};
    T_CHECK(t, model_forward(f.m, &f.b, &bad, &err) == ABL_E_ARG);
    free(res);
    tiny_close(&f);
}

void test_model_packed_branches_equal_separate(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 2);
    if (!m)
        return;
    int32_t prefix[11] = {334, 28, 326, 274, 297, 223, 82, 309, 85, 297, 33};
    int32_t b0[3] = {335, 28, 332}, b1[1] = {16}, b2[5] = {287, 266, 263, 283, 263},
            b3[2] = {349, 369};
    const int32_t *br[4] = {b0, b1, b2, b3};
    int nb[4] = {3, 1, 5, 2};
    check_packed(t, m, prefix, 11, br, nb, 1e-4);
    /* long prefix and branches: spans cross the kernels' query and key blocks */
    int32_t lp[150], l0[70], l1[1] = {7}, l2[33], l3[65];
    for (int i = 0; i < 150; i++)
        lp[i] = (int32_t)((i * 37 + 11) % 384);
    for (int i = 0; i < 70; i++)
        l0[i] = (int32_t)((i * 53 + 5) % 384);
    for (int i = 0; i < 33; i++)
        l2[i] = (int32_t)((i * 29 + 3) % 384);
    for (int i = 0; i < 65; i++)
        l3[i] = (int32_t)((i * 71 + 1) % 384);
    const int32_t *lbr[4] = {l0, l1, l2, l3};
    int lnb[4] = {70, 1, 33, 65};
    check_packed(t, m, lp, 150, lbr, lnb, 1e-4);
    model_free(m);
}

void test_model_threads_agree(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 1))
        return;
    model *m2 = load(t, TINY_DIR, 2);
    abl_err err = {0};
    T_CHECK(t, m2 && !model_forward(m2, &f.b, NULL, &err));
    if (!t_failed(t))
        t_close_f32(t, "threads 2 vs 1", f.b.score_lp, f.lp0, (size_t)f.b.n_score, 1e-6, 0);
    model_free(m2);
    tiny_close(&f);
}

void test_model_ref_kernels_agree(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 2))
        return;
    const char *best = kern.name;
    abl_err err = {0};
    model_free(f.m); /* its weights are packed for the default kernels */
    f.m = NULL;
    if (!kern_init("ref", &err)) {
        model *r = load(t, TINY_DIR, 2);
        T_CHECK(t, r && !model_forward(r, &f.b, NULL, &err));
        t_note(t, "default kernels '%s' vs 'ref'", best);
        if (!t_failed(t))
            t_close_f32(t, "ref vs default kernels", f.b.score_lp, f.lp0, (size_t)f.b.n_score,
                        1e-5, 0);
        model_free(r);
    } else {
        t_fail(t, "kern_init ref: %s", err.msg);
    }
    kern_init(NULL, NULL);
    tiny_close(&f);
}

void test_model_generate_matches_forward(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_QWEN_DIR, 2);
    golden *g = m ? golden_load(t, "tests/golden/tiny-qwen_forward.txt", 32) : NULL;
    if (!g) {
        model_free(m);
        return;
    }
    abl_err err = {0};
    gen_session gs;
    uint8_t skip[8] = {0, 1};
    run_plan plan = {.skip_mlp = skip};
    int s = 3, n = g->len[s], np = 4, V = model_config(m)->vocab;
    fwd_batch b;
    batch_init(&b);
    int ok = batch_add_seq(&b, 0, g->ids[s], n) >= 0;
    for (int i = np - 1; ok && i + 1 < n; i++)
        ok = batch_add_score(&b, i, g->ids[s][i + 1]) >= 0;
    if (T_CHECK(t, ok) && T_CHECK(t, !model_forward(m, &b, &plan, &err)) &&
        T_CHECK(t, !gen_open(&gs, m, n, &plan, &err))) {
        float *lp = malloc((size_t)b.n_score * sizeof(float));
        T_CHECK(t, lp && !gen_feed(&gs, g->ids[s], np, &err));
        for (int i = np - 1; lp && i + 1 < n; i++) {
            lp[i - (np - 1)] = (float)log_softmax_at(gs.logits, V, g->ids[s][i + 1]);
            if (i + 1 < n)
                T_CHECK(t, !gen_feed(&gs, &g->ids[s][i + 1], 1, &err));
        }
        if (lp)
            t_close_f32(t, "KV-cache prefill+decode vs packed forward", lp, b.score_lp,
                        (size_t)b.n_score, 1e-5, 0);
        int32_t one = 5;
        T_CHECK(t, gen_feed(&gs, &one, 1, &err) == ABL_E_ARG); /* context full */
        free(lp);
        gen_close(&gs);
    }
    batch_free(&b);
    golden_free(g);
    model_free(m);
}

/* ---- load-time checks -------------------------------------------------------------------- */

/* Copy the tiny model into dir, optionally corrupting the safetensors bytes with fn. */
static int copy_file(const char *src, const char *dst, char **data, size_t *len)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    int ok = buf && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (ok && !data) {
        FILE *o = fopen(dst, "wb");
        ok = o && fwrite(buf, 1, (size_t)n, o) == (size_t)n;
        ok = o && fclose(o) == 0 && ok;
    }
    if (data && ok) {
        *data = buf;
        *len = (size_t)n;
        return 1;
    }
    free(buf);
    return ok;
}

static int write_file(const char *path, const char *buf, size_t n)
{
    FILE *o = fopen(path, "wb");
    int ok = o && fwrite(buf, 1, n, o) == n;
    return o && fclose(o) == 0 && ok;
}

/* Load a copy of the tiny model whose safetensors was edited: either tensor `name` gets an F16
 * NaN in its element 5, or (rename) its name's last character is changed. */
static abl_status load_corrupted(tctx *t, const char *name, int rename, abl_err *err)
{
    const char *dir = t_tmpdir(t);
    char src[512], dst[512];
    char *st = NULL;
    size_t n = 0;
    snprintf(src, sizeof src, "%s/config.json", TINY_DIR);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    int ok = copy_file(src, dst, NULL, NULL);
    snprintf(src, sizeof src, "%s/tokenizer.json", TINY_DIR);
    snprintf(dst, sizeof dst, "%s/tokenizer.json", dir);
    ok = ok && copy_file(src, dst, NULL, NULL);
    snprintf(src, sizeof src, "%s/model.safetensors", TINY_DIR);
    ok = ok && copy_file(src, NULL, &st, &n);
    if (!T_CHECK(t, ok)) {
        free(st);
        return ABL_E_IO;
    }
    uint64_t hlen = 0;
    memcpy(&hlen, st, 8);
    char key[200];
    snprintf(key, sizeof key, "\"%s\"", name);
    char *hit = strstr(st + 8, key);
    T_CHECK(t, hit && (size_t)(hit - st) < 8 + hlen);
    if (hit && rename) {
        hit[strlen(name)] = 'X';
    } else if (hit) {
        long a = 0, b = 0;
        char *off = strstr(hit, "\"data_offsets\":[");
        T_CHECK(t, off && sscanf(off, "\"data_offsets\":[%ld,%ld]", &a, &b) == 2 && b > a + 12);
        uint16_t nan16 = 0x7e00;
        memcpy(st + 8 + hlen + a + 10, &nan16, 2);
    }
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    ok = write_file(dst, st, n);
    free(st);
    if (!T_CHECK(t, ok))
        return ABL_E_IO;
    model *m = NULL;
    abl_status s = model_load(&m, dir, NULL, err);
    T_CHECK(t, (s == ABL_OK) == (m != NULL));
    model_free(m);
    return s;
}

void test_model_rejects_nan_weight(tctx *t)
{
    abl_err err = {0};
    const char *name = "model.layers.1.mlp.up_proj.weight";
    abl_status s = load_corrupted(t, name, 0, &err);
    t_note(t, "%s", err.msg);
    T_CHECK(t, s == ABL_E_NUMERIC);
    T_CHECK(t, strstr(err.msg, name) != NULL);
}

void test_model_rejects_missing_tensor(tctx *t)
{
    abl_err err = {0};
    const char *name = "model.layers.3.self_attn.k_proj.weight";
    abl_status s = load_corrupted(t, name, 1, &err);
    t_note(t, "%s", err.msg);
    T_CHECK(t, s == ABL_E_SHAPE || s == ABL_E_FORMAT);
    T_CHECK(t, strstr(err.msg, "k_proj") != NULL);
}

void test_model_cuda_device_without_backend(tctx *t)
{
    abl_err err = {0};
    model_opts o = model_opts_default();
    o.device = 1;
    model *m = NULL;
    abl_status s = model_load(&m, TINY_DIR, &o, &err);
    if (cuda_available()) {
        /* a GPU is here: the device path must load (its numerics are tested by the CUDA tests) */
        T_CHECK(t, s == ABL_OK && m != NULL);
        t_note(t, "CUDA device present: device 1 loaded (%s)", s ? err.msg : "ok");
    } else {
        T_CHECK(t, s == ABL_E_DEVICE && m == NULL);
        T_CHECK(t, strstr(err.msg, "CUDA") != NULL);
    }
    model_free(m);
    abl_err e2 = {0};
    m = NULL;
    T_CHECK(t, model_load(&m, "tests/fixtures/no-such-model", NULL, &e2) != ABL_OK && !m);
    o.device = 7;
    T_CHECK(t, model_load(&m, TINY_DIR, &o, &err) == ABL_E_ARG && !m);
    t_note(t, "%s | %s", err.msg, e2.msg);
}

/* ---- the commands on the tiny model ------------------------------------------------------ */

void test_model_cli_generate_and_lens(tctx *t)
{
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) {
        t_fail(t, "cannot silence stdout");
        return;
    }
    char *g1[] = {"generate", "--model", TINY_DIR, "--prompt", "The cat", "-n", "8", "--skip",
                  "1", "--threads", "2", NULL};
    char *g2[] = {"generate", "--model", TINY_DIR, "--prompt", "Paris", "-n", "8", "--temp",
                  "0.8", "--top-p", "0.9", "--seed", "3", "--skip-attn", "0",
                  "--skip-mlp", "3", NULL};
    char *g3[] = {"generate", "--model", TINY_DIR, "--prompt", "x", "--skip", "9", NULL};
    char *g4[] = {"generate", "--model", TINY_DIR, "--prompt", "Hi", "--chat", "-n", "4", NULL};
    char *l1[] = {"lens", "--model", TINY_DIR, "--prompt", "one, two, three", NULL};
    T_CHECK(t, cli_generate(11, g1) == 0);
    T_CHECK(t, cli_generate(17, g2) == 0);
    T_CHECK(t, cli_generate(7, g3) == 2);
    T_CHECK(t, cli_generate(8, g4) == 0);
    T_CHECK(t, cli_lens(5, l1) == 0);
    char *b1[] = {"forward", "--model", TINY_DIR, "--tokens", "40", "--decode", "4", "--reps",
                  "1", NULL};
    T_CHECK(t, cli_bench_forward(9, b1) == 0);
}

/* Top-k of each scored row equals a brute-force sort of model_logits on the final residual. */
void test_model_topk_matches_full_logits(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 1);
    golden *g = m ? golden_load(t, "tests/golden/tiny_forward.txt", model_config(m)->d_model)
                  : NULL;
    fwd_batch b;
    if (!g || !teacher_batch(g, &b)) {
        golden_free(g);
        model_free(m);
        return;
    }
    enum { K = 5 };
    int T = b.n_tok, D = model_config(m)->d_model, V = model_config(m)->vocab, L =
        model_config(m)->n_layers;
    int32_t *ids = malloc((size_t)b.n_score * K * sizeof(int32_t));
    float *lp = malloc((size_t)b.n_score * K * sizeof(float));
    float *res = malloc((size_t)T * D * sizeof(float));
    float *logits = malloc((size_t)V * sizeof(float));
    abl_err err = {0};
    grab gr = {L - 1, HOOK_RESID_POST, res, (size_t)T * D};
    run_plan p = {.hook = grab_hook, .hook_user = &gr, .hook_mask = 1u << HOOK_RESID_POST,
                  .topk = K, .topk_ids = ids, .topk_lp = lp};
    if (ids && lp && res && logits && !model_forward(m, &b, &p, &err)) {
        for (int i = 0; i < b.n_score && !t_failed(t); i++) {
            model_logits(m, res + (size_t)b.score_row[i] * D, logits, true);
            double mx = logits[0], se = 0;
            for (int v = 1; v < V; v++)
                mx = logits[v] > mx ? logits[v] : mx;
            for (int v = 0; v < V; v++)
                se += exp((double)logits[v] - mx);
            double lse = mx + log(se);
            for (int j = 0; j < K; j++) {
                int32_t id = ids[(size_t)i * K + j];
                int above = 0; /* tokens strictly more likely than the j-th pick */
                for (int v = 0; v < V; v++)
                    above += logits[v] > logits[id];
                T_CHECK(t, above <= j);
                T_CHECK(t, fabs(lp[(size_t)i * K + j] - ((double)logits[id] - lse)) < 1e-4);
                if (j)
                    T_CHECK(t, lp[(size_t)i * K + j] <= lp[(size_t)i * K + j - 1]);
            }
            if (b.score_top1[i])
                T_CHECK(t, ids[(size_t)i * K] == b.score_tgt[i] ||
                               fabs(lp[(size_t)i * K] - b.score_lp[i]) < 1e-6);
        }
        t_note(t, "top-%d of %d scored rows checked against full logits", K, b.n_score);
        run_plan bad = {.topk = 65, .topk_ids = ids, .topk_lp = lp};
        T_CHECK(t, model_forward(m, &b, &bad, &err) == ABL_E_ARG);
    } else {
        t_fail(t, "forward: %s", err.msg);
    }
    free(ids);
    free(lp);
    free(res);
    free(logits);
    batch_free(&b);
    golden_free(g);
    model_free(m);
}

/* dot3(resid_pre, resid_post) per block and row, by hooks on the host (test_cuda.c has a twin). */
typedef struct {
    int D;
    float *pre;     /* (T, D) */
    double *stats;  /* (L, T, 3) */
} host_stats;

static void host_stats_hook(void *user, int l, hook_point p, float *x, const fwd_batch *b)
{
    host_stats *h = user;
    if (p == HOOK_RESID_PRE)
        memcpy(h->pre, x, (size_t)b->n_tok * h->D * sizeof(float));
    else if (p == HOOK_RESID_POST)
        for (int r = 0; r < b->n_tok; r++)
            kern.dot3(h->pre + (size_t)r * h->D, x + (size_t)r * h->D, h->D,
                      h->stats + ((size_t)l * b->n_tok + r) * 3);
}

/* plan.block_stats on the CPU backend equals the same sums taken by hooks, bit for bit; with
 * a resume only the blocks run are written, and the log-probs do not change. */
void test_model_block_stats_match_hooks(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 2))
        return;
    size_t n = (size_t)f.L * f.T * 3;
    double *hs = calloc(n, sizeof(double)), *bs = calloc(n, sizeof(double));
    float *pre = malloc((size_t)f.T * f.D * sizeof(float));
    float *res = malloc((size_t)f.T * f.D * sizeof(float));
    abl_err err = {0};
    if (!T_CHECK(t, hs && bs && pre && res))
        goto done;
    host_stats h = {f.D, pre, hs};
    run_plan ph = {.hook = host_stats_hook, .hook_user = &h,
                   .hook_mask = (1u << HOOK_RESID_PRE) | (1u << HOOK_RESID_POST)};
    run_plan pb = {.block_stats = bs};
    T_CHECK(t, !model_forward(f.m, &f.b, &ph, &err));
    T_CHECK(t, !model_forward(f.m, &f.b, &pb, &err));
    T_CHECK(t, !memcmp(f.lp0, f.b.score_lp, (size_t)f.b.n_score * sizeof(float)));
    T_CHECK(t, !memcmp(hs, bs, n * sizeof(double)));
    int l0 = f.L / 2;
    grab gr = {l0, HOOK_RESID_PRE, res, (size_t)f.T * f.D};
    run_plan pc = {.hook = grab_hook, .hook_user = &gr, .hook_mask = 1u << HOOK_RESID_PRE};
    T_CHECK(t, !model_forward(f.m, &f.b, &pc, &err));
    for (size_t i = 0; i < n; i++)
        bs[i] = -1;
    run_plan pr = {.start_layer = l0, .resume = res, .block_stats = bs};
    T_CHECK(t, !model_forward(f.m, &f.b, &pr, &err));
    size_t cut = (size_t)l0 * f.T * 3;
    for (size_t i = 0; i < cut; i++)
        if (bs[i] != -1) {
            t_fail(t, "block_stats entry %zu of a block not run was written", i);
            break;
        }
    T_CHECK(t, !memcmp(hs + cut, bs + cut, (n - cut) * sizeof(double)));
    t_note(t, "(%d, %d, 3) block statistics bit-identical to the hooks' sums", f.L, f.T);
done:
    free(hs), free(bs), free(pre), free(res);
    tiny_close(&f);
}

/* Every block's resid_pre, by a hook (out: (L, T, D)). */
typedef struct {
    int D;
    float *out;
} pre_saver;

static void pre_saver_hook(void *user, int l, hook_point p, float *x, const fwd_batch *b)
{
    pre_saver *h = user;
    size_t TD = (size_t)b->n_tok * h->D;
    if (p == HOOK_RESID_PRE)
        memcpy(h->out + (size_t)l * TD, x, TD * sizeof(float));
}

/* plan.save_resid holds, bit for bit, the residual a resid_pre hook sees at every block; with a
 * resume, the blocks not run are left as they were and the log-probs do not change. */
void test_model_save_resid_matches_hooks(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 2))
        return;
    size_t TD = (size_t)f.T * f.D, n = (size_t)f.L * TD;
    float *hk = calloc(n, sizeof(float)), *sv = calloc(n, sizeof(float));
    abl_err err = {0};
    if (!T_CHECK(t, hk && sv))
        goto done;
    pre_saver h = {f.D, hk};
    run_plan ph = {.hook = pre_saver_hook, .hook_user = &h, .hook_mask = 1u << HOOK_RESID_PRE};
    run_plan ps = {.save_resid = sv};
    T_CHECK(t, !model_forward(f.m, &f.b, &ph, &err));
    T_CHECK(t, !model_forward(f.m, &f.b, &ps, &err));
    T_CHECK(t, !memcmp(f.lp0, f.b.score_lp, (size_t)f.b.n_score * sizeof(float)));
    T_CHECK(t, !memcmp(hk, sv, n * sizeof(float)));
    int l0 = f.L / 2;
    for (size_t i = 0; i < n; i++)
        sv[i] = -1;
    run_plan pr = {.start_layer = l0, .resume = hk + (size_t)l0 * TD, .save_resid = sv};
    T_CHECK(t, !model_forward(f.m, &f.b, &pr, &err));
    for (size_t i = 0; i < (size_t)l0 * TD; i++)
        if (sv[i] != -1) {
            t_fail(t, "save_resid entry %zu of a block not run was written", i);
            break;
        }
    T_CHECK(t, !memcmp(hk + (size_t)l0 * TD, sv + (size_t)l0 * TD, (n - (size_t)l0 * TD) *
                                                                      sizeof(float)));
    T_CHECK(t, !memcmp(f.lp0, f.b.score_lp, (size_t)f.b.n_score * sizeof(float)));
done:
    free(hk), free(sv);
    tiny_close(&f);
}

/* Output distributions and KL between two passes: the engine's KL(p_intact || q_skipped) equals
 * sum p log(p / q) computed here from both passes' probabilities; KL of a pass with itself is 0;
 * half-given outputs are refused. */
void test_model_kl_between_passes(tctx *t)
{
    tiny_fix f;
    if (!tiny_open(t, &f, 1))
        return;
    model *m = f.m;
    int S = f.b.n_score, V = model_config(m)->vocab, L = f.L;
    float *p = malloc(sizeof(float) * (size_t)S * V), *q = malloc(sizeof(float) * (size_t)S * V);
    double *hp = malloc(sizeof(double) * (size_t)S), *hq = malloc(sizeof(double) * (size_t)S);
    double *kl = malloc(sizeof(double) * (size_t)S), *kl0 = malloc(sizeof(double) * (size_t)S);
    uint8_t skip[64] = {0};
    skip[L / 2] = 1;
    abl_err err = {0};
    run_plan intact = {.probs_out = p, .negent_out = hp};
    run_plan ablated = {.skip_attn = skip, .skip_mlp = skip, .probs_out = q, .negent_out = hq,
                        .kl_probs = p, .kl_negent = hp, .kl_out = kl};
    run_plan same = {.kl_probs = p, .kl_negent = hp, .kl_out = kl0};
    if (p && q && hp && hq && kl && kl0 && !model_forward(m, &f.b, &intact, &err) &&
        !model_forward(m, &f.b, &ablated, &err) && !model_forward(m, &f.b, &same, &err)) {
        double worst = 0, worst0 = 0, mean = 0;
        for (int i = 0; i < S; i++) {
            double ref = 0, mass = 0;
            for (int v = 0; v < V; v++) {
                double pv = p[(size_t)i * V + v], qv = q[(size_t)i * V + v];
                mass += pv;
                if (pv > 0)
                    ref += pv * (log(pv) - log(qv));
            }
            T_CHECK(t, fabs(mass - 1) < 1e-4);
            worst = fmax(worst, fabs(kl[i] - ref));
            worst0 = fmax(worst0, kl0[i]);
            mean += kl[i] / S;
        }
        t_note(t, "%d rows: mean KL %.5f nats, max |engine - direct| %.2e, KL(p||p) max %.2e", S,
               mean, worst, worst0);
        T_CHECK(t, worst < 1e-5 && worst0 < 1e-5 && mean > 1e-3);
        run_plan bad = {.probs_out = p};
        T_CHECK(t, model_forward(m, &f.b, &bad, &err) == ABL_E_ARG);
        run_plan bad2 = {.kl_out = kl, .kl_probs = p};
        T_CHECK(t, model_forward(m, &f.b, &bad2, &err) == ABL_E_ARG);
    } else {
        t_fail(t, "forward: %s", err.msg);
    }
    free(p);
    free(q);
    free(hp);
    free(hq);
    free(kl);
    free(kl0);
    tiny_close(&f);
}
