/* tests/test_forward_plain.c - the textbook forward (engine/forward_plain.c) as an oracle: its
 * log-probs equal model_forward's and the goldens' on the tiny and architecture fixtures and the
 * real model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward_plain.h"
#include "test_hard_util.h"
#include "test_model_util.h"

/* Tolerances on log-probs (nats). Both sides sum in different orders (the plain pass in
 * double, the kernels in float panels), so they agree to float rounding of the logits. */
#define PLAIN_TOL_TINY 2e-5
#define PLAIN_TOL_REAL 2e-4

/* Every sequence of the golden at gpath through the plain forward (with masks) and through
 * model_forward with the same skips: returns max |plain - model|, and in *gold_diff max |plain -
 * golden| (intact only; pass NULL otherwise). -1 on error (recorded). */
static double plain_vs_forward(tctx *t, model *m, const char *gpath, const uint8_t *skip_attn,
                               const uint8_t *skip_mlp, double *gold_diff)
{
    golden *g = golden_load(t, gpath, model_config(m)->d_model);
    fwd_batch b;
    if (!g || !teacher_batch(g, &b)) {
        golden_free(g);
        return -1;
    }
    abl_err err = {0};
    run_plan plan = {.skip_attn = skip_attn, .skip_mlp = skip_mlp};
    double worst = -1, gworst = 0;
    int top1_bad = 0, n_gold = 0;
    if (model_forward(m, &b, &plan, &err)) {
        t_fail(t, "model_forward: %s", err.msg);
        goto out;
    }
    worst = 0;
    for (int s = 0, k = 0; s < g->n_seq; s++) {
        int T = g->len[s];
        float lp[G_MAX_LEN];
        uint8_t top1[G_MAX_LEN];
        if (fwdp_logprobs(m, g->ids[s], T, skip_attn, skip_mlp, lp, top1, &err)) {
            t_fail(t, "fwdp_logprobs: %s", err.msg);
            worst = -1;
            goto out;
        }
        for (int i = 0; i + 1 < T; i++, k++) {
            double d = fabs((double)lp[i] - b.score_lp[k]);
            worst = d > worst ? d : worst;
            top1_bad += top1[i] != b.score_top1[k];
        }
        /* The golden's rows scored with the next token (its last rows target other ids). */
        for (int j = 0; gold_diff && j < g->n_score; j++)
            if (g->sc_seq[j] == s && g->sc_row[j] + 1 < T &&
                g->sc_tgt[j] == g->ids[s][g->sc_row[j] + 1]) {
                n_gold++;
                double d = fabs(lp[g->sc_row[j]] - g->sc_lp[j]);
                gworst = d > gworst ? d : gworst;
            }
    }
    if (gold_diff)
        *gold_diff = n_gold > 0 ? gworst : -1;
    t_note(t, "%s: %d rows, plain vs model_forward max_abs_diff=%.3g, top1 disagreements %d%s; "
           "%d golden rows", gpath, b.n_score, worst, top1_bad,
           skip_attn ? " (with skips)" : "", n_gold);
out:
    batch_free(&b);
    golden_free(g);
    return worst;
}

static void check_plain(tctx *t, const char *dir, const char *gpath, double tol)
{
    kern_init(NULL, NULL);
    model *m = load(t, dir, 1);
    if (!m)
        return;
    int L = model_config(m)->n_layers;
    double gd = -1;
    double d = plain_vs_forward(t, m, gpath, NULL, NULL, &gd);
    t_note(t, "plain vs numpy golden max_abs_diff=%.3g (tol %.0e)", gd, tol);
    T_CHECK(t, d >= 0 && d < tol);
    T_CHECK(t, gd >= 0 && gd < tol);
    /* Skips: block 1 whole, the attention of block 0 and the MLP of the last block. */
    uint8_t sa[64] = {0}, sm[64] = {0};
    sa[1] = sm[1] = sa[0] = sm[L - 1] = 1;
    double ds = plain_vs_forward(t, m, gpath, sa, sm, NULL);
    T_CHECK(t, ds >= 0 && ds < tol);
    model_free(m);
}

void test_plain_tiny_oracle(tctx *t)
{
    check_plain(t, TINY_DIR, "tests/golden/tiny_forward.txt", PLAIN_TOL_TINY);
}

/* Qwen2-style: q/k/v biases, untied lm_head, other rope theta and eps. */
void test_plain_tiny_qwen_oracle(tctx *t)
{
    check_plain(t, TINY_QWEN_DIR, "tests/golden/tiny-qwen_forward.txt", PLAIN_TOL_TINY);
}

/* Every architecture fixture (tests/fixtures/arch: Llama 3 and linear RoPE scaling, Mistral and
 * Qwen2 sliding windows, ...) against model_forward and the transformers goldens. */
void test_plain_arch_oracle(tctx *t)
{
    static const char *const names[] = {"llama3", "llama_linear_t4", "llama_t5", "mistral_sw",
                                        "qwen2", "qwen2_sw"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char dir[128], gpath[128];
        snprintf(dir, sizeof dir, "tests/fixtures/arch/%s", names[i]);
        snprintf(gpath, sizeof gpath, "tests/golden/arch/%s.txt", names[i]);
        check_plain(t, dir, gpath, PLAIN_TOL_TINY);
    }
}

/* The oracle must notice a wrong engine: one packed weight perturbed in model_forward only. */
void test_plain_catches_planted_fault(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 1);
    if (!m)
        return;
    m->blocks[2].wv.data[0] += 0.05f; /* packed element 0 is W[0][0] in every layout */
    double d = plain_vs_forward(t, m, "tests/golden/tiny_forward.txt", NULL, NULL, NULL);
    t_note(t, "with one packed weight of block 2 perturbed by 0.05: max_abs_diff=%.3g", d);
    T_CHECK(t, d > PLAIN_TOL_TINY);
    model_free(m);
}

void test_plain_errors(tctx *t)
{
    kern_init(NULL, NULL);
    model *m = load(t, TINY_DIR, 1);
    if (!m)
        return;
    abl_err err = {0};
    fwd_plain *p = (fwd_plain *)1;
    T_CHECK(t, fwdp_open(&p, m, 0, NULL, NULL, &err) == ABL_E_ARG && p == NULL);
    t_note(t, "%s", err.msg);
    float logits[384];
    int32_t ids[3] = {5, 6, 7}, bad[2] = {5, 384};
    float lp[2];
    if (T_CHECK(t, fwdp_open(&p, m, 2, NULL, NULL, &err) == ABL_OK)) {
        T_CHECK(t, fwdp_step(p, -1, logits, &err) == ABL_E_ARG && fwdp_n_past(p) == 0);
        T_CHECK(t, fwdp_step(p, ids[0], logits, &err) == ABL_OK);
        T_CHECK(t, fwdp_step(p, ids[1], logits, &err) == ABL_OK && fwdp_n_past(p) == 2);
        T_CHECK(t, fwdp_step(p, ids[2], logits, &err) == ABL_E_ARG && fwdp_n_past(p) == 2);
        T_CHECK(t, strstr(err.msg, "full") != NULL);
        fwdp_close(p);
    }
    T_CHECK(t, fwdp_logprobs(m, ids, 1, NULL, NULL, lp, NULL, &err) == ABL_E_ARG);
    T_CHECK(t, fwdp_logprobs(m, bad, 2, NULL, NULL, lp, NULL, &err) == ABL_E_ARG);
    T_CHECK(t, strstr(err.msg, "384") != NULL);
    fwdp_close(NULL);
    model_free(m);
}

/* `ablate generate --plain` and the KV-cache session print the same greedy text. */
void test_plain_generate_cli(tctx *t)
{
    const char *out[2] = {"build/test_plain_gen_a.txt", "build/test_plain_gen_b.txt"};
    char *const plain[] = {"generate", "--model", TINY_DIR, "--prompt", "hello world", "-n", "12",
                           "--skip", "2", "--plain", NULL};
    char *const fast[] = {"generate", "--model", TINY_DIR, "--prompt", "hello world", "-n", "12",
                          "--skip", "2", NULL};
    hx_result r[2];
    for (int k = 0; k < 2; k++) {
        double t0 = hx_now();
        pid_t pid = hx_spawn(k ? fast : plain, out[k], NULL, 0);
        if (!T_CHECK(t, pid > 0))
            return;
        hx_wait(pid, 60, t0, &r[k]);
        T_CHECK(t, r[k].rc == 0);
    }
    char *a = hx_read(out[0], NULL), *b = hx_read(out[1], NULL);
    if (T_CHECK(t, a && b)) {
        t_note(t, "plain: '%.60s'", a);
        T_CHECK(t, strlen(a) > 1 && !strcmp(a, b));
    }
    free(a);
    free(b);
}

/* The real model: teacher-forced log-probs of a few prompts, plain vs model_forward. */
void mtest_plain_real_oracle(tctx *t)
{
    if (!have_real_model(t))
        return;
    kern_init(NULL, NULL);
    model *m = load(t, REAL_DIR, 2);
    if (!m)
        return;
    const char *prompts[3] = {"The capital of France is Paris, and the capital of Germany is",
                              "Question: Which gas do plants take in?\nAnswer: carbon dioxide",
                              "def add(a, b):\n    return a + b\n"};
    abl_err err = {0};
    double worst = 0;
    int top1_bad = 0, rows = 0;
    for (int k = 0; k < 3; k++) {
        tok_ids ids = {0};
        fwd_batch b;
        batch_init(&b);
        float lp[128];
        uint8_t top1[128];
        int ok = !tok_encode(model_tok(m), prompts[k], strlen(prompts[k]), &ids, &err) &&
                 ids.n >= 2 && ids.n <= 128;
        int r0 = ok ? batch_add_seq(&b, 0, ids.v, (int)ids.n) : -1;
        for (int i = 0; r0 >= 0 && i + 1 < (int)ids.n; i++)
            ok = ok && batch_add_score(&b, r0 + i, ids.v[i + 1]) >= 0;
        ok = ok && r0 >= 0 && !model_forward(m, &b, NULL, &err) &&
             !fwdp_logprobs(m, ids.v, (int)ids.n, NULL, NULL, lp, top1, &err);
        if (T_CHECK(t, ok))
            for (int i = 0; i + 1 < (int)ids.n; i++, rows++) {
                double d = fabs((double)lp[i] - b.score_lp[i]);
                worst = d > worst ? d : worst;
                top1_bad += top1[i] != b.score_top1[i];
            }
        batch_free(&b);
        tok_ids_free(&ids);
    }
    t_note(t, "3 prompts, %d rows: plain vs model_forward max_abs_diff=%.3g (tol %.0e), top1 "
           "disagreements %d", rows, worst, PLAIN_TOL_REAL, top1_bad);
    T_CHECK(t, rows > 20 && worst < PLAIN_TOL_REAL && top1_bad == 0);
    model_free(m);
}
