/* tests/test_model_real.c - the real model (models/smollm2-135m-instruct, `make model`): the
 * numpy golden, identities, kernel variants and the chat answer; each skips when it is missing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/chat.h"
#include "../engine/generate.h"
#include "../engine/sampler.h"
#include "test_model_util.h"

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
