/* tests/test_model.c - the engine against numpy goldens (tiny models here, the real model in the
 * mtest_ tier) and the cheap identities: empty skip mask, resume, packed branches, threads,
 * kernel variants, KV-cache generation, planted faults, load-time checks, the sampler. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../engine/chat.h"
#include "../engine/generate.h"
#include "../engine/model_int.h"
#include "../engine/sampler.h"
#include "../kernels_cuda/kernels_cuda.h"
#include "t.h"

#define TINY_DIR "tests/fixtures/tiny"
#define TINY_QWEN_DIR "tests/fixtures/tiny-qwen"
#define REAL_DIR "models/smollm2-135m-instruct"

/* ---- golden files (format in tools/golden/forward.py) ------------------------------------ */

#define G_MAX_SEQ 8
#define G_MAX_LEN 256
#define G_MAX_SCORE 1024
#define G_MAX_RES 64

typedef struct {
    int n_seq, len[G_MAX_SEQ];
    int32_t ids[G_MAX_SEQ][G_MAX_LEN];
    int n_score;
    int sc_seq[G_MAX_SCORE], sc_row[G_MAX_SCORE], sc_tgt[G_MAX_SCORE], sc_top1[G_MAX_SCORE];
    double sc_lp[G_MAX_SCORE];
    int n_res, d;
    int res_seq[G_MAX_RES], res_layer[G_MAX_RES], res_pos[G_MAX_RES];
    float *res;              /* (n_res, d) */
} golden;

static void golden_free(golden *g)
{
    if (g) {
        free(g->res);
        free(g);
    }
}

/* Parse path; NULL (with a failure recorded) on any problem. */
static golden *golden_load(tctx *t, const char *path, int d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        t_fail(t, "%s: cannot open (hint: python3 tools/golden/forward.py)", path);
        return NULL;
    }
    golden *g = calloc(1, sizeof *g);
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    if (g)
        g->res = malloc((size_t)G_MAX_RES * d * sizeof(float));
    if (!g || !line || !g->res) {
        t_fail(t, "out of memory");
        free(line);
        fclose(f);
        golden_free(g);
        return NULL;
    }
    g->d = d;
    int bad = 0;
    while (!bad && fgets(line, (int)cap, f)) {
        char *p = line, *end;
        if (!strncmp(p, "seq ", 4)) {
            int s = (int)strtol(p + 4, &end, 10), n = (int)strtol(end, &end, 10);
            bad = s != g->n_seq || s >= G_MAX_SEQ || n < 1 || n > G_MAX_LEN;
            for (int i = 0; !bad && i < n; i++)
                g->ids[s][i] = (int32_t)strtol(end, &end, 10);
            if (!bad)
                g->len[g->n_seq++] = n;
        } else if (!strncmp(p, "score ", 6)) {
            int i = g->n_score;
            bad = i >= G_MAX_SCORE;
            if (!bad) {
                g->sc_seq[i] = (int)strtol(p + 6, &end, 10);
                g->sc_row[i] = (int)strtol(end, &end, 10);
                g->sc_tgt[i] = (int)strtol(end, &end, 10);
                g->sc_lp[i] = strtod(end, &end);
                g->sc_top1[i] = (int)strtol(end, &end, 10);
                g->n_score++;
            }
        } else if (!strncmp(p, "resid ", 6)) {
            int i = g->n_res;
            bad = i >= G_MAX_RES;
            if (!bad) {
                g->res_seq[i] = (int)strtol(p + 6, &end, 10);
                g->res_layer[i] = (int)strtol(end, &end, 10);
                g->res_pos[i] = (int)strtol(end, &end, 10);
                for (int j = 0; j < d; j++)
                    g->res[(size_t)i * d + j] = strtof(end, &end);
                g->n_res++;
            }
        }
    }
    free(line);
    fclose(f);
    if (bad || g->n_seq == 0 || g->n_score == 0) {
        t_fail(t, "%s: malformed golden file", path);
        golden_free(g);
        return NULL;
    }
    return g;
}

/* Captures the residual rows a golden asks for, from resid_post hooks. */
typedef struct {
    const golden *g;
    float *got; /* (n_res, d) */
} res_capture;

static void capture_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    res_capture *c = user;
    (void)p;
    for (int i = 0; i < c->g->n_res; i++)
        if (c->g->res_layer[i] == layer) {
            int row = b->seq_start[c->g->res_seq[i]] + c->g->res_pos[i];
            memcpy(c->got + (size_t)i * c->g->d, x + (size_t)row * c->g->d,
                   (size_t)c->g->d * sizeof(float));
        }
}

/* Build the golden's batch (every sequence packed) with its scores. */
static int golden_batch(const golden *g, fwd_batch *b)
{
    batch_init(b);
    for (int s = 0; s < g->n_seq; s++)
        if (batch_add_seq(b, s, g->ids[s], g->len[s]) < 0)
            return 0;
    for (int i = 0; i < g->n_score; i++)
        if (batch_add_score(b, b->seq_start[g->sc_seq[i]] + g->sc_row[i], g->sc_tgt[i]) < 0)
            return 0;
    return 1;
}

/* Run the golden's batch on m; returns max |lp - golden| (or -1 on error) and fills *res_diff
 * with the max residual difference relative to the row's max magnitude. */
static double golden_diff(tctx *t, model *m, const golden *g, double *res_diff, int *top1_bad)
{
    fwd_batch b;
    abl_err err = {0};
    res_capture cap = {g, malloc((size_t)(g->n_res ? g->n_res : 1) * g->d * sizeof(float))};
    if (!cap.got || !golden_batch(g, &b)) {
        t_fail(t, "out of memory");
        free(cap.got);
        return -1;
    }
    run_plan plan = {.hook = capture_hook, .hook_user = &cap,
                     .hook_mask = 1u << HOOK_RESID_POST};
    double worst = -1;
    if (model_forward(m, &b, &plan, &err)) {
        t_fail(t, "model_forward: %s", err.msg);
    } else {
        worst = 0;
        *top1_bad = 0;
        for (int i = 0; i < g->n_score; i++) {
            double d = fabs((double)b.score_lp[i] - g->sc_lp[i]);
            worst = d > worst ? d : worst;
            /* argmax may legitimately differ only on near ties; count disagreements */
            *top1_bad += (int)b.score_top1[i] != g->sc_top1[i];
        }
        *res_diff = 0;
        for (int i = 0; i < g->n_res; i++) {
            const float *a = cap.got + (size_t)i * g->d, *r = g->res + (size_t)i * g->d;
            double mag = 1e-6, dmax = 0;
            for (int j = 0; j < g->d; j++) {
                mag = fmax(mag, fabs(r[j]));
                dmax = fmax(dmax, fabs((double)a[j] - r[j]));
            }
            *res_diff = fmax(*res_diff, dmax / mag);
        }
    }
    batch_free(&b);
    free(cap.got);
    return worst;
}

static model *load(tctx *t, const char *dir, int threads)
{
    abl_err err = {0};
    model_opts o = model_opts_default();
    o.threads = threads;
    model *m = NULL;
    if (model_load(&m, dir, &o, &err))
        t_fail(t, "model_load %s: %s", dir, err.msg);
    return m;
}

static int have_real_model(tctx *t)
{
    if (access(REAL_DIR "/model.safetensors", R_OK) != 0) {
        t_skip(t, REAL_DIR " is missing (make model)");
        return 0;
    }
    return 1;
}

static void check_golden(tctx *t, const char *dir, const char *gpath, double tol_lp,
                         double tol_res, int threads)
{
    if (kern_init(NULL, NULL) != ABL_OK) {
        t_fail(t, "kern_init failed");
        return;
    }
    model *m = load(t, dir, threads);
    if (!m)
        return;
    golden *g = golden_load(t, gpath, model_config(m)->d_model);
    if (g) {
        double rd = 0;
        int top1_bad = 0;
        double d = golden_diff(t, m, g, &rd, &top1_bad);
        t_note(t, "%s: %d log-probs max_abs_diff=%.3g (tol %.0e); %d residual rows max "
               "rel diff=%.3g (tol %.0e); top1 disagreements %d", gpath, g->n_score, d, tol_lp,
               g->n_res, rd, tol_res, top1_bad);
        T_CHECK(t, d >= 0 && d < tol_lp);
        T_CHECK(t, rd < tol_res);
        T_CHECK(t, top1_bad <= g->n_score / 50);
    }
    golden_free(g);
    model_free(m);
}

/* ---- fast tier: tiny models -------------------------------------------------------------- */

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

/* Teacher-forced batch over the tiny golden's sequences: every row scored. */
static int teacher_batch(const golden *g, fwd_batch *b)
{
    batch_init(b);
    for (int s = 0; s < g->n_seq; s++) {
        int r0 = batch_add_seq(b, s, g->ids[s], g->len[s]);
        if (r0 < 0)
            return 0;
        for (int i = 0; i + 1 < g->len[s]; i++)
            if (batch_add_score(b, r0 + i, g->ids[s][i + 1]) < 0)
                return 0;
    }
    return 1;
}

typedef struct {
    int layer;
    hook_point point;
    float *buf; /* (T, D) */
    size_t n;
} grab;

static void grab_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    grab *gr = user;
    (void)b;
    if (layer == gr->layer && p == gr->point)
        memcpy(gr->buf, x, gr->n * sizeof(float));
}

void test_model_empty_skip_bit_identical(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 2);
    golden *g = m ? golden_load(t, "tests/golden/tiny_forward.txt", model_config(m)->d_model)
                  : NULL;
    fwd_batch b;
    if (!g || !teacher_batch(g, &b)) {
        golden_free(g);
        model_free(m);
        return;
    }
    int L = model_config(m)->n_layers, T = b.n_tok, D = model_config(m)->d_model;
    uint8_t none[16] = {0};
    float *lp0 = malloc((size_t)b.n_score * sizeof(float));
    float *f0 = malloc((size_t)T * D * sizeof(float)), *f1 = malloc((size_t)T * D * sizeof(float));
    abl_err err = {0};
    T_CHECK(t, L <= 16 && lp0 && f0 && f1);
    grab g0 = {-1, HOOK_FINAL, f0, (size_t)T * D}, g1 = {-1, HOOK_FINAL, f1, (size_t)T * D};
    run_plan p0 = {.hook = grab_hook, .hook_user = &g0, .hook_mask = 1u << HOOK_FINAL};
    run_plan p1 = {.skip_attn = none, .skip_mlp = none, .hook = grab_hook, .hook_user = &g1,
                   .hook_mask = 1u << HOOK_FINAL};
    if (!t_failed(t) && !model_forward(m, &b, NULL, &err)) {
        memcpy(lp0, b.score_lp, (size_t)b.n_score * sizeof(float));
        T_CHECK(t, !model_forward(m, &b, &p1, &err));
        T_CHECK(t, !memcmp(lp0, b.score_lp, (size_t)b.n_score * sizeof(float)));
        T_CHECK(t, !model_forward(m, &b, &p0, &err));
        T_CHECK(t, !memcmp(lp0, b.score_lp, (size_t)b.n_score * sizeof(float)));
        T_CHECK(t, !memcmp(f0, f1, (size_t)T * D * sizeof(float)));
        t_note(t, "%d log-probs and the (%d, %d) final residual bit-identical", b.n_score, T, D);
    } else {
        t_fail(t, "forward: %s", err.msg);
    }
    free(lp0);
    free(f0);
    free(f1);
    batch_free(&b);
    golden_free(g);
    model_free(m);
}

void test_model_skip_changes_output(tctx *t)
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
    abl_err err = {0};
    float *lp0 = malloc((size_t)b.n_score * sizeof(float));
    uint8_t skip[16] = {0};
    skip[1] = 1;
    double dmax[2] = {0, 0};
    if (lp0 && !model_forward(m, &b, NULL, &err)) {
        memcpy(lp0, b.score_lp, (size_t)b.n_score * sizeof(float));
        for (int which = 0; which < 2; which++) {
            run_plan p = {.skip_attn = which == 0 ? skip : NULL,
                          .skip_mlp = which == 1 ? skip : NULL};
            T_CHECK(t, !model_forward(m, &b, &p, &err));
            for (int i = 0; i < b.n_score; i++)
                dmax[which] = fmax(dmax[which], fabs(b.score_lp[i] - lp0[i]));
        }
    }
    t_note(t, "skipping block 1's attention moves log-probs by up to %.3g, its MLP by %.3g",
           dmax[0], dmax[1]);
    T_CHECK(t, dmax[0] > 1e-3 && dmax[1] > 1e-3);
    free(lp0);
    batch_free(&b);
    golden_free(g);
    model_free(m);
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
    T_CHECK(t, model_config(m)->d_model == 64);
    abl_err err = {0};
    float *lp0 = malloc((size_t)b.n_score * sizeof(float));
    uint8_t skip[16] = {0};
    int layer = 2;
    skip[layer] = 1;
    run_plan ps = {.skip_attn = skip};
    run_plan ph = {.hook = zero_attn_hook, .hook_user = &layer, .hook_mask = 1u << HOOK_ATTN_OUT};
    if (lp0 && !model_forward(m, &b, &ps, &err)) {
        memcpy(lp0, b.score_lp, (size_t)b.n_score * sizeof(float));
        T_CHECK(t, !model_forward(m, &b, &ph, &err));
        t_close_f32(t, "zeroed attn_out vs skip_attn", b.score_lp, lp0, (size_t)b.n_score, 0, 0);
    }
    free(lp0);
    batch_free(&b);
    golden_free(g);
    model_free(m);
}

void test_model_resume_equals_full(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 2);
    golden *g = m ? golden_load(t, "tests/golden/tiny_forward.txt", model_config(m)->d_model)
                  : NULL;
    fwd_batch b;
    if (!g || !teacher_batch(g, &b)) {
        golden_free(g);
        model_free(m);
        return;
    }
    int T = b.n_tok, D = model_config(m)->d_model, L = model_config(m)->n_layers;
    float *lp0 = malloc((size_t)b.n_score * sizeof(float));
    float *res = malloc((size_t)T * D * sizeof(float));
    abl_err err = {0};
    if (lp0 && res && !model_forward(m, &b, NULL, &err)) {
        memcpy(lp0, b.score_lp, (size_t)b.n_score * sizeof(float));
        for (int l = 1; l <= L; l++) {
            /* resid_pre of block l, or the last block's resid_post for l == L */
            grab gr = {l < L ? l : L - 1, l < L ? HOOK_RESID_PRE : HOOK_RESID_POST, res,
                       (size_t)T * D};
            run_plan pc = {.hook = grab_hook, .hook_user = &gr,
                           .hook_mask = 1u << (l < L ? HOOK_RESID_PRE : HOOK_RESID_POST)};
            run_plan pr = {.start_layer = l, .resume = res};
            T_CHECK(t, !model_forward(m, &b, &pc, &err));
            T_CHECK(t, !model_forward(m, &b, &pr, &err));
            if (memcmp(lp0, b.score_lp, (size_t)b.n_score * sizeof(float)))
                t_fail(t, "resume from block %d differs from the full pass", l);
        }
        t_note(t, "resume from every block 1..%d bit-identical to the full pass", L);
        run_plan bad = {.start_layer = 2};
        T_CHECK(t, model_forward(m, &b, &bad, &err) == ABL_E_ARG);
    } else {
        t_fail(t, "forward: %s", err.msg);
    }
    free(lp0);
    free(res);
    batch_free(&b);
    golden_free(g);
    model_free(m);
}

/* Packed prefix + 4 branches vs 4 separate sequences prefix+branch, on model m. */
static void check_packed(tctx *t, model *m, const int32_t *prefix, int np,
                         const int32_t *br[4], const int nb[4], double tol)
{
    fwd_batch pk, sep;
    batch_init(&pk);
    batch_init(&sep);
    abl_err err = {0};
    int32_t seqbuf[G_MAX_LEN * 2];
    /* packed: one sequence; a second unrelated sequence after it checks isolation */
    int ok = batch_add_seq(&pk, 0, prefix, np) >= 0;
    int brow[4];
    for (int k = 0; k < 4 && ok; k++) {
        brow[k] = batch_add_branch(&pk, br[k], nb[k]);
        ok = brow[k] >= 0;
        ok = ok && batch_add_score(&pk, np - 1, br[k][0]) >= 0;
        for (int i = 0; ok && i + 1 < nb[k]; i++)
            ok = batch_add_score(&pk, brow[k] + i, br[k][i + 1]) >= 0;
        ok = ok && batch_add_score(&pk, brow[k] + nb[k] - 1, prefix[0]) >= 0;
    }
    ok = ok && batch_add_seq(&pk, 1, br[0], nb[0]) >= 0;
    for (int k = 0; k < 4 && ok; k++) {
        memcpy(seqbuf, prefix, (size_t)np * sizeof(int32_t));
        memcpy(seqbuf + np, br[k], (size_t)nb[k] * sizeof(int32_t));
        int r0 = batch_add_seq(&sep, k, seqbuf, np + nb[k]);
        ok = r0 >= 0;
        for (int i = np - 1; ok && i + 1 < np + nb[k]; i++)
            ok = batch_add_score(&sep, r0 + i, seqbuf[i + 1]) >= 0;
        ok = ok && batch_add_score(&sep, r0 + np + nb[k] - 1, prefix[0]) >= 0;
    }
    if (!T_CHECK(t, ok) || !T_CHECK(t, pk.n_score == sep.n_score)) {
        batch_free(&pk);
        batch_free(&sep);
        return;
    }
    /* positions continue from the prefix; spans see the prefix and the own branch */
    T_CHECK(t, pk.pos[brow[2]] == np && pk.span[brow[2] + 1].a1 == np &&
               pk.span[brow[2] + 1].b0 == brow[2] && pk.span[brow[2] + 1].b1 == brow[2] + 2);
    T_CHECK(t, pk.branch[brow[3]] == 4 && pk.seq[brow[3]] == 0);
    T_CHECK(t, !model_forward(m, &pk, NULL, &err));
    T_CHECK(t, !model_forward(m, &sep, NULL, &err));
    t_close_f32(t, "packed prefix + 4 branches vs 4 sequences", pk.score_lp, sep.score_lp,
                (size_t)pk.n_score, tol, 0);
    batch_free(&pk);
    batch_free(&sep);
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
    model_free(m);
}

void test_model_threads_agree(tctx *t)
{
    kern_init(NULL, NULL);
    model *m1 = load(t, TINY_DIR, 1), *m2 = load(t, TINY_DIR, 2);
    golden *g = m1 ? golden_load(t, "tests/golden/tiny_forward.txt", 64) : NULL;
    fwd_batch b;
    if (m1 && m2 && g && teacher_batch(g, &b)) {
        abl_err err = {0};
        float *lp1 = malloc((size_t)b.n_score * sizeof(float));
        T_CHECK(t, lp1 && !model_forward(m1, &b, NULL, &err));
        if (lp1) {
            memcpy(lp1, b.score_lp, (size_t)b.n_score * sizeof(float));
            T_CHECK(t, !model_forward(m2, &b, NULL, &err));
            t_close_f32(t, "threads 2 vs 1", b.score_lp, lp1, (size_t)b.n_score, 1e-6, 0);
        }
        free(lp1);
        batch_free(&b);
    }
    golden_free(g);
    model_free(m1);
    model_free(m2);
}

void test_model_ref_kernels_agree(tctx *t)
{
    abl_err err = {0};
    if (kern_init(NULL, &err)) {
        t_fail(t, "kern_init: %s", err.msg);
        return;
    }
    const char *best = kern.name;
    model *m = load(t, TINY_DIR, 2);
    golden *g = m ? golden_load(t, "tests/golden/tiny_forward.txt", 64) : NULL;
    fwd_batch b;
    if (g && teacher_batch(g, &b)) {
        float *lp = malloc((size_t)b.n_score * sizeof(float));
        T_CHECK(t, lp && !model_forward(m, &b, NULL, &err));
        model_free(m);
        m = NULL;
        if (lp && !kern_init("ref", &err)) {
            memcpy(lp, b.score_lp, (size_t)b.n_score * sizeof(float));
            model *r = load(t, TINY_DIR, 2);
            T_CHECK(t, r && !model_forward(r, &b, NULL, &err));
            t_note(t, "default kernels '%s' vs 'ref'", best);
            t_close_f32(t, "ref vs default kernels", b.score_lp, lp, (size_t)b.n_score, 1e-5, 0);
            model_free(r);
        }
        free(lp);
        batch_free(&b);
    }
    golden_free(g);
    model_free(m);
}

/* Log-softmax of logits (V) at tgt, in double. */
static double log_softmax_at(const float *logits, int V, int tgt)
{
    double mx = logits[0], s = 0;
    for (int v = 1; v < V; v++)
        mx = fmax(mx, logits[v]);
    for (int v = 0; v < V; v++)
        s += exp(logits[v] - mx);
    return logits[tgt] - mx - log(s);
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

/* ---- sampler ----------------------------------------------------------------------------- */

void test_model_sampler(tctx *t)
{
    enum { V = 6 };
    float logits[V] = {0.5f, 2.0f, 1.0f, 2.0f - 1e-3f, -3.0f, 0.0f};
    sampler g, a, b, nuc;
    abl_err err = {0};
    T_CHECK(t, !sampler_init(&g, V, 0.0f, 0.9f, 1, &err));
    T_CHECK(t, sampler_pick(&g, logits) == 1);
    T_CHECK(t, sampler_init(&a, V, 1.0f, 0.0f, 1, &err) == ABL_E_ARG);
    T_CHECK(t, !sampler_init(&a, V, 1.0f, 1.0f, 42, &err));
    T_CHECK(t, !sampler_init(&b, V, 1.0f, 1.0f, 42, &err));
    T_CHECK(t, !sampler_init(&nuc, V, 1.0f, 0.5f, 7, &err));
    int same = 1, counts[V] = {0}, nuc_counts[V] = {0}, N = 20000;
    for (int i = 0; i < N; i++) {
        int x = sampler_pick(&a, logits);
        same &= x == sampler_pick(&b, logits);
        counts[x]++;
        nuc_counts[sampler_pick(&nuc, logits)]++;
    }
    T_CHECK(t, same);
    /* frequencies follow softmax(logits) */
    double z = 0, worst = 0;
    for (int v = 0; v < V; v++)
        z += exp(logits[v]);
    for (int v = 0; v < V; v++)
        worst = fmax(worst, fabs(counts[v] / (double)N - exp(logits[v]) / z));
    t_note(t, "temperature 1: max |freq - softmax| = %.4f over %d draws", worst, N);
    T_CHECK(t, worst < 0.02);
    /* top-p 0.5: ids 1 and 3 hold ~0.33 each, so only they may be drawn */
    T_CHECK(t, nuc_counts[1] + nuc_counts[3] == N && nuc_counts[1] > N / 3);
    /* a larger vocabulary: every draw lies in the nucleus computed naively (O(V^2)) */
    enum { W = 500 };
    static float big[W];
    static int in_nucleus[W];
    for (int v = 0; v < W; v++)
        big[v] = (float)sin(v * 12.9898) * 4.0f;
    double zz = 0;
    for (int v = 0; v < W; v++)
        zz += exp(big[v] / 0.7);
    for (int v = 0; v < W; v++) { /* v is in when the mass strictly above it is < 0.6 */
        double above = 0;
        for (int u = 0; u < W; u++)
            if (big[u] > big[v] || (big[u] == big[v] && u < v))
                above += exp(big[u] / 0.7) / zz;
        in_nucleus[v] = above < 0.6;
    }
    sampler wide;
    T_CHECK(t, !sampler_init(&wide, W, 0.7f, 0.6f, 99, &err));
    int outside = 0, distinct = 0, seen[W] = {0};
    for (int i = 0; i < 5000; i++) {
        int x = sampler_pick(&wide, big);
        outside += !in_nucleus[x];
        distinct += !seen[x];
        seen[x] = 1;
    }
    t_note(t, "top-p 0.6 over %d ids: %d distinct drawn, %d outside the nucleus", W, distinct,
           outside);
    T_CHECK(t, outside == 0 && distinct > 1);
    sampler_free(&wide);
    sampler_free(&g);
    sampler_free(&a);
    sampler_free(&b);
    sampler_free(&nuc);
    sampler_free(NULL);
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
    char *l1[] = {"lens", "--model", TINY_DIR, "--prompt", "one, two, three", NULL};
    T_CHECK(t, cli_generate(11, g1) == 0);
    T_CHECK(t, cli_generate(17, g2) == 0);
    T_CHECK(t, cli_generate(7, g3) == 2);
    T_CHECK(t, cli_lens(5, l1) == 0);
}

/* ---- real model tier --------------------------------------------------------------------- */

void mtest_model_golden(tctx *t)
{
    if (!have_real_model(t))
        return;
    check_golden(t, REAL_DIR, "tests/golden/smollm2_forward.txt", 1e-3, 1e-4, 2);
}

void mtest_model_identities(tctx *t)
{
    if (!have_real_model(t))
        return;
    kern_init(NULL, NULL);
    model *m = load(t, REAL_DIR, 2);
    if (!m)
        return;
    abl_err err = {0};
    tok_ids pre = {0}, br[4] = {{0}};
    const char *text[4] = {" Paris.", " Berlin, the capital of Germany.", " a city", " Rome"};
    const char *q = "Question: What is the capital of France?\nAnswer:";
    int ok = !tok_encode(model_tok(m), q, strlen(q), &pre, &err);
    for (int k = 0; k < 4 && ok; k++)
        ok = !tok_encode(model_tok(m), text[k], strlen(text[k]), &br[k], &err);
    if (T_CHECK(t, ok)) {
        const int32_t *bp[4] = {br[0].v, br[1].v, br[2].v, br[3].v};
        int nb[4] = {(int)br[0].n, (int)br[1].n, (int)br[2].n, (int)br[3].n};
        check_packed(t, m, pre.v, (int)pre.n, bp, nb, 1e-4);
    }
    tok_ids_free(&pre);
    for (int k = 0; k < 4; k++)
        tok_ids_free(&br[k]);
    model_free(m);
}

void mtest_model_resume_threads_fault(tctx *t)
{
    if (!have_real_model(t))
        return;
    kern_init(NULL, NULL);
    model *m1 = load(t, REAL_DIR, 1), *m2 = load(t, REAL_DIR, 2);
    golden *g = m1 ? golden_load(t, "tests/golden/smollm2_forward.txt", 576) : NULL;
    fwd_batch b;
    if (!m2 || !g || !teacher_batch(g, &b)) {
        golden_free(g);
        model_free(m1);
        model_free(m2);
        return;
    }
    abl_err err = {0};
    int T = b.n_tok, D = 576;
    float *lp = malloc((size_t)b.n_score * sizeof(float));
    float *res = malloc((size_t)T * D * sizeof(float));
    grab gr = {14, HOOK_RESID_PRE, res, (size_t)T * D};
    run_plan pc = {.hook = grab_hook, .hook_user = &gr, .hook_mask = 1u << HOOK_RESID_PRE};
    run_plan pr = {.start_layer = 14, .resume = res};
    if (T_CHECK(t, lp && res) && T_CHECK(t, !model_forward(m1, &b, &pc, &err))) {
        memcpy(lp, b.score_lp, (size_t)b.n_score * sizeof(float));
        T_CHECK(t, !model_forward(m2, &b, NULL, &err));
        t_close_f32(t, "threads 2 vs 1", b.score_lp, lp, (size_t)b.n_score, 1e-5, 0);
        T_CHECK(t, !model_forward(m1, &b, &pr, &err));
        T_CHECK(t, !memcmp(b.score_lp, lp, (size_t)b.n_score * sizeof(float)));
        t_note(t, "resume from block 14 bit-identical: %s",
               memcmp(b.score_lp, lp, (size_t)b.n_score * sizeof(float)) ? "no" : "yes");
        double rd = 0;
        int tb = 0;
        m2->blocks[20].wd.data[0] += 2.0f;
        double bad = golden_diff(t, m2, g, &rd, &tb);
        t_note(t, "one down_proj weight of block 20 perturbed by 2: golden max_abs_diff=%.3g",
               bad);
        T_CHECK(t, bad > 1e-3);
    }
    free(lp);
    free(res);
    batch_free(&b);
    golden_free(g);
    model_free(m1);
    model_free(m2);
}

void mtest_model_chat_paris(tctx *t)
{
    if (!have_real_model(t))
        return;
    kern_init(NULL, NULL);
    model *m = load(t, REAL_DIR, 2);
    if (!m)
        return;
    abl_err err = {0};
    char *text = NULL, *out = NULL;
    size_t len = 0;
    tok_ids ids = {0};
    gen_session g = {0};
    sampler sm = {0};
    int32_t gen[24];
    int n = 0;
    int32_t stop = tok_special_id(model_tok(m), "<|im_end|>");
    if (T_CHECK(t, !chat_prompt(REAL_DIR, "What is the capital of France?", &text, &len, &err)) &&
        T_CHECK(t, !tok_encode(model_tok(m), text, len, &ids, &err)) &&
        T_CHECK(t, !gen_open(&g, m, (int)ids.n + 24, NULL, &err)) &&
        T_CHECK(t, !sampler_init(&sm, model_config(m)->vocab, 0.0f, 1.0f, 1, &err)) &&
        T_CHECK(t, !gen_feed(&g, ids.v, (int)ids.n, &err))) {
        while (n < 24) {
            int32_t id = sampler_pick(&sm, g.logits);
            if (id == stop || id == tok_eos_id(model_tok(m)))
                break;
            gen[n++] = id;
            if (gen_feed(&g, &id, 1, &err))
                break;
        }
        size_t ol = 0;
        T_CHECK(t, !tok_decode(model_tok(m), gen, (size_t)n, &out, &ol, &err));
        t_note(t, "greedy answer: %s", out ? out : "(none)");
        T_CHECK(t, out && strstr(out, "Paris"));
    }
    free(out);
    free(text);
    tok_ids_free(&ids);
    sampler_free(&sm);
    gen_close(&g);
    model_free(m);
}

void mtest_model_ref_kernels_agree(tctx *t)
{
    if (!have_real_model(t))
        return;
    abl_err err = {0};
    T_CHECK(t, !kern_init(NULL, &err));
    const char *best = kern.name;
    model *m = load(t, REAL_DIR, 2);
    golden *g = m ? golden_load(t, "tests/golden/smollm2_forward.txt", 576) : NULL;
    fwd_batch b;
    if (g) {
        g->n_seq = 1; /* the first sequence is enough for the scalar kernels */
        if (teacher_batch(g, &b)) {
            float *lp = malloc((size_t)b.n_score * sizeof(float));
            T_CHECK(t, lp && !model_forward(m, &b, NULL, &err));
            model_free(m);
            m = NULL;
            if (lp && T_CHECK(t, !kern_init("ref", &err))) {
                memcpy(lp, b.score_lp, (size_t)b.n_score * sizeof(float));
                model *r = load(t, REAL_DIR, 2);
                T_CHECK(t, r && !model_forward(r, &b, NULL, &err));
                t_note(t, "default kernels '%s' vs 'ref' on %d tokens", best, b.n_tok);
                t_close_f32(t, "ref vs default kernels", b.score_lp, lp, (size_t)b.n_score,
                            1e-4, 0);
                model_free(r);
            }
            free(lp);
            batch_free(&b);
        }
    }
    golden_free(g);
    model_free(m);
}
